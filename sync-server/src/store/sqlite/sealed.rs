//! Which columns hold sealed personal data, and the one pass that brings every value under
//! the newest at-rest key: it seals the plaintext rows of a database written before sealing
//! existed, and re-seals after a rotation (see [`crate::store::sealing`] and
//! `docs/personal-data.md`).
//!
//! The pass runs when the store opens and the database says it was last brought under another
//! key (`meta.sealed_under`), so an ordinary start costs two small reads. It works in chunks of
//! rows, each its own transaction: every value says which key sealed it, so a pass cut short
//! (a crash, a kill) is simply finished by the next start.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sync_protocol::submission::Submission;

use super::connection::{failed, from_json};
use crate::store::sealing::{KeyRing, SealError, Stored};
use crate::store::{StoreError, StoreResult};

/// Rows per transaction in the pass: short enough that the server's writes interleave.
const CHUNK: i64 = 256;

pub(super) use crate::store::sealed_columns::*;

/// Refuses a key file that is not this database's, then seals or re-seals every value not yet
/// under the newest key. Safe to run from several processes at once.
pub(super) fn bring_under_newest_key(
    conn: &mut Connection,
    keys: &KeyRing,
) -> StoreResult<SealReport> {
    if check_keys(conn, keys)? {
        return Ok(SealReport::default());
    }
    let mut report = SealReport::default();
    for column in SEALED {
        let mut after = 0_i64;
        loop {
            let (last, done) = reseal_chunk(conn, keys, column, after, &mut report)?;
            if done {
                break;
            }
            after = last;
        }
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed("seal personal data"))?;
    put_meta(
        &tx,
        SEAL_CHECK_ROW,
        &SEAL_CHECK.seal(keys, SEAL_CHECK_ROW, SEAL_CHECK_TEXT),
    )?;
    put_meta(&tx, "sealed_under", &keys.newest().to_string())?;
    tx.commit().map_err(failed("seal personal data"))?;
    if report != SealReport::default() {
        // The old values are gone from the pages (secure_delete); empty the WAL too, whose
        // older frames still hold them.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(failed("checkpoint after sealing"))?;
    }
    Ok(report)
}

/// Whether the database is already all under the newest key. Refuses a key file whose keys
/// do not open the database's key check or whose lookup key differs; a database that has
/// none yet gets them.
fn check_keys(conn: &mut Connection, keys: &KeyRing) -> StoreResult<bool> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed("check the key file"))?;
    let lookup = keys.lookup_check();
    match get_meta(&tx, "lookup_check")? {
        Some(stored) if stored != lookup => {
            return Err(StoreError::KeysDoNotMatch {
                detail: "its lookup key is not the database's".into(),
            });
        }
        Some(_) => {}
        None => put_meta(&tx, "lookup_check", &lookup)?,
    }
    let check = match get_meta(&tx, SEAL_CHECK_ROW)? {
        Some(stored) => stored,
        None => {
            let sealed = SEAL_CHECK.seal(keys, SEAL_CHECK_ROW, SEAL_CHECK_TEXT);
            put_meta(&tx, SEAL_CHECK_ROW, &sealed)?;
            sealed
        }
    };
    let opened = keys.open(SEAL_CHECK.place(SEAL_CHECK_ROW), &check);
    let detail = match (opened, Stored::of(&check)) {
        (Ok(text), _) if text == SEAL_CHECK_TEXT => None,
        (Err(SealError::UnknownKey { key_id }), _) => Some(format!(
            "the database was last sealed with at-rest key {key_id}, which it lacks"
        )),
        (_, Stored::Sealed { key_id }) => Some(format!(
            "its at-rest key {key_id} is not the one the database was sealed with"
        )),
        (_, Stored::Plain) => Some("the database's key check is garbled".into()),
    };
    if let Some(detail) = detail {
        return Err(StoreError::KeysDoNotMatch { detail });
    }
    let under = get_meta(&tx, "sealed_under")?;
    tx.commit().map_err(failed("check the key file"))?;
    Ok(under.as_deref() == Some(keys.newest().to_string().as_str())
        && Stored::of(&check)
            == (Stored::Sealed {
                key_id: keys.newest(),
            }))
}

/// Brings the rows of `column` after rowid `after` (at most [`CHUNK`]) under the newest key.
/// Returns the last rowid seen and whether the table is done.
fn reseal_chunk(
    conn: &mut Connection,
    keys: &KeyRing,
    column: SealedColumn,
    after: i64,
    report: &mut SealReport,
) -> StoreResult<(i64, bool)> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed("seal personal data"))?;
    let rows: Vec<(i64, String, String)> = {
        let mut statement = tx
            .prepare(&format!(
                "SELECT rowid, CAST({key} AS TEXT), {value} FROM {table}
                 WHERE rowid > ?1 AND {value} IS NOT NULL ORDER BY rowid LIMIT ?2",
                key = column.key,
                value = column.column,
                table = column.table,
            ))
            .map_err(failed("seal personal data"))?;
        statement
            .query_map(params![after, CHUNK], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(failed("seal personal data"))?
            .collect::<rusqlite::Result<_>>()
            .map_err(failed("seal personal data"))?
    };
    let newest = keys.newest();
    for (rowid, key, stored) in &rows {
        let plain = match Stored::of(stored) {
            Stored::Sealed { key_id } if key_id == newest => continue,
            Stored::Sealed { .. } => {
                report.resealed += 1;
                column.open(keys, key, stored)?
            }
            Stored::Plain => {
                report.sealed += 1;
                stored.clone()
            }
        };
        tx.execute(
            &format!(
                "UPDATE {} SET {} = ?2 WHERE rowid = ?1",
                column.table, column.column
            ),
            params![rowid, column.seal(keys, key, &plain)],
        )
        .map_err(failed("seal personal data"))?;
        if column.table == SUBMISSION_BODY.table {
            let submission: Submission = from_json("a submission", &plain)?;
            tx.execute(
                "UPDATE submissions SET id_lookup = ?2 WHERE rowid = ?1",
                params![rowid, id_lookup(keys, &submission)],
            )
            .map_err(failed("seal personal data"))?;
        }
    }
    tx.commit().map_err(failed("seal personal data"))?;
    let last = rows.last().map_or(after, |(rowid, _, _)| *rowid);
    Ok((last, (rows.len() as i64) < CHUNK))
}

fn get_meta(conn: &Connection, key: &str) -> StoreResult<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
        row.get(0)
    })
    .optional()
    .map_err(failed("read the key check"))
}

fn put_meta(conn: &Connection, key: &str, value: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map_err(failed("write the key check"))?;
    Ok(())
}

/// How many values of each sealed column the key `key_id` still opens (for dropping a key).
pub(super) fn count_sealed_with(conn: &Connection, key_id: u32) -> StoreResult<u64> {
    let pattern = format!("$s1${key_id}$%");
    let mut total = 0_u64;
    for column in SEALED {
        let count: i64 = conn
            .query_row(
                &format!(
                    "SELECT COUNT(*) FROM {} WHERE {} LIKE ?1",
                    column.table, column.column
                ),
                [&pattern],
                |row| row.get(0),
            )
            .map_err(failed("count sealed values"))?;
        total += count.unsigned_abs();
    }
    // Files kept in the file shelf, sealed with the key (`crate::files`).
    let files: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM attachments WHERE sealed_with = ?1",
            [key_id],
            |row| row.get(0),
        )
        .map_err(failed("count sealed files"))?;
    total += files.unsigned_abs();
    Ok(total)
}
