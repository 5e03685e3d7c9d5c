//! The records [`super::Store`] takes and returns.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use sync_protocol::enroll::Village;
use sync_protocol::feed::SubmissionStatus;
use sync_protocol::submission::{Submission, SubmissionKind};
use uuid::Uuid;

use crate::domain::fleet::KioskRecord;

/// A one-time enrollment code as stored: only its key (a hash), never the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrollCode {
    pub code_key: String,
    pub village: Village,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An enrollment to perform: claim `code_key`, create kiosk `kiosk_id` with `public_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollClaim {
    pub code_key: String,
    pub kiosk_id: String,
    pub public_key: [u8; 32],
    pub app_version: String,
    pub now: DateTime<Utc>,
    /// The booth's previous identity, proven by the caller (the store does no cryptography).
    pub replaces: Option<Replacement>,
}

/// A previous identity the enrolling booth proved it holds: the caller verified the
/// `replaces` proof with `proven_key`, the key it read for `kiosk_id`.
///
/// The store hands over (same kiosk number; the old kiosk's submissions and statuses feed
/// entries move to the new id, the submissions keeping the village they were handed in at;
/// the old kiosk is revoked as replaced) when, inside the claim's
/// transaction, `kiosk_id` still holds `proven_key` and either
/// - it is active, or
/// - it was itself replaced, and its latest successor is active and has never made a
///   verified request: the booth lost the answer of that earlier re-enrollment (and its new
///   key with it) before it could use it.
///
/// Otherwise (unknown, revoked by staff, or replaced by an identity in use) the enrollment is
/// a plain one with the next kiosk number: a revoked key vouches for nothing.
///
/// `proven_key` is `None` when the proof did not verify with the key `kiosk_id` had: the
/// store then refuses (`ReplacementNotProven`), but only after the code checked out, so a
/// caller without a good code learns nothing about the kiosk it named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    pub kiosk_id: String,
    pub proven_key: Option<[u8; 32]>,
}

/// What an accepted enrollment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrollment {
    /// A new kiosk with the next kiosk number.
    New(KioskRecord),
    /// A new kiosk that took over `replaced`'s kiosk number, submissions and statuses feed;
    /// `replaced` is now revoked with `replaced_by` set.
    Replacement {
        kiosk: KioskRecord,
        replaced: String,
    },
    /// The code was already used by this same public key: the kiosk made then, as it is now
    /// (possibly revoked since). Nothing changed.
    Repeated(KioskRecord),
}

impl Enrollment {
    pub fn kiosk(&self) -> &KioskRecord {
        match self {
            Self::New(kiosk) | Self::Replacement { kiosk, .. } | Self::Repeated(kiosk) => kiosk,
        }
    }

    pub fn into_kiosk(self) -> KioskRecord {
        match self {
            Self::New(kiosk) | Self::Replacement { kiosk, .. } | Self::Repeated(kiosk) => kiosk,
        }
    }
}

/// Why an enrollment was refused; the code stays as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollRefusal {
    #[error("no such enrollment code")]
    UnknownCode,
    #[error("the enrollment code expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the enrollment code was already used (by another key)")]
    AlreadyUsed,
    /// The previous identity no longer holds the key the caller verified the proof with.
    #[error("kiosk {0} does not hold the key that signed the replacement proof")]
    ReplacementNotProven(String),
    #[error("this public key is already enrolled as kiosk {0}")]
    KeyAlreadyEnrolled(String),
    #[error("every kiosk number is taken")]
    FleetFull,
}

/// A kiosk named by its id or by its kiosk number (what technicians read off a receipt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KioskRef {
    Id(String),
    Number(u32),
}

impl KioskRef {
    /// A number is taken as a kiosk number (`7` or `#7`), anything else as an id.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        match text.trim_start_matches('#').parse::<u32>() {
            Ok(number) => Self::Number(number),
            Err(_) => Self::Id(text.to_owned()),
        }
    }
}

impl fmt::Display for KioskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => f.write_str(id),
            Self::Number(number) => write!(f, "#{number}"),
        }
    }
}

/// What `revoke_kiosk` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked(KioskRecord),
    /// It was revoked before; `revoked_at` is the first revocation.
    AlreadyRevoked(KioskRecord),
    NotFound,
}

/// One submission to claim and store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestItem {
    /// Validated, with a canonical receipt number.
    pub submission: Submission,
    /// `Submission::content_digest()`.
    pub content_digest: String,
}

/// The store's answer for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    Accepted {
        received_at: DateTime<Utc>,
    },
    /// The same id with the same content was stored before.
    Duplicate {
        received_at: DateTime<Utc>,
    },
    Conflict(ConflictReason),
    /// Refused for good; nothing was stored.
    Refused(IngestRefusal),
}

/// Why the store refused an item it could only judge against what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestRefusal {
    /// A supplement names a submission the store does not hold (nor an earlier item of the
    /// same batch).
    UnknownOriginal(Uuid),
    /// A supplement's original is not an application of the same item: its pages would be
    /// filed under another item's materials.
    NotTheOriginalsItem(Uuid),
}

impl fmt::Display for IngestRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownOriginal(original) => write!(
                f,
                "this supplement completes submission {original}, which the server does not hold: check the receipt it was made from"
            ),
            Self::NotTheOriginalsItem(original) => write!(
                f,
                "this supplement is not an application of the item submission {original} applied for: make it for the same item"
            ),
        }
    }
}

/// Why an item conflicts with what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictReason {
    /// The id is taken by a submission with other content.
    DifferentContent,
    /// Another submission already carries this receipt number.
    ReceiptNumberTaken { by: Uuid },
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DifferentContent => f.write_str(
                "a submission with this id but different content is already stored: keep the original, give a changed one a new id",
            ),
            Self::ReceiptNumberTaken { by } => write!(
                f,
                "this receipt number already belongs to submission {by}: the booth's sequence counter went back"
            ),
        }
    }
}

/// Which submissions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmissionFilter {
    pub kiosk: Option<KioskRef>,
    pub status: Option<SubmissionStatus>,
    pub limit: Option<u32>,
}

/// A submission named by its id or its receipt number (canonical form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmissionRef {
    Id(Uuid),
    Receipt(String),
}

impl fmt::Display for SubmissionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Receipt(receipt) => f.write_str(receipt),
        }
    }
}

/// A stored submission with where it stands. `Debug` inherits the submission's redaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRecord {
    pub submission: Submission,
    pub kiosk_id: String,
    pub kiosk_number: u32,
    pub status: SubmissionStatus,
    pub received_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    /// For a supplement (补正材料): the case it joined, its original's id (the first
    /// original when the booth named another supplement). `None` for a case of its own.
    pub supplement_to: Option<Uuid>,
}

impl SubmissionRecord {
    pub fn kind(&self) -> SubmissionKind {
        self.submission.kind
    }
}

/// A notice to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub title: String,
    pub body: String,
    pub published_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    /// Empty for every village.
    pub villages: Vec<String>,
}

/// What a catalogue import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub withdrawn: Vec<String>,
}

/// Counts for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub kiosks_active: u64,
    pub kiosks_revoked: u64,
    pub submissions_by_status: Vec<(SubmissionStatus, u64)>,
}
