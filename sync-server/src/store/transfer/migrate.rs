//! `migrate-store`: a county's SQLite store copied into an empty PostgreSQL store, verified
//! table by table before it is committed.
//!
//! Why one PostgreSQL transaction rather than resumable batches: the copy runs while the
//! server is stopped, and a county's store (hundreds of thousands of submissions) copies in
//! tens of seconds (docs/benchmarks.md), so resuming saves little; one transaction means a
//! copy cut short (a crash, a lost connection, a mismatch found by the check) leaves the
//! target exactly as empty as it was, so the only recovery is to run the command again, and
//! no server started on the target can ever see half a county. The rows still travel in
//! batches: SQLite is read on a blocking thread a batch at a time and each batch is streamed
//! into a binary `COPY`, so memory stays flat however large the store.
//!
//! The order inside the transaction: lock every table (a server started on the target waits
//! rather than writes), refuse a target that holds rows, replace the `meta` rows the schema's
//! creation wrote with the county's (its server id, which booths know, and its key checks),
//! copy each table, move each identity past what was copied, read every table back and
//! compare digests, and commit only if all match. Then, with the rows committed, the store
//! is opened as the server opens it (the key file's check), the audit chain is walked
//! (`audit_chain::verify`) and every sealed value is opened.

use std::collections::HashMap;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::digest::{TableCheck, TableDigest, compare};
use super::postgres_target::{self, PostgresTarget};
use super::sqlite_source::SqliteSource;
use super::tables::{Floor, TABLES};
use super::value::{Value, postgres_type};
use super::{TransferError, check_keys, check_sealed_under_newest};
use crate::store::audit_chain::{self, ChainVerdict};
use crate::store::postgres::PostgresStore;
use crate::store::sealing::KeyRing;

/// Rows per batch from the SQLite reader to the PostgreSQL writer.
const BATCH: usize = 1000;
/// Batches in flight between them: the reader stays a little ahead, no more.
const IN_FLIGHT: usize = 4;

/// An identity column moved past the copied rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityMove {
    pub table: &'static str,
    pub column: &'static str,
    /// The value the next inserted row gets.
    pub next: i64,
}

/// What a migration did and found.
#[derive(Debug, Clone)]
pub struct MigrationReport {
    /// Each table: SQLite's digest and PostgreSQL's, read back inside the copy's transaction.
    pub tables: Vec<TableCheck>,
    pub identities: Vec<IdentityMove>,
    /// Whether the rows were committed: only when every table matched.
    pub committed: bool,
    /// The audit chain as walked on PostgreSQL after the commit.
    pub chain: Option<ChainVerdict>,
    /// Sealed values opened on PostgreSQL with the key file after the commit.
    pub sealed_opened: u64,
    pub elapsed: Duration,
}

impl MigrationReport {
    pub fn mismatches(&self) -> impl Iterator<Item = &TableCheck> {
        self.tables.iter().filter(|check| !check.matches())
    }

    /// Committed, every table alike, the chain intact.
    pub fn verified(&self) -> bool {
        self.committed
            && self.mismatches().next().is_none()
            && matches!(self.chain, Some(ChainVerdict::Intact { .. }))
    }
}

/// What the SQLite reader hands the PostgreSQL writer.
enum Chunk {
    Rows(usize, Vec<Vec<Value>>),
    Done(usize, TableDigest),
}

/// Copies the SQLite store at `source` (opened read-only) into the empty PostgreSQL store at
/// `target_url`, verifies it, and reports. `keys` must be the store's key file, with
/// everything sealed under its newest key. `copied` is told each table as it is done.
pub async fn migrate_store(
    source: &Path,
    target_url: &str,
    keys: Arc<KeyRing>,
    mut copied: impl FnMut(&TableDigest) + Send,
) -> Result<MigrationReport, TransferError> {
    let started = Instant::now();
    let path = source.to_owned();
    let checked_keys = Arc::clone(&keys);
    let source = blocking(move || {
        let source = SqliteSource::open(&path)?;
        // Before anything is written: a store these keys cannot open is refused here, and
        // one not yet fully re-sealed would be re-sealed by the first open after the check.
        let meta = source.meta()?;
        check_keys(&meta, &checked_keys)?;
        check_sealed_under_newest(&meta, &checked_keys)?;
        Ok(source)
    })
    .await?;

    PostgresStore::migrate_schema(target_url).await?;
    let mut target = PostgresTarget::connect(target_url).await?;
    target.check_schema().await?;
    let tx = target
        .client()
        .transaction()
        .await
        .map_err(TransferError::postgres("start the copy"))?;
    prepare_empty(&tx).await?;

    let (sender, mut receiver) = mpsc::channel(IN_FLIGHT);
    let reader = tokio::task::spawn_blocking(move || read_all(&source, &sender));
    let written = copy_all(&tx, &mut receiver, &mut copied).await;
    drop(receiver);
    let read = reader
        .await
        .map_err(|_| TransferError::Interrupted("the SQLite reader panicked"))?;
    let (sqlite_digests, floors) = match (written, read) {
        (Ok(digests), Ok(floors)) => (digests, floors),
        // The side that failed first says why; the other only saw its partner stop.
        (Err(TransferError::Interrupted(_)), Err(error)) | (Err(error), _) | (_, Err(error)) => {
            return Err(error);
        }
    };

    let identities = move_identities(&tx, &floors).await?;
    let postgres_digests = postgres_target::digest_tables(&tx).await?;
    let tables = compare(&sqlite_digests, &postgres_digests);
    let mut report = MigrationReport {
        tables,
        identities,
        committed: false,
        chain: None,
        sealed_opened: 0,
        elapsed: Duration::ZERO,
    };
    if report.mismatches().next().is_some() {
        tx.rollback()
            .await
            .map_err(TransferError::postgres("roll the copy back"))?;
        report.elapsed = started.elapsed();
        return Ok(report);
    }
    tx.commit()
        .await
        .map_err(TransferError::postgres("commit the copy"))?;
    report.committed = true;

    let store = PostgresStore::open_with(target_url, Arc::clone(&keys), 2).await?;
    report.chain = Some(audit_chain::verify(&store, None).await?);
    report.sealed_opened = postgres_target::open_sealed(target.client(), &keys).await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Runs blocking SQLite work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TransferError> + Send + 'static,
) -> Result<T, TransferError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| TransferError::Interrupted("the SQLite reader panicked"))?
}

/// Locks every table until the commit, refuses rows already there, and clears `meta` of what
/// creating the schema wrote (a fresh server id the county's replaces).
async fn prepare_empty(tx: &Transaction<'_>) -> Result<(), TransferError> {
    let names: Vec<String> = TABLES
        .iter()
        .map(|table| format!("\"{}\"", table.name))
        .collect();
    // EXCLUSIVE: readers go on, writers (a server started too early) wait for the commit.
    tx.batch_execute(&format!(
        "LOCK TABLE {} IN EXCLUSIVE MODE",
        names.join(", ")
    ))
    .await
    .map_err(TransferError::postgres("lock the tables"))?;
    let held = postgres_target::tables_with_rows(tx).await?;
    if !held.is_empty() {
        // A few names say enough, and keep the error on one readable line.
        let mut tables = held[..held.len().min(3)].join(", ");
        if held.len() > 3 {
            tables.push_str(&format!(" and {} more tables", held.len() - 3));
        }
        return Err(TransferError::NotEmpty { tables });
    }
    tx.execute("DELETE FROM meta", &[])
        .await
        .map_err(TransferError::postgres("clear meta"))?;
    Ok(())
}

/// The reader: every table in order, inside one read transaction, then SQLite's
/// AUTOINCREMENT counters as of the same instant.
fn read_all(
    source: &SqliteSource,
    sender: &mpsc::Sender<Chunk>,
) -> Result<HashMap<String, i64>, TransferError> {
    let stopped = |_| TransferError::Interrupted("the PostgreSQL writer stopped");
    source.begin()?;
    for (index, table) in TABLES.iter().enumerate() {
        let digest = source.read_table(table, BATCH, |rows| {
            sender
                .blocking_send(Chunk::Rows(index, rows))
                .map_err(stopped)
        })?;
        sender
            .blocking_send(Chunk::Done(index, digest))
            .map_err(stopped)?;
    }
    let floors = source.sequences()?;
    source.end()?;
    Ok(floors)
}

/// The writer: one binary COPY per table, fed the reader's batches; SQLite's digest of each.
async fn copy_all(
    tx: &Transaction<'_>,
    receiver: &mut mpsc::Receiver<Chunk>,
    copied: &mut (impl FnMut(&TableDigest) + Send),
) -> Result<Vec<TableDigest>, TransferError> {
    let mut digests = Vec::with_capacity(TABLES.len());
    for (index, table) in TABLES.iter().enumerate() {
        let sink = tx
            .copy_in(&postgres_target::copy_in_statement(table))
            .await
            .map_err(TransferError::postgres("copy rows"))?;
        let types: Vec<Type> = table
            .columns
            .iter()
            .map(|column| postgres_type(column.kind))
            .collect();
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
        let digest = loop {
            match receiver.recv().await {
                Some(Chunk::Rows(at, rows)) if at == index => {
                    for row in &rows {
                        let values: Vec<&(dyn ToSql + Sync)> = row
                            .iter()
                            .map(|value| value as &(dyn ToSql + Sync))
                            .collect();
                        writer
                            .as_mut()
                            .write(&values)
                            .await
                            .map_err(TransferError::postgres("copy rows"))?;
                    }
                }
                Some(Chunk::Done(at, digest)) if at == index => break digest,
                Some(_) => return Err(TransferError::Interrupted("tables arrived out of order")),
                None => return Err(TransferError::Interrupted("the SQLite reader stopped")),
            }
        };
        writer
            .as_mut()
            .finish()
            .await
            .map_err(TransferError::postgres("copy rows"))?;
        copied(&digest);
        digests.push(digest);
    }
    Ok(digests)
}

/// Sets each identity so the next row gets a number past every copied one (and, for
/// SQLite's AUTOINCREMENT tables, past every number SQLite ever handed out).
async fn move_identities(
    tx: &Transaction<'_>,
    floors: &HashMap<String, i64>,
) -> Result<Vec<IdentityMove>, TransferError> {
    let mut moves = Vec::new();
    for table in TABLES {
        let Some(identity) = table.identity else {
            continue;
        };
        let row = tx
            .query_one(
                &format!(
                    "SELECT max(\"{}\") FROM \"{}\"",
                    identity.column, table.name
                ),
                &[],
            )
            .await
            .map_err(TransferError::postgres("read an identity"))?;
        let copied: Option<i64> = row.get(0);
        let handed_out = match identity.floor {
            Floor::Max => 0,
            Floor::Autoincrement => floors.get(table.name).copied().unwrap_or(0),
        };
        let last = copied.unwrap_or(0).max(handed_out);
        // setval(…, 1, false): nothing handed out yet, the next is 1.
        let (value, is_called) = if last > 0 { (last, true) } else { (1, false) };
        tx.execute(
            "SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)",
            &[&table.name, &identity.column, &value, &is_called],
        )
        .await
        .map_err(TransferError::postgres("move an identity"))?;
        moves.push(IdentityMove {
            table: table.name,
            column: identity.column,
            next: last + 1,
        });
    }
    Ok(moves)
}
