//! The audit log's chain in SQLite (the rule is [`crate::store::audit_chain`]): the link a new
//! line gets, reading the chain back, and the migration that chained the lines written before
//! there was a chain.
//!
//! A new line's link is read from the last line inside the writer's `BEGIN IMMEDIATE`
//! transaction, which holds the database's write lock: no other writer, in this process or a
//! staff command's, can append between the read and the insert.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::connection::{failed, millis, time};
use crate::store::audit_chain::{AuditHead, ChainHash, ChainedAudit, link};
use crate::store::staff::{AuditEntry, AuditRecord};
use crate::store::{StoreError, StoreResult};

/// Where a new line goes in the chain.
#[derive(Debug, Clone, Copy)]
pub(super) struct NextLink {
    pub seq: i64,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
}

fn stored_hash(bytes: &[u8], seq: i64) -> StoreResult<ChainHash> {
    ChainHash::from_slice(bytes).ok_or_else(|| StoreError::Corrupt {
        what: format!("audit line {seq} has a hash of {} bytes", bytes.len()),
    })
}

/// The link for `entry` as the next line. Call it in the transaction that inserts the line.
pub(super) fn next_link(conn: &Connection, entry: &AuditEntry) -> StoreResult<NextLink> {
    let last: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .and_then(|mut statement| {
            statement
                .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(failed("write the audit log"))?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, stored_hash(&hash, seq)?),
        None => (1, ChainHash::GENESIS),
    };
    Ok(NextLink {
        seq,
        prev_hash,
        hash: link(seq, entry, &prev_hash),
    })
}

const CHAIN_COLUMNS: &str = "seq, at, actor, action, target, detail, remote, prev_hash, hash";

/// The texts of a line, read from five columns starting at `first`.
struct AuditText {
    actor: String,
    action: String,
    target: Option<String>,
    detail: Option<String>,
    remote: Option<String>,
}

impl AuditText {
    fn read(row: &Row<'_>, first: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            actor: row.get(first)?,
            action: row.get(first + 1)?,
            target: row.get(first + 2)?,
            detail: row.get(first + 3)?,
            remote: row.get(first + 4)?,
        })
    }

    fn at(self, at: i64) -> StoreResult<AuditEntry> {
        Ok(AuditEntry {
            at: time(at)?,
            actor: self.actor,
            action: self.action,
            target: self.target,
            detail: self.detail,
            remote: self.remote,
        })
    }
}

type ChainRow = (i64, i64, AuditText, Vec<u8>, Vec<u8>);

fn chain_row(row: &Row<'_>) -> rusqlite::Result<ChainRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        AuditText::read(row, 2)?,
        row.get(7)?,
        row.get(8)?,
    ))
}

/// A line as it was before the chain: seq, at and its texts.
fn unchained_row(row: &Row<'_>) -> rusqlite::Result<(i64, i64, AuditText)> {
    Ok((row.get(0)?, row.get(1)?, AuditText::read(row, 2)?))
}

fn chained((seq, at, text, prev_hash, hash): ChainRow) -> StoreResult<ChainedAudit> {
    Ok(ChainedAudit {
        record: AuditRecord {
            seq,
            entry: text.at(at)?,
        },
        prev_hash: stored_hash(&prev_hash, seq)?,
        hash: stored_hash(&hash, seq)?,
    })
}

/// Lines after `after_seq`, oldest first, at most `limit`.
pub(super) fn chain_page(
    conn: &Connection,
    after_seq: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<ChainedAudit>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {CHAIN_COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))
        .map_err(failed("read the audit chain"))?;
    let rows = statement
        .query_map(
            params![after_seq.unwrap_or(i64::MIN), i64::from(limit.max(1))],
            chain_row,
        )
        .map_err(failed("read the audit chain"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("read the audit chain"))?;
    rows.into_iter().map(chained).collect()
}

pub(super) fn head(conn: &Connection) -> StoreResult<Option<AuditHead>> {
    let last: Option<(i64, Vec<u8>, i64)> = conn
        .query_row(
            "SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(failed("read the audit chain's head"))?;
    last.map(|(seq, hash, at)| {
        Ok(AuditHead {
            seq,
            hash: stored_hash(&hash, seq)?,
            at: time(at)?,
        })
    })
    .transpose()
}

/// The migration that gives the audit log its chain: the table is rebuilt with `prev_hash` and
/// `hash` (NOT NULL, 32 bytes: a line cannot be inserted unchained), and the lines already
/// there are chained in seq order, one at a time, keeping their seq and content. The triggers
/// that refuse UPDATE and DELETE are made again on the new table.
///
/// `seq` loses AUTOINCREMENT: the writer assigns it (the last line's plus one) because the
/// hash covers it and must be computed before the insert.
pub(super) fn chain_the_audit_log(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE audit_log_chained (
             seq INTEGER PRIMARY KEY,
             at INTEGER NOT NULL,
             actor TEXT NOT NULL,
             action TEXT NOT NULL,
             target TEXT,
             detail TEXT,
             remote TEXT,
             prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
             hash BLOB NOT NULL CHECK (length(hash) = 32)
         ) STRICT;",
    )
    .map_err(failed("chain the audit log"))?;
    let mut read = conn
        .prepare(
            "SELECT seq, at, actor, action, target, detail, remote FROM audit_log ORDER BY seq",
        )
        .map_err(failed("chain the audit log"))?;
    let mut write = conn
        .prepare(&format!(
            "INSERT INTO audit_log_chained ({CHAIN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
             ?8, ?9)"
        ))
        .map_err(failed("chain the audit log"))?;
    let mut rows = read.query([]).map_err(failed("chain the audit log"))?;
    let mut prev_hash = ChainHash::GENESIS;
    while let Some(row) = rows.next().map_err(failed("chain the audit log"))? {
        let (seq, at, text) = unchained_row(row).map_err(failed("chain the audit log"))?;
        let entry = text.at(at)?;
        let hash = link(seq, &entry, &prev_hash);
        write
            .execute(params![
                seq,
                millis(entry.at),
                entry.actor,
                entry.action,
                entry.target,
                entry.detail,
                entry.remote,
                prev_hash.as_bytes(),
                hash.as_bytes()
            ])
            .map_err(failed("chain the audit log"))?;
        prev_hash = hash;
    }
    drop(rows);
    drop(read);
    drop(write);
    conn.execute_batch(
        "DROP TABLE audit_log;
         ALTER TABLE audit_log_chained RENAME TO audit_log;
         CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
         CREATE INDEX audit_log_by_action ON audit_log (action, seq);
         CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
             BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
         CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
             BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    )
    .map_err(failed("chain the audit log"))
}
