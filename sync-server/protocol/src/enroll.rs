//! Enrollment: a booth trades a one-time code for a kiosk id bound to its new public key.
//!
//! Re-enrolling a booth that still has its old key adds [`Replaces`]: the OLD key's signature
//! over the same [`proof_message`] (the code and the NEW public key). The server then hands
//! the old kiosk's number, submissions and status feed to the new kiosk and retires the old
//! one, so receipts already printed stay valid and their progress keeps reaching the booth.
//! Reusing the message is safe: it names the new key, and the server refuses a new key that
//! is already enrolled, so the only old-key signature over it is one made for this
//! replacement (a kiosk's own enrollment proof signs its own key, never another).
//!
//! Retrying an enrollment (same code, same public key) after a lost answer gets the original
//! answer again: the proof binds the code to that key, so nobody else can claim it.
//!
//! [`EnrollQr`] is what an enrollment QR code carries (server address, code, and for an https
//! server the pin of its certificate, [`crate::pin`]): the staff web app draws it, the booth's
//! scanner reads it, both through this one definition.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::pin::CertPin;

/// Where a booth stands: 县 / 乡镇 / 村.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Village {
    pub county: String,
    pub township: String,
    pub village: String,
}

/// `POST /api/v1/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time code staff issued, as typed (case and dashes are ignored by the server).
    pub code: String,
    /// The booth's new ed25519 public key, standard base64 of 32 bytes.
    pub public_key: String,
    /// Proof that the booth holds the private key: base64 signature of [`proof_message`].
    pub proof: String,
    /// The kiosk software version, for the fleet view.
    pub app_version: String,
    /// Set when the booth re-enrolls with its previous identity's key at hand. Absent (and
    /// omitted) for a first enrollment or a booth that lost its key: that booth gets a new
    /// kiosk number. Added in a backwards-compatible way: older servers ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replaces>,
}

/// The identity a re-enrolling booth gives up, and proof that it holds its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replaces {
    /// The previous kiosk id.
    pub kiosk_id: String,
    /// Base64 signature of [`proof_message`]`(code, public_key)` (the NEW key) made with the
    /// previous identity's key.
    pub proof: String,
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
    /// The key the booth seals the personal part of every submission to
    /// ([`crate::personal`]). Absent from servers that predate sealing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county_key: Option<crate::personal::CountyKey>,
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

const QR_PREFIX: &str = "booth-enroll:v1?";

/// What an enrollment QR code carries: `booth-enroll:v1?server=<URL>&code=<CODE>[&pin=<PIN>]`,
/// with the values percent-encoded (e.g.
/// `booth-enroll:v1?server=https%3A%2F%2F10.0.0.5%3A8443&code=ABCD-EFGH&pin=sha256%3A3f2a…`).
/// The pin is optional, so codes printed before pins existed (and plain-http servers) still
/// read; it stays `v1` because an older booth ignores the unknown key and enrolls as before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollQr {
    pub server: String,
    pub code: String,
    /// The server certificate's pin: the booth trusts only that key for this server.
    pub pin: Option<CertPin>,
}

impl EnrollQr {
    /// The payload to put in a QR code.
    pub fn payload(&self) -> String {
        let mut payload = format!(
            "{QR_PREFIX}server={}&code={}",
            percent_encode(&self.server),
            percent_encode(&self.code)
        );
        if let Some(pin) = &self.pin {
            payload.push_str("&pin=");
            payload.push_str(&percent_encode(&pin.to_string()));
        }
        payload
    }
}

/// Reads an enrollment QR payload; `None` for anything else (a receipt, a typo). Unencoded
/// values and unknown keys are accepted, so a hand-made QR code works too. A pin that is there
/// but not a whole pin makes it no enrollment QR code: enrolling without the pin it meant to
/// carry would trust what it meant to refuse.
pub fn parse_enroll_qr(text: &str) -> Option<EnrollQr> {
    let query = text.trim().strip_prefix(QR_PREFIX)?;
    let (mut server, mut code, mut pin) = (None, None, None);
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=')?;
        let value = percent_decode(value)?;
        match key {
            "server" => server = Some(value),
            "code" => code = Some(value),
            "pin" => pin = Some(value.parse::<CertPin>().ok()?),
            _ => {}
        }
    }
    Some(EnrollQr {
        server: server.filter(|s| !s.is_empty())?,
        code: code.filter(|c| !c.is_empty())?,
        pin,
    })
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
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
            replaces: None,
        }
    }

    /// Builds a re-enrollment: proves possession of `key` and, with `old_key`, that the booth
    /// was kiosk `old_kiosk_id`.
    pub fn replacing(
        code: &str,
        key: &SigningKey,
        old_kiosk_id: &str,
        old_key: &SigningKey,
        app_version: &str,
    ) -> Self {
        let mut request = Self::new(code, key, app_version);
        let proof = old_key.sign(&proof_message(code, &request.public_key));
        request.replaces = Some(Replaces {
            kiosk_id: old_kiosk_id.to_owned(),
            proof: BASE64.encode(proof.to_bytes()),
        });
        request
    }

    /// Whether [`Self::replaces`] is present and its proof verifies (strictly) with
    /// `old_key`, the key the server holds for the replaced kiosk.
    pub fn replacement_verifies(&self, old_key: &VerifyingKey) -> bool {
        let Some(replaces) = &self.replaces else {
            return false;
        };
        let Some(signature_bytes) = BASE64
            .decode(&replaces.proof)
            .ok()
            .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(&signature_bytes);
        !old_key.is_weak()
            && old_key
                .verify_strict(&proof_message(&self.code, &self.public_key), &signature)
                .is_ok()
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
    fn a_replacement_proof_is_the_old_keys_signature_over_code_and_new_key() {
        let old = SigningKey::from_bytes(&[1u8; 32]);
        let new = SigningKey::from_bytes(&[2u8; 32]);
        let request = EnrollRequest::replacing("ABCD-EFGH", &new, "kiosk-old", &old, "0.2.0");
        assert_eq!(request.verified_key(), Some(new.verifying_key()));
        assert_eq!(
            request.replaces.as_ref().map(|r| r.kiosk_id.as_str()),
            Some("kiosk-old")
        );
        assert!(request.replacement_verifies(&old.verifying_key()));
        assert!(!request.replacement_verifies(&new.verifying_key()));
        // Bound to the code and the new key: moved onto another code or key it fails.
        let other_code = EnrollRequest {
            code: "WXYZ-EFGH".into(),
            ..request.clone()
        };
        assert!(!other_code.replacement_verifies(&old.verifying_key()));
        let other_key = EnrollRequest::new("ABCD-EFGH", &old, "0.2.0");
        let moved = EnrollRequest {
            replaces: request.replaces,
            ..other_key
        };
        assert!(!moved.replacement_verifies(&old.verifying_key()));
        assert!(
            !EnrollRequest::new("ABCD-EFGH", &new, "0.2.0")
                .replacement_verifies(&old.verifying_key())
        );
    }

    #[test]
    fn replaces_is_optional_on_the_wire() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let plain = EnrollRequest::new("ABCD-EFGH", &key, "0.1.0");
        let json = serde_json::to_value(&plain).unwrap();
        assert!(
            json.get("replaces").is_none(),
            "omitted when absent: {json}"
        );
        let old_format = serde_json::json!({
            "code": "ABCD-EFGH",
            "public_key": plain.public_key,
            "proof": plain.proof,
            "app_version": "0.1.0",
        });
        assert_eq!(
            serde_json::from_value::<EnrollRequest>(old_format).unwrap(),
            plain
        );
        let replacing = EnrollRequest::replacing(
            "ABCD-EFGH",
            &key,
            "k-1",
            &SigningKey::from_bytes(&[9; 32]),
            "0.1.0",
        );
        let json = serde_json::to_value(&replacing).unwrap();
        assert_eq!(json["replaces"]["kiosk_id"], "k-1");
        assert_eq!(
            serde_json::from_value::<EnrollRequest>(json).unwrap(),
            replacing
        );
    }

    #[test]
    fn enrollment_qr_codes_round_trip() {
        let qr = EnrollQr {
            server: "http://10.0.0.5:8080/".into(),
            code: "ABCD-EFGH".into(),
            pin: None,
        };
        let payload = qr.payload();
        assert_eq!(
            payload,
            "booth-enroll:v1?server=http%3A%2F%2F10.0.0.5%3A8080%2F&code=ABCD-EFGH"
        );
        assert_eq!(parse_enroll_qr(&payload), Some(qr));
        // Unencoded values and extra keys are accepted too.
        assert_eq!(
            parse_enroll_qr("booth-enroll:v1?code=WXYZ&v=1&server=http://h:1"),
            Some(EnrollQr {
                server: "http://h:1".into(),
                code: "WXYZ".into(),
                pin: None,
            })
        );
    }

    #[test]
    fn enrollment_qr_codes_carry_the_servers_pin() {
        let pin: CertPin =
            "sha256:3f2a9c0177be0d4e11223344556677889900aabbccddeeff0123456789abcdef"
                .parse()
                .unwrap();
        let qr = EnrollQr {
            server: "https://10.0.0.5:8443".into(),
            code: "ABCD-EFGH".into(),
            pin: Some(pin),
        };
        let payload = qr.payload();
        assert_eq!(
            payload,
            "booth-enroll:v1?server=https%3A%2F%2F10.0.0.5%3A8443&code=ABCD-EFGH\
             &pin=sha256%3A3f2a9c0177be0d4e11223344556677889900aabbccddeeff0123456789abcdef"
        );
        assert_eq!(parse_enroll_qr(&payload), Some(qr));
        // A pin cut short or mangled: not an enrollment QR code at all.
        assert_eq!(parse_enroll_qr(&payload[..payload.len() - 1]), None);
        assert_eq!(
            parse_enroll_qr("booth-enroll:v1?server=https://h&code=X&pin=sha256:zz"),
            None
        );
    }

    #[test]
    fn other_codes_are_not_enrollment_qr_codes() {
        for text in [
            "",
            "R-0003-000042-X",
            "booth-enroll:v2?server=a&code=b",
            "booth-enroll:v1?server=http://h:1",
            "booth-enroll:v1?server=&code=X",
            "booth-enroll:v1?server=%zz&code=X",
        ] {
            assert_eq!(parse_enroll_qr(text), None, "{text:?}");
        }
    }

    #[test]
    fn codes_normalize() {
        assert_eq!(normalize_code(" abcd-efgh "), "ABCDEFGH");
    }
}
