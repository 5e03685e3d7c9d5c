//! Signed requests: every kiosk endpoint but enrollment runs behind [`require_signature`].
//!
//! The checks, in order, each with its own code (see `sync_protocol::signing`):
//! 1. the three headers parse (`unsigned`, `malformed_signature`);
//! 2. `created` is within ±300 s of server time (`stale_timestamp`);
//! 3. `keyid` names an enrolled kiosk (`unknown_kiosk`);
//! 4. the body matches `Content-Digest` and the signature verifies over method, path, query and
//!    digest with that kiosk's key (`bad_digest`, `bad_signature`);
//! 5. the kiosk is not revoked (`kiosk_revoked`, 403, naming a successor if it was replaced);
//! 6. the nonce was not used before (`replayed_nonce`).
//!
//! Nothing about a kiosk is told before its signature verifies: until then the only answer
//! that depends on the store is `unknown_kiosk`, which says no more than that the id the
//! caller chose is not enrolled (ids are random UUIDs, and a booth whose server forgot it
//! must learn that it has to enroll again). Whether a kiosk is revoked, when, and which kiosk
//! replaced it is for the holder of its key only.
//!
//! Only a request that passes all six reaches a handler or changes anything; the kiosk's
//! last-seen time is written after a verified request was served (2xx). The kiosk row
//! (and so revocation) is read from the store on every request: a `kiosk revoke` from a staff
//! terminal takes effect at the booth's next request.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ed25519_dalek::VerifyingKey;
use sync_protocol::ErrorCode;
use sync_protocol::enroll::Village;
use sync_protocol::signing::{self, RequestParts, SignatureError};

use crate::api::error::ApiError;
use crate::domain::fleet::KioskRecord;
use crate::state::AppState;
use crate::store::KioskRef;

/// The kiosk that signed the request, for handlers (`Extension<AuthenticatedKiosk>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedKiosk {
    pub kiosk_id: String,
    pub kiosk_number: u32,
    pub village: Village,
}

/// Middleware: verifies the signature, or answers with the reason.
pub async fn require_signature(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let request = match verify(&state, request).await {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let kiosk_id = request
        .extensions()
        .get::<AuthenticatedKiosk>()
        .map(|kiosk| kiosk.kiosk_id.clone());
    let response = next.run(request).await;
    // Seen only when served: a refused request (malformed body, say) changes nothing.
    if let Some(kiosk_id) = kiosk_id.filter(|_| response.status().is_success()) {
        state.note_seen(&kiosk_id, Utc::now()).await;
    }
    response
}

fn header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<Option<&'h str>, SignatureError> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| SignatureError::Malformed("a signature header is not ASCII"))
        })
        .transpose()
}

async fn verify(state: &AppState, request: Request) -> Result<Request, ApiError> {
    let (mut parts, body) = request.into_parts();
    // Already read and bounded by body::buffer_body.
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|_| ApiError::invalid_request("the request body could not be read"))?;
    let signed = (|| {
        signing::parse(
            header(&parts.headers, signing::CONTENT_DIGEST)?,
            header(&parts.headers, signing::SIGNATURE_INPUT)?,
            header(&parts.headers, signing::SIGNATURE)?,
        )
    })()
    .map_err(|e| ApiError::signature(&e))?;

    // Before the store is read: a stale request learns nothing about any kiosk.
    let now = Utc::now();
    signed
        .check_time(now.timestamp())
        .map_err(|e| ApiError::signature(&e))?;
    let kiosk = state
        .store()
        .find_kiosk(&KioskRef::Id(signed.keyid.clone()))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::UnknownKiosk,
                "this booth is not enrolled with this server: enroll it with a new code",
            )
        })?;
    let key = VerifyingKey::from_bytes(&kiosk.public_key).map_err(|e| ApiError::internal(&e))?;
    let request_parts = RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        body: &body,
    };
    signed
        .verify(&key, &request_parts)
        .map_err(|e| ApiError::signature(&e))?;
    tracing::Span::current().record("kiosk", kiosk.kiosk_id.as_str());
    // Only now, to the holder of the kiosk's key: that it was revoked or replaced, and by whom.
    refuse_revoked(&kiosk)?;
    // A nonce that cannot be checked is refused (by the `?`): it could be a replay.
    let first_use = state
        .nonces()
        .first_use(
            &kiosk.kiosk_id,
            &signed.nonce,
            signed.accepted_until(),
            now.timestamp(),
        )
        .await?;
    if !first_use {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::ReplayedNonce,
            "this request's nonce was already used: sign every request with a fresh nonce",
        ));
    }

    parts.extensions.insert(AuthenticatedKiosk {
        kiosk_id: kiosk.kiosk_id,
        kiosk_number: kiosk.kiosk_number,
        village: kiosk.village,
    });
    Ok(Request::from_parts(parts, Body::from(body)))
}

fn refuse_revoked(kiosk: &KioskRecord) -> Result<(), ApiError> {
    let Some(at) = kiosk.revoked_at else {
        return Ok(());
    };
    let at = at.format("%Y-%m-%d %H:%M UTC");
    let message = match &kiosk.replaced_by {
        // A copy of a re-enrolled booth's old data, or a booth that lost its new identity.
        Some(successor) => format!(
            "kiosk {} (#{}) was replaced by kiosk {successor} when its booth re-enrolled at {at}: this identity is retired; if this booth is not using kiosk {successor}, ask county staff for a new code and enroll again",
            kiosk.kiosk_id, kiosk.kiosk_number
        ),
        None => format!(
            "kiosk #{} was revoked by county staff at {at}: ask them for a new code and enroll again",
            kiosk.kiosk_number
        ),
    };
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::KioskRevoked,
        message,
    ))
}
