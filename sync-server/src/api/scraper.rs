//! Who may read `/metrics`: the Prometheus scraper, by a bearer token (`serve
//! --metrics-token-file FILE`; Prometheus sends it with `authorization: { credentials_file:
//! FILE }`). Without a configured token nobody may.
//!
//! Why a token and not "loopback only": the metrics name every booth's village, when it was
//! last heard from and how much it has queued, and the server is meant to run behind a TLS
//! proxy on the same host (`--allow-plain-http`), where every request, an outsider's too,
//! arrives from loopback. A token works the same behind a proxy and in front of one.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq as _;
use sync_protocol::ErrorCode;

use crate::api::error::ApiError;
use crate::state::AppState;

/// The shortest token accepted: 128 bits of base64.
pub const MIN_TOKEN_LEN: usize = 22;

/// The scraper's bearer token. `Debug` does not show it (the settings end up in logs).
#[derive(Clone, PartialEq, Eq)]
pub struct ScraperToken(String);

impl std::fmt::Debug for ScraperToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScraperToken(<secret>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the metrics token is {found} characters long, at least {MIN_TOKEN_LEN} are needed: make one with `head -c 32 /dev/urandom | base64`"
)]
pub struct TokenTooShort {
    pub found: usize,
}

impl ScraperToken {
    /// The token from the text of its file (surrounding whitespace ignored).
    pub fn new(text: &str) -> Result<Self, TokenTooShort> {
        let token = text.trim();
        if token.len() < MIN_TOKEN_LEN || token.contains(char::is_whitespace) {
            return Err(TokenTooShort { found: token.len() });
        }
        Ok(Self(token.to_owned()))
    }

    fn matches(&self, sent: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(sent.as_bytes()))
    }
}

/// Middleware: the request's `Authorization: Bearer` must be the configured token.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &state.settings().metrics_token else {
        return refuse(
            "metrics are off: start serve with --metrics-token-file FILE and give the scraper the same token",
        );
    };
    let sent = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    if !sent.is_some_and(|sent| token.matches(sent)) {
        return refuse(
            "metrics need `Authorization: Bearer TOKEN` with the token of serve's --metrics-token-file",
        );
    }
    next.run(request).await
}

fn refuse(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unsigned, message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_enough_and_compared_whole() {
        assert!(ScraperToken::new("short").is_err());
        assert!(ScraperToken::new("has a space in the middle ok").is_err());
        let token = ScraperToken::new(" 0123456789abcdefghijklmnop\n").unwrap();
        assert!(token.matches("0123456789abcdefghijklmnop"));
        assert!(!token.matches("0123456789abcdefghijklmno"));
        assert!(!token.matches(""));
        assert!(!format!("{token:?}").contains("0123"));
    }
}
