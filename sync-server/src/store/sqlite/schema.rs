//! The schema and its migrations. `PRAGMA user_version` holds the applied version; each
//! migration runs once, in order, inside one transaction with the version bump, so a crash
//! mid-migration leaves the previous version intact. Never edit a shipped migration: add one.

use rusqlite::{Connection, TransactionBehavior};

use super::connection::failed;
use crate::store::{StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE enroll_codes (
        code_key TEXT PRIMARY KEY,
        county TEXT NOT NULL,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        used_by TEXT
    ) STRICT;

    CREATE TABLE kiosks (
        kiosk_id TEXT PRIMARY KEY,
        kiosk_number INTEGER NOT NULL UNIQUE,
        public_key BLOB NOT NULL UNIQUE,
        county TEXT NOT NULL,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        app_version TEXT NOT NULL,
        enrolled_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_seen_at INTEGER,
        heartbeat TEXT,
        heartbeat_at INTEGER
    ) STRICT;

    CREATE TABLE submissions (
        id TEXT PRIMARY KEY,
        kiosk_id TEXT NOT NULL REFERENCES kiosks (kiosk_id),
        receipt_number TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        item_code TEXT,
        status TEXT NOT NULL,
        content_digest TEXT NOT NULL,
        body TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        status_changed_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX submissions_by_received ON submissions (received_at);
    CREATE INDEX submissions_by_kiosk ON submissions (kiosk_id, received_at);
    CREATE INDEX submissions_by_status ON submissions (status, received_at);

    -- AUTOINCREMENT: a seq is never reused, so a booth's cursor never skips a change.
    CREATE TABLE status_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        submission_id TEXT NOT NULL REFERENCES submissions (id),
        kiosk_id TEXT NOT NULL,
        receipt_number TEXT NOT NULL,
        status TEXT NOT NULL,
        note TEXT,
        changed_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX status_changes_by_kiosk ON status_changes (kiosk_id, seq);
    CREATE INDEX status_changes_by_submission ON status_changes (submission_id, seq);

    -- The last change number handed out per feed (catalog, notices).
    CREATE TABLE feed_counters (
        feed TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE catalog_items (
        code TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        withdrawn INTEGER NOT NULL,
        body TEXT NOT NULL,
        change_seq INTEGER NOT NULL UNIQUE,
        updated_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE notices (
        id TEXT PRIMARY KEY,
        for_every_village INTEGER NOT NULL,
        body TEXT NOT NULL,
        change_seq INTEGER NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE notice_villages (
        notice_id TEXT NOT NULL REFERENCES notices (id),
        village TEXT NOT NULL,
        PRIMARY KEY (notice_id, village)
    ) STRICT;
    CREATE INDEX notice_villages_by_village ON notice_villages (village, notice_id);
    "#,
];

/// The schema version this program writes.
pub(super) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`VERSION`] and makes sure it has a server id. Safe to run from
/// several processes at once: the version is re-read under the write lock.
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed("start the schema migration"))?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(failed("read the schema version"))?;
    if found > VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(migration)
            .map_err(failed("migrate the schema"))?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .map_err(failed("record the schema version"))?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('server_id', ?1)",
        [uuid::Uuid::now_v7().to_string()],
    )
    .map_err(failed("create the server id"))?;
    tx.commit().map_err(failed("commit the schema migration"))
}
