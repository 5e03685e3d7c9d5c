//! `POST /api/v1/enroll`: trade a one-time code for a kiosk identity bound to the booth's key.
//!
//! Order: the guessing limit first (a limited client learns nothing about its code), then the
//! body, the proof of key possession, the `replaces` proof, and the atomic claim in the store.
//!
//! - A plain enrollment makes a new kiosk with the next kiosk number. An earlier identity of
//!   the same booth stays valid until staff revoke it: without proof the server cannot tell
//!   that two enrollments are the same booth (a village may have two).
//! - A re-enrollment that proves the previous identity (`replaces`, signed with the old key)
//!   keeps the kiosk number: the store retires the old kiosk (`kiosk_revoked` from then on)
//!   and gives its submissions and statuses feed to the new one, so receipts already printed
//!   and submissions still queued on the booth stay valid. The new kiosk may stand in
//!   another village (a technician moved the booth): the submissions stay in the scope of the
//!   village they were handed in at, so the new township's staff do not see the old
//!   village's applicants. An unknown or staff-revoked
//!   previous kiosk gives a plain enrollment instead (a revoked key vouches for nothing; the
//!   booth sees the new number and warns). A `replaces` proof that does not verify with the
//!   previous kiosk's key is refused (`invalid_request`) and the code stays unused; that is
//!   decided after the code checked out, so without a good code nothing is learnt about the
//!   kiosk the request named.
//! - The same code with the same public key again (the booth lost the answer) gets the
//!   original answer, `server_time` included; with another key it is `enroll_code_used`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use sync_protocol::ErrorCode;
use sync_protocol::enroll::{EnrollRequest, EnrollResponse};

use crate::api::body::parse_json;
use crate::api::enroll_codes;
use crate::api::error::ApiError;
use crate::state::AppState;
use crate::store::{EnrollClaim, EnrollRefusal, Enrollment, KioskRef, Replacement};

pub async fn enroll(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<EnrollResponse>, ApiError> {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    // Attempts that cannot be counted are refused (by the first `?`): a guesser must not
    // gain from the limiter's database failing.
    let attempt = state
        .enroll_limiter()
        .admit(address)
        .await?
        .map_err(|wait| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!("too many enrollment attempts: wait {wait} s and check the code"),
            )
            .retry_after(wait)
        })?;
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .map_err(|_| ApiError::invalid_request("the request body could not be read"))?;
    let enrollment: EnrollRequest = parse_json(&body)?;
    super::heartbeat::check_app_version(&enrollment.app_version)?;
    let key = enrollment.verified_key().ok_or_else(|| {
        ApiError::invalid_request(
            "the proof does not verify with the public key: sign proof_message(code, public_key) with the new key",
        )
    })?;
    let refused = |code, message: String| ApiError::new(StatusCode::FORBIDDEN, code, message);
    let canonical = enroll_codes::canonical(&enrollment.code).ok_or_else(|| {
        refused(
            ErrorCode::EnrollCodeInvalid,
            "an enrollment code has 8 letters and digits, like ABCD-EFGH: check it".into(),
        )
    })?;
    let replaces = proven_replacement(&state, &enrollment).await?;
    // As the store keeps it, so a repeated answer equals the first to the millisecond.
    let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default();
    let claim = EnrollClaim {
        code_key: state.code_secret().code_key(&canonical),
        kiosk_id: uuid::Uuid::now_v7().to_string(),
        public_key: key.to_bytes(),
        app_version: enrollment.app_version,
        now,
        replaces,
    };
    let enrollment = match state.store().enroll_kiosk(claim).await? {
        Ok(enrollment) => enrollment,
        Err(refusal) => {
            return Err(match refusal {
                EnrollRefusal::UnknownCode => refused(
                    ErrorCode::EnrollCodeInvalid,
                    "this enrollment code is not known: check it, or ask county staff for a new one".into(),
                ),
                EnrollRefusal::Expired(at) => refused(
                    ErrorCode::EnrollCodeExpired,
                    format!(
                        "this enrollment code expired at {}: ask county staff for a new one",
                        at.format("%Y-%m-%d %H:%M UTC")
                    ),
                ),
                EnrollRefusal::AlreadyUsed => refused(
                    ErrorCode::EnrollCodeUsed,
                    "this enrollment code was already used (each enrolls one booth): ask county staff for a new one".into(),
                ),
                EnrollRefusal::ReplacementNotProven(kiosk_id) => ApiError::invalid_request(
                    format!("the `replaces` proof does not verify with kiosk {kiosk_id}'s key: the booth's key file is not that kiosk's (or it re-enrolled since); sync the queue if it can, then move DATA/identity.key aside and enroll again as a new kiosk number"),
                ),
                EnrollRefusal::KeyAlreadyEnrolled(kiosk_id) => {
                    state.enroll_limiter().succeeded(attempt).await;
                    ApiError::new(
                        StatusCode::CONFLICT,
                        ErrorCode::InvalidRequest,
                        format!("this public key is already enrolled as kiosk {kiosk_id}: generate a new key pair"),
                    )
                }
                EnrollRefusal::FleetFull => {
                    state.enroll_limiter().succeeded(attempt).await;
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        ErrorCode::Internal,
                        "every kiosk number is taken: the fleet needs a new server install",
                    )
                }
            });
        }
    };
    // The fleet page's counts include the new booth from its next view on this instance.
    state.fleet_summaries().forget();
    state.enroll_limiter().succeeded(attempt).await;
    let server_time = match &enrollment {
        Enrollment::Repeated(kiosk) => {
            if let Some(at) = kiosk.revoked_at {
                return Err(refused(
                    ErrorCode::KioskRevoked,
                    format!(
                        "this code enrolled kiosk #{}, which was {} at {}: ask county staff for a new code",
                        kiosk.kiosk_number,
                        if kiosk.replaced_by.is_some() {
                            "replaced by a later enrollment"
                        } else {
                            "revoked by county staff"
                        },
                        at.format("%Y-%m-%d %H:%M UTC")
                    ),
                ));
            }
            kiosk.enrolled_at
        }
        Enrollment::New(_) | Enrollment::Replacement { .. } => now,
    };
    let kiosk = enrollment.kiosk();
    tracing::Span::current().record("kiosk", kiosk.kiosk_id.as_str());
    match &enrollment {
        Enrollment::New(_) => tracing::info!(
            kiosk = %kiosk.kiosk_id,
            kiosk_number = kiosk.kiosk_number,
            village = %kiosk.village.village,
            "kiosk enrolled"
        ),
        Enrollment::Replacement { replaced, .. } => tracing::info!(
            kiosk = %kiosk.kiosk_id,
            kiosk_number = kiosk.kiosk_number,
            village = %kiosk.village.village,
            replaced = %replaced,
            "kiosk re-enrolled: it took over the kiosk number, submissions and statuses of the kiosk it replaced"
        ),
        Enrollment::Repeated(_) => tracing::info!(
            kiosk = %kiosk.kiosk_id,
            kiosk_number = kiosk.kiosk_number,
            "enrollment repeated with the same code and key: sent the original answer"
        ),
    }
    let kiosk = enrollment.into_kiosk();
    Ok(Json(EnrollResponse {
        kiosk_id: kiosk.kiosk_id,
        kiosk_number: kiosk.kiosk_number,
        village: kiosk.village,
        server_id: state.server_id().to_owned(),
        server_time,
        county_key: Some(state.county().public_key().clone()),
    }))
}

/// The previous identity named in `replaces`, with the key its proof verified with;
/// `None` when there is none or this server does not know it (the booth comes from another
/// install, or the store was reset): then the enrollment is a plain one. A proof that does
/// not verify is not refused here but handed to the store as unproven, which refuses it
/// only after the code checked out: without a good code nobody learns whether a kiosk id
/// exists.
async fn proven_replacement(
    state: &AppState,
    enrollment: &EnrollRequest,
) -> Result<Option<Replacement>, ApiError> {
    let Some(replaces) = &enrollment.replaces else {
        return Ok(None);
    };
    let Some(previous) = state
        .store()
        .find_kiosk(&KioskRef::Id(replaces.kiosk_id.clone()))
        .await?
    else {
        tracing::info!(
            "enrollment names a previous kiosk this server does not know: enrolling as a new kiosk"
        );
        return Ok(None);
    };
    let verifies = VerifyingKey::from_bytes(&previous.public_key)
        .is_ok_and(|old_key| enrollment.replacement_verifies(&old_key));
    if verifies && previous.is_revoked() && previous.replaced_by.is_none() {
        tracing::info!(
            previous = %previous.kiosk_id,
            "the previous kiosk was revoked by staff: enrolling as a new kiosk number"
        );
    }
    Ok(Some(Replacement {
        kiosk_id: previous.kiosk_id,
        proven_key: verifies.then_some(previous.public_key),
    }))
}
