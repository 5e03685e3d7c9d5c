//! `POST /api/v1/submissions`: a batch from the signing kiosk, one result per item.
//!
//! A booth that seals the personal part to the county's key (`sync_protocol::personal`) has
//! it opened here first; an item that does not open is invalid (sealed to another server's
//! key, or changed), and everything after sees the same whole submission an older booth sends
//! in the clear, so the content digest and the store's sealing at rest do not care which.
//!
//! Checked here, before the store: the batch size, each item's `validate()`, that its receipt
//! number is in canonical form (else case variants would slip past the unique index) and
//! carries the signing kiosk's number (a booth submits only its own). The store then claims
//! and inserts the rest in one transaction, refusing a supplement whose original it does not
//! hold (`invalid` with code `unknown_original`: a booth anywhere in the county may send a
//! supplement, but only for a case the county has). A malformed `phone_upload`, or one on
//! anything but an application that is not a supplement, is `invalid` with code
//! `invalid_phone_upload`. A bad item never fails its batch.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use sync_protocol::ErrorCode;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{
    BatchRequest, BatchResponse, ItemResult, MAX_BATCH, Outcome, Submission,
};

use crate::api::auth::AuthenticatedKiosk;
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::state::AppState;
use crate::store::{IngestItem, IngestOutcome, IngestRefusal};

pub async fn submit(
    State(state): State<AppState>,
    Extension(kiosk): Extension<AuthenticatedKiosk>,
    JsonBody(batch): JsonBody<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
    let count = batch.submissions.len();
    if count > MAX_BATCH {
        return Err(ApiError::invalid_request(format!(
            "a batch holds at most {MAX_BATCH} submissions, this one has {count}: split it"
        )));
    }
    let mut results: Vec<Option<ItemResult>> = vec![None; count];
    let mut to_store = Vec::new();
    let mut stored_at = Vec::new();
    for (index, mut submission) in batch.submissions.into_iter().enumerate() {
        let checked = submission
            .open_personal(state.county())
            .map_err(|e| (e.to_string(), None))
            .and_then(|()| check(&submission, kiosk.kiosk_number));
        match checked {
            Err((message, code)) => {
                results[index] = Some(ItemResult {
                    id: submission.id,
                    outcome: Outcome::Invalid,
                    message: Some(message),
                    received_at: None,
                    code,
                });
            }
            Ok(()) => {
                stored_at.push(index);
                to_store.push(IngestItem {
                    content_digest: submission.content_digest(),
                    submission,
                });
            }
        }
    }
    let ids: Vec<_> = to_store
        .iter()
        .map(|item| (item.submission.id, item.submission.receipt_number.clone()))
        .collect();
    let outcomes = if to_store.is_empty() {
        Vec::new()
    } else {
        state
            .store()
            .ingest(&kiosk.kiosk_id, to_store, Utc::now())
            .await?
    };
    for ((index, (id, _)), outcome) in stored_at.iter().zip(&ids).zip(outcomes) {
        results[*index] = Some(match outcome {
            IngestOutcome::Accepted { received_at } => ItemResult {
                id: *id,
                outcome: Outcome::Accepted,
                message: None,
                received_at: Some(received_at),
                code: None,
            },
            IngestOutcome::Duplicate { received_at } => ItemResult {
                id: *id,
                outcome: Outcome::Duplicate,
                message: None,
                received_at: Some(received_at),
                code: None,
            },
            IngestOutcome::Conflict(reason) => ItemResult {
                id: *id,
                outcome: Outcome::Conflict,
                message: Some(reason.to_string()),
                received_at: None,
                code: None,
            },
            // The store's own refusals are for good, like validation's: `invalid`.
            IngestOutcome::Refused(refusal) => ItemResult {
                id: *id,
                outcome: Outcome::Invalid,
                message: Some(refusal.to_string()),
                received_at: None,
                code: match refusal {
                    IngestRefusal::UnknownOriginal(_) => Some(ErrorCode::UnknownOriginal),
                    IngestRefusal::NotTheOriginalsItem(_) => None,
                },
            },
        });
    }
    let results: Vec<ItemResult> = results.into_iter().flatten().collect();
    if results.len() != count {
        return Err(ApiError::internal(&crate::store::StoreError::Corrupt {
            what: "the store answered fewer items than it was given".into(),
        }));
    }
    for result in &results {
        state.metrics().record_outcome(result.outcome);
        let receipt = ids
            .iter()
            .find(|(id, _)| *id == result.id)
            .map_or("-", |(_, receipt)| receipt.as_str());
        tracing::info!(
            submission = %result.id,
            receipt,
            outcome = ?result.outcome,
            "submission"
        );
    }
    Ok(Json(BatchResponse { results }))
}

/// Why the item can never be accepted from this kiosk, if so, with the refusal's own code
/// where it has one.
fn check(submission: &Submission, kiosk_number: u32) -> Result<(), (String, Option<ErrorCode>)> {
    submission
        .validate()
        .map_err(|e| (e.to_string(), e.code()))?;
    check_receipt(submission, kiosk_number).map_err(|message| (message, None))
}

fn check_receipt(submission: &Submission, kiosk_number: u32) -> Result<(), String> {
    let receipt: ReceiptNumber = submission
        .receipt_number
        .parse()
        .map_err(|e: sync_protocol::receipt::ReceiptError| e.to_string())?;
    let canonical = receipt.to_string();
    if canonical != submission.receipt_number {
        return Err(format!(
            "receipt number `{}` must be sent in its printed form `{canonical}`",
            submission.receipt_number
        ));
    }
    if receipt.kiosk() != kiosk_number {
        return Err(format!(
            "receipt number {canonical} belongs to kiosk #{}, but kiosk #{kiosk_number} signed this batch: a booth keeps its kiosk number only when it re-enrolls with its old key; report this receipt to county staff",
            receipt.kiosk()
        ));
    }
    Ok(())
}
