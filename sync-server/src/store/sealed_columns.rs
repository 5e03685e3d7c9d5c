//! Which columns hold sealed personal data, by the same table, column and row key in every
//! backend: a sealed value names its place, so a value copied from one backend to another
//! (`sync-server migrate-store`) opens only where the place is the same.

use sync_protocol::submission::Submission;

use crate::store::sealing::{KeyRing, Place, SealError};
use crate::store::{StoreError, StoreResult};

/// A column whose values are sealed, with the column that keys its rows.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    pub table: &'static str,
    pub key: &'static str,
    pub column: &'static str,
}

/// The whole submission as the booth sent it (name, ID number, address, phone, form fields,
/// free text). The columns queries need (kind, item, rating, times, status) are kept beside
/// it in the clear; none of them is personal.
pub const SUBMISSION_BODY: SealedColumn = SealedColumn {
    table: "submissions",
    key: "id",
    column: "body",
};
/// What staff tell the villager with a status change (may name them or their documents).
pub const STATUS_NOTE: SealedColumn = SealedColumn {
    table: "status_changes",
    key: "seq",
    column: "note",
};
/// A reviewer's comment on an action.
pub const REVIEW_COMMENT: SealedColumn = SealedColumn {
    table: "review_actions",
    key: "seq",
    column: "comment",
};
/// What a villager said when called back about a bad rating, and what was fixed.
pub const CALL_NOTE: SealedColumn = SealedColumn {
    table: "follow_ups",
    key: "submission_id",
    column: "call_note",
};
pub const FIX_NOTE: SealedColumn = SealedColumn {
    table: "follow_ups",
    key: "submission_id",
    column: "fix_note",
};

/// Every sealed column; the pass walks these.
pub const SEALED: [SealedColumn; 5] = [
    SUBMISSION_BODY,
    STATUS_NOTE,
    REVIEW_COMMENT,
    CALL_NOTE,
    FIX_NOTE,
];

/// A sealed value the key file can open, kept in `meta`: a wrong key file is refused at open,
/// before anything is read or written with it.
pub const SEAL_CHECK: SealedColumn = SealedColumn {
    table: "meta",
    key: "key",
    column: "value",
};
pub const SEAL_CHECK_ROW: &str = "seal_check";
pub const SEAL_CHECK_TEXT: &str = "sync-server at-rest key check";

impl SealedColumn {
    pub fn place<'a>(&self, row: &'a str) -> Place<'a> {
        Place {
            table: self.table,
            column: self.column,
            row,
        }
    }

    pub fn seal(&self, keys: &KeyRing, row: &str, plaintext: &str) -> String {
        keys.seal(self.place(row), plaintext)
    }

    pub fn seal_opt(&self, keys: &KeyRing, row: &str, plaintext: Option<&str>) -> Option<String> {
        plaintext.map(|text| self.seal(keys, row, text))
    }

    pub fn open(&self, keys: &KeyRing, row: &str, stored: &str) -> StoreResult<String> {
        keys.open(self.place(row), stored)
            .map_err(|source| self.unsealable(row, source))
    }

    pub fn open_opt(
        &self,
        keys: &KeyRing,
        row: &str,
        stored: Option<String>,
    ) -> StoreResult<Option<String>> {
        stored.map(|text| self.open(keys, row, &text)).transpose()
    }

    pub fn unsealable(&self, row: &str, source: SealError) -> StoreError {
        StoreError::Unsealable {
            place: self.place(row).to_string(),
            source,
        }
    }
}

/// The lookup of a submission's ID number, if it has one.
/// The keyed hash an applicant's ID number is found by.
pub fn id_lookup(keys: &KeyRing, submission: &Submission) -> Option<String> {
    submission
        .applicant
        .as_ref()
        .and_then(|a| a.id_number.as_deref())
        .map(|number| keys.id_lookup(number))
}

/// What opening a store sealed or re-sealed (bringing every value under the newest key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SealReport {
    /// Values that were plain text (a database from before sealing).
    pub sealed: u64,
    /// Values re-sealed from an older at-rest key.
    pub resealed: u64,
}
