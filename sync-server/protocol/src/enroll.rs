//! Enrollment: a booth trades a one-time code for a kiosk id bound to its new public key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Where a booth stands: 县 / 乡镇 / 村.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Village {
    pub county: String,
    pub township: String,
    pub village: String,
}

/// `POST /api/v1/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The one-time code staff issued, as typed (case and dashes are ignored by the server).
    pub code: String,
    /// The booth's new ed25519 public key, standard base64 of 32 bytes.
    pub public_key: String,
    /// Proof that the booth holds the private key: base64 signature of [`proof_message`].
    pub proof: String,
    /// The kiosk software version, for the fleet view.
    pub app_version: String,
}

/// `200` answer to an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The `keyid` every later request is signed with.
    pub kiosk_id: String,
    /// A small fleet-unique number that prefixes this booth's receipt numbers.
    pub kiosk_number: u32,
    pub village: Village,
    /// Identifies the server install; a booth refuses to sync to a different one without
    /// re-enrolling.
    pub server_id: String,
    pub server_time: DateTime<Utc>,
}

/// What the proof signs: binds the key to this code, so a captured request cannot enroll
/// another key.
pub fn proof_message(code: &str, public_key_b64: &str) -> Vec<u8> {
    format!(
        "booth-enroll-v1\n{}\n{public_key_b64}",
        normalize_code(code)
    )
    .into_bytes()
}

/// Codes are shown as `ABCD-EFGH`; people type them in any case, with or without the dash.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl EnrollRequest {
    /// Builds a request proving possession of `key`.
    pub fn new(code: &str, key: &SigningKey, app_version: &str) -> Self {
        let public_key = BASE64.encode(key.verifying_key().as_bytes());
        let proof = BASE64.encode(key.sign(&proof_message(code, &public_key)).to_bytes());
        Self {
            code: code.to_owned(),
            public_key,
            proof,
            app_version: app_version.to_owned(),
        }
    }

    /// The public key, if the proof verifies (strictly: weak keys are refused).
    pub fn verified_key(&self) -> Option<VerifyingKey> {
        let key_bytes: [u8; 32] = BASE64.decode(&self.public_key).ok()?.try_into().ok()?;
        let key = VerifyingKey::from_bytes(&key_bytes).ok()?;
        if key.is_weak() {
            return None;
        }
        let signature_bytes: [u8; 64] = BASE64.decode(&self.proof).ok()?.try_into().ok()?;
        let signature = ed25519_dalek::Signature::from_bytes(&signature_bytes);
        key.verify_strict(&proof_message(&self.code, &self.public_key), &signature)
            .ok()?;
        // `verify` too, so both dalek checks agree on the same bytes.
        key.verify(&proof_message(&self.code, &self.public_key), &signature)
            .ok()?;
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proof_binds_key_and_code() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let request = EnrollRequest::new("abcd-efgh", &key, "0.1.0");
        assert_eq!(request.verified_key(), Some(key.verifying_key()));
        let other_code = EnrollRequest {
            code: "WXYZ-EFGH".into(),
            ..request.clone()
        };
        assert_eq!(other_code.verified_key(), None);
        let other_key = SigningKey::from_bytes(&[8u8; 32]);
        let swapped = EnrollRequest {
            public_key: BASE64.encode(other_key.verifying_key().as_bytes()),
            ..request.clone()
        };
        assert_eq!(swapped.verified_key(), None);
        assert_eq!(
            EnrollRequest {
                proof: "not base64!".into(),
                ..request
            }
            .verified_key(),
            None
        );
    }

    #[test]
    fn codes_normalize() {
        assert_eq!(normalize_code(" abcd-efgh "), "ABCDEFGH");
    }
}
