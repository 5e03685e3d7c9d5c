//! What can go wrong with the booth's database, each as one line a technician can act on.

use std::path::PathBuf;

use sync_protocol::receipt::ReceiptError;
use sync_protocol::submission::Invalid;

/// Why a store operation failed. Nothing was changed when any of these is returned: every
/// write is one transaction that is rolled back on error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported a full disk (`SQLITE_FULL`) or a write/sync failure (`SQLITE_IOERR`).
    #[error("the booth's disk is full at {path}: free space; nothing was saved")]
    DiskFull {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The file failed its integrity check (or is not a database) and was moved aside; the
    /// next open starts an empty database. The moved file keeps its `-wal` next to it, so
    /// `sqlite3 MOVED_TO .recover` can still read it.
    #[error(
        "the booth's database {path} is damaged ({detail}); it was moved to {moved_to}: keep that file for recovery, then run the command again to start an empty database and re-enroll the booth"
    )]
    Corrupt {
        path: PathBuf,
        moved_to: PathBuf,
        detail: String,
    },
    /// Corruption noticed while the store was open; it cannot be moved aside while in use.
    #[error(
        "the booth's database {path} is damaged: restart the kiosk; the next start checks it and moves it aside"
    )]
    Damaged {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("enroll this booth first: kiosk enroll --server URL --code CODE")]
    NotEnrolled,
    /// Pages waiting to be uploaded already take the booth's budget for them.
    #[error(
        "the booth's space for photographed pages is full ({pending_bytes} of {budget} bytes wait to be uploaded): nothing was saved; bring the materials to the township office, or let the booth upload first"
    )]
    FilesFull { pending_bytes: u64, budget: u64 },
    #[error("the booth's disk is full at {path}: free space; nothing was saved")]
    PagesDiskFull {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the submission was refused: {0}")]
    Invalid(#[source] Invalid),
    /// A typed receipt number that is malformed or fails its check symbol.
    #[error(transparent)]
    ReceiptNumber(#[from] ReceiptError),
    #[error(
        "no submission with id or receipt number `{0}` on this booth: check it (kiosk queue quarantined lists held items)"
    )]
    UnknownSubmission(String),
    #[error("no receipt {0} on this booth: check the number on the printed receipt")]
    UnknownReceipt(String),
    #[error(
        "submission {receipt} is {state}, not quarantined: only quarantined items can be re-queued or discarded"
    )]
    NotQuarantined {
        receipt: String,
        state: &'static str,
    },
    #[error("give a reason for discarding {0}: it goes into the audit log")]
    EmptyReason(String),
    #[error(
        "this booth has used every receipt number of kiosk number {kiosk_number}: re-enroll it to get a new kiosk number"
    )]
    SequenceExhausted { kiosk_number: u32 },
    #[error(
        "kiosk number {0} does not fit in a receipt number (at most {max}): the server must issue a smaller one",
        max = sync_protocol::receipt::MAX_KIOSK_NUMBER
    )]
    KioskNumberOutOfRange(u32),
    #[error(
        "the booth's database {path} was written by a newer kiosk (schema {found}, this one knows up to {known}): update the kiosk software"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the booth's database {path} is busy: another kiosk process holds it; try again")]
    Busy {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "cannot use the data directory {path}: check it exists and is writable by the kiosk user"
    )]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the booth's database {path} is damaged ({detail}) and could not be moved aside: move it away by hand"
    )]
    MoveAside {
        path: PathBuf,
        detail: String,
        #[source]
        source: std::io::Error,
    },
    #[error("stored {what} in {path} is unreadable: the database was changed outside the kiosk")]
    Decode {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The secret that keys ID numbers for "list my receipts" could not be read or written.
    #[error(
        "cannot use the booth's holder secret {path}: check the data directory is writable by the kiosk user; deleting the file only forgets which card handed in which receipt"
    )]
    HolderSecret {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the booth could not make the receipt's phone upload code ({0}): nothing was saved; restart the booth, and if it stays, call a technician"
    )]
    NoRandomness(#[source] sync_protocol::phone_upload::NoRandomness),
    #[error("the booth's database {path} failed: check the disk, then try again")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// Failures inside the store before the file's path is attached; `Store::finish` turns them
/// into [`StoreError`].
#[derive(Debug)]
pub(crate) enum Fault {
    Sql(rusqlite::Error),
    Decode {
        what: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    Store(StoreError),
}

impl From<rusqlite::Error> for Fault {
    fn from(source: rusqlite::Error) -> Self {
        Self::Sql(source)
    }
}

impl From<StoreError> for Fault {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<ReceiptError> for Fault {
    fn from(error: ReceiptError) -> Self {
        Self::Store(StoreError::ReceiptNumber(error))
    }
}

impl Fault {
    pub(crate) fn decode(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Decode {
            what,
            source: Box::new(source),
        }
    }
}

/// How SQLite's result codes map onto what the technician must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlKind {
    DiskFull,
    Corrupt,
    Busy,
    Other,
}

pub(crate) fn classify(error: &rusqlite::Error) -> SqlKind {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        // ENOSPC surfaces as SQLITE_FULL on data writes but as SQLITE_IOERR_* when the WAL or
        // shared-memory file cannot grow; to the booth both mean "nothing was saved".
        Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure) => SqlKind::DiskFull,
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => SqlKind::Corrupt,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => SqlKind::Busy,
        _ => SqlKind::Other,
    }
}
