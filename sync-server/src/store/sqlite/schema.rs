//! The schema and its migrations. `PRAGMA user_version` holds the applied version; each
//! migration runs once, in order, inside one transaction with the version bump, so a crash
//! mid-migration leaves the previous version intact. Never edit a shipped migration: add one.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

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
    // 2: re-enrollment hands a kiosk number to the booth's new kiosk. The number is unique
    // among active kiosks only (the replaced one keeps it, revoked, for the record), and a
    // replaced kiosk names its successor. SQLite cannot drop a column's UNIQUE, so the table
    // is rebuilt (the documented 12-step way; `migrate` turns foreign keys off around it).
    r#"
    CREATE TABLE kiosks_v2 (
        kiosk_id TEXT PRIMARY KEY,
        kiosk_number INTEGER NOT NULL,
        public_key BLOB NOT NULL UNIQUE,
        county TEXT NOT NULL,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        app_version TEXT NOT NULL,
        enrolled_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_seen_at INTEGER,
        heartbeat TEXT,
        heartbeat_at INTEGER,
        replaced_by TEXT
    ) STRICT;
    INSERT INTO kiosks_v2 (kiosk_id, kiosk_number, public_key, county, township, village,
                           app_version, enrolled_at, revoked_at, last_seen_at, heartbeat,
                           heartbeat_at)
        SELECT kiosk_id, kiosk_number, public_key, county, township, village, app_version,
               enrolled_at, revoked_at, last_seen_at, heartbeat, heartbeat_at
        FROM kiosks;
    DROP TABLE kiosks;
    ALTER TABLE kiosks_v2 RENAME TO kiosks;
    CREATE UNIQUE INDEX kiosks_active_number ON kiosks (kiosk_number) WHERE revoked_at IS NULL;
    CREATE INDEX kiosks_by_number ON kiosks (kiosk_number, enrolled_at);
    "#,
];

/// The schema version this program writes.
pub(super) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`VERSION`] and makes sure it has a server id. Safe to run from
/// several processes at once: the version is re-read under the write lock.
///
/// Foreign keys are off while migrations run (a table rebuild drops a referenced table; the
/// pragma cannot change inside a transaction) and checked as a whole before the commit.
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(failed("prepare the schema migration"))?;
    let migrated = migrate_without_foreign_keys(conn);
    let restored = conn
        .execute_batch("PRAGMA foreign_keys = ON")
        .map_err(failed("prepare the schema migration"));
    migrated.and(restored)
}

fn migrate_without_foreign_keys(conn: &mut Connection) -> StoreResult<()> {
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
    // Only after a migration: on a large store the check reads every row.
    let dangling: Option<String> = if found < VERSION {
        tx.query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
            .optional()
            .map_err(failed("check the migrated schema"))?
    } else {
        None
    };
    if let Some(table) = dangling {
        return Err(StoreError::Corrupt {
            what: format!("table {table} refers to rows that do not exist"),
        });
    }
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('server_id', ?1)",
        [uuid::Uuid::now_v7().to_string()],
    )
    .map_err(failed("create the server id"))?;
    tx.commit().map_err(failed("commit the schema migration"))
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::*;

    /// A store written by schema 1 (what the first release left on disk).
    fn version_one(conn: &Connection) {
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO kiosks (kiosk_id, kiosk_number, public_key, county, township, village,
                                 app_version, enrolled_at, last_seen_at)
             VALUES ('k-1', 1, x'01', '县', '乡', '村', '0.1.0', 1000, 2000);
             INSERT INTO submissions (id, kiosk_id, receipt_number, kind, status, content_digest,
                                      body, received_at, status_changed_at)
             VALUES ('s-1', 'k-1', '001-00001-X', 'application', 'received', 'd', '{}', 1500,
                     1500);
             INSERT INTO status_changes (submission_id, kiosk_id, receipt_number, status,
                                         changed_at)
             VALUES ('s-1', 'k-1', '001-00001-X', 'received', 1500);",
        )
        .unwrap();
    }

    #[test]
    fn version_one_migrates_keeping_every_row_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("store.sqlite3")).unwrap();
        version_one(&conn);
        migrate(&mut conn).unwrap();

        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, VERSION);
        let foreign_keys: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .unwrap();
        assert_eq!(foreign_keys, 1, "foreign keys are back on");
        let kiosk: (String, i64, i64, Option<String>) = conn
            .query_row(
                "SELECT kiosk_id, kiosk_number, last_seen_at, replaced_by FROM kiosks",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .unwrap();
        assert_eq!(kiosk, ("k-1".into(), 1, 2000, None));
        let owner: String = conn
            .query_row(
                "SELECT kiosk_id FROM submissions WHERE id = 's-1'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(owner, "k-1");

        // Submissions still need their kiosk…
        let orphan = conn.execute(
            "INSERT INTO submissions (id, kiosk_id, receipt_number, kind, status, content_digest,
                                      body, received_at, status_changed_at)
             VALUES ('s-2', 'nobody', '002-00001-X', 'application', 'received', 'd', '{}', 1, 1)",
            [],
        );
        assert!(orphan.is_err(), "the foreign key survived the rebuild");
        // …and a number has one active kiosk, however many retired ones.
        let add = |id: &str, key: u8, revoked: Option<i64>| {
            conn.execute(
                "INSERT INTO kiosks (kiosk_id, kiosk_number, public_key, county, township,
                                     village, app_version, enrolled_at, revoked_at)
                 VALUES (?1, 1, ?2, '县', '乡', '村', '0.1.0', 3000, ?3)",
                params![id, vec![key], revoked],
            )
        };
        assert!(add("k-2", 2, None).is_err());
        add("k-3", 3, Some(3000)).unwrap();

        // Opening again changes nothing.
        migrate(&mut conn).unwrap();
    }
}
