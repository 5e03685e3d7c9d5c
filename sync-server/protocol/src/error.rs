//! The error body every non-2xx response carries.

use serde::{Deserialize, Serialize};

/// `{"code": "bad_signature", "message": "…"}`. `code` is for programs, `message` for people
/// (one line, says what to do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Machine-readable error codes. Unknown codes from a newer server deserialize as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No `Signature`/`Signature-Input`/`Content-Digest` headers.
    Unsigned,
    /// The headers are there but cannot be parsed.
    MalformedSignature,
    /// `keyid` names no enrolled kiosk.
    UnknownKiosk,
    /// The kiosk was revoked by staff: re-enroll it.
    KioskRevoked,
    /// The signature does not verify with the kiosk's key.
    BadSignature,
    /// The body does not match `Content-Digest`.
    BadDigest,
    /// `created` is more than 300 s away from server time.
    StaleTimestamp,
    /// The nonce was already used by this kiosk.
    ReplayedNonce,
    /// The body is larger than the server accepts.
    BodyTooLarge,
    /// The body is not JSON of the expected shape.
    MalformedJson,
    /// Well-formed but not acceptable (e.g. a batch over the size limit).
    InvalidRequest,
    /// The enrollment code does not exist.
    EnrollCodeInvalid,
    /// The enrollment code has expired.
    EnrollCodeExpired,
    /// The enrollment code was already used.
    EnrollCodeUsed,
    /// Too many attempts; wait `Retry-After` seconds.
    RateLimited,
    NotFound,
    /// The file is not listed by any submission of this kiosk: send the submission first.
    AttachmentNotListed,
    /// The chunk does not start where the server's copy ends (the body says where it does),
    /// or would run past the listed size.
    AttachmentOffset,
    /// The file's bytes do not hash to its name (or a sealed file does not open): the server
    /// dropped its copy; send it again from the start.
    AttachmentHashMismatch,
    /// The file is larger than listed or than the server takes.
    AttachmentTooLarge,
    /// A supplement names an original submission the server does not hold (per item, in a
    /// batch's `invalid` result): nothing was stored; the booth keeps it for a technician.
    UnknownOriginal,
    /// A submission's `phone_upload` is not a token hash (64 lowercase hex digits), or is on
    /// something other than an application that is not a supplement (per item, in a batch's
    /// `invalid` result).
    InvalidPhoneUpload,
    /// The server failed; retry later.
    Internal,
    #[serde(other)]
    Other,
}

impl ErrorCode {
    /// Every code a server sends (`Other` exists only for booths reading a newer server):
    /// the one list the OpenAPI document's enum is made from.
    pub const SENT: [Self; 23] = [
        Self::Unsigned,
        Self::MalformedSignature,
        Self::UnknownKiosk,
        Self::KioskRevoked,
        Self::BadSignature,
        Self::BadDigest,
        Self::StaleTimestamp,
        Self::ReplayedNonce,
        Self::BodyTooLarge,
        Self::MalformedJson,
        Self::InvalidRequest,
        Self::EnrollCodeInvalid,
        Self::EnrollCodeExpired,
        Self::EnrollCodeUsed,
        Self::RateLimited,
        Self::NotFound,
        Self::AttachmentNotListed,
        Self::AttachmentOffset,
        Self::AttachmentHashMismatch,
        Self::AttachmentTooLarge,
        Self::UnknownOriginal,
        Self::InvalidPhoneUpload,
        Self::Internal,
    ];

    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::MalformedSignature => "malformed_signature",
            Self::UnknownKiosk => "unknown_kiosk",
            Self::KioskRevoked => "kiosk_revoked",
            Self::BadSignature => "bad_signature",
            Self::BadDigest => "bad_digest",
            Self::StaleTimestamp => "stale_timestamp",
            Self::ReplayedNonce => "replayed_nonce",
            Self::BodyTooLarge => "body_too_large",
            Self::MalformedJson => "malformed_json",
            Self::InvalidRequest => "invalid_request",
            Self::EnrollCodeInvalid => "enroll_code_invalid",
            Self::EnrollCodeExpired => "enroll_code_expired",
            Self::EnrollCodeUsed => "enroll_code_used",
            Self::RateLimited => "rate_limited",
            Self::NotFound => "not_found",
            Self::AttachmentNotListed => "attachment_not_listed",
            Self::AttachmentOffset => "attachment_offset",
            Self::AttachmentHashMismatch => "attachment_hash_mismatch",
            Self::AttachmentTooLarge => "attachment_too_large",
            Self::UnknownOriginal => "unknown_original",
            Self::InvalidPhoneUpload => "invalid_phone_upload",
            Self::Internal => "internal",
            Self::Other => "other",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_but_other_is_in_the_list_servers_send() {
        // A new variant fails to compile here until it is placed: in SENT, or not sent.
        let sent = |code: ErrorCode| match code {
            ErrorCode::Other => false,
            ErrorCode::Unsigned
            | ErrorCode::MalformedSignature
            | ErrorCode::UnknownKiosk
            | ErrorCode::KioskRevoked
            | ErrorCode::BadSignature
            | ErrorCode::BadDigest
            | ErrorCode::StaleTimestamp
            | ErrorCode::ReplayedNonce
            | ErrorCode::BodyTooLarge
            | ErrorCode::MalformedJson
            | ErrorCode::InvalidRequest
            | ErrorCode::EnrollCodeInvalid
            | ErrorCode::EnrollCodeExpired
            | ErrorCode::EnrollCodeUsed
            | ErrorCode::RateLimited
            | ErrorCode::NotFound
            | ErrorCode::AttachmentNotListed
            | ErrorCode::AttachmentOffset
            | ErrorCode::AttachmentHashMismatch
            | ErrorCode::AttachmentTooLarge
            | ErrorCode::UnknownOriginal
            | ErrorCode::InvalidPhoneUpload
            | ErrorCode::Internal => true,
        };
        for code in ErrorCode::SENT {
            assert!(sent(code), "{code}");
        }
        let listed: std::collections::BTreeSet<&str> =
            ErrorCode::SENT.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed.len(), ErrorCode::SENT.len(), "no code twice");
        assert_eq!(listed.len(), 23, "every sent variant listed");
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_survive() {
        let body = ErrorBody::new(ErrorCode::ReplayedNonce, "nonce already used");
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"code":"replayed_nonce","message":"nonce already used"}"#
        );
        assert_eq!(serde_json::from_str::<ErrorBody>(&json).unwrap(), body);
        let newer: ErrorBody =
            serde_json::from_str(r#"{"code":"quota_exceeded","message":"x"}"#).unwrap();
        assert_eq!(newer.code, ErrorCode::Other);
        assert_eq!(
            serde_json::to_value(ErrorCode::KioskRevoked).unwrap(),
            ErrorCode::KioskRevoked.as_str()
        );
    }
}
