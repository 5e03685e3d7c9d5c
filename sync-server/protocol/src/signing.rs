//! Request signatures: RFC 9421 HTTP Message Signatures with ed25519, over a fixed component
//! list, plus an RFC 9530 `Content-Digest` of the body.
//!
//! Every kiosk request (except enrollment, which proves key possession in its body) carries:
//!
//! ```text
//! Content-Digest: sha-256=:<base64 SHA-256 of the body, empty body included>:
//! Signature-Input: sig1=("@method" "@path" "@query" "content-digest");created=<unix s>;keyid="<kiosk id>";nonce="<random>";alg="ed25519"
//! Signature: sig1=:<base64 ed25519 signature of the signature base>:
//! ```
//!
//! The signature base is RFC 9421 §2.5's: one `"name": value` line per component, then the
//! `"@signature-params"` line. `@query` is `?` plus the raw query (`?` alone when empty).
//! The server accepts `created` within [`MAX_SKEW_SECS`] of its clock and each `(keyid,
//! nonce)` once within [`NONCE_TTL_SECS`]. `@authority` is left out on purpose: booths reach the
//! county through proxies that rewrite the host.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::ErrorCode;

pub const CONTENT_DIGEST: &str = "content-digest";
pub const SIGNATURE_INPUT: &str = "signature-input";
pub const SIGNATURE: &str = "signature";

/// How far `created` may be from the server's clock.
pub const MAX_SKEW_SECS: i64 = 300;
/// How long a server remembers a nonce: twice the skew window, so a replay inside any
/// accepted window is caught.
pub const NONCE_TTL_SECS: i64 = 2 * MAX_SKEW_SECS;

const COMPONENTS: &str = r#"("@method" "@path" "@query" "content-digest")"#;
const LABEL: &str = "sig1";

/// The parts of a request that are signed.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Upper case, e.g. `POST`.
    pub method: &'a str,
    /// e.g. `/api/v1/feeds/catalog`.
    pub path: &'a str,
    /// The raw query without `?`; empty for none.
    pub query: &'a str,
    pub body: &'a [u8],
}

/// The three headers a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub content_digest: String,
    pub signature_input: String,
    pub signature: String,
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed: {0} header missing")]
    Missing(&'static str),
    #[error("the signature headers are malformed: {0}")]
    Malformed(&'static str),
    #[error("the body does not match its Content-Digest")]
    BadDigest,
    #[error("the signature does not verify with the kiosk's key")]
    BadSignature,
    #[error(
        "the request's time is {skew_secs} s away from the server's (more than {MAX_SKEW_SECS} s)"
    )]
    Stale { skew_secs: i64 },
}

impl SignatureError {
    /// The wire code for this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Missing(_) => ErrorCode::Unsigned,
            Self::Malformed(_) => ErrorCode::MalformedSignature,
            Self::BadDigest => ErrorCode::BadDigest,
            Self::BadSignature => ErrorCode::BadSignature,
            Self::Stale { .. } => ErrorCode::StaleTimestamp,
        }
    }
}

/// `sha-256=:…:` of `body`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)))
}

/// 128 random bits, URL-safe base64.
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    // The OS RNG failing is unrecoverable for a signer; a constant nonce would only make the
    // server refuse the request as a replay, never accept a forgery.
    let _ = getrandom::fill(&mut bytes);
    BASE64URL.encode(bytes)
}

fn signature_params(created: i64, keyid: &str, nonce: &str) -> String {
    format!(r#"{COMPONENTS};created={created};keyid="{keyid}";nonce="{nonce}";alg="ed25519""#)
}

fn signature_base(parts: &RequestParts<'_>, digest: &str, params: &str) -> String {
    format!(
        "\"@method\": {}\n\"@path\": {}\n\"@query\": ?{}\n\"content-digest\": {digest}\n\"@signature-params\": {params}",
        parts.method.to_ascii_uppercase(),
        parts.path,
        parts.query
    )
}

/// Signs a request as kiosk `keyid` at unix time `created` (the booth's clock corrected by its
/// learned offset).
pub fn sign(
    key: &SigningKey,
    keyid: &str,
    parts: &RequestParts<'_>,
    created: i64,
    nonce: &str,
) -> SignatureHeaders {
    let content_digest = content_digest(parts.body);
    let params = signature_params(created, keyid, nonce);
    let signature = key.sign(signature_base(parts, &content_digest, &params).as_bytes());
    SignatureHeaders {
        content_digest,
        signature_input: format!("{LABEL}={params}"),
        signature: format!("{LABEL}=:{}:", BASE64.encode(signature.to_bytes())),
    }
}

/// A signature read from the headers, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignature {
    pub keyid: String,
    pub created: i64,
    pub nonce: String,
    content_digest: String,
    params: String,
    signature: [u8; 64],
}

/// Reads the three headers (values as received; `None` when absent).
pub fn parse(
    content_digest: Option<&str>,
    signature_input: Option<&str>,
    signature: Option<&str>,
) -> Result<ParsedSignature, SignatureError> {
    let content_digest = content_digest
        .ok_or(SignatureError::Missing("Content-Digest"))?
        .trim();
    let input = signature_input
        .ok_or(SignatureError::Missing("Signature-Input"))?
        .trim();
    let signature = signature
        .ok_or(SignatureError::Missing("Signature"))?
        .trim();

    let params = input
        .strip_prefix(LABEL)
        .and_then(|rest| rest.strip_prefix('='))
        .ok_or(SignatureError::Malformed(
            "Signature-Input must be sig1=(...)",
        ))?;
    let rest = params
        .strip_prefix(COMPONENTS)
        .ok_or(SignatureError::Malformed(
            "Signature-Input must cover @method @path @query content-digest",
        ))?;
    let mut created = None;
    let mut keyid = None;
    let mut nonce = None;
    let mut alg = None;
    for param in rest.split(';').skip(1) {
        let (name, value) = param
            .split_once('=')
            .ok_or(SignatureError::Malformed("a parameter has no value"))?;
        let quoted = || {
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned)
        };
        match name {
            "created" => created = value.parse::<i64>().ok(),
            "keyid" => keyid = quoted(),
            "nonce" => nonce = quoted(),
            "alg" => alg = quoted(),
            _ => return Err(SignatureError::Malformed("unknown signature parameter")),
        }
    }
    if !rest.is_empty() && !rest.starts_with(';') {
        return Err(SignatureError::Malformed("junk after the component list"));
    }
    if alg.as_deref() != Some("ed25519") {
        return Err(SignatureError::Malformed("alg must be \"ed25519\""));
    }
    let created = created.ok_or(SignatureError::Malformed("created missing or not a number"))?;
    let keyid = keyid
        .filter(|k| !k.is_empty())
        .ok_or(SignatureError::Malformed("keyid missing"))?;
    let nonce = nonce
        .filter(|n| (8..=128).contains(&n.len()))
        .ok_or(SignatureError::Malformed("nonce missing"))?;

    let encoded = signature
        .strip_prefix(LABEL)
        .and_then(|rest| rest.strip_prefix("=:"))
        .and_then(|rest| rest.strip_suffix(':'))
        .ok_or(SignatureError::Malformed("Signature must be sig1=:base64:"))?;
    let signature: [u8; 64] = BASE64
        .decode(encoded)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(SignatureError::Malformed(
            "Signature is not 64 bytes of base64",
        ))?;
    Ok(ParsedSignature {
        keyid,
        created,
        nonce,
        content_digest: content_digest.to_owned(),
        params: params.to_owned(),
        signature,
    })
}

impl ParsedSignature {
    /// Checks the body digest and the signature (strict ed25519: no malleable signatures,
    /// no weak keys).
    pub fn verify(
        &self,
        key: &VerifyingKey,
        parts: &RequestParts<'_>,
    ) -> Result<(), SignatureError> {
        if self.content_digest != content_digest(parts.body) {
            return Err(SignatureError::BadDigest);
        }
        let base = signature_base(parts, &self.content_digest, &self.params);
        key.verify_strict(base.as_bytes(), &Signature::from_bytes(&self.signature))
            .map_err(|_| SignatureError::BadSignature)
    }

    /// Checks `created` against the server's clock. `created` is whatever the client sent
    /// (any `i64`), so the distance is taken without overflow: a plain subtraction wraps for
    /// `created` near `i64::MIN` and a wrapped `abs` looks like no skew at all.
    pub fn check_time(&self, server_now: i64) -> Result<(), SignatureError> {
        if self.created.abs_diff(server_now) > MAX_SKEW_SECS.unsigned_abs() {
            Err(SignatureError::Stale {
                skew_secs: self.created.saturating_sub(server_now),
            })
        } else {
            Ok(())
        }
    }

    /// The last server second at which this signature's `created` is still accepted: a
    /// replay memory must hold the nonce at least until then.
    pub fn accepted_until(&self) -> i64 {
        self.created.saturating_add(MAX_SKEW_SECS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3u8; 32])
    }

    fn parts(body: &[u8]) -> RequestParts<'_> {
        RequestParts {
            method: "POST",
            path: "/api/v1/submissions",
            query: "",
            body,
        }
    }

    fn parse_headers(headers: &SignatureHeaders) -> Result<ParsedSignature, SignatureError> {
        parse(
            Some(&headers.content_digest),
            Some(&headers.signature_input),
            Some(&headers.signature),
        )
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_breaks_it() {
        let body = br#"{"submissions":[]}"#;
        let headers = sign(&key(), "k-1", &parts(body), 1_700_000_000, "n0nce-0123");
        assert!(headers.signature_input.starts_with(
            r#"sig1=("@method" "@path" "@query" "content-digest");created=1700000000;keyid="k-1""#
        ));
        let parsed = parse_headers(&headers).unwrap();
        assert_eq!(
            (parsed.keyid.as_str(), parsed.created, parsed.nonce.as_str()),
            ("k-1", 1_700_000_000, "n0nce-0123")
        );
        let public = key().verifying_key();
        assert_eq!(parsed.verify(&public, &parts(body)), Ok(()));
        assert_eq!(
            parsed.verify(&public, &parts(b"{}")),
            Err(SignatureError::BadDigest)
        );
        let other_path = RequestParts {
            path: "/api/v1/heartbeat",
            ..parts(body)
        };
        assert_eq!(
            parsed.verify(&public, &other_path),
            Err(SignatureError::BadSignature)
        );
        let other_query = RequestParts {
            query: "after=5",
            ..parts(body)
        };
        assert_eq!(
            parsed.verify(&public, &other_query),
            Err(SignatureError::BadSignature)
        );
        let stranger = SigningKey::from_bytes(&[4u8; 32]).verifying_key();
        assert_eq!(
            parsed.verify(&stranger, &parts(body)),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn tampered_parameters_break_the_signature() {
        let headers = sign(&key(), "k-1", &parts(b""), 1_700_000_000, "n0nce-0123");
        let later = SignatureHeaders {
            signature_input: headers.signature_input.replace("1700000000", "1700000100"),
            ..headers.clone()
        };
        let parsed = parse_headers(&later).unwrap();
        assert_eq!(
            parsed.verify(&key().verifying_key(), &parts(b"")),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_told_apart() {
        assert_eq!(
            parse(None, None, None).unwrap_err().code(),
            ErrorCode::Unsigned
        );
        let headers = sign(&key(), "k-1", &parts(b""), 1, "n0nce-0123");
        let no_alg = headers.signature_input.replace(r#";alg="ed25519""#, "");
        assert_eq!(
            parse(
                Some(&headers.content_digest),
                Some(&no_alg),
                Some(&headers.signature)
            )
            .unwrap_err()
            .code(),
            ErrorCode::MalformedSignature
        );
        let short = parse(
            Some(&headers.content_digest),
            Some(&headers.signature_input),
            Some("sig1=:AAAA:"),
        );
        assert_eq!(short.unwrap_err().code(), ErrorCode::MalformedSignature);
    }

    #[test]
    fn time_is_checked_within_the_window() {
        let headers = sign(&key(), "k-1", &parts(b""), 1_000_000, "n0nce-0123");
        let parsed = parse_headers(&headers).unwrap();
        assert_eq!(parsed.check_time(1_000_300), Ok(()));
        assert_eq!(parsed.check_time(999_700), Ok(()));
        assert_eq!(
            parsed.check_time(1_000_301),
            Err(SignatureError::Stale { skew_secs: -301 })
        );
        assert_eq!(
            parsed.check_time(999_699).unwrap_err().code(),
            ErrorCode::StaleTimestamp
        );
    }

    #[test]
    fn time_far_from_the_clock_is_stale_without_overflow() {
        let now = 1_700_000_000_i64;
        for created in [
            i64::MIN,
            // now − 2⁶³: the distance is exactly i64::MIN, whose `abs` overflows.
            i64::MIN + now,
            i64::MAX,
            -1,
            0,
        ] {
            let headers = sign(&key(), "k-1", &parts(b""), created, "n0nce-0123");
            let parsed = parse_headers(&headers).unwrap();
            assert_eq!(
                parsed.check_time(now).unwrap_err().code(),
                ErrorCode::StaleTimestamp,
                "created {created}"
            );
        }
        for now in [i64::MIN, i64::MAX] {
            let headers = sign(&key(), "k-1", &parts(b""), now, "n0nce-0123");
            let parsed = parse_headers(&headers).unwrap();
            assert_eq!(parsed.check_time(now), Ok(()));
            assert_eq!(parsed.accepted_until(), now.saturating_add(MAX_SKEW_SECS));
        }
    }

    #[test]
    fn nonces_are_fresh() {
        assert_ne!(new_nonce(), new_nonce());
        assert_eq!(new_nonce().len(), 22);
    }
}
