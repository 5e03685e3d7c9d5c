//! The files submissions list and their uploads (`store::attachments`).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_protocol::submission::Submission;
use tokio_postgres::Row;
use uuid::Uuid;

use super::PostgresStore;
use super::connection::failed;
use crate::store::attachments::{
    Advance, AttachmentStore, ListedFile, PhonePage, PhoneUploadOutcome, PhoneUploadSlot,
};
use crate::store::sealed_columns::REVIEW_COMMENT;
use crate::store::sealing::KeyRing;
use crate::store::values::{materials_to_column, phone_materials, stored_now};
use crate::store::{PHONE_UPLOAD_ACTION, PHONE_UPLOAD_ACTOR, StoreError, StoreFuture, StoreResult};

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
                       a.received, a.complete_at, a.phone_at";

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
        phone_at: row.get(8),
    })
}

/// The slot of `token_hash`; `lock` takes the application's row for the transaction, so two
/// instances recording an upload at once go one after the other.
async fn phone_upload_slot(
    client: &impl GenericClient,
    token_hash: &str,
    lock: bool,
) -> StoreResult<Option<PhoneUploadSlot>> {
    let lock = if lock { "FOR UPDATE OF s" } else { "" };
    let Some(row) = client
        .query_opt(
            &format!(
                "SELECT s.id, s.phone_upload_used_at, s.phone_upload_pages,
                        (SELECT COUNT(*) FROM attachments a WHERE a.submission_id = s.id)
                 FROM submissions s WHERE s.phone_upload = $1
                 ORDER BY s.received_at, s.row_seq LIMIT 1 {lock}"
            ),
            &[&token_hash],
        )
        .await
        .map_err(failed("look up a phone upload"))?
    else {
        return Ok(None);
    };
    let id: String = row.get(0);
    let used_at: Option<DateTime<Utc>> = row.get(1);
    let used_pages: Option<i64> = row.get(2);
    Ok(Some(PhoneUploadSlot {
        submission_id: Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt {
            what: format!("the phone upload of submission `{id}`"),
        })?,
        used: used_at.map(|at| (at, used_pages.unwrap_or(0) as u16)),
        pages: row.get::<_, i64>(3) as u32,
    }))
}

async fn record_phone_upload(
    client: &impl GenericClient,
    keys: &KeyRing,
    token_hash: &str,
    pages: &[PhonePage],
    max_pages: u32,
    now: DateTime<Utc>,
) -> StoreResult<PhoneUploadOutcome> {
    let Some(slot) = phone_upload_slot(client, token_hash, true).await? else {
        return Ok(PhoneUploadOutcome::Unknown);
    };
    if let Some((at, pages)) = slot.used {
        return Ok(PhoneUploadOutcome::AlreadyUsed { at, pages });
    }
    if slot.pages as usize + pages.len() > max_pages as usize {
        return Ok(PhoneUploadOutcome::TooManyPages { held: slot.pages });
    }
    let what = "record a phone upload";
    let now = stored_now(now);
    let id = slot.submission_id.to_string();
    let count = pages.len() as u16;
    let stage: i64 = client
        .query_one(
            "UPDATE submissions SET phone_upload_used_at = $2, phone_upload_pages = $3
             WHERE id = $1 RETURNING stage",
            &[&id, &now, &i64::from(count)],
        )
        .await
        .map_err(failed(what))?
        .get(0);
    for page in pages {
        client
            .execute(
                "INSERT INTO attachments (submission_id, sha256, bytes, sealed, material, page,
                                          received, complete_at, sealed_with, phone_at)
                 SELECT $1, $2, $3, FALSE, $4,
                        COALESCE((SELECT MAX(page) FROM attachments
                                  WHERE submission_id = $1 AND material = $4), 0) + 1,
                        $3, $5, $6, $5
                 ON CONFLICT DO NOTHING",
                &[
                    &id,
                    &page.sha256,
                    &(page.bytes as i64),
                    &i64::from(page.material),
                    &now,
                    &i64::from(page.sealed_with),
                ],
            )
            .await
            .map_err(failed(what))?;
    }
    let seq: i64 = client
        .query_one(
            "INSERT INTO review_actions (submission_id, stage, actor, action, comment, at,
                                         materials)
             VALUES ($1, $2, $3, $4, '', $5, $6) RETURNING seq",
            &[
                &id,
                &stage,
                &PHONE_UPLOAD_ACTOR,
                &PHONE_UPLOAD_ACTION,
                &now,
                &materials_to_column(&phone_materials(pages))?,
            ],
        )
        .await
        .map_err(failed(what))?
        .get(0);
    // The comment is sealed to the action's number, as every history comment is.
    client
        .execute(
            "UPDATE review_actions SET comment = $2 WHERE seq = $1",
            &[
                &seq,
                &REVIEW_COMMENT.seal(keys, &seq.to_string(), &count.to_string()),
            ],
        )
        .await
        .map_err(failed(what))?;
    Ok(PhoneUploadOutcome::Recorded {
        submission_id: slot.submission_id,
        pages: count,
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

    fn phone_upload_slot<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> StoreFuture<'a, Option<PhoneUploadSlot>> {
        Box::pin(async move {
            let client = self.client().await?;
            phone_upload_slot(&client, token_hash, false).await
        })
    }

    fn record_phone_upload<'a>(
        &'a self,
        token_hash: &'a str,
        pages: Vec<PhonePage>,
        max_pages: u32,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, PhoneUploadOutcome> {
        Box::pin(async move {
            let what = "record a phone upload";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome =
                record_phone_upload(&tx, &self.keys, token_hash, &pages, max_pages, now).await?;
            // A refusal changed nothing; committing it too keeps one path.
            tx.commit().await.map_err(failed(what))?;
            Ok(outcome)
        })
    }
}
