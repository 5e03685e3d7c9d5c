//! The wire format between booths (kiosks) and the county sync server, compiled into both so
//! they cannot drift apart.
//!
//! Map of the crate:
//! - [`paths`]: the versioned URL paths of the kiosk API.
//! - [`error`]: the error body `{"code": "...", "message": "..."}` and its codes.
//! - [`enroll`]: one-time-code enrollment of a booth's ed25519 key.
//! - [`submission`]: what a booth uploads (applications, complaints, evaluations,
//!   consultations) and the per-item results.
//! - [`feed`]: what a booth pulls with a cursor: the service catalogue, notices, and status
//!   changes of its own submissions.
//! - [`heartbeat`]: the booth's health report.
//! - [`personal`]: a submission's personal part sealed on the booth to the county's key
//!   (RFC 9180 HPKE), opened only by the server.
//! - [`signing`]: the request signature (RFC 9421 style, ed25519) both sides implement.
//! - [`receipt`]: receipt numbers issued offline, unique across the fleet, with a check symbol.
//!
//! All JSON; field names are `snake_case`; timestamps are RFC 3339 UTC. A breaking change
//! gets a new path prefix (`/api/v2`), never a changed meaning under `/api/v1`.

pub mod enroll;
pub mod error;
pub mod feed;
pub mod heartbeat;
pub mod personal;
pub mod receipt;
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
    /// `GET`: the OpenAPI document of the kiosk API (unsigned).
    pub const OPENAPI: &str = "/api/v1/openapi.json";
    /// `GET`: liveness, unsigned.
    pub const HEALTH: &str = "/healthz";
    /// `GET`: Prometheus text, unsigned.
    pub const METRICS: &str = "/metrics";

    /// The path of one feed, e.g. `/api/v1/feeds/catalog`.
    pub fn feed(feed: crate::feed::Feed) -> String {
        format!("{FEEDS}/{}", feed.as_str())
    }
}
