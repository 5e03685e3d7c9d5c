//! `GET /api/v1/attachments/{sha256}` and `PUT /api/v1/attachments/{sha256}?offset=N`: the
//! files (photographed pages) a kiosk's submissions list, uploaded in chunks after them
//! (`sync_protocol::attachment`).
//!
//! Checked in this order, so nothing is kept that should not be:
//! 1. the name is a SHA-256 some submission of the signing kiosk lists (else 404
//!    `attachment_not_listed`, the same for a malformed name: a booth learns nothing about
//!    other booths' files);
//! 2. a complete file answers its status whatever is sent (a retry after a lost answer);
//! 3. the chunk is at most `MAX_CHUNK_BYTES`, starts where the server's copy ends (else 409
//!    `attachment_offset`: the booth asks for the status and resumes there) and ends within
//!    the listed size (else 413 `attachment_too_large`);
//! 4. the chunk is kept, then the store moves the upload on (atomically, from its offset);
//! 5. with the last chunk the parts are joined and hashed: a mismatch, or a sealed file that
//!    does not open with the county's key, drops them and restarts the upload (422
//!    `attachment_hash_mismatch`); a file that does not decode as a JPEG within 8192 pixels a
//!    side (two decodes at once across the server) is refused the same way (400
//!    `invalid_request`). Otherwise it and its thumbnail are sealed at rest and kept under its
//!    name, its parts dropped, and the store records it complete.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use sync_protocol::ErrorCode;
use sync_protocol::attachment::{
    AttachmentStatus, MAX_ATTACHMENT_BYTES, MAX_CHUNK_BYTES, is_sha256_hex, open_file, sha256_hex,
};

use crate::api::auth::AuthenticatedKiosk;
use crate::api::error::ApiError;
use crate::files::FilesError;
use crate::state::AppState;
use crate::store::attachments::{Advance, ListedFile};

/// The route's path, in axum's syntax.
pub const PATH: &str = "/api/v1/attachments/{sha256}";

fn not_listed() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::AttachmentNotListed,
        "no submission of this booth lists that file: upload the submission first",
    )
}

fn status(file: &ListedFile) -> AttachmentStatus {
    AttachmentStatus {
        sha256: file.sha256.clone(),
        bytes: file.bytes,
        received: file.received,
        complete: file.complete_at.is_some(),
    }
}

/// Pages decoded at once across the server (each takes tens of milliseconds of a core).
static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

async fn listed(state: &AppState, kiosk_id: &str, sha256: &str) -> Result<ListedFile, ApiError> {
    if !is_sha256_hex(sha256) {
        return Err(not_listed());
    }
    state
        .store()
        .listed_file(kiosk_id, sha256)
        .await?
        .ok_or_else(not_listed)
}

pub async fn status_of(
    State(state): State<AppState>,
    Extension(kiosk): Extension<AuthenticatedKiosk>,
    Path(sha256): Path<String>,
) -> Result<Json<AttachmentStatus>, ApiError> {
    let mut file = listed(&state, &kiosk.kiosk_id, &sha256).await?;
    if file.received == file.bytes && file.complete_at.is_none() {
        // Every byte came but the check was cut short (the server stopped): finish it now.
        finish(&state, &kiosk, &file).await?;
        file = listed(&state, &kiosk.kiosk_id, &sha256).await?;
    }
    Ok(Json(status(&file)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkAt {
    offset: u64,
}

pub async fn upload(
    State(state): State<AppState>,
    Extension(kiosk): Extension<AuthenticatedKiosk>,
    Path(sha256): Path<String>,
    Query(at): Query<ChunkAt>,
    chunk: Bytes,
) -> Result<Json<AttachmentStatus>, ApiError> {
    let file = listed(&state, &kiosk.kiosk_id, &sha256).await?;
    if file.complete_at.is_some() {
        return Ok(Json(status(&file)));
    }
    if chunk.len() > MAX_CHUNK_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::AttachmentTooLarge,
            format!("a chunk holds at most {MAX_CHUNK_BYTES} bytes: send smaller chunks"),
        ));
    }
    if at.offset != file.received {
        return Err(offset_elsewhere(file.received));
    }
    let end = at.offset + chunk.len() as u64;
    if end > file.bytes || file.bytes > MAX_ATTACHMENT_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::AttachmentTooLarge,
            format!(
                "the file is listed with {} bytes; this chunk would end at byte {end}",
                file.bytes
            ),
        ));
    }
    if chunk.is_empty() {
        return Err(ApiError::invalid_request(
            "an empty chunk: send the file's next bytes",
        ));
    }
    let shelf = state.files();
    shelf
        .put_part(&kiosk.kiosk_id, &sha256, at.offset, chunk.to_vec())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let store = state.store();
    match store
        .advance_upload(&kiosk.kiosk_id, &sha256, at.offset, end)
        .await?
    {
        Advance::Advanced { .. } => {}
        Advance::Elsewhere { received, complete } => {
            if complete {
                let file = listed(&state, &kiosk.kiosk_id, &sha256).await?;
                return Ok(Json(status(&file)));
            }
            return Err(offset_elsewhere(received));
        }
        Advance::NotListed => return Err(not_listed()),
    }
    if end < file.bytes {
        return Ok(Json(AttachmentStatus {
            received: end,
            ..status(&file)
        }));
    }
    finish(&state, &kiosk, &file).await?;
    let file = listed(&state, &kiosk.kiosk_id, &sha256).await?;
    Ok(Json(status(&file)))
}

/// [`complete`] in a task of its own: a booth that hangs up while its last chunk is checked
/// (hyper then drops the request's future) must not leave a file kept but not recorded, or
/// recorded without its chunks dropped.
async fn finish(
    state: &AppState,
    kiosk: &AuthenticatedKiosk,
    file: &ListedFile,
) -> Result<(), ApiError> {
    let (state, kiosk, file) = (state.clone(), kiosk.clone(), file.clone());
    tokio::spawn(async move { complete(&state, &kiosk, &file).await })
        .await
        .map_err(|e| ApiError::internal(&e))?
}

fn offset_elsewhere(received: u64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::AttachmentOffset,
        format!("the server holds the file's first {received} bytes: continue from there"),
    )
}

/// The last chunk is in: join, check, seal at rest, keep, record.
async fn complete(
    state: &AppState,
    kiosk: &AuthenticatedKiosk,
    file: &ListedFile,
) -> Result<(), ApiError> {
    let shelf = state.files();
    let kiosk_id = &kiosk.kiosk_id;
    let sha256 = &file.sha256;
    if shelf
        .holds(sha256)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        // Kept by an earlier completion that was cut short before it was recorded (or by
        // another submission listing the same bytes): only the record is missing.
        let _ = shelf.drop_parts(kiosk_id, sha256).await;
        let keys = state.store().at_rest_keys();
        state
            .store()
            .finish_upload(kiosk_id, sha256, keys.newest(), Utc::now())
            .await?;
        return Ok(());
    }
    let joined = match shelf.join_parts(kiosk_id, sha256, file.bytes).await {
        Ok(joined) => joined,
        Err(FilesError::Gap { .. }) => {
            return Err(start_over(state, kiosk_id, sha256, "its chunks do not join up").await);
        }
        Err(other) => return Err(ApiError::internal(&other)),
    };
    if sha256_hex(&joined) != *sha256 {
        return Err(start_over(state, kiosk_id, sha256, "its bytes do not hash to its name").await);
    }
    let page = if file.sealed {
        match open_file(state.county(), file.submission_id, &joined) {
            Ok(page) => page,
            Err(_) => {
                return Err(start_over(
                    state,
                    kiosk_id,
                    sha256,
                    "it does not open with this county's key",
                )
                .await);
            }
        }
    } else {
        joined
    };
    // Decoding a picture from outside is the expensive, risky part: within size limits, at
    // most two at once, off the async workers.
    let thumbnail = {
        let _turn = DECODES
            .acquire()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let page = page.clone();
        tokio::task::spawn_blocking(move || crate::files::thumbnail_of(&page))
            .await
            .map_err(|e| ApiError::internal(&e))?
    };
    let Ok(thumbnail) = thumbnail else {
        let _ = shelf.drop_parts(kiosk_id, sha256).await;
        state.store().restart_upload(kiosk_id, sha256).await?;
        return Err(ApiError::invalid_request(
            "the file is not a JPEG page: photograph the page again",
        ));
    };
    let keys = state.store().at_rest_keys();
    let sealed = keys.seal_bytes(crate::files::page_place(sha256), &page);
    let sealed_thumbnail = keys.seal_bytes(crate::files::thumbnail_place(sha256), &thumbnail);
    shelf
        .keep(sha256, sealed, sealed_thumbnail)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if let Err(error) = shelf.drop_parts(kiosk_id, sha256).await {
        // The file is kept; stray parts only take space until the next upload of the name.
        tracing::warn!(error = %error, "could not drop an upload's chunks");
    }
    state
        .store()
        .finish_upload(kiosk_id, sha256, keys.newest(), Utc::now())
        .await?;
    tracing::info!(
        submission = %file.submission_id,
        kiosk = %kiosk_id,
        file = &sha256[..12],
        bytes = file.bytes,
        "file complete"
    );
    Ok(())
}

/// Drops what was received of a file that failed its check and starts its upload over.
async fn start_over(state: &AppState, kiosk_id: &str, sha256: &str, why: &str) -> ApiError {
    if let Err(error) = state.files().drop_parts(kiosk_id, sha256).await {
        return ApiError::internal(&error);
    }
    if let Err(error) = state.store().restart_upload(kiosk_id, sha256).await {
        return error.into();
    }
    tracing::warn!(kiosk = %kiosk_id, file = &sha256[..12], why, "file refused");
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::AttachmentHashMismatch,
        format!("the file was refused: {why}; send it again from the start"),
    )
}
