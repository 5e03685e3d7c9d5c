//! A submission's personal part sealed on the booth to the county's public key, so a queued
//! submission on a stolen booth disk reveals nothing: only the county server, which holds
//! the secret half, can open it.
//!
//! The seal is RFC 9180 HPKE in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! ChaCha20-Poly1305 (the `hpke` crate): a fresh ephemeral key per submission, so nothing the
//! booth keeps opens any blob, not even its own. The info string names this use and version;
//! the associated data is the submission id, so a blob moved to another submission does not
//! open.
//!
//! What is sealed is [`Personal`]: everything a villager typed or a card held (applicant, phone,
//! form fields, free text). The rest of the submission (id, receipt number, kind, item, rating,
//! times) stays readable: the booth needs it to queue, print and show progress, and the server
//! to check and route the submission before opening it.
//!
//! The server computes its content digest over the opened, whole submission, exactly as over
//! one sent in the clear: a retry of the same blob (or of the same content sealed again) is a
//! duplicate, different content under the same id a conflict.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use rand_core::TryRngCore as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::submission::{Applicant, Submission};

type Kem = X25519HkdfSha256;
type Kdf = HkdfSha256;
type Aead = ChaCha20Poly1305;

/// HPKE's `info`: binds every blob to this use of the key.
const INFO: &[u8] = b"convenience-booth/personal/v1";
/// The one suite, named in every blob so a later one can be told apart.
pub const SUITE: &str = "hpke-x25519-sha256-chacha20poly1305";

/// The part of a submission a booth seals.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Personal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<Applicant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_phone: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl fmt::Debug for Personal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Personal")
            .field("applicant", &self.applicant)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Personal {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The sealed personal part of a submission, as queued on the booth and uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedPersonal {
    /// [`SUITE`].
    pub suite: String,
    /// The HPKE encapsulated key, standard base64 (32 bytes).
    pub enc: String,
    /// The ciphertext with its tag, standard base64.
    pub ciphertext: String,
}

/// Why a sealed part did not open or does not belong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed with `{0}`, a suite this server does not know: update the server")]
    UnknownSuite(String),
    #[error(
        "the sealed personal data does not open with this county's key (sealed to another server's key, or changed): re-enroll the booth with this server"
    )]
    DoesNotOpen,
    #[error("the submission carries personal data both sealed and in the clear")]
    BothForms,
    #[error("the sealed file is cut short or not a sealed file at all")]
    Malformed,
}

/// The county's public key booths seal to: X25519, standard base64 of 32 bytes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct CountyKey(<Kem as hpke::Kem>::PublicKey);

impl fmt::Debug for CountyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountyKey({self})")
    }
}

impl fmt::Display for CountyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE64.encode(self.0.to_bytes()))
    }
}

/// A text that is not a county key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a county key (standard base64 of 32 bytes)")]
pub struct BadCountyKey(String);

impl std::str::FromStr for CountyKey {
    type Err = BadCountyKey;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|_| BadCountyKey(text.to_owned()))?;
        <Kem as hpke::Kem>::PublicKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| BadCountyKey(text.to_owned()))
    }
}

impl Serialize for CountyKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CountyKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The county's secret half; only the server holds it.
#[derive(Clone)]
pub struct CountySecret {
    secret: <Kem as hpke::Kem>::PrivateKey,
    public: CountyKey,
}

impl fmt::Debug for CountySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountySecret")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl CountySecret {
    /// The key pair derived from 32 random bytes (RFC 9180 `DeriveKeyPair`), which is what a
    /// key file keeps.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let (secret, public) = Kem::derive_keypair(seed);
        Self {
            secret,
            public: CountyKey(public),
        }
    }

    pub fn public_key(&self) -> &CountyKey {
        &self.public
    }
}

impl Submission {
    /// Whether this submission carries personal data in the clear.
    pub fn has_clear_personal(&self) -> bool {
        !self.clear_personal().is_empty()
    }

    fn clear_personal(&self) -> Personal {
        Personal {
            applicant: self.applicant.clone(),
            contact_phone: self.contact_phone.clone(),
            fields: self.fields.clone(),
            text: self.text.clone(),
        }
    }

    fn take_personal(&mut self) -> Personal {
        Personal {
            applicant: self.applicant.take(),
            contact_phone: self.contact_phone.take(),
            fields: std::mem::take(&mut self.fields),
            text: self.text.take(),
        }
    }

    /// Moves the personal part into [`Submission::sealed`], sealed to `key` (no change when
    /// there is none, or it is sealed already).
    pub fn seal_personal(&mut self, key: &CountyKey) {
        if self.sealed.is_some() || !self.has_clear_personal() {
            return;
        }
        let personal = self.take_personal();
        self.sealed = Some(seal(key, self.id, &personal));
    }

    /// Opens [`Submission::sealed`] back into the clear fields (no change when nothing is
    /// sealed). Refuses a submission carrying both forms: which would be the truth?
    pub fn open_personal(&mut self, secret: &CountySecret) -> Result<(), OpenError> {
        let Some(sealed) = &self.sealed else {
            return Ok(());
        };
        if self.has_clear_personal() {
            return Err(OpenError::BothForms);
        }
        let personal = open(secret, self.id, sealed)?;
        self.applicant = personal.applicant;
        self.contact_phone = personal.contact_phone;
        self.fields = personal.fields;
        self.text = personal.text;
        self.sealed = None;
        Ok(())
    }
}

/// Seals `personal` for submission `id` to `key`.
pub fn seal(key: &CountyKey, id: Uuid, personal: &Personal) -> SealedPersonal {
    // Serialising plain strings and maps cannot fail.
    let plaintext = serde_json::to_vec(personal).unwrap_or_default();
    let mut rng = rand_core::OsRng.unwrap_err();
    let (enc, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem, _>(
        &OpModeS::Base,
        &key.0,
        INFO,
        &plaintext,
        id.as_bytes(),
        &mut rng,
    )
    .unwrap_or_else(|e| unreachable!("HPKE base-mode sealing to a valid key cannot fail: {e}"));
    SealedPersonal {
        suite: SUITE.to_owned(),
        enc: BASE64.encode(enc.to_bytes()),
        ciphertext: BASE64.encode(ciphertext),
    }
}

/// The length of an encapsulated X25519 key.
pub const ENCAPSULATED_KEY_BYTES: usize = 32;

/// HPKE single-shot seal of raw bytes under another `info` (files, [`crate::attachment`]):
/// the encapsulated key and the ciphertext.
pub(crate) fn seal_bytes(
    key: &CountyKey,
    info: &[u8],
    aad: &[u8],
    plain: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let mut rng = rand_core::OsRng.unwrap_err();
    let (enc, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem, _>(
        &OpModeS::Base,
        &key.0,
        info,
        plain,
        aad,
        &mut rng,
    )
    .unwrap_or_else(|e| unreachable!("HPKE base-mode sealing to a valid key cannot fail: {e}"));
    (enc.to_bytes().to_vec(), ciphertext)
}

/// Opens what [`seal_bytes`] made.
pub(crate) fn open_bytes(
    secret: &CountySecret,
    info: &[u8],
    aad: &[u8],
    encapsulated: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, OpenError> {
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(encapsulated)
        .map_err(|_| OpenError::DoesNotOpen)?;
    hpke::single_shot_open::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        &secret.secret,
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map_err(|_| OpenError::DoesNotOpen)
}

/// Opens what [`seal`] made for submission `id`.
pub fn open(
    secret: &CountySecret,
    id: Uuid,
    sealed: &SealedPersonal,
) -> Result<Personal, OpenError> {
    if sealed.suite != SUITE {
        return Err(OpenError::UnknownSuite(sealed.suite.clone()));
    }
    let enc = BASE64
        .decode(&sealed.enc)
        .ok()
        .and_then(|bytes| <Kem as hpke::Kem>::EncappedKey::from_bytes(&bytes).ok())
        .ok_or(OpenError::DoesNotOpen)?;
    let ciphertext = BASE64
        .decode(&sealed.ciphertext)
        .map_err(|_| OpenError::DoesNotOpen)?;
    let plaintext = hpke::single_shot_open::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        &secret.secret,
        &enc,
        INFO,
        &ciphertext,
        id.as_bytes(),
    )
    .map_err(|_| OpenError::DoesNotOpen)?;
    serde_json::from_slice(&plaintext).map_err(|_| OpenError::DoesNotOpen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submission::tests::sample;

    fn county() -> CountySecret {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        CountySecret::from_seed(&seed)
    }

    #[test]
    fn a_sealed_submission_shows_nothing_personal_and_opens_to_the_same_digest() {
        let secret = county();
        let original = sample();
        let mut sealed = original.clone();
        sealed.seal_personal(secret.public_key());
        let wire = serde_json::to_string(&sealed).unwrap();
        assert!(
            !wire.contains("李秀英")
                && !wire.contains("196208150028")
                && !wire.contains("13800000000"),
            "{wire}"
        );
        assert!(!sealed.has_clear_personal());
        let mut opened: Submission = serde_json::from_str(&wire).unwrap();
        opened.open_personal(&secret).unwrap();
        assert_eq!(opened, original);
        assert_eq!(opened.content_digest(), original.content_digest());
    }

    #[test]
    fn a_blob_opens_only_for_its_submission_and_its_county() {
        let secret = county();
        let mut sealed = sample();
        sealed.seal_personal(secret.public_key());

        let mut moved = sample();
        moved.applicant = None;
        moved.contact_phone = None;
        moved.fields.clear();
        moved.sealed = sealed.sealed.clone();
        assert_eq!(moved.open_personal(&secret), Err(OpenError::DoesNotOpen));

        let mut elsewhere = sealed.clone();
        assert_eq!(
            elsewhere.open_personal(&county()),
            Err(OpenError::DoesNotOpen)
        );

        let mut both = sealed.clone();
        both.contact_phone = Some("13900000000".into());
        assert_eq!(both.open_personal(&secret), Err(OpenError::BothForms));

        let mut changed = sealed;
        let blob = changed.sealed.as_mut().unwrap();
        let mut bytes = BASE64.decode(&blob.ciphertext).unwrap();
        bytes[0] ^= 1;
        blob.ciphertext = BASE64.encode(bytes);
        assert_eq!(changed.open_personal(&secret), Err(OpenError::DoesNotOpen));
    }

    #[test]
    fn the_county_key_round_trips_as_text() {
        let secret = county();
        let text = secret.public_key().to_string();
        assert_eq!(&text.parse::<CountyKey>().unwrap(), secret.public_key());
        assert_eq!(
            CountySecret::from_seed(&[7; 32]).public_key(),
            CountySecret::from_seed(&[7; 32]).public_key(),
            "a key file's seed gives the same key pair every start"
        );
        assert!("not a key".parse::<CountyKey>().is_err());
    }
}
