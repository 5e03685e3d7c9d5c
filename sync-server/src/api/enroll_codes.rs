//! One-time enrollment codes: what staff hand a technician to enroll a booth.
//!
//! A code is 8 symbols of Crockford base32 shown as `ABCD-EFGH`: 40 random bits. The alphabet
//! has no I, L, O or U, and typed input may use any case, omit the dash, and write O for 0 and
//! I or L for 1, so a code read off a phone screen cannot be mistyped into another valid one
//! by those confusions. The store keeps only a key of the code, its village, and its expiry;
//! guessing is limited by [`crate::api::rate_limit`]: at 40 bits and a few dozen guesses a
//! minute, finding one of even a hundred live codes takes tens of thousands of years.
//!
//! The key is HMAC-SHA-256 of the code under [`CodeSecret`], a server secret kept in its own
//! file beside the database (`data_dir::CODE_SECRET_FILE`), not in it. A plain hash would not
//! do: 40 bits are 10¹² codes, hashed through in minutes, so a leaked copy of the database
//! would give away every live code. With the secret elsewhere, the copy alone gives nothing.
//! A slow salted hash instead was weighed and not taken: a per-code salt makes lookup by code
//! a scan that runs the slow hash against every live code on each enrollment attempt (work
//! an unauthenticated caller could make the server do), and even at 50 ms a try a leaked code
//! list is a GPU-week away, while codes live up to 30 days.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use sync_protocol::enroll::{Village, normalize_code};

use crate::store::staff::AuditEntry;
use crate::store::{NewEnrollCode, Store, StoreError};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SYMBOLS: usize = 8;

/// The longest validity staff may give a code.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// The validity when none is given.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// A freshly issued code, the only time the code itself exists on the server side.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// `ABCD-EFGH`.
    pub code: String,
    pub village: Village,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code is a bearer secret until used.
        f.debug_struct("IssuedCode")
            .field("code", &"<secret>")
            .field("village", &self.village)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the system's random number generator failed: {0}")]
    Random(#[source] getrandom::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// 40 random bits as `XXXX-XXXX`.
pub fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 5];
    getrandom::fill(&mut bytes)?;
    let bits = bytes
        .iter()
        .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
    let symbols: Vec<char> = (0..SYMBOLS)
        .rev()
        .map(|i| char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize]))
        .collect();
    Ok(format!(
        "{}-{}",
        symbols[..4].iter().collect::<String>(),
        symbols[4..].iter().collect::<String>()
    ))
}

/// The code as typed, in canonical form (`ABCDEFGH`), or `None` if it cannot be a code.
pub fn canonical(typed: &str) -> Option<String> {
    let folded: String = normalize_code(typed)
        .chars()
        .map(|c| match c {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (folded.len() == SYMBOLS && folded.bytes().all(|b| ALPHABET.contains(&b))).then_some(folded)
}

/// The key enrollment codes are stored under. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeSecret([u8; 32]);

impl std::fmt::Debug for CodeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeSecret(<secret>)")
    }
}

impl CodeSecret {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// What the store keeps instead of the code (`canonical`, as [`canonical`] gives it).
    pub fn code_key(&self, canonical: &str) -> String {
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(b"booth-enroll-code-v2:");
        mac.update(canonical.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Parses a validity like `90s`, `30m`, `1h`, `2d` (at most [`MAX_TTL`]).
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write it like 30m, 1h or 2d"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}` has no unit: write it like 30m, 1h or 2d")),
    };
    let ttl = Duration::from_secs(number.saturating_mul(unit_secs));
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(format!(
            "a code must be valid for between 1 s and 30 days, not `{text}`"
        ));
    }
    Ok(ttl)
}

/// Creates a code for `village`, valid for `ttl` from `now`, stored under `secret`.
pub async fn issue(
    store: &dyn Store,
    secret: &CodeSecret,
    village: Village,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<IssuedCode, IssueError> {
    let (issued, stored) = prepare(secret, village, ttl, now)?;
    store.create_enroll_code(stored).await?;
    Ok(issued)
}

/// [`issue`] for a staff member of the web app: the code and its audit line (built by
/// `audit`, which gets the expiry and must not be given the code) are stored together.
pub async fn issue_audited(
    store: &dyn Store,
    secret: &CodeSecret,
    village: Village,
    ttl: Duration,
    now: DateTime<Utc>,
    audit: impl FnOnce(&IssuedCode) -> AuditEntry,
) -> Result<IssuedCode, IssueError> {
    let (issued, stored) = prepare(secret, village, ttl, now)?;
    store
        .create_enroll_code_audited(stored, audit(&issued))
        .await?;
    Ok(issued)
}

/// A new code and what the store keeps of it.
fn prepare(
    secret: &CodeSecret,
    village: Village,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<(IssuedCode, NewEnrollCode), IssueError> {
    let code = generate().map_err(IssueError::Random)?;
    let canonical = canonical(&code).ok_or_else(|| {
        IssueError::Store(StoreError::Corrupt {
            what: "a generated code failed its own format".into(),
        })
    })?;
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
    // Whole seconds: what staff read is exactly what the store enforces.
    let expires_at = DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at);
    let stored = NewEnrollCode {
        code_key: secret.code_key(&canonical),
        village: village.clone(),
        created_at: now,
        expires_at,
    };
    Ok((
        IssuedCode {
            code,
            village,
            expires_at,
        },
        stored,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_look_right_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 9);
        assert_eq!(&a[4..5], "-");
        assert_eq!(canonical(&a).unwrap(), a.replace('-', ""));
    }

    #[test]
    fn typing_is_forgiving_but_strict_about_length_and_letters() {
        assert_eq!(canonical(" ab0d-efgh ").as_deref(), Some("AB0DEFGH"));
        assert_eq!(canonical("abOd efgh").as_deref(), Some("AB0DEFGH"));
        assert_eq!(canonical("1lI0-0000").as_deref(), Some("11100000"));
        assert_eq!(canonical("ABCD-EFG"), None);
        assert_eq!(canonical("ABCD-EFGU"), None);
        let secret = CodeSecret::new([1; 32]);
        assert_eq!(
            secret.code_key("AB0DEFGH"),
            secret.code_key(&canonical("ABOD-EFGH").unwrap())
        );
    }

    #[test]
    fn the_stored_key_needs_the_secret() {
        let code = "AB0DEFGH";
        let (one, other) = (CodeSecret::new([1; 32]), CodeSecret::new([2; 32]));
        assert_ne!(one.code_key(code), other.code_key(code));
        assert_ne!(one.code_key(code), one.code_key("AB0DEFGJ"));
        assert_eq!(one.code_key(code).len(), 64);
        // Not the unkeyed hash of earlier versions, which a copy of the database could
        // be searched against.
        use sha2::Digest as _;
        let unkeyed: String = Sha256::digest(format!("booth-enroll-code-v1:{code}"))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_ne!(one.code_key(code), unkeyed);
        assert!(!format!("{one:?}").contains('1'));
    }

    #[test]
    fn validities_parse() {
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_ttl("0m").is_err());
        assert!(parse_ttl("31d").is_err());
        assert!(parse_ttl("soon").is_err());
        assert!(parse_ttl("10").is_err());
    }
}
