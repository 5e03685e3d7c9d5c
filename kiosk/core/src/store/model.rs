//! The values the store takes and gives back. None of them carries a full ID number, a name or
//! an address except [`NewSubmission`], whose `Debug` redacts them.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sync_protocol::enroll::Village;
use sync_protocol::feed::{CorrectionMaterial, SubmissionStatus};
use sync_protocol::pin::CertPin;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{Applicant, SubmissionKind};
use uuid::Uuid;

/// Who this booth is to the server, stored at enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The `keyid` requests are signed with.
    pub kiosk_id: String,
    /// Prefixes this booth's receipt numbers; at most
    /// [`sync_protocol::receipt::MAX_KIOSK_NUMBER`].
    pub kiosk_number: u32,
    pub village: Village,
    /// Base URL of the sync server, e.g. `http://127.0.0.1:8080`.
    pub server_url: String,
    /// The server install this booth enrolled with.
    pub server_id: String,
    pub enrolled_at: DateTime<Utc>,
    /// The pin of the server's certificate (`sync_protocol::pin`): the sync client trusts that
    /// key alone for `server_url`. `None`: plain http, or an https server trusted by the
    /// public roots.
    pub server_pin: Option<CertPin>,
}

/// What a villager handed in, before the store gives it an id, a sequence number and a
/// receipt number.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSubmission {
    pub kind: SubmissionKind,
    pub item_code: Option<String>,
    /// The catalogue version shown when the form was filled.
    pub catalog_version: Option<u32>,
    pub fields: BTreeMap<String, String>,
    pub text: Option<String>,
    pub rating: Option<u8>,
    /// Only the parts the item needs (see [`crate::submit::prepare`]).
    pub applicant: Option<Applicant>,
    pub contact_phone: Option<String>,
    /// The applicant's ID number, used only to let the same card list its receipts on this
    /// booth: the store keeps a keyed hash of it with the receipt (see `Store::submit`), never
    /// the number. Independent of `applicant`, which goes to the server.
    pub holder_id_number: Option<String>,
    /// Photographed pages of the item's materials (applications only); written beside the
    /// database and listed in the submission (see `store::files`).
    pub pages: Vec<super::files::NewPage>,
    /// For a supplement (补正材料): the id of the application it completes (the
    /// [`LocalReceipt::submission_id`] of the receipt scanned). An application of the same
    /// item, carrying the pages photographed again; its applicant and fields may be empty.
    pub supplement_to: Option<Uuid>,
    /// The application's materials come by the villager's phone (a booth without a camera):
    /// the store makes a one-time upload token, keeps it for the receipt and sends its hash
    /// (`Submission::phone_upload`).
    pub phone_upload: bool,
}

impl NewSubmission {
    /// A submission of `kind` with nothing filled in yet.
    pub fn new(kind: SubmissionKind) -> Self {
        Self {
            kind,
            item_code: None,
            catalog_version: None,
            fields: BTreeMap::new(),
            text: None,
            rating: None,
            applicant: None,
            contact_phone: None,
            holder_id_number: None,
            pages: Vec::new(),
            supplement_to: None,
            phone_upload: false,
        }
    }
}

impl fmt::Debug for NewSubmission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Field values, free text and the phone may be personal; Debug ends up in logs.
        f.debug_struct("NewSubmission")
            .field("kind", &self.kind)
            .field("item_code", &self.item_code)
            .field("catalog_version", &self.catalog_version)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .field("applicant", &self.applicant)
            .field("supplement_to", &self.supplement_to)
            .field("phone_upload", &self.phone_upload)
            .field(
                "holder_id_number",
                &self.holder_id_number.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// What `submit` hands back once the submission is durably committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub id: Uuid,
    pub seq: u64,
    #[serde(serialize_with = "as_text")]
    pub number: ReceiptNumber,
    pub created_at: DateTime<Utc>,
    /// `450902********0028`, when an ID number was given.
    pub masked_id: Option<String>,
    /// The one-time phone upload token printed (as its page's address) on the receipt, when
    /// the materials come by phone. A credential for that upload only.
    pub phone_upload_token: Option<String>,
}

fn as_text<S: serde::Serializer>(number: &ReceiptNumber, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(number)
}

/// Where a submission is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionState {
    /// Waiting to be uploaded (again).
    Pending,
    /// Handed to the network at least once, no answer recorded yet; retried like pending.
    Sent,
    /// The server has it (accepted or duplicate). Terminal.
    Acknowledged,
    /// The server refused it for good (conflict, invalid); waits for a technician.
    Quarantined,
    /// A technician dropped a quarantined item; an audit record says why. Terminal.
    Discarded,
}

impl SubmissionState {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Sent,
        Self::Acknowledged,
        Self::Quarantined,
        Self::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Acknowledged => "acknowledged",
            Self::Quarantined => "quarantined",
            Self::Discarded => "discarded",
        }
    }

    /// For the villager-facing receipt view.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Pending | Self::Sent => "待上传",
            Self::Acknowledged => "已上传",
            Self::Quarantined => "上传受阻，请联系工作人员",
            Self::Discarded => "已作废",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for SubmissionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One outbox entry as a technician sees it: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueItem {
    pub id: Uuid,
    pub seq: u64,
    pub receipt_number: String,
    pub kind: SubmissionKind,
    pub item_code: Option<String>,
    pub state: SubmissionState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Counts by state, for `kiosk queue status` and the heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct QueueStats {
    pub pending: u64,
    pub sent: u64,
    pub quarantined: u64,
    pub acknowledged: u64,
    pub discarded: u64,
    /// Age of the oldest pending or sent submission, against the `now` given.
    pub oldest_pending_age_s: Option<u64>,
    /// Why the oldest waiting submission's last upload failed (a changed server certificate,
    /// an unreachable server): what holds the queue up, for the technician.
    pub last_error: Option<String>,
}

impl QueueStats {
    /// Not yet acknowledged and not held: what the heartbeat calls queue depth.
    pub fn depth(&self) -> u64 {
        self.pending + self.sent
    }
}

/// The booth's copy of a receipt, for the villager's progress query.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LocalReceipt {
    pub number: String,
    pub submission_id: Uuid,
    pub kind: SubmissionKind,
    pub item_code: Option<String>,
    /// Only ever the masked form.
    pub masked_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The latest status from the server; `None` until the server has it.
    pub status: Option<SubmissionStatus>,
    pub status_note: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    /// What the latest status asks the villager to photograph or bring again: the materials
    /// a `needs_correction` names (index in the item's materials list, as a page's
    /// `material` counts, and the catalogue's name), in the guide's order. Empty for any
    /// other status, and for a correction whose server named none (the note says it all).
    pub correction_materials: Vec<CorrectionMaterial>,
    /// For a supplement's receipt: the application it completes (its `submission_id`).
    pub supplement_to: Option<Uuid>,
    /// The one-time phone upload token, for an application whose materials come by phone.
    pub phone_upload_token: Option<String>,
    /// Where the submission is in this booth's outbox.
    pub upload: SubmissionState,
}

impl fmt::Debug for LocalReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The note is free text from staff and may name the villager.
        f.debug_struct("LocalReceipt")
            .field("number", &self.number)
            .field("submission_id", &self.submission_id)
            .field("kind", &self.kind)
            .field("item_code", &self.item_code)
            .field("masked_id", &self.masked_id)
            .field("status", &self.status)
            .field("correction_materials", &self.correction_materials)
            .field("supplement_to", &self.supplement_to)
            .field("upload", &self.upload)
            .finish_non_exhaustive()
    }
}

/// One status a receipt went through, as the county sent it (oldest first in a history).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct StatusEntry {
    pub status: SubmissionStatus,
    /// Shown to the villager, e.g. what to bring for a correction.
    pub note: Option<String>,
    pub changed_at: DateTime<Utc>,
    /// For a correction: the materials it names (see [`LocalReceipt::correction_materials`]).
    pub materials: Vec<CorrectionMaterial>,
}

impl fmt::Debug for StatusEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The note is free text from staff and may name the villager.
        f.debug_struct("StatusEntry")
            .field("status", &self.status)
            .field("changed_at", &self.changed_at)
            .finish_non_exhaustive()
    }
}

/// The audit trail of a discarded submission: who it was by number, when and why; no content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscardRecord {
    pub submission_id: Uuid,
    pub receipt_number: String,
    pub discarded_at: DateTime<Utc>,
    pub reason: String,
    /// The server's refusal that put it in quarantine.
    pub last_error: Option<String>,
}

/// The booth's devices as last checked, and when: what the heartbeat reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeviceReport {
    pub health: sync_protocol::heartbeat::DeviceHealth,
    pub checked_at: DateTime<Utc>,
}
