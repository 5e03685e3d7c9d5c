//! Release keys: ed25519, written `ed25519:<base64 of the 32 key bytes>`, named in messages by
//! a key id (the first 8 bytes of the key's SHA-256, in hex).
//!
//! The secret half lives only on the signer's machine, in a file of one line,
//! `booth-release-secret-key-v1:<base64 of the 32-byte seed>`, made by `booth-release keygen`.
//! Booths and the county server hold public keys only.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::version::shown;

/// How a public key is written: `ed25519:` and the standard base64 of its 32 bytes.
pub const PUBLIC_KEY_PREFIX: &str = "ed25519:";
/// The one line of a secret key file, before the base64 of the seed.
pub const SECRET_KEY_PREFIX: &str = "booth-release-secret-key-v1:";

/// A release public key: what booths pin and manifests introduce or retire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

/// A short name for a key in messages and summaries: 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; 8]);

/// Why text is not a release key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "`{0}` is not a release public key: give it as ed25519:<base64 of 32 bytes>, as `booth-release keygen` printed it"
    )]
    NotAPublicKey(String),
    #[error(
        "`{0}` is a weak ed25519 key (of small order), which signs nothing safely: make a new one with `booth-release keygen`"
    )]
    WeakKey(String),
    // The text is never quoted: it may be a secret key with one character wrong.
    #[error(
        "this is not a booth-release secret key (one line, {SECRET_KEY_PREFIX}<base64 of 32 bytes>): give the file `booth-release keygen --out` wrote"
    )]
    NotASecretKey,
    #[error("the operating system gave no random bytes for a new key: {0}")]
    NoRandomness(#[source] getrandom::Error),
}

impl PublicKey {
    /// The public half of a signing key.
    pub fn of(key: &SigningKey) -> Self {
        Self(key.verifying_key())
    }

    /// A key from its 32 bytes; weak (small-order) keys are refused.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let text = || format!("{PUBLIC_KEY_PREFIX}{}", BASE64.encode(bytes));
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotAPublicKey(text()))?;
        if key.is_weak() {
            return Err(KeyError::WeakKey(text()));
        }
        Ok(Self(key))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    pub fn key_id(&self) -> KeyId {
        let digest = Sha256::digest(self.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

// By bytes, so a trust store's keys have one order in its file.
impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", BASE64.encode(self.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes: [u8; 32] = text
            .strip_prefix(PUBLIC_KEY_PREFIX)
            // The standard engine refuses missing padding and stray trailing bits, so each
            // key has exactly one spelling.
            .and_then(|encoded| BASE64.decode(encoded).ok())
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| KeyError::NotAPublicKey(shown(text)))?;
        Self::from_bytes(&bytes)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// `ids` as `a, b and c`, for messages naming several keys.
pub(crate) fn list_ids(ids: &[KeyId]) -> String {
    let ids: Vec<String> = ids.iter().map(KeyId::to_string).collect();
    match ids.split_last() {
        None => "none".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// A new release signing key from the operating system's random source.
pub fn generate_secret_key() -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; 32];
    // Unlike a nonce, a key made of a constant would sign for anyone: a failing random source
    // is an error here.
    getrandom::fill(&mut seed).map_err(KeyError::NoRandomness)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The secret key file's text: one line, with its newline.
pub fn encode_secret_key(key: &SigningKey) -> String {
    format!("{SECRET_KEY_PREFIX}{}\n", BASE64.encode(key.to_bytes()))
}

/// Reads a secret key file's text (one line; a final newline is allowed).
pub fn decode_secret_key(text: &str) -> Result<SigningKey, KeyError> {
    let line = text.strip_suffix('\n').unwrap_or(text);
    let seed: [u8; 32] = line
        .strip_prefix(SECRET_KEY_PREFIX)
        .and_then(|encoded| BASE64.decode(encoded).ok())
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(KeyError::NotASecretKey)?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_public_key_round_trips_through_its_text_and_json() {
        let public = PublicKey::of(&key(1));
        let text = public.to_string();
        assert!(
            text.starts_with("ed25519:") && text.len() == 8 + 44,
            "{text}"
        );
        assert_eq!(text.parse::<PublicKey>().unwrap(), public);
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), public);
    }

    #[test]
    fn malformed_and_weak_public_keys_are_refused() {
        let good = PublicKey::of(&key(1)).to_string();
        let encoded = good.strip_prefix("ed25519:").unwrap();
        for bad in [
            String::new(),
            encoded.to_owned(),
            format!("ED25519:{encoded}"),
            format!("ed25519: {encoded}"),
            format!("{good}\n"),
            good.trim_end_matches('=').to_owned(),
            format!("ed25519:{}", BASE64.encode([7u8; 31])),
            format!("ed25519:{}", BASE64.encode([7u8; 33])),
            "ed25519:!!!!".to_owned(),
        ] {
            assert!(
                matches!(bad.parse::<PublicKey>(), Err(KeyError::NotAPublicKey(_))),
                "{bad:?}"
            );
        }
        // The identity point is of small order: anything "verifies" under it.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = format!("ed25519:{}", BASE64.encode(identity));
        assert!(matches!(
            weak.parse::<PublicKey>(),
            Err(KeyError::WeakKey(_))
        ));
    }

    #[test]
    fn key_ids_are_the_first_8_bytes_of_the_keys_sha256() {
        let public = PublicKey::of(&key(1));
        let digest = Sha256::digest(public.as_bytes());
        let expected: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(public.key_id().to_string(), expected);
        assert_ne!(public.key_id(), PublicKey::of(&key(2)).key_id());
        let ids = [public.key_id(), PublicKey::of(&key(2)).key_id()];
        assert_eq!(list_ids(&ids), format!("{} and {}", ids[0], ids[1]));
        assert_eq!(list_ids(&[]), "none");
    }

    #[test]
    fn a_secret_key_file_round_trips_and_is_one_line() {
        let key = generate_secret_key().unwrap();
        let text = encode_secret_key(&key);
        assert!(text.starts_with(SECRET_KEY_PREFIX) && text.ends_with('\n'));
        assert_eq!(text.lines().count(), 1);
        assert_eq!(decode_secret_key(&text).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(
            decode_secret_key(text.trim_end()).unwrap().to_bytes(),
            key.to_bytes()
        );
        assert_ne!(generate_secret_key().unwrap().to_bytes(), key.to_bytes());
    }

    #[test]
    fn a_wrong_secret_key_file_is_refused_without_quoting_it() {
        let text = encode_secret_key(&key(9));
        let public = PublicKey::of(&key(9)).to_string();
        for bad in [
            public,
            text.replace("-v1:", "-v2:"),
            format!("{text}\n"),
            text[..text.len() - 5].to_owned(),
        ] {
            let err = decode_secret_key(&bad).unwrap_err();
            assert!(matches!(err, KeyError::NotASecretKey), "{bad:?}");
            assert!(!err.to_string().contains(&text[30..50]));
        }
    }
}
