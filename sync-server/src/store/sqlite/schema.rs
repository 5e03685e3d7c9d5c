//! The schema and its migrations. `PRAGMA user_version` holds the applied version; each
//! migration runs once, in order, inside one transaction with the version bump, so a crash
//! mid-migration leaves the previous version intact. Never edit a shipped migration: add one.
//!
//! A migration is SQL, or a Rust function for what SQL cannot do (hashing every audit line);
//! a function runs in the same transaction, so it is held to the same rule.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::audit;
use super::connection::failed;
use crate::store::{StoreError, StoreResult};

/// One step of the schema.
#[derive(Clone, Copy)]
enum Migration {
    Sql(&'static str),
    /// Runs inside the migration's transaction (foreign keys off, as for SQL); an error rolls
    /// the whole migration back.
    Code {
        name: &'static str,
        run: fn(&Connection) -> StoreResult<()>,
    },
}

impl Migration {
    fn apply(self, conn: &Connection) -> StoreResult<()> {
        match self {
            Self::Sql(sql) => conn
                .execute_batch(sql)
                .map_err(failed("migrate the schema")),
            Self::Code { name, run } => {
                // Code migrations walk whole tables: say what the wait is for.
                tracing::info!(migration = name, "migrating the store");
                run(conn)
            }
        }
    }
}

const MIGRATIONS: &[Migration] = &[
    // 1: the first schema.
    Migration::Sql(
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
    ),
    // 2: re-enrollment hands a kiosk number to the booth's new kiosk. The number is unique
    // among active kiosks only (the replaced one keeps it, revoked, for the record), and a
    // replaced kiosk names its successor. SQLite cannot drop a column's UNIQUE, so the table
    // is rebuilt (the documented 12-step way; `migrate` turns foreign keys off around it).
    Migration::Sql(
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
    ),
    // 3: the county staff web app. Accounts, sessions and the append-only audit log; the
    // review state of each submission (which level holds it, how many levels its item has,
    // the working-day clock) and every action taken on it; follow-ups of bad ratings; the
    // holiday calendar; guide drafts and every published guide version.
    Migration::Sql(
        r#"
    CREATE TABLE staff_users (
        username TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        scope TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL,
        disabled_at INTEGER,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER
    ) STRICT;

    -- Only a hash of the cookie's secret is kept: a copy of the database opens no session.
    CREATE TABLE staff_sessions (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES staff_users (username),
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        remote TEXT
    ) STRICT;
    CREATE INDEX staff_sessions_by_user ON staff_sessions (username);

    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT,
        remote TEXT
    ) STRICT;
    CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
    CREATE INDEX audit_log_by_action ON audit_log (action, seq);
    CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

    -- stage: the level that holds it (1 handler, 2 reviewer, 3 approver); levels: how many
    -- its chain has (fixed when accepted). accepted_at starts the clock; a correction asked
    -- for after acceptance stops it (suspended_at) and its working days are added back
    -- (suspended_days) when the materials are in.
    ALTER TABLE submissions ADD COLUMN stage INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE submissions ADD COLUMN levels INTEGER;
    ALTER TABLE submissions ADD COLUMN accepted_at INTEGER;
    ALTER TABLE submissions ADD COLUMN suspended_at INTEGER;
    ALTER TABLE submissions ADD COLUMN suspended_days INTEGER NOT NULL DEFAULT 0;
    -- The promised date (YYYY-MM-DD, China time), set on acceptance, moved by suspensions.
    ALTER TABLE submissions ADD COLUMN due_on TEXT;
    CREATE INDEX submissions_by_due ON submissions (due_on) WHERE due_on IS NOT NULL;
    ALTER TABLE submissions ADD COLUMN rating INTEGER;
    UPDATE submissions SET rating = json_extract(body, '$.rating');
    CREATE INDEX submissions_by_rating ON submissions (rating) WHERE rating IS NOT NULL;

    CREATE TABLE review_actions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        submission_id TEXT NOT NULL REFERENCES submissions (id),
        stage INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        comment TEXT NOT NULL,
        at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX review_actions_by_submission ON review_actions (submission_id, seq);

    -- One per bad rating, made when staff first record something; a bad rating without a
    -- row is an open task.
    CREATE TABLE follow_ups (
        submission_id TEXT PRIMARY KEY REFERENCES submissions (id),
        called_back_at INTEGER,
        call_note TEXT,
        fix_note TEXT,
        closed_at INTEGER,
        closed_by TEXT,
        updated_at INTEGER NOT NULL
    ) STRICT;

    -- Days that break the Monday-to-Friday rule: a weekday off (holiday) or a weekend day
    -- worked in exchange (workday, 调休上班).
    CREATE TABLE calendar_days (
        day TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
        name TEXT NOT NULL
    ) STRICT;

    CREATE TABLE catalog_drafts (
        code TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL
    ) STRICT;
    CREATE TABLE catalog_versions (
        code TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        published_by TEXT NOT NULL,
        PRIMARY KEY (code, version)
    ) STRICT;
    INSERT INTO catalog_versions (code, version, body, published_at, published_by)
        SELECT code, version, body, updated_at, 'import' FROM catalog_items;
    "#,
    ),
    // The audit log's hash chain (数据信息溯源): the table gains `prev_hash` and `hash`, and
    // the lines already written are chained in seq order.
    Migration::Code {
        name: "chain the audit log",
        run: audit::chain_the_audit_log,
    },
    // Enrollment codes are keyed with a server secret kept outside the database
    // (`api::enroll_codes`). The unkeyed hashes of codes not used yet would give those codes
    // away to a copy of the database, so they are dropped: staff issue new ones. Used codes
    // stay as the record of which kiosk each enrolled (a used code enrolls nothing more).
    Migration::Sql(
        r#"
    DELETE FROM enroll_codes WHERE used_at IS NULL;
    "#,
    ),
    // A submission belongs to the village it was handed in at, whatever happens to the booth
    // afterwards: a booth re-enrolled into another village takes its kiosk number and its
    // submissions' statuses feed along, but not their place, and so not who may read them.
    // Rows stored before this get the village of the booth's identity (same kiosk number: one
    // booth's chain of re-enrollments) that was enrolled last before each arrived.
    Migration::Sql(
        r#"
    ALTER TABLE submissions ADD COLUMN county TEXT;
    ALTER TABLE submissions ADD COLUMN township TEXT;
    ALTER TABLE submissions ADD COLUMN village TEXT;
    UPDATE submissions SET (county, township, village) = (
        SELECT p.county, p.township, p.village
        FROM kiosks k JOIN kiosks p ON p.kiosk_number = k.kiosk_number
        WHERE k.kiosk_id = submissions.kiosk_id AND p.enrolled_at <= submissions.received_at
        ORDER BY p.enrolled_at DESC, p.rowid DESC LIMIT 1);
    UPDATE submissions SET (county, township, village) = (
        SELECT county, township, village FROM kiosks WHERE kiosks.kiosk_id = submissions.kiosk_id)
    WHERE village IS NULL;
    CREATE INDEX submissions_by_place ON submissions (county, township, village, received_at);
    "#,
    ),
    // Personal data sealed at rest (`store::sealing`, `sqlite::sealed`): the submission body,
    // status notes, review comments and follow-up notes hold sealed text from now on (the
    // store seals older rows when it opens), so no later migration can read them with
    // json_extract. An ID number is found through its keyed hash, kept here.
    Migration::Sql(
        r#"
    ALTER TABLE submissions ADD COLUMN id_lookup TEXT;
    CREATE INDEX submissions_by_id_lookup ON submissions (id_lookup) WHERE id_lookup IS NOT NULL;
    "#,
    ),
    // Booth releases and their rollouts (`store::releases`). A release's bundle is a file in
    // the data directory named by `bundle` (its SHA-256); the version's numbers are kept apart
    // to order releases. A rollout's townships, villages and booth numbers are JSON arrays.
    // Each booth's update state is the `update` of its last heartbeat (kiosks.heartbeat).
    Migration::Sql(
        r#"
    CREATE TABLE releases (
        version TEXT PRIMARY KEY,
        major INTEGER NOT NULL,
        minor INTEGER NOT NULL,
        patch INTEGER NOT NULL,
        bundle TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        summary TEXT NOT NULL,
        uploaded_by TEXT NOT NULL,
        uploaded_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE rollouts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        version TEXT NOT NULL REFERENCES releases (version),
        percent INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),
        townships TEXT NOT NULL,
        villages TEXT NOT NULL,
        booths TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'paused', 'stopped', 'completed')),
        failure_threshold INTEGER NOT NULL CHECK (failure_threshold BETWEEN 0 AND 100),
        state_reason TEXT,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        changed_at INTEGER NOT NULL
    ) STRICT;
    "#,
    ),
    // The staff lists at a province's size (`store::paging`): pages are found by key, so each
    // order the inbox and the fleet page read has an index that serves it, for every scope
    // (the whole store, a county, a village; a township reads its county's index, a tenth
    // of it or so). The inbox's are partial: evaluations are never in it.
    // - `is_final` and `due_key` are the most-urgent order's leading keys as columns
    //   (virtual: computed, not stored): SQLite seeks an index by a row value of columns, not
    //   of expressions. `due_key` puts rows without a promised date last without a NULL.
    // - A kiosk's heartbeat is kept as JSON; what the fleet's alert counts need of it is
    //   kept beside it as columns (`domain::fleet::HeartbeatAlerts`, written with each
    //   heartbeat), so counting a county's booths reads no JSON. Rows already stored get
    //   them from their JSON here.
    Migration::Sql(
        r#"
    ALTER TABLE submissions ADD COLUMN is_final INTEGER
        GENERATED ALWAYS AS (status IN ('approved', 'rejected')) VIRTUAL;
    ALTER TABLE submissions ADD COLUMN due_key TEXT
        GENERATED ALWAYS AS (COALESCE(due_on, '9999-12-31')) VIRTUAL;
    CREATE INDEX submissions_inbox_newest ON submissions (received_at)
        WHERE kind != 'evaluation';
    CREATE INDEX submissions_inbox_newest_county ON submissions (county, received_at)
        WHERE kind != 'evaluation';
    CREATE INDEX submissions_inbox_newest_village ON submissions (county, village, received_at)
        WHERE kind != 'evaluation';
    CREATE INDEX submissions_inbox_urgent ON submissions (is_final, due_key, received_at)
        WHERE kind != 'evaluation';
    CREATE INDEX submissions_inbox_urgent_county
        ON submissions (county, is_final, due_key, received_at) WHERE kind != 'evaluation';
    CREATE INDEX submissions_inbox_urgent_village
        ON submissions (county, village, is_final, due_key, received_at)
        WHERE kind != 'evaluation';

    CREATE INDEX kiosks_by_county ON kiosks (county, kiosk_number);
    CREATE INDEX kiosks_by_place ON kiosks (county, township, village, kiosk_number);
    ALTER TABLE kiosks ADD COLUMN paper_alert TEXT;
    ALTER TABLE kiosks ADD COLUMN queue_stuck INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE kiosks ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;
    UPDATE kiosks SET
        paper_alert = CASE
            WHEN json_extract(heartbeat, '$.devices.printer.paper_end') THEN 'paper_out'
            WHEN json_extract(heartbeat, '$.devices.printer.paper_near_end')
                THEN 'paper_near_end'
        END,
        queue_stuck = COALESCE(json_extract(heartbeat, '$.queue_depth') > 0
                               AND json_extract(heartbeat, '$.oldest_pending_age_s') > 3600, 0),
        quarantined = COALESCE(json_extract(heartbeat, '$.quarantined'), 0)
    WHERE heartbeat IS NOT NULL;
    "#,
    ),
    // 10: the inbox filtered by status (`benches/staff_scale`, docs/benchmarks.md). With
    // only version 9's indexes a county's one status was read through the county's index,
    // row by row from the table to see each status, and its count walked every submission
    // the county ever had: 315 ms at p50 with a million submissions in the store (0.55 ms
    // with it). This index holds exactly the rows of one county and status, newest last, so
    // the page seeks it and the count reads only its range. Partial as the other inbox
    // indexes are.
    Migration::Sql(
        r#"
    CREATE INDEX submissions_inbox_status_county ON submissions (county, status, received_at)
        WHERE kind != 'evaluation';
    "#,
    ),
    // 11: the files submissions list (photographed pages) and their uploads
    // (`store::attachments`); the bytes live in the file shelf, by name.
    Migration::Sql(
        r#"
    CREATE TABLE attachments (
        submission_id TEXT NOT NULL REFERENCES submissions (id),
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        sealed INTEGER NOT NULL,
        material INTEGER NOT NULL,
        page INTEGER NOT NULL,
        received INTEGER NOT NULL DEFAULT 0,
        complete_at INTEGER,
        -- The at-rest key the kept file is sealed with (key rotation counts it).
        sealed_with INTEGER,
        PRIMARY KEY (submission_id, sha256)
    ) STRICT;
    CREATE INDEX attachments_by_name ON attachments (sha256);
    "#,
    ),
    // 12: 补正 that names materials, and supplements that join their application.
    // - A correction request keeps the materials it asks for with its review action, and
    //   with the status change the booth reads (JSON lists of {index, name}; names from the
    //   catalogue, no personal data; NULL for none). A supplement's arrival keeps those its
    //   pages are of.
    // - A supplement is a submission whose `supplement_to` names the case it joined. No
    //   foreign key: `migrate-store` copies rows in id order, and a supplement's id (a booth's
    //   UUIDv7) sorts before its original's when that booth's clock was behind; ingest sets it
    //   only to a submission it holds.
    // - Supplements are never cases of their own, so the inbox indexes (version 9 and 10) are
    //   made again partial on their absence too: a count still reads only an index's range.
    Migration::Sql(
        r#"
    ALTER TABLE review_actions ADD COLUMN materials TEXT;
    ALTER TABLE status_changes ADD COLUMN materials TEXT;
    ALTER TABLE submissions ADD COLUMN supplement_to TEXT;
    CREATE INDEX submissions_by_supplement ON submissions (supplement_to, received_at)
        WHERE supplement_to IS NOT NULL;

    DROP INDEX submissions_inbox_newest;
    DROP INDEX submissions_inbox_newest_county;
    DROP INDEX submissions_inbox_newest_village;
    DROP INDEX submissions_inbox_urgent;
    DROP INDEX submissions_inbox_urgent_county;
    DROP INDEX submissions_inbox_urgent_village;
    DROP INDEX submissions_inbox_status_county;
    CREATE INDEX submissions_inbox_newest ON submissions (received_at)
        WHERE kind != 'evaluation' AND supplement_to IS NULL;
    CREATE INDEX submissions_inbox_newest_county ON submissions (county, received_at)
        WHERE kind != 'evaluation' AND supplement_to IS NULL;
    CREATE INDEX submissions_inbox_newest_village ON submissions (county, village, received_at)
        WHERE kind != 'evaluation' AND supplement_to IS NULL;
    CREATE INDEX submissions_inbox_urgent ON submissions (is_final, due_key, received_at)
        WHERE kind != 'evaluation' AND supplement_to IS NULL;
    CREATE INDEX submissions_inbox_urgent_county
        ON submissions (county, is_final, due_key, received_at)
        WHERE kind != 'evaluation' AND supplement_to IS NULL;
    CREATE INDEX submissions_inbox_urgent_village
        ON submissions (county, village, is_final, due_key, received_at)
        WHERE kind != 'evaluation' AND supplement_to IS NULL;
    CREATE INDEX submissions_inbox_status_county ON submissions (county, status, received_at)
        WHERE kind != 'evaluation' AND supplement_to IS NULL;
    "#,
    ),
    // 13: the one-time phone upload (`sync_protocol::phone_upload`). An application keeps
    // the hash of its upload token (never the token), and when the token was used and how
    // many pages it brought; the pages are rows of `attachments` like the booth's, with the
    // time the phone uploaded them (NULL for a booth's page). The hash is looked up on every
    // view of the phone page: indexed, on the rows that have one.
    Migration::Sql(
        r#"
    ALTER TABLE submissions ADD COLUMN phone_upload TEXT;
    ALTER TABLE submissions ADD COLUMN phone_upload_used_at INTEGER;
    ALTER TABLE submissions ADD COLUMN phone_upload_pages INTEGER;
    CREATE INDEX submissions_by_phone_upload ON submissions (phone_upload)
        WHERE phone_upload IS NOT NULL;
    ALTER TABLE attachments ADD COLUMN phone_at INTEGER;
    "#,
    ),
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
        migration.apply(&tx)?;
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
    use chrono::DateTime;
    use rusqlite::params;

    use super::*;
    use crate::store::audit_chain::{ChainVerdict, ChainWalk};
    use crate::store::staff::AuditEntry;

    /// A store written by schema 1 (what the first release left on disk).
    fn version_one(conn: &Connection) {
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        MIGRATIONS[0].apply(conn).unwrap();
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

    /// A store at the version just before the audit chain, holding `lines` in the old shape
    /// (seq, at, actor, action, target, detail, remote).
    fn before_the_chain(conn: &Connection, lines: &str) -> i64 {
        let chain = MIGRATIONS
            .iter()
            .position(
                |m| matches!(m, Migration::Code { name, .. } if *name == "chain the audit log"),
            )
            .expect("the chain's migration");
        for migration in &MIGRATIONS[..chain] {
            migration.apply(conn).unwrap();
        }
        conn.pragma_update(None, "user_version", chain as i64)
            .unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO audit_log (seq, at, actor, action, target, detail, remote) VALUES {lines}"
        ))
        .unwrap();
        chain as i64
    }

    fn walk(conn: &Connection) -> ChainVerdict {
        let mut walk = ChainWalk::new(None);
        for line in audit::chain_page(conn, None, 1000).unwrap() {
            if let Err(broken) = walk.check(&line) {
                return ChainVerdict::Broken(broken);
            }
        }
        walk.finish()
    }

    #[test]
    fn the_lines_written_before_the_chain_are_chained_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("store.sqlite3")).unwrap();
        // seq 3 is missing: the migration keeps seqs, and the chain links lines, not numbers.
        before_the_chain(
            &conn,
            "(1, 1000, 'cli', 'account.create', 'wang', 'role admin, scope *', NULL),
             (2, 2000, 'wang', 'login.ok', NULL, NULL, '10.0.0.7'),
             (4, 3000, 'wang', 'identity.view', '001-00001-X', '审核', '10.0.0.7')",
        );
        assert!(
            audit::chain_page(&conn, None, 10).is_err(),
            "no chain columns before the migration"
        );

        migrate(&mut conn).unwrap();

        let lines = audit::chain_page(&conn, None, 10).unwrap();
        let kept: Vec<(i64, AuditEntry)> = lines
            .iter()
            .map(|line| (line.record.seq, line.record.entry.clone()))
            .collect();
        let at = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        assert_eq!(
            kept,
            vec![
                (
                    1,
                    AuditEntry::new(at(1000), "cli", "account.create")
                        .target("wang")
                        .detail("role admin, scope *")
                ),
                (
                    2,
                    AuditEntry::new(at(2000), "wang", "login.ok").remote(Some("10.0.0.7".into()))
                ),
                (
                    4,
                    AuditEntry::new(at(3000), "wang", "identity.view")
                        .target("001-00001-X")
                        .detail("审核")
                        .remote(Some("10.0.0.7".into()))
                ),
            ]
        );
        assert!(
            matches!(walk(&conn), ChainVerdict::Intact { rows: 3, head: Some(head), .. } if head.seq == 4)
        );

        // Still append-only, and a line cannot go in unchained.
        assert!(
            conn.execute("UPDATE audit_log SET detail = 'x'", [])
                .is_err()
        );
        assert!(
            conn.execute("DELETE FROM audit_log WHERE seq = 1", [])
                .is_err()
        );
        assert!(
            conn.execute(
                "INSERT INTO audit_log (at, actor, action) VALUES (4000, 'x', 'y')",
                []
            )
            .is_err()
        );
        // The next line follows the last.
        super::super::staff::append_audit(&conn, &AuditEntry::new(at(5000), "li", "logout"))
            .unwrap();
        assert!(
            matches!(walk(&conn), ChainVerdict::Intact { rows: 4, head: Some(head), .. } if head.seq == 5)
        );
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn a_failing_code_migration_leaves_the_version_and_the_lines_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("store.sqlite3")).unwrap();
        // A time no `DateTime` holds: the line cannot be hashed, so the migration fails.
        let version = before_the_chain(
            &conn,
            "(1, 1000, 'cli', 'a', NULL, NULL, NULL), (2, 9223372036854775807, 'cli', 'b', NULL, NULL, NULL)",
        );

        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::Corrupt { .. })
        ));

        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(found, version);
        let (lines, has_chain): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM audit_log),
                        (SELECT COUNT(*) FROM pragma_table_info('audit_log') WHERE name = 'hash')
                        + (SELECT COUNT(*) FROM sqlite_schema WHERE name = 'audit_log_chained')",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((lines, has_chain), (2, 0));
    }
}
