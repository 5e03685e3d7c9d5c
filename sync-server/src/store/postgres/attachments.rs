//! The files submissions list and their uploads (`store::attachments`).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_protocol::submission::Submission;
use tokio_postgres::Row;
use uuid::Uuid;

use super::PostgresStore;
use super::connection::failed;
use crate::store::attachments::{Advance, AttachmentStore, ListedFile};
use crate::store::{StoreError, StoreFuture, StoreResult};

/// Lists newly stored submissions' files (inside their ingest's transaction).
pub(super) async fn list_files(
    client: &impl GenericClient,
    submissions: &[&Submission],
) -> StoreResult<()> {
    let mut ids = Vec::new();
    let mut names = Vec::new();
    let mut bytes = Vec::new();
    let mut sealed = Vec::new();
    let mut materials = Vec::new();
    let mut pages = Vec::new();
    for submission in submissions {
        for file in &submission.attachments {
            ids.push(submission.id.to_string());
            names.push(file.sha256.clone());
            bytes.push(file.bytes as i64);
            sealed.push(file.sealed);
            materials.push(i64::from(file.material));
            pages.push(i64::from(file.page));
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    client
        .execute(
            "INSERT INTO attachments (submission_id, sha256, bytes, sealed, material, page)
             SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BOOLEAN[],
                                  $5::BIGINT[], $6::BIGINT[])",
            &[&ids, &names, &bytes, &sealed, &materials, &pages],
        )
        .await
        .map_err(failed("list a submission's files"))?;
    Ok(())
}

const COLUMNS: &str = "a.submission_id, a.sha256, a.bytes, a.sealed, a.material, a.page, \
                       a.received, a.complete_at";

fn to_file(row: &Row) -> StoreResult<ListedFile> {
    let id: String = row.get(0);
    let small = |value: i64, what: &str| {
        u16::try_from(value).map_err(|_| StoreError::Corrupt {
            what: format!("the {what} of a file of submission `{id}`"),
        })
    };
    Ok(ListedFile {
        submission_id: Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt {
            what: format!("attachment of submission `{id}`"),
        })?,
        sha256: row.get(1),
        bytes: row.get::<_, i64>(2) as u64,
        sealed: row.get(3),
        material: small(row.get(4), "material")?,
        page: small(row.get(5), "page")?,
        received: row.get::<_, i64>(6) as u64,
        complete_at: row.get(7),
    })
}

async fn listed_file(
    client: &impl GenericClient,
    kiosk_id: &str,
    sha256: &str,
) -> StoreResult<Option<ListedFile>> {
    client
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM attachments a JOIN submissions s ON s.id = a.submission_id
                 WHERE a.sha256 = $2 AND s.kiosk_id = $1
                 ORDER BY s.received_at, a.submission_id LIMIT 1"
            ),
            &[&kiosk_id, &sha256],
        )
        .await
        .map_err(failed("find a listed file"))?
        .as_ref()
        .map(to_file)
        .transpose()
}

impl AttachmentStore for PostgresStore {
    fn listed_file<'a>(
        &'a self,
        kiosk_id: &'a str,
        sha256: &'a str,
    ) -> StoreFuture<'a, Option<ListedFile>> {
        Box::pin(async move {
            let client = self.client().await?;
            listed_file(&client, kiosk_id, sha256).await
        })
    }

    fn advance_upload<'a>(
        &'a self,
        kiosk_id: &'a str,
        sha256: &'a str,
        from: u64,
        to: u64,
    ) -> StoreFuture<'a, Advance> {
        Box::pin(async move {
            let client = self.client().await?;
            // One statement: two instances taking the same chunk cannot both advance.
            let changed = client
                .execute(
                    "UPDATE attachments SET received = $4
                     WHERE sha256 = $2 AND received = $3 AND complete_at IS NULL
                       AND submission_id IN (SELECT id FROM submissions WHERE kiosk_id = $1)",
                    &[&kiosk_id, &sha256, &(from as i64), &(to as i64)],
                )
                .await
                .map_err(failed("record a file's chunk"))?;
            if changed > 0 {
                return Ok(Advance::Advanced { received: to });
            }
            Ok(match listed_file(&client, kiosk_id, sha256).await? {
                None => Advance::NotListed,
                Some(file) => Advance::Elsewhere {
                    received: file.received,
                    complete: file.complete_at.is_some(),
                },
            })
        })
    }

    fn finish_upload<'a>(
        &'a self,
        kiosk_id: &'a str,
        sha256: &'a str,
        sealed_with: u32,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE attachments SET received = bytes, complete_at = $3, sealed_with = $4
                     WHERE sha256 = $2
                       AND submission_id IN (SELECT id FROM submissions WHERE kiosk_id = $1)",
                    &[
                        &kiosk_id,
                        &sha256,
                        &crate::store::values::stored_now(now),
                        &i64::from(sealed_with),
                    ],
                )
                .await
                .map_err(failed("record a whole file"))?;
            Ok(())
        })
    }

    fn restart_upload<'a>(&'a self, kiosk_id: &'a str, sha256: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE attachments SET received = 0, complete_at = NULL, sealed_with = NULL
                     WHERE sha256 = $2
                       AND submission_id IN (SELECT id FROM submissions WHERE kiosk_id = $1)",
                    &[&kiosk_id, &sha256],
                )
                .await
                .map_err(failed("start a file's upload over"))?;
            Ok(())
        })
    }

    fn submission_files(&self, submission_id: Uuid) -> StoreFuture<'_, Vec<ListedFile>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM attachments a WHERE a.submission_id = $1
                         ORDER BY a.material, a.page, a.sha256"
                    ),
                    &[&submission_id.to_string()],
                )
                .await
                .map_err(failed("list a submission's files"))?
                .iter()
                .map(to_file)
                .collect()
        })
    }
}
