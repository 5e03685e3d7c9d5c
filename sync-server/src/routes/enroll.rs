//! `POST /api/v1/enroll`: trade a one-time code for a kiosk identity bound to the booth's key.
//!
//! Order: the guessing limit first (a limited client learns nothing about its code), then the
//! body, the proof of key possession, and the atomic claim in the store. Each enrollment makes
//! a new kiosk (new id, next kiosk number); an earlier identity of the same booth stays valid
//! until staff revoke it. The server cannot tell that two enrollments are the same booth (a
//! village may have two), and the old identity may still have to deliver submissions whose
//! receipt numbers carry its kiosk number.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use chrono::Utc;
use sync_protocol::ErrorCode;
use sync_protocol::enroll::{EnrollRequest, EnrollResponse};

use crate::api_error::ApiError;
use crate::app::AppState;
use crate::body::parse_json;
use crate::enroll_codes;
use crate::store::{EnrollClaim, EnrollRefusal};

pub async fn enroll(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<EnrollResponse>, ApiError> {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let attempt = state.enroll_limiter().admit(address).map_err(|wait| {
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
    let now = Utc::now();
    let claim = EnrollClaim {
        code_key: enroll_codes::code_key(&canonical),
        kiosk_id: uuid::Uuid::now_v7().to_string(),
        public_key: key.to_bytes(),
        app_version: enrollment.app_version,
        now,
    };
    let kiosk = match state.store().enroll_kiosk(claim).await? {
        Ok(kiosk) => kiosk,
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
                EnrollRefusal::KeyAlreadyEnrolled(kiosk_id) => {
                    state.enroll_limiter().succeeded(attempt);
                    ApiError::new(
                        StatusCode::CONFLICT,
                        ErrorCode::InvalidRequest,
                        format!("this public key is already enrolled as kiosk {kiosk_id}: generate a new key pair"),
                    )
                }
                EnrollRefusal::FleetFull => {
                    state.enroll_limiter().succeeded(attempt);
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        ErrorCode::Internal,
                        "every kiosk number is taken: the fleet needs a new server install",
                    )
                }
            });
        }
    };
    state.enroll_limiter().succeeded(attempt);
    tracing::Span::current().record("kiosk", kiosk.kiosk_id.as_str());
    tracing::info!(
        kiosk = %kiosk.kiosk_id,
        kiosk_number = kiosk.kiosk_number,
        village = %kiosk.village.village,
        "kiosk enrolled"
    );
    Ok(Json(EnrollResponse {
        kiosk_id: kiosk.kiosk_id,
        kiosk_number: kiosk.kiosk_number,
        village: kiosk.village,
        server_id: state.server_id().to_owned(),
        server_time: now,
    }))
}
