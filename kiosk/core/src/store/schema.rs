//! The schema and its migrations. `PRAGMA user_version` holds how many migrations ran; each
//! migration runs in its own transaction together with the version bump, so a crash leaves
//! either the old or the new schema.

use rusqlite::{Connection, TransactionBehavior};

use super::error::Fault;

/// Migration `n` (1-based) takes the schema from version `n - 1` to `n`. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE identity (
        singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
        kiosk_id     TEXT NOT NULL,
        kiosk_number INTEGER NOT NULL,
        county       TEXT NOT NULL,
        township     TEXT NOT NULL,
        village      TEXT NOT NULL,
        server_url   TEXT NOT NULL,
        server_id    TEXT NOT NULL,
        enrolled_at  TEXT NOT NULL
    ) STRICT;

    -- clock_offset_ms, retention_after_ack_s, last_seq
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    -- The outbox: a row is never deleted, only minimised once acknowledged or discarded.
    CREATE TABLE submissions (
        id              TEXT PRIMARY KEY,
        seq             INTEGER NOT NULL UNIQUE,
        receipt_number  TEXT NOT NULL UNIQUE,
        kind            TEXT NOT NULL
                        CHECK (kind IN ('application', 'complaint', 'evaluation', 'consultation')),
        item_code       TEXT,
        catalog_version INTEGER,
        fields_json     TEXT NOT NULL,
        text            TEXT,
        rating          INTEGER,
        applicant_json  TEXT,
        contact_phone   TEXT,
        created_at      TEXT NOT NULL,
        state           TEXT NOT NULL
                        CHECK (state IN ('pending', 'sent', 'acknowledged', 'quarantined', 'discarded')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error      TEXT,
        acknowledged_at TEXT,
        received_at     TEXT,
        minimised_at    TEXT
    ) STRICT;
    CREATE INDEX submissions_by_state ON submissions (state, next_attempt_at, seq);

    CREATE TABLE receipts (
        number            TEXT PRIMARY KEY,
        submission_id     TEXT NOT NULL UNIQUE REFERENCES submissions (id),
        kind              TEXT NOT NULL,
        item_code         TEXT,
        masked_id         TEXT,
        created_at        TEXT NOT NULL,
        status            TEXT,
        status_note       TEXT,
        status_changed_at TEXT
    ) STRICT;

    CREATE TABLE catalog (
        code      TEXT PRIMARY KEY,
        version   INTEGER NOT NULL,
        item_json TEXT NOT NULL
    ) STRICT;

    CREATE TABLE notices (
        id           TEXT PRIMARY KEY,
        published_on TEXT NOT NULL,
        expires_on   TEXT,
        notice_json  TEXT NOT NULL
    ) STRICT;

    CREATE TABLE feed_cursors (
        feed       TEXT PRIMARY KEY,
        cursor     TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;

    -- No personal data: the id, the number, when and why.
    CREATE TABLE discard_audit (
        seq            INTEGER PRIMARY KEY,
        submission_id  TEXT NOT NULL,
        receipt_number TEXT NOT NULL,
        discarded_at   TEXT NOT NULL,
        reason         TEXT NOT NULL,
        last_error     TEXT
    ) STRICT;

    -- One row per open Store; a row left behind by a dead process means an unclean shutdown.
    CREATE TABLE open_sessions (
        session_id TEXT PRIMARY KEY,
        boot_id    TEXT NOT NULL,
        pid        INTEGER NOT NULL,
        opened_at  TEXT NOT NULL
    ) STRICT;
    "#,
    // 2: the uploader reads due items in seq order and minimisation looks only at acknowledged
    // rows not yet minimised; without these both scanned rows that grow with the queue, which
    // made a long drain quadratic.
    r#"
    CREATE INDEX submissions_unacknowledged ON submissions (seq) WHERE state IN ('pending', 'sent');
    CREATE INDEX submissions_to_minimise ON submissions (acknowledged_at)
        WHERE state = 'acknowledged' AND minimised_at IS NULL;
    "#,
    // 3: "place your ID card to list your receipts" and the status history the progress
    // screen shows. The holder key is a keyed hash of the ID number (see `holder`), never the
    // number. The history is seeded with the latest status each receipt already has.
    r#"
    ALTER TABLE receipts ADD COLUMN holder_key TEXT;
    CREATE INDEX receipts_by_holder ON receipts (holder_key, created_at)
        WHERE holder_key IS NOT NULL;

    CREATE TABLE status_history (
        submission_id TEXT NOT NULL REFERENCES submissions (id),
        status        TEXT NOT NULL,
        note          TEXT,
        changed_at    TEXT NOT NULL,
        PRIMARY KEY (submission_id, changed_at, status)
    ) STRICT;
    INSERT INTO status_history (submission_id, status, note, changed_at)
        SELECT submission_id, status, status_note, status_changed_at FROM receipts
        WHERE status IS NOT NULL AND status_changed_at IS NOT NULL;
    "#,
    // 4: the personal part of a queued submission sealed to the county's key
    // (`sync_protocol::personal`, JSON); the clear columns are then empty. NULL for rows
    // written before the booth knew the key, and once minimised.
    r#"
    ALTER TABLE submissions ADD COLUMN sealed_json TEXT;
    "#,
    // 5: the pin of the county server's certificate (`sha256:…`), stored with the server's
    // address at enrollment; NULL for plain http and servers trusted by the public roots.
    r#"
    ALTER TABLE identity ADD COLUMN server_pin TEXT;
    "#,
    // 6: the pages a submission carries (`files`): listed here in the submission's
    // transaction, their bytes in DATA/files/<sha256>; uploaded after the submission is
    // acknowledged.
    r#"
    CREATE TABLE files (
        submission_id   TEXT NOT NULL REFERENCES submissions (id),
        sha256          TEXT NOT NULL,
        bytes           INTEGER NOT NULL,
        material        INTEGER NOT NULL,
        material_name   TEXT NOT NULL,
        page            INTEGER NOT NULL,
        sealed          INTEGER NOT NULL,
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        next_attempt_at TEXT NOT NULL,
        PRIMARY KEY (submission_id, sha256)
    ) STRICT;
    CREATE INDEX files_pending ON files (state, next_attempt_at) WHERE state = 'pending';
    CREATE INDEX files_by_name ON files (sha256);
    "#,
    // 7: 补正. The materials a correction names, with the receipt's latest status and in
    // its history (JSON lists of {index, name} as the statuses feed carries them; NULL for
    // none), and the application a queued supplement completes (its `supplement_to`).
    r#"
    ALTER TABLE receipts ADD COLUMN status_materials TEXT;
    ALTER TABLE status_history ADD COLUMN materials TEXT;
    ALTER TABLE submissions ADD COLUMN supplement_to TEXT;
    "#,
    // 8: materials by phone. The one-time upload token of an application taken on a booth
    // without a camera (its hash goes to the county; the token is printed on the receipt).
    r#"
    ALTER TABLE submissions ADD COLUMN phone_upload_token TEXT;
    "#,
];

/// The schema version this build writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// The newest schema this build still opens, without migrating it. Raise it above
/// [`VERSION`] in the release *before* the one that migrates ("expand, then contract"): a
/// booth's updater rolls back to the previous release without restoring the store only when
/// that release reads the schema the failed one left (see `ARCHITECTURE.md`, "Updates on the
/// booth"). A schema in `VERSION + 1 ..= READS_UP_TO` must only add to this build's tables.
pub(crate) const READS_UP_TO: i64 = VERSION;

/// The store schemas this build opens (an older one is migrated first): what its release
/// manifest's `store.reads` says. The first is 1: schema 0 is a file no kiosk ever wrote to.
pub const SCHEMA_READS: (u32, u32) = (1, READS_UP_TO as u32);
/// The store schema this build migrates to: its manifest's `store.writes`.
pub const SCHEMA_WRITES: u32 = VERSION as u32;

pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Runs the migrations after `from`, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection, from: i64) -> Result<(), Fault> {
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while this one waited for the write lock.
        if version(&tx)? > done as i64 {
            continue;
        }
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", done as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
