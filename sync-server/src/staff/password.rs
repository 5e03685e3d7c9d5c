//! Staff passwords: argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane, the OWASP
//! minimum), a salt per hash, stored as a PHC string so the parameters can be raised later
//! without breaking old hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The shortest password accepted; long passphrases are the better habit than symbols.
pub const MIN_LENGTH: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is too short: use at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("the password is the same as the user name: choose another")]
    SameAsUsername,
    #[error("cannot draw a random salt: {0}")]
    Random(#[source] getrandom::Error),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Refuses passwords too weak to keep.
pub fn check_strength(username: &str, password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if password.trim().eq_ignore_ascii_case(username.trim()) {
        return Err(PasswordError::SameAsUsername);
    }
    Ok(())
}

/// Hashes a password for storage. Slow on purpose (tens of milliseconds): call it off the
/// async workers.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `stored`; a stored string that is not a hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a random password: verifying against it costs what a real check costs, so a
/// login for an unknown name takes as long as one with a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut secret = [0u8; 24];
        let _ = getrandom::fill(&mut secret);
        hash(&crate::staff::token::encode(&secret)).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_ne!(stored, hash("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn weak_passwords_are_refused_with_the_reason() {
        assert!(matches!(
            check_strength("li", "short"),
            Err(PasswordError::TooShort)
        ));
        assert!(matches!(
            check_strength("handler01", "HANDLER01 "),
            Err(PasswordError::SameAsUsername) | Err(PasswordError::TooShort)
        ));
        check_strength("li", "long enough pass").unwrap();
    }
}
