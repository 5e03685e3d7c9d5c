//! Manifest signatures: ed25519 over the exact manifest bytes, with a domain prefix.
//!
//! The signed message is [`DOMAIN`] followed by the manifest's bytes as they sit in the
//! bundle. Those bytes are verified as they are, never re-serialised: two JSON writers need
//! not agree byte for byte, and the bytes that were checked must be the bytes that are read.
//! The prefix keeps a release signature from being valid for anything else a key might ever
//! sign (and the other way round).
//!
//! `manifest.sig` holds one or more `{"key": "ed25519:…", "sig": "<base64>"}` entries, so
//! that during a key rotation one manifest is signed by the old key and the new one: booths
//! that trust either accept it.
//!
//! No timestamps and no expiry: booths lose their clock after power cuts, and a signature
//! check that depended on it would lock a booth out of the update that fixes it.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::keys::{KeyId, PublicKey, list_ids};
use crate::manifest::{Manifest, ManifestError};
use crate::trust::TrustStore;

/// What a release signature signs before the manifest's bytes.
pub const DOMAIN: &[u8] = b"booth-release-manifest-v1\0";
/// The most signatures one manifest carries (two during a rotation; room to spare).
pub const MAX_SIGNATURES: usize = 8;

/// The signatures file of a bundle (`manifest.sig`): a JSON list of signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Signatures(Vec<ManifestSignature>);

/// One signature of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSignature {
    pub key: PublicKey,
    pub sig: SignatureBytes,
}

/// An ed25519 signature, standard base64 in JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignatureBytes(pub [u8; 64]);

/// A manifest whose signature verified with a trusted key and whose rules hold. Only
/// [`verify_manifest`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedManifest {
    manifest: Manifest,
    signed_by: Vec<PublicKey>,
}

/// Why manifest signatures cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("no signing key given: a release needs the release key's signature")]
    NoKey,
    #[error("key {0} is given twice: give each signing key once")]
    DuplicateKey(KeyId),
    #[error(
        "{0} signing keys given, more than {MAX_SIGNATURES}: give the current key and at most a few more"
    )]
    TooManyKeys(usize),
}

/// Why a manifest is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "manifest.sig is not a list of {{\"key\", \"sig\"}} signatures ({0}): the bundle is damaged; download it again"
    )]
    Malformed(#[source] serde_json::Error),
    #[error(
        "manifest.sig is not written the way booth-release writes it: the bundle was altered; download it again"
    )]
    NotCanonical,
    #[error(
        "manifest.sig holds no signature: the bundle was not signed; sign it with booth-release"
    )]
    Unsigned,
    #[error(
        "manifest.sig holds {0} signatures, more than {MAX_SIGNATURES}: the bundle was not made by booth-release"
    )]
    TooManySignatures(usize),
    #[error(
        "manifest.sig holds two signatures by key {0}: the bundle was altered; download it again"
    )]
    DuplicateSigner(KeyId),
    #[error(
        "the manifest is signed only by retired key {}: a retired key signs nothing for this booth; sign the release with a current key",
        list_ids(.0)
    )]
    SignedByRetired(Vec<KeyId>),
    #[error(
        "the manifest is signed only by {}, which this booth does not trust: install the release that introduces the key first, or check where the bundle came from",
        list_ids(.0)
    )]
    NotTrusted(Vec<KeyId>),
    #[error(
        "the signature by trusted key {0} does not verify: the manifest or its signature was altered; download the bundle again"
    )]
    BadSignature(KeyId),
    #[error("the signed manifest is refused: {0}")]
    Manifest(#[source] ManifestError),
}

impl Signatures {
    /// Signs `manifest_bytes` with each key.
    pub fn sign(manifest_bytes: &[u8], keys: &[&SigningKey]) -> Result<Self, SignError> {
        if keys.is_empty() {
            return Err(SignError::NoKey);
        }
        if keys.len() > MAX_SIGNATURES {
            return Err(SignError::TooManyKeys(keys.len()));
        }
        let message = message(manifest_bytes);
        let mut seen = BTreeSet::new();
        let mut signatures = Vec::with_capacity(keys.len());
        for key in keys {
            let public = PublicKey::of(key);
            if !seen.insert(public) {
                return Err(SignError::DuplicateKey(public.key_id()));
            }
            signatures.push(ManifestSignature {
                key: public,
                sig: SignatureBytes(key.sign(&message).to_bytes()),
            });
        }
        Ok(Self(signatures))
    }

    /// Reads `manifest.sig`, which must be exactly as [`Signatures::to_json`] writes it. Its
    /// bytes are not signed, so this is what makes a changed space or line break there a
    /// refused bundle like any other change.
    pub fn from_json(bytes: &[u8]) -> Result<Self, VerifyError> {
        let signatures: Self = serde_json::from_slice(bytes).map_err(VerifyError::Malformed)?;
        if signatures.0.is_empty() {
            return Err(VerifyError::Unsigned);
        }
        if signatures.0.len() > MAX_SIGNATURES {
            return Err(VerifyError::TooManySignatures(signatures.0.len()));
        }
        let mut seen = BTreeSet::new();
        if let Some(dup) = signatures.0.iter().find(|s| !seen.insert(s.key)) {
            return Err(VerifyError::DuplicateSigner(dup.key.key_id()));
        }
        if signatures.to_json() != bytes {
            return Err(VerifyError::NotCanonical);
        }
        Ok(signatures)
    }

    /// `manifest.sig`'s bytes: pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes =
            serde_json::to_vec_pretty(self).expect("signatures are plain data and serialise");
        bytes.push(b'\n');
        bytes
    }

    pub fn entries(&self) -> &[ManifestSignature] {
        &self.0
    }
}

fn message(manifest_bytes: &[u8]) -> Vec<u8> {
    [DOMAIN, manifest_bytes].concat()
}

/// Checks `manifest_bytes` against its signatures and the booth's trust, then reads it.
///
/// At least one signature must be by a trusted key, and every signature by a trusted key must
/// verify (a bad one means the bundle was altered, whatever the others say). Signatures by
/// keys the booth does not know, or has retired, are ignored: during a rotation a manifest is
/// signed by a key some booths do not have yet, or no longer accept. The manifest's JSON is
/// read only after the signature verified.
pub fn verify_manifest(
    manifest_bytes: &[u8],
    signatures: &Signatures,
    trust: &TrustStore,
) -> Result<VerifiedManifest, VerifyError> {
    let message = message(manifest_bytes);
    let mut signed_by = Vec::new();
    for entry in signatures.entries() {
        if !trust.trusts(&entry.key) {
            continue;
        }
        // Strict: refuses weak keys and non-canonical signatures, so no second valid
        // signature can be made from this one.
        entry
            .key
            .verifying_key()
            .verify_strict(&message, &Signature::from_bytes(&entry.sig.0))
            .map_err(|_| VerifyError::BadSignature(entry.key.key_id()))?;
        signed_by.push(entry.key);
    }
    if signed_by.is_empty() {
        let (retired, unknown): (Vec<KeyId>, Vec<KeyId>) = {
            let retired = signatures
                .entries()
                .iter()
                .filter(|e| trust.is_retired(&e.key))
                .map(|e| e.key.key_id());
            let unknown = signatures
                .entries()
                .iter()
                .filter(|e| !trust.is_retired(&e.key))
                .map(|e| e.key.key_id());
            (retired.collect(), unknown.collect())
        };
        return Err(if unknown.is_empty() {
            VerifyError::SignedByRetired(retired)
        } else {
            VerifyError::NotTrusted(unknown)
        });
    }
    let manifest = Manifest::from_json(manifest_bytes).map_err(VerifyError::Manifest)?;
    Ok(VerifiedManifest {
        manifest,
        signed_by,
    })
}

impl VerifiedManifest {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The trusted keys whose signatures verified, in `manifest.sig`'s order.
    pub fn signed_by(&self) -> &[PublicKey] {
        &self.signed_by
    }

    pub fn into_manifest(self) -> Manifest {
        self.manifest
    }
}

impl std::fmt::Debug for SignatureBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignatureBytes({})", BASE64.encode(self.0))
    }
}

impl Serialize for SignatureBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for SignatureBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        BASE64
            .decode(&text)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom("sig is not 64 bytes of standard base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::manifest;

    fn signing(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn key(seed: u8) -> PublicKey {
        PublicKey::of(&signing(seed))
    }

    fn trust(seeds: &[u8]) -> TrustStore {
        TrustStore::new(seeds.iter().map(|&s| key(s))).unwrap()
    }

    fn signed(seeds: &[u8]) -> (Vec<u8>, Signatures) {
        let bytes = manifest("1.2.0").to_json();
        let keys: Vec<SigningKey> = seeds.iter().map(|&s| signing(s)).collect();
        let refs: Vec<&SigningKey> = keys.iter().collect();
        let sigs = Signatures::sign(&bytes, &refs).unwrap();
        (bytes, sigs)
    }

    #[test]
    fn a_manifest_signed_by_a_trusted_key_verifies() {
        let (bytes, sigs) = signed(&[1]);
        let verified = verify_manifest(&bytes, &sigs, &trust(&[1])).unwrap();
        assert_eq!(verified.manifest(), &manifest("1.2.0"));
        assert_eq!(verified.signed_by(), [key(1)]);
        let json = sigs.to_json();
        assert!(String::from_utf8_lossy(&json).contains(r#""key": "ed25519:"#));
        assert_eq!(Signatures::from_json(&json).unwrap(), sigs);
    }

    #[test]
    fn the_signature_covers_the_domain_and_every_manifest_byte() {
        let (bytes, sigs) = signed(&[1]);
        let plain = signing(1).sign(&bytes);
        assert!(key(1).verifying_key().verify_strict(&bytes, &plain).is_ok());
        assert_ne!(sigs.entries()[0].sig.0, plain.to_bytes());
        for at in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[at] ^= 0x01;
            assert!(
                matches!(
                    verify_manifest(&changed, &sigs, &trust(&[1])),
                    Err(VerifyError::BadSignature(_))
                ),
                "byte {at}"
            );
        }
        // Re-serialising the same manifest differently is a different message.
        let compact = serde_json::to_vec(&manifest("1.2.0")).unwrap();
        assert!(verify_manifest(&compact, &sigs, &trust(&[1])).is_err());
    }

    #[test]
    fn unknown_signers_are_ignored_unless_no_signer_is_trusted() {
        let (bytes, sigs) = signed(&[9, 1]);
        let verified = verify_manifest(&bytes, &sigs, &trust(&[1])).unwrap();
        assert_eq!(verified.signed_by(), [key(1)]);
        let verified = verify_manifest(&bytes, &sigs, &trust(&[1, 9])).unwrap();
        assert_eq!(verified.signed_by(), [key(9), key(1)]);

        let err = verify_manifest(&bytes, &sigs, &trust(&[2])).unwrap_err();
        assert!(
            matches!(&err, VerifyError::NotTrusted(ids) if ids == &[key(9).key_id(), key(1).key_id()])
        );
        assert!(err.to_string().contains(&key(9).key_id().to_string()));
    }

    #[test]
    fn a_bad_signature_by_a_trusted_key_fails_even_beside_a_good_one() {
        let (bytes, mut sigs) = signed(&[1, 2]);
        sigs.0[1].sig.0[10] ^= 1;
        assert!(verify_manifest(&bytes, &sigs, &trust(&[1])).is_ok());
        assert!(matches!(
            verify_manifest(&bytes, &sigs, &trust(&[1, 2])),
            Err(VerifyError::BadSignature(id)) if id == key(2).key_id()
        ));
        // A signature moved to another key's entry does not verify under it.
        let (bytes, mut sigs) = signed(&[1]);
        sigs.0[0].key = key(2);
        assert!(matches!(
            verify_manifest(&bytes, &sigs, &trust(&[2])),
            Err(VerifyError::BadSignature(_))
        ));
    }

    #[test]
    fn retired_signers_count_for_nothing() {
        let (bytes, sigs) = signed(&[1]);
        let mut store = trust(&[1, 2]);
        let (handover, handover_sigs) = {
            let mut m = manifest("1.2.0");
            m.retires_keys = vec![key(1)];
            let b = m.to_json();
            let s = Signatures::sign(&b, &[&signing(2)]).unwrap();
            (b, s)
        };
        store
            .apply(&verify_manifest(&handover, &handover_sigs, &store).unwrap())
            .unwrap();
        let err = verify_manifest(&bytes, &sigs, &store).unwrap_err();
        assert!(matches!(&err, VerifyError::SignedByRetired(ids) if ids == &[key(1).key_id()]));
        assert!(err.to_string().contains("retired key"), "{err}");
    }

    #[test]
    fn the_manifest_is_read_only_after_its_signature() {
        // Garbage signed by an unknown key: refused for the key, not for the JSON.
        let garbage = b"not json at all";
        let sigs = Signatures::sign(garbage, &[&signing(9)]).unwrap();
        assert!(matches!(
            verify_manifest(garbage, &sigs, &trust(&[1])),
            Err(VerifyError::NotTrusted(_))
        ));
        // Signed by a trusted key: now the manifest's own rules speak.
        let sigs = Signatures::sign(garbage, &[&signing(1)]).unwrap();
        assert!(matches!(
            verify_manifest(garbage, &sigs, &trust(&[1])),
            Err(VerifyError::Manifest(ManifestError::Json(_)))
        ));
    }

    #[test]
    fn signature_files_are_read_strictly() {
        let (_, sigs) = signed(&[1]);
        let good = String::from_utf8(sigs.to_json()).unwrap();
        let entry = good
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim();
        for (bad, expected) in [
            (good.replace('\n', "\r\n"), "NotCanonical"),
            (good.replacen("  ", "\t", 1), "NotCanonical"),
            (good.trim_end().to_owned(), "NotCanonical"),
            (serde_json::to_string(&sigs).unwrap(), "NotCanonical"),
            ("[]".to_owned(), "Unsigned"),
            (format!("[{entry}, {entry}]"), "DuplicateSigner"),
            (good.replace("\"sig\"", "\"signature\""), "Malformed"),
            (
                good.replacen('}', r#", "created": 1700000000}"#, 1),
                "Malformed",
            ),
            (
                good.replacen("\"sig\": \"", "\"sig\": \"AAAA", 1),
                "Malformed",
            ),
            (r#"{"key": "x"}"#.to_owned(), "Malformed"),
            (
                format!("[{}]", [entry; MAX_SIGNATURES + 1].join(",")),
                "TooManySignatures",
            ),
        ] {
            let err = Signatures::from_json(bad.as_bytes()).unwrap_err();
            assert!(format!("{err:?}").starts_with(expected), "{bad}: {err:?}");
        }
        assert_eq!(Signatures::sign(b"m", &[]), Err(SignError::NoKey));
        assert!(matches!(
            Signatures::sign(b"m", &[&signing(1), &signing(1)]),
            Err(SignError::DuplicateKey(_))
        ));
    }
}
