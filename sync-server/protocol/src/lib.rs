//! The wire format between booths (kiosks) and the county sync server, compiled into both so
//! they cannot drift apart.
//!
//! Map of the crate:
//! - [`paths`]: the versioned URL paths of the kiosk API.
//! - [`error`]: the error body `{"code": "...", "message": "..."}` and its codes.
//! - [`attachment`]: the files a submission lists (photographed pages), their chunked,
//!   resumable upload, and their seal to the county's key.
//! - [`enroll`]: one-time-code enrollment of a booth's ed25519 key.
//! - [`submission`]: what a booth uploads (applications, complaints, evaluations,
//!   consultations; a supplement, 补正材料, is an application naming the one it completes)
//!   and the per-item results.
//! - [`feed`]: what a booth pulls with a cursor: the service catalogue, notices, and status
//!   changes of its own submissions (a correction's with the materials it names).
//! - [`heartbeat`]: the booth's health report, and the answer that tells it its release
//!   target.
//! - [`release`]: over-the-air releases: the target, the bundle download, the updater's
//!   report.
//! - [`personal`]: a submission's personal part sealed on the booth to the county's key
//!   (RFC 9180 HPKE), opened only by the server.
//! - [`phone`]: the contact phone number rule both sides apply.
//! - [`phone_upload`]: the one-time token of a receipt's QR code with which a villager's
//!   phone uploads an application's materials to the county server, and its hash.
//! - [`pin`]: the county server's certificate pin a booth trusts instead of the public roots.
//! - [`signing`]: the request signature (RFC 9421 style, ed25519) both sides implement.
//! - [`receipt`]: receipt numbers issued offline, unique across the fleet, with a check symbol.
//!
//! All JSON; field names are `snake_case`; timestamps are RFC 3339 UTC. A breaking change
//! gets a new path prefix (`/api/v2`), never a changed meaning under `/api/v1`.
//!
//! What booths send (enrollment, heartbeat, submission batches) is read strictly: a field this
//! version does not know is refused (`deny_unknown_fields`), so nothing undocumented reaches the
//! store and the OpenAPI document's `additionalProperties: false` is the truth. Hence a new
//! request field reaches the servers before any booth sends it. What the server sends is read
//! leniently by booths, so a server may add a response field first.

pub mod attachment;
pub mod enroll;
pub mod error;
pub mod feed;
pub mod heartbeat;
pub mod personal;
pub mod phone;
pub mod phone_upload;
pub mod pin;
pub mod receipt;
pub mod release;
pub mod signing;
pub mod submission;

pub use error::{ErrorBody, ErrorCode};

/// URL paths of the kiosk API.
pub mod paths {
    /// `POST`: [`crate::enroll::EnrollRequest`] → [`crate::enroll::EnrollResponse`]. Not
    /// signed by a known key: the body carries its own proof of possession.
    pub const ENROLL: &str = "/api/v1/enroll";
    /// `POST`: [`crate::submission::BatchRequest`] → [`crate::submission::BatchResponse`].
    pub const SUBMISSIONS: &str = "/api/v1/submissions";
    /// `GET /api/v1/feeds/{feed}?after=CURSOR&limit=N` → [`crate::feed::FeedPage`].
    pub const FEEDS: &str = "/api/v1/feeds";
    /// `POST`: [`crate::heartbeat::Heartbeat`] → [`crate::heartbeat::HeartbeatResponse`].
    pub const HEARTBEAT: &str = "/api/v1/heartbeat";
    /// `GET /api/v1/releases/{bundle}`: the bytes of a release bundle targeted at the signing
    /// kiosk (`Range: bytes=N-` resumes; `ETag` is the bundle's SHA-256).
    pub const RELEASES: &str = "/api/v1/releases";
    /// `GET /api/v1/attachments/{sha256}` → [`crate::attachment::AttachmentStatus`];
    /// `PUT /api/v1/attachments/{sha256}?offset=N` with up to
    /// [`crate::attachment::MAX_CHUNK_BYTES`] of the file as `application/octet-stream` → the
    /// status after it. Only files a submission of the signing kiosk lists.
    pub const ATTACHMENTS: &str = "/api/v1/attachments";
    /// `GET`: the OpenAPI document of the kiosk API (unsigned).
    pub const OPENAPI: &str = "/api/v1/openapi.json";
    /// `GET`: liveness, unsigned.
    pub const HEALTH: &str = "/healthz";
    /// `GET`: Prometheus text, for the scraper's bearer token.
    pub const METRICS: &str = "/metrics";

    /// The path of one release bundle, by the hex SHA-256 a
    /// [`crate::release::ReleaseTarget`] names.
    pub fn release(bundle: &str) -> String {
        format!("{RELEASES}/{bundle}")
    }

    /// The path of one listed file, by its hex SHA-256.
    pub fn attachment(sha256: &str) -> String {
        format!("{ATTACHMENTS}/{sha256}")
    }

    /// The path of one feed, e.g. `/api/v1/feeds/catalog`.
    pub fn feed(feed: crate::feed::Feed) -> String {
        format!("{FEEDS}/{}", feed.as_str())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::enroll::EnrollRequest;
    use crate::heartbeat::Heartbeat;
    use crate::submission::BatchRequest;

    #[test]
    fn what_booths_send_refuses_fields_it_does_not_know() {
        let heartbeat = json!({
            "queue_depth": 0, "quarantined": 0, "app_version": "1", "disk_free_bytes": 0,
            "uptime_s": 0, "clock_offset_ms": 0,
            "devices": { "reader_present": true, "scanner_present": true,
                "printer": { "online": true, "paper_end": false, "paper_near_end": false, "cover_open": false } },
        });
        serde_json::from_value::<Heartbeat>(heartbeat.clone()).expect("the heartbeat as sent");
        let with = |pointer: &str| {
            let mut value = heartbeat.clone();
            value
                .pointer_mut(pointer)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert("extra".into(), json!(1));
            value
        };
        for pointer in ["", "/devices", "/devices/printer"] {
            let error = serde_json::from_value::<Heartbeat>(with(pointer)).unwrap_err();
            assert!(
                error.to_string().contains("unknown field `extra`"),
                "{pointer}: {error}"
            );
        }

        let batch = json!({ "submissions": [{
            "id": "01890a5d-ac96-774b-bcce-b302099a8057", "kiosk_seq": 1,
            "receipt_number": "001-00001-X", "kind": "complaint", "created_at": "2026-01-01T00:00:00Z",
            "applicant": { "name": "x", "nickname": "y" },
        }]});
        let error = serde_json::from_value::<BatchRequest>(batch).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `nickname`"),
            "{error}"
        );
        let enroll =
            json!({ "code": "c", "public_key": "k", "proof": "p", "app_version": "1", "extra": 1 });
        assert!(serde_json::from_value::<EnrollRequest>(enroll).is_err());
    }
}
