//! The at-rest key check and the pass that brings every sealed value under the newest key,
//! as in [`crate::store::sqlite`]: the same columns ([`crate::store::sealed_columns`]), the
//! same `meta` rows, in chunks of rows each its own transaction, so a pass cut short is
//! finished by the next start. A PostgreSQL store is never written in the clear (it is new, or
//! filled by `migrate-store` from a sealed SQLite store), so the pass only re-seals.

use deadpool_postgres::GenericClient;
use sync_protocol::submission::Submission;

use super::SealReport;
use super::connection::{Client, failed};
use crate::store::sealed_columns::{
    SEAL_CHECK, SEAL_CHECK_ROW, SEAL_CHECK_TEXT, SEALED, SUBMISSION_BODY, SealedColumn, id_lookup,
};
use crate::store::sealing::{KeyRing, SealError, Stored};
use crate::store::values::from_json;
use crate::store::{StoreError, StoreResult};

/// Rows per transaction in the pass: short enough that the server's writes interleave.
const CHUNK: i64 = 256;

/// Refuses a key file that is not this database's, then re-seals every value not yet under
/// the newest key. Safe to run from several instances at once.
pub(super) async fn bring_under_newest_key(
    client: &mut Client,
    keys: &KeyRing,
) -> StoreResult<SealReport> {
    if check_keys(client, keys).await? {
        return Ok(SealReport::default());
    }
    let mut report = SealReport::default();
    for column in SEALED {
        let mut after = String::new();
        while let Some(last) = reseal_chunk(client, keys, column, &after, &mut report).await? {
            after = last;
        }
    }
    let tx = client
        .transaction()
        .await
        .map_err(failed("seal personal data"))?;
    put_meta(
        &tx,
        SEAL_CHECK_ROW,
        &SEAL_CHECK.seal(keys, SEAL_CHECK_ROW, SEAL_CHECK_TEXT),
    )
    .await?;
    put_meta(&tx, "sealed_under", &keys.newest().to_string()).await?;
    tx.commit().await.map_err(failed("seal personal data"))?;
    Ok(report)
}

/// `Ok(true)` when everything is already under the newest key.
async fn check_keys(client: &mut Client, keys: &KeyRing) -> StoreResult<bool> {
    let tx = client
        .transaction()
        .await
        .map_err(failed("check the key file"))?;
    // Two instances opening a new database at once: one writes the checks, the other reads them.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('sync-server key check ' || current_schema()))",
        &[],
    )
    .await
    .map_err(failed("check the key file"))?;
    let lookup = keys.lookup_check();
    match get_meta(&tx, "lookup_check").await? {
        Some(stored) if stored != lookup => {
            return Err(StoreError::KeysDoNotMatch {
                detail: "its lookup key is not the database's".into(),
            });
        }
        Some(_) => {}
        None => put_meta(&tx, "lookup_check", &lookup).await?,
    }
    let check = match get_meta(&tx, SEAL_CHECK_ROW).await? {
        Some(stored) => stored,
        None => {
            let sealed = SEAL_CHECK.seal(keys, SEAL_CHECK_ROW, SEAL_CHECK_TEXT);
            put_meta(&tx, SEAL_CHECK_ROW, &sealed).await?;
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
    let under = get_meta(&tx, "sealed_under").await?;
    if under.is_none() {
        put_meta(&tx, "sealed_under", &keys.newest().to_string()).await?;
    }
    tx.commit().await.map_err(failed("check the key file"))?;
    let newest = keys.newest().to_string();
    Ok(under.as_deref().is_none_or(|under| under == newest)
        && Stored::of(&check)
            == (Stored::Sealed {
                key_id: keys.newest(),
            }))
}

/// Re-seals one chunk of `column` after row key `after` (compared as text); the chunk's last
/// key, or `None` when the column is done.
async fn reseal_chunk(
    client: &mut Client,
    keys: &KeyRing,
    column: SealedColumn,
    after: &str,
    report: &mut SealReport,
) -> StoreResult<Option<String>> {
    let tx = client
        .transaction()
        .await
        .map_err(failed("seal personal data"))?;
    let rows = tx
        .query(
            &format!(
                "SELECT {key}::text, {value} FROM {table}
                 WHERE {key}::text > $1 AND {value} IS NOT NULL
                 ORDER BY {key}::text LIMIT $2 FOR UPDATE",
                key = column.key,
                value = column.column,
                table = column.table,
            ),
            &[&after, &CHUNK],
        )
        .await
        .map_err(failed("seal personal data"))?;
    let newest = keys.newest();
    for row in &rows {
        let key: String = row.get(0);
        let stored: String = row.get(1);
        let plain = match Stored::of(&stored) {
            Stored::Sealed { key_id } if key_id == newest => continue,
            Stored::Sealed { .. } => {
                report.resealed += 1;
                column.open(keys, &key, &stored)?
            }
            Stored::Plain => {
                report.sealed += 1;
                stored.clone()
            }
        };
        tx.execute(
            &format!(
                "UPDATE {table} SET {value} = $2 WHERE {key}::text = $1",
                key = column.key,
                value = column.column,
                table = column.table,
            ),
            &[&key, &column.seal(keys, &key, &plain)],
        )
        .await
        .map_err(failed("seal personal data"))?;
        if column.table == SUBMISSION_BODY.table {
            let submission: Submission = from_json("a submission", &plain)?;
            tx.execute(
                "UPDATE submissions SET id_lookup = $2 WHERE id = $1",
                &[&key, &id_lookup(keys, &submission)],
            )
            .await
            .map_err(failed("seal personal data"))?;
        }
    }
    tx.commit().await.map_err(failed("seal personal data"))?;
    let last: Option<String> = rows.last().map(|row| row.get(0));
    Ok(last.filter(|_| rows.len() as i64 == CHUNK))
}

async fn get_meta(client: &impl GenericClient, key: &str) -> StoreResult<Option<String>> {
    let row = client
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
        .await
        .map_err(failed("read the key check"))?;
    Ok(row.map(|row| row.get(0)))
}

async fn put_meta(client: &impl GenericClient, key: &str, value: &str) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await
        .map_err(failed("write the key check"))?;
    Ok(())
}

/// How many values of each sealed column the key `key_id` still opens (for dropping a key).
pub(super) async fn count_sealed_with(client: &Client, key_id: u32) -> StoreResult<u64> {
    let pattern = format!("$s1${key_id}$%");
    let mut total = 0_u64;
    for column in SEALED {
        let row = client
            .query_one(
                &format!(
                    "SELECT COUNT(*) FROM {} WHERE {} LIKE $1",
                    column.table, column.column
                ),
                &[&pattern],
            )
            .await
            .map_err(failed("count sealed values"))?;
        total += row.get::<_, i64>(0).unsigned_abs();
    }
    // Files kept in the file shelf, sealed with the key (`crate::files`).
    let files = client
        .query_one(
            "SELECT COUNT(*) FROM attachments WHERE sealed_with = $1",
            &[&i64::from(key_id)],
        )
        .await
        .map_err(failed("count sealed files"))?;
    total += files.get::<_, i64>(0).unsigned_abs();
    Ok(total)
}
