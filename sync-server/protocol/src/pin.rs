//! The county server's certificate pin: what a booth trusts instead of the public roots.
//!
//! A pin is the SHA-256 of the server certificate's SubjectPublicKeyInfo (SPKI, the DER of its
//! public key with the algorithm), written `sha256:` and 64 lowercase hex digits. The public
//! key rather than the whole certificate, because a county's private CA renews the server's
//! certificate every year or two, and a renewal that keeps the key (the usual way with a
//! private CA) must not strand every booth until a technician re-enrolls it on site; a new key
//! is a new identity, and that does need the booths re-enrolled. It is the same digest HPKP
//! and `curl --pinnedpubkey sha256//…` use (in hex instead of base64), so county IT can check
//! it with stock tools:
//! `openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`.
//!
//! A technician typing a pin on the touchscreen may type only its start ([`PinPrefix`], at
//! least [`MIN_PREFIX_HEX`] hex digits): the booth then stores the whole pin of the
//! certificate that matched.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The shortest pin start a technician may type: 16 hex digits are 64 bits, beyond anyone's
/// means to find a key whose pin starts the same (8 digits, 32 bits, are within a GPU's day).
pub const MIN_PREFIX_HEX: usize = 16;

const SCHEME: &str = "sha256:";

/// SHA-256 of a certificate's SubjectPublicKeyInfo.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertPin([u8; 32]);

/// Why bytes are not a certificate a pin can be taken from.
#[derive(Debug, thiserror::Error)]
#[error("not an X.509 certificate in DER ({0:?}): give the server's certificate")]
pub struct NotACertificate(webpki::Error);

/// Why a typed pin is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error(
        "`{0}` is not a certificate fingerprint: give it like sha256:3f2a… (hex digits 0-9 and a-f)"
    )]
    NotHex(String),
    #[error(
        "`{text}` has {digits} hex digits: give at least the first {MIN_PREFIX_HEX} of the fingerprint county IT gave you"
    )]
    TooShort { text: String, digits: usize },
    #[error("`{text}` has {digits} hex digits: a SHA-256 fingerprint has 64")]
    TooLong { text: String, digits: usize },
}

impl CertPin {
    /// The pin of a SubjectPublicKeyInfo (DER, with its outer SEQUENCE).
    pub fn of_spki(spki_der: &[u8]) -> Self {
        Self(Sha256::digest(spki_der).into())
    }

    /// The pin of a certificate (DER): its public key's.
    pub fn of_certificate(cert_der: &[u8]) -> Result<Self, NotACertificate> {
        let der = rustls_pki_types::CertificateDer::from(cert_der);
        let cert = webpki::EndEntityCert::try_from(&der).map_err(NotACertificate)?;
        Ok(Self::of_spki(cert.subject_public_key_info().as_ref()))
    }

    /// The 64 hex digits, without the scheme.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first [`MIN_PREFIX_HEX`] digits in groups of four (`3f2a 9c01 77be 0d4e`): what a
    /// technician compares and types.
    pub fn short(&self) -> String {
        let hex = self.hex();
        hex.as_bytes()[..MIN_PREFIX_HEX]
            .chunks(4)
            .map(|group| std::str::from_utf8(group).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for CertPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}", self.hex())
    }
}

impl fmt::Debug for CertPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for CertPin {
    type Err = PinError;

    /// Exactly the whole pin, in the forms [`PinPrefix`] reads.
    fn from_str(text: &str) -> Result<Self, PinError> {
        let prefix: PinPrefix = text.parse()?;
        prefix.whole().ok_or_else(|| PinError::TooShort {
            text: text.to_owned(),
            digits: prefix.0.len(),
        })
    }
}

impl Serialize for CertPin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CertPin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A pin as a technician gives it: the whole pin or its first [`MIN_PREFIX_HEX`] or more hex
/// digits. Read with or without `sha256:`, in either case, with spaces, colons or dashes
/// between digits (as tools print fingerprints).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PinPrefix(String);

impl PinPrefix {
    /// Whether `pin` starts with these digits.
    pub fn matches(&self, pin: &CertPin) -> bool {
        pin.hex().starts_with(&self.0)
    }

    /// The whole pin, when all 64 digits were given.
    pub fn whole(&self) -> Option<CertPin> {
        if self.0.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(self.0.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(CertPin(bytes))
    }
}

impl From<CertPin> for PinPrefix {
    fn from(pin: CertPin) -> Self {
        Self(pin.hex())
    }
}

impl FromStr for PinPrefix {
    type Err = PinError;

    fn from_str(text: &str) -> Result<Self, PinError> {
        let trimmed = text.trim();
        let body = match trimmed.get(..SCHEME.len()) {
            Some(scheme) if scheme.eq_ignore_ascii_case(SCHEME) => &trimmed[SCHEME.len()..],
            _ => trimmed,
        };
        let mut digits = String::with_capacity(64);
        for c in body.chars() {
            match c {
                ' ' | ':' | '-' => {}
                c if c.is_ascii_hexdigit() => digits.push(c.to_ascii_lowercase()),
                _ => return Err(PinError::NotHex(text.to_owned())),
            }
        }
        let count = digits.len();
        if count < MIN_PREFIX_HEX {
            return Err(PinError::TooShort {
                text: text.to_owned(),
                digits: count,
            });
        }
        if count > 64 {
            return Err(PinError::TooLong {
                text: text.to_owned(),
                digits: count,
            });
        }
        Ok(Self(digits))
    }
}

impl fmt::Display for PinPrefix {
    /// `sha256:` and the digits given, with `…` when they are only the start.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let more = if self.0.len() < 64 { "…" } else { "" };
        write!(f, "{SCHEME}{}{more}", self.0)
    }
}

impl fmt::Debug for PinPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "3f2a9c0177be0d4e11223344556677889900aabbccddeeff0123456789abcdef";

    #[test]
    fn pins_read_as_tools_print_them() {
        let pin: CertPin = format!("sha256:{HEX}").parse().unwrap();
        assert_eq!(pin.to_string(), format!("sha256:{HEX}"));
        assert_eq!(pin.short(), "3f2a 9c01 77be 0d4e");
        let upper_with_colons = HEX
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|pair| std::str::from_utf8(pair).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(upper_with_colons.parse::<CertPin>().unwrap(), pin);
        assert_eq!(
            serde_json::from_value::<CertPin>(serde_json::json!(pin.to_string())).unwrap(),
            pin
        );
    }

    #[test]
    fn a_prefix_matches_only_pins_that_start_with_it() {
        let pin: CertPin = HEX.parse().unwrap();
        let typed: PinPrefix = "3F2A 9C01 77BE 0D4E".parse().unwrap();
        assert!(typed.matches(&pin));
        assert_eq!(typed.whole(), None);
        assert_eq!(typed.to_string(), "sha256:3f2a9c0177be0d4e…");
        let other: PinPrefix = "3f2a9c0177be0d4f".parse().unwrap();
        assert!(!other.matches(&pin));
        assert_eq!(PinPrefix::from(pin).whole(), Some(pin));
    }

    #[test]
    fn short_or_foreign_pins_are_refused_with_a_reason() {
        assert!(matches!(
            "3f2a9c01".parse::<PinPrefix>(),
            Err(PinError::TooShort { digits: 8, .. })
        ));
        assert!(matches!(
            "3f2a9c0177be0d4g".parse::<PinPrefix>(),
            Err(PinError::NotHex(_))
        ));
        assert!(matches!(
            format!("{HEX}00").parse::<PinPrefix>(),
            Err(PinError::TooLong { digits: 66, .. })
        ));
        assert!(matches!(
            "3f2a9c0177be0d4e".parse::<CertPin>(),
            Err(PinError::TooShort { digits: 16, .. })
        ));
        let message = "3f2a".parse::<PinPrefix>().unwrap_err().to_string();
        assert!(message.contains("at least the first 16"), "{message}");
    }

    #[test]
    fn a_certificate_pins_its_public_key_so_a_renewal_with_the_same_key_keeps_the_pin() {
        let key = rcgen::KeyPair::generate().unwrap();
        let issue = |name: &str| {
            rcgen::CertificateParams::new(vec![name.to_owned()])
                .unwrap()
                .self_signed(&key)
                .unwrap()
        };
        let (first, renewed) = (issue("county.example.cn"), issue("renewed.example.cn"));
        assert_ne!(first.der(), renewed.der());
        let pin = CertPin::of_certificate(first.der()).unwrap();
        assert_eq!(
            pin,
            CertPin::of_spki(&rcgen::PublicKeyData::subject_public_key_info(&key))
        );
        assert_eq!(CertPin::of_certificate(renewed.der()).unwrap(), pin);
        let other_key = rcgen::KeyPair::generate().unwrap();
        let rekeyed = rcgen::CertificateParams::new(vec!["county.example.cn".to_owned()])
            .unwrap()
            .self_signed(&other_key)
            .unwrap();
        assert_ne!(CertPin::of_certificate(rekeyed.der()).unwrap(), pin);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(CertPin::of_certificate(b"not DER at all").is_err());
    }
}
