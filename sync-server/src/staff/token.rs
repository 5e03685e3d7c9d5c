//! Random secrets for sessions and forms, and how they are compared and stored.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// URL-safe base64 without padding: fits in cookies and form fields as is.
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// 256 random bits, encoded.
pub fn random() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(encode(&bytes))
}

/// Whether `secret` could be one [`random`] made (43 URL-safe base64 characters): anything
/// else names no session and is refused before the store is asked.
pub fn well_formed(secret: &str) -> bool {
    secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the store keeps of a session secret: its SHA-256 (hex). A secret of 256 random bits
/// needs no salt or stretching.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_compare_exactly() {
        let one = random().unwrap();
        let two = random().unwrap();
        assert_ne!(one, two);
        assert_eq!(one.len(), 43);
        assert!(same(&one, &one.clone()));
        assert!(!same(&one, &two));
        assert!(!same(&one, &one[..42]));
        assert_eq!(digest("abc").len(), 64);
        assert!(well_formed(&one));
        assert!(!well_formed(&one[..42]));
        assert!(!well_formed(&format!("{}=", &one[..42])));
        assert!(!well_formed("whatever"));
    }
}
