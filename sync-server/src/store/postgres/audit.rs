//! The audit log's chain in PostgreSQL (the rule is [`crate::store::audit_chain`]): appending a
//! line and reading the chain back. A new line's link is read from the last line while the
//! transaction holds the chain's advisory lock, so no other instance or staff command appends
//! between the read and the insert; the lock is held to the commit.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::connection::{Feed, failed, lock_feed};
use crate::store::audit_chain::{AuditHead, ChainHash, ChainedAudit, link};
use crate::store::staff::{AuditEntry, AuditRecord};
use crate::store::values::stored_now;
use crate::store::{StoreError, StoreResult};

fn stored_hash(bytes: &[u8], seq: i64) -> StoreResult<ChainHash> {
    ChainHash::from_slice(bytes).ok_or_else(|| StoreError::Corrupt {
        what: format!("audit line {seq} has a hash of {} bytes", bytes.len()),
    })
}

/// Appends `entry` (cut to the caps first, so the hash covers exactly what is inserted) as
/// the chain's next line. Call it inside the transaction that does what it records.
pub(super) async fn append_audit(
    client: &impl GenericClient,
    entry: &AuditEntry,
) -> StoreResult<()> {
    let entry = &entry.bounded();
    lock_feed(client, Feed::AuditChain).await?;
    let last = client
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(failed("write the audit log"))?;
    let (seq, prev_hash) = match last {
        Some(row) => {
            let seq: i64 = row.get(0);
            (seq + 1, stored_hash(row.get(1), seq)?)
        }
        None => (1, ChainHash::GENESIS),
    };
    let hash = link(seq, entry, &prev_hash);
    let at = stored_now(entry.at);
    client
        .execute(
            "INSERT INTO audit_log (seq, at, actor, action, target, detail, remote, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &seq,
                &at,
                &entry.actor,
                &entry.action,
                &entry.target,
                &entry.detail,
                &entry.remote,
                &prev_hash.as_bytes().as_slice(),
                &hash.as_bytes().as_slice(),
            ],
        )
        .await
        .map_err(failed("write the audit log"))?;
    Ok(())
}

const CHAIN_COLUMNS: &str = "seq, at, actor, action, target, detail, remote, prev_hash, hash";

/// The record of an audit row read with [`CHAIN_COLUMNS`] (or its first seven columns).
pub(super) fn audit_record(row: &Row) -> AuditRecord {
    AuditRecord {
        seq: row.get(0),
        entry: AuditEntry {
            at: row.get(1),
            actor: row.get(2),
            action: row.get(3),
            target: row.get(4),
            detail: row.get(5),
            remote: row.get(6),
        },
    }
}

fn chained(row: &Row) -> StoreResult<ChainedAudit> {
    let record = audit_record(row);
    let seq = record.seq;
    Ok(ChainedAudit {
        record,
        prev_hash: stored_hash(row.get(7), seq)?,
        hash: stored_hash(row.get(8), seq)?,
    })
}

/// Lines after `after_seq`, oldest first, at most `limit`.
pub(super) async fn chain_page(
    client: &impl GenericClient,
    after_seq: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<ChainedAudit>> {
    let rows = client
        .query(
            &format!("SELECT {CHAIN_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[&after_seq.unwrap_or(i64::MIN), &i64::from(limit.max(1))],
        )
        .await
        .map_err(failed("read the audit chain"))?;
    rows.iter().map(chained).collect()
}

pub(super) async fn head(client: &impl GenericClient) -> StoreResult<Option<AuditHead>> {
    let last = client
        .query_opt(
            "SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(failed("read the audit chain's head"))?;
    last.map(|row| {
        let seq: i64 = row.get(0);
        let at: DateTime<Utc> = row.get(2);
        Ok(AuditHead {
            seq,
            hash: stored_hash(row.get(1), seq)?,
            at,
        })
    })
    .transpose()
}
