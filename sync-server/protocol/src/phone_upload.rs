//! The one-time phone upload (手机上传材料): a booth without a document camera prints on an
//! application's receipt a QR code of `<public base URL>/m/<token>`; the villager's phone
//! opens that page of the county server and uploads photographs of the application's
//! materials, once.
//!
//! The token is a bearer credential for that one upload and nothing else: [`TOKEN_BYTES`]
//! random bytes (128 bits, so guessing is hopeless even unthrottled), written as
//! [`TOKEN_CHARS`] characters of unpadded base64url (RFC 4648 §5), the form [`new_token`]
//! makes and [`is_token`] accepts. The booth sends only its hash ([`token_hash`], in
//! `Submission::phone_upload`), so neither the server's database nor its backups hold a
//! usable token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The token's random bytes.
pub const TOKEN_BYTES: usize = 16;
/// The token's text length: unpadded base64url of [`TOKEN_BYTES`] bytes.
pub const TOKEN_CHARS: usize = 22;
/// The length of [`token_hash`]'s text: lowercase hex of a SHA-256.
pub const HASH_CHARS: usize = 64;
/// The path prefix of the phone page: the QR code holds `<base URL>/m/<token>`.
pub const PATH_PREFIX: &str = "/m/";

/// Why a token could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the system's random source failed: {0}")]
pub struct NoRandomness(#[source] getrandom::Error);

/// A fresh token in its text form.
pub fn new_token() -> Result<String, NoRandomness> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(NoRandomness)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `text` is a token's text form: exactly [`TOKEN_CHARS`] characters of the base64url
/// alphabet that decode to [`TOKEN_BYTES`] bytes (the last character carries 2 bits, so its
/// 4 unused bits must be zero: one token has one spelling).
pub fn is_token(text: &str) -> bool {
    text.len() == TOKEN_CHARS
        && URL_SAFE_NO_PAD
            .decode(text)
            .is_ok_and(|bytes| bytes.len() == TOKEN_BYTES && URL_SAFE_NO_PAD.encode(&bytes) == text)
}

/// What the booth sends and the server keeps: lowercase hex SHA-256 of the token's text
/// (its UTF-8 bytes, as the QR code carries it).
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `text` has [`token_hash`]'s form: 64 lowercase hex digits.
pub fn is_token_hash(text: &str) -> bool {
    text.len() == HASH_CHARS && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The page's address for `token` under the server's public base URL (a trailing `/` on the
/// base is dropped).
pub fn url(base: &str, token: &str) -> String {
    format!("{}{PATH_PREFIX}{token}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_has_its_one_form_and_hashes_to_hex() {
        let token = new_token().unwrap();
        assert_eq!(token.len(), TOKEN_CHARS);
        assert!(is_token(&token), "{token}");
        assert_ne!(new_token().unwrap(), token);
        let hash = token_hash(&token);
        assert!(is_token_hash(&hash), "{hash}");
        // Fixed vector: what a booth and the server must both compute.
        assert_eq!(
            token_hash("AAAAAAAAAAAAAAAAAAAAAA"),
            "8a5bdb4cc15164126c6ef2668de9dd240d299ce6397a42c95a9411b93d080ed8"
        );
        assert_eq!(
            url("https://county.example/", "AAAAAAAAAAAAAAAAAAAAAA"),
            "https://county.example/m/AAAAAAAAAAAAAAAAAAAAAA"
        );
    }

    #[test]
    fn other_spellings_are_not_tokens() {
        assert!(is_token("AAAAAAAAAAAAAAAAAAAAAA"));
        assert!(is_token("_-_-_-_-_-_-_-_-_-_-_w"));
        for bad in [
            "",
            "AAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAA=",
            "AAAAAAAAAAAAAAAAAAAA+/",
            // Unused low bits set: the same bytes as …AA, spelt otherwise.
            "AAAAAAAAAAAAAAAAAAAAAB",
            "AAAAAAAAAAAAAAAAAAAAA.",
            "长AAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(!is_token(bad), "{bad}");
        }
        assert!(!is_token_hash(&"A".repeat(64)));
        assert!(!is_token_hash(&"a".repeat(63)));
        assert!(is_token_hash(&"0a".repeat(32)));
    }
}
