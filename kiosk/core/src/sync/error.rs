//! What can go wrong talking to the county server, sorted by what the booth does about it:
//! retry soon (network, 5xx, 429), or stop and tell the technician (a 4xx with a code).

use std::time::Duration;

use sync_protocol::ErrorCode;
use sync_protocol::pin::{CertPin, PinPrefix};

/// A failed exchange with the county server. Every message is one line for the technician.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The request did not get an answer: no route, refused, reset, timed out.
    #[error("cannot reach the county server at {server}: {cause}; check the booth's network")]
    Network {
        server: String,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        cause: String,
        #[source]
        source: reqwest::Error,
    },
    /// 5xx or 429: the server is there but cannot take the request now.
    #[error("the county server at {server} is busy or failing (HTTP {status}{}): the booth retries by itself", describe_retry_after(*retry_after))]
    Unavailable {
        server: String,
        status: u16,
        retry_after: Option<Duration>,
        code: Option<ErrorCode>,
    },
    /// A 4xx with an error body: the server refused this request for a reason it named.
    #[error("{}", technician_message(*code, message))]
    Rejected { code: ErrorCode, message: String },
    /// An answer that does not follow the protocol (e.g. a proxy's HTML page).
    #[error(
        "the county server at {server} gave an unexpected answer to {path} (HTTP {status}: {detail}): check the server URL"
    )]
    Protocol {
        server: String,
        path: String,
        status: u16,
        detail: String,
    },
    /// The server's certificate is not the one pinned: someone is in between, or county IT
    /// changed the server's key. Nothing is sent; a person has to act.
    #[error("{}", pin_message(server, shown, expected, *enrolling))]
    CertificateMismatch {
        server: String,
        shown: CertPin,
        expected: PinPrefix,
        /// During an enrollment (the pin typed or scanned), not a sync (the pin stored).
        enrolling: bool,
    },
    /// A pin was given for a server that speaks plain HTTP, where there is no certificate.
    #[error(
        "a certificate fingerprint was given for {server}, which is not https://: give the server's https:// address, or no fingerprint for a plain-http server"
    )]
    PinWithoutTls { server: String },
    #[error("`{url}` is not a server URL ({reason}): give one like http://127.0.0.1:8080")]
    BadUrl { url: String, reason: String },
    #[error("cannot set up the HTTP client")]
    Setup(#[source] reqwest::Error),
    #[error("cannot set up TLS for the pinned county server")]
    SetupTls(#[source] rustls::Error),
}

impl SyncError {
    /// Whether trying the same request later may succeed without anyone doing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Network { .. } | Self::Unavailable { .. } | Self::Protocol { .. } => true,
            Self::Rejected { code, .. } => matches!(
                code,
                ErrorCode::StaleTimestamp
                    | ErrorCode::ReplayedNonce
                    | ErrorCode::RateLimited
                    | ErrorCode::Internal
            ),
            Self::BadUrl { .. }
            | Self::Setup(_)
            | Self::SetupTls(_)
            | Self::CertificateMismatch { .. }
            | Self::PinWithoutTls { .. } => false,
        }
    }

    /// No answer at all: the only case where a cheap connectivity probe says more than the
    /// backoff does (a 5xx server answers probes fine while still failing real work).
    pub fn is_network(&self) -> bool {
        matches!(self, Self::Network { .. })
    }

    /// What the server asked for in `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The server's error code, when it sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Rejected { code, .. } => Some(*code),
            Self::Unavailable { code, .. } => *code,
            _ => None,
        }
    }

    /// The booth's own identity is refused: nothing will work until it is re-enrolled.
    pub fn needs_reenrollment(&self) -> bool {
        matches!(
            self.code(),
            Some(ErrorCode::KioskRevoked | ErrorCode::UnknownKiosk | ErrorCode::BadSignature)
        )
    }
}

fn pin_message(server: &str, shown: &CertPin, expected: &PinPrefix, enrolling: bool) -> String {
    if enrolling {
        format!(
            "the county server at {server} showed certificate {shown}, not the {expected} given for it: check the fingerprint with county IT before enrolling; someone may be between the booth and the server"
        )
    } else {
        format!(
            "the county server at {server} showed certificate {shown} but this booth was enrolled to trust {expected}: re-enroll the booth or ask county IT whether the server's certificate changed"
        )
    }
}

fn describe_retry_after(retry_after: Option<Duration>) -> String {
    retry_after
        .map(|wait| format!(", retry after {} s", wait.as_secs()))
        .unwrap_or_default()
}

/// What a technician reads for a refusal with `code`; `message` is the server's own line.
pub fn technician_message(code: ErrorCode, message: &str) -> String {
    let reenroll = "re-enroll it with a new code (kiosk enroll --server URL --code CODE)";
    match code {
        ErrorCode::KioskRevoked => {
            format!("this booth was revoked by the county: {reenroll}")
        }
        ErrorCode::UnknownKiosk => {
            format!("the county server does not know this booth: {reenroll}")
        }
        ErrorCode::BadSignature => format!(
            "the county server refused this booth's signature (its key does not match the enrollment): {reenroll}"
        ),
        ErrorCode::StaleTimestamp => "the county server refused the booth's time even after correcting it from the server's clock: check the booth's clock and try again".to_owned(),
        ErrorCode::EnrollCodeUsed => {
            "this code was already used: ask county staff for a new one".to_owned()
        }
        ErrorCode::EnrollCodeExpired => {
            "this code has expired: ask county staff for a new one".to_owned()
        }
        ErrorCode::EnrollCodeInvalid => {
            "the county server does not know this code: check it for typos or ask county staff for a new one".to_owned()
        }
        ErrorCode::RateLimited => {
            "too many attempts: wait a few minutes and try again".to_owned()
        }
        _ => format!(
            "the county server refused the request ({code}: {})",
            one_line(message)
        ),
    }
}

/// A server message shown on the technician's one line: no line breaks, bounded length.
pub(crate) fn one_line(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_CHARS)
        .collect();
    flat.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_tell_the_technician_what_to_do() {
        let revoked = SyncError::Rejected {
            code: ErrorCode::KioskRevoked,
            message: "kiosk k-1 was revoked".into(),
        };
        assert!(
            revoked
                .to_string()
                .starts_with("this booth was revoked by the county: re-enroll it with a new code"),
            "{revoked}"
        );
        assert!(!revoked.is_retryable());
        assert!(revoked.needs_reenrollment());
        let used = SyncError::Rejected {
            code: ErrorCode::EnrollCodeUsed,
            message: String::new(),
        };
        assert_eq!(
            used.to_string(),
            "this code was already used: ask county staff for a new one"
        );
        let other = technician_message(ErrorCode::InvalidRequest, "batch of 101\nitems");
        assert_eq!(
            other,
            "the county server refused the request (invalid_request: batch of 101 items)"
        );
    }

    #[test]
    fn busy_servers_are_retried_and_say_when() {
        let busy = SyncError::Unavailable {
            server: "http://127.0.0.1:8080".into(),
            status: 503,
            retry_after: Some(Duration::from_secs(30)),
            code: None,
        };
        assert!(busy.is_retryable() && !busy.is_network());
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(30)));
        assert!(
            busy.to_string().contains("HTTP 503, retry after 30 s"),
            "{busy}"
        );
        let stale = SyncError::Rejected {
            code: ErrorCode::StaleTimestamp,
            message: String::new(),
        };
        assert!(stale.is_retryable());
    }
}
