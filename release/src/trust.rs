//! The release keys a booth trusts, and the keys it has retired.
//!
//! A booth's image pins one or more release public keys; that is its first trust store. Keys
//! then change over the air: a release signed by a trusted key may introduce new keys and
//! retire old ones, and the booth applies that once the release is installed. So a key can be
//! replaced without a technician's visit, as long as one trusted key signs the handover.
//!
//! Retired keys are remembered, not just dropped: a retired key never signs for this booth
//! again, and no later manifest can bring it back. Nothing here looks at a clock — booths lose
//! theirs after power cuts, so trust has no expiry dates.
//!
//! What this does not defend against: a stolen key that is still trusted can introduce keys of
//! its own, like any trusted key. The answer is a release, signed by a key the thief does not
//! have, that retires the stolen one; booths that install it first are safe.
//!
//! The caller keeps the store as JSON (`serde`), next to the booth's data, and falls back to
//! the image's keys only when there is no file yet.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::keys::{KeyId, PublicKey, list_ids};
use crate::signature::VerifiedManifest;

/// The trust store file's format.
pub const TRUST_FORMAT: u32 = 1;

/// Trusted and retired release keys. Never empty of trusted keys; no key is both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TrustFile", into = "TrustFile")]
pub struct TrustStore {
    trusted: BTreeSet<PublicKey>,
    retired: BTreeSet<PublicKey>,
}

/// The persisted form: `{"format": 1, "trusted": [...], "retired": [...]}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    format: u32,
    trusted: Vec<PublicKey>,
    retired: Vec<PublicKey>,
}

/// Why a trust store cannot be made, read or changed as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error(
        "a trust store needs at least one release key: give the release public key the booth's image pins"
    )]
    Empty,
    #[error("the trust store has format {0}, and this booth reads format {TRUST_FORMAT}")]
    Format(u32),
    #[error(
        "key {0} is listed as both trusted and retired: the trust store file was edited by hand; restore it"
    )]
    TrustedAndRetired(KeyId),
    #[error(
        "key {0} was retired on this booth and cannot be trusted again: sign with a new key instead"
    )]
    StillRetired(KeyId),
    #[error(
        "release {version} retires {}, the last key this booth trusts: sign a release that introduces the new key first",
        list_ids(.keys)
    )]
    WouldRetireLastKey {
        version: crate::Version,
        /// Every key the booth trusted: the release retires them all.
        keys: Vec<KeyId>,
    },
}

impl TrustStore {
    /// A store trusting `keys`, as a booth's image pins them.
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Result<Self, TrustError> {
        let trusted: BTreeSet<PublicKey> = keys.into_iter().collect();
        if trusted.is_empty() {
            return Err(TrustError::Empty);
        }
        Ok(Self {
            trusted,
            retired: BTreeSet::new(),
        })
    }

    /// Whether signatures by `key` count.
    pub fn trusts(&self, key: &PublicKey) -> bool {
        self.trusted.contains(key)
    }

    pub fn is_retired(&self, key: &PublicKey) -> bool {
        self.retired.contains(key)
    }

    /// The trusted keys, in byte order.
    pub fn trusted(&self) -> impl Iterator<Item = &PublicKey> {
        self.trusted.iter()
    }

    /// The retired keys, in byte order.
    pub fn retired(&self) -> impl Iterator<Item = &PublicKey> {
        self.retired.iter()
    }

    /// The store as it will be once `release` is installed: its introduced keys trusted, its
    /// retired keys retired. Changes nothing, so an updater can learn before installing that
    /// the change would be refused (re-introducing a retired key, retiring the last key).
    pub fn applied(&self, release: &VerifiedManifest) -> Result<Self, TrustError> {
        let manifest = release.manifest();
        let mut next = self.clone();
        for key in &manifest.introduces_keys {
            if next.retired.contains(key) {
                return Err(TrustError::StillRetired(key.key_id()));
            }
            next.trusted.insert(*key);
        }
        for key in &manifest.retires_keys {
            next.trusted.remove(key);
            // Remembered even when this booth never trusted it: then no later release can
            // introduce it here either.
            next.retired.insert(*key);
        }
        if next.trusted.is_empty() {
            return Err(TrustError::WouldRetireLastKey {
                version: manifest.version,
                keys: self.trusted.iter().map(PublicKey::key_id).collect(),
            });
        }
        Ok(next)
    }

    /// Applies `release`'s key changes (see [`TrustStore::applied`]); on error nothing changes.
    ///
    /// Call it only after `release` was installed successfully, and persist the result with
    /// the new highest installed version. Applying the keys of a release that was refused or
    /// failed would let a replayed old bundle change the booth's trust without installing
    /// anything — the anti-rollback check is what stops an old manifest that introduced a
    /// since-retired key from being applied again.
    pub fn apply(&mut self, release: &VerifiedManifest) -> Result<(), TrustError> {
        *self = self.applied(release)?;
        Ok(())
    }
}

impl TryFrom<TrustFile> for TrustStore {
    type Error = TrustError;

    fn try_from(file: TrustFile) -> Result<Self, Self::Error> {
        if file.format != TRUST_FORMAT {
            return Err(TrustError::Format(file.format));
        }
        let mut store = Self::new(file.trusted)?;
        for key in file.retired {
            if store.trusted.contains(&key) {
                return Err(TrustError::TrustedAndRetired(key.key_id()));
            }
            store.retired.insert(key);
        }
        Ok(store)
    }
}

impl From<TrustStore> for TrustFile {
    fn from(store: TrustStore) -> Self {
        Self {
            format: TRUST_FORMAT,
            trusted: store.trusted.into_iter().collect(),
            retired: store.retired.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::manifest;
    use crate::signature::{Signatures, verify_manifest};
    use ed25519_dalek::SigningKey;

    fn signing(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn key(seed: u8) -> PublicKey {
        PublicKey::of(&signing(seed))
    }

    /// Release 1.2.0 signed by `signer`, introducing and retiring the given keys.
    fn release(signer: u8, introduces: &[u8], retires: &[u8]) -> VerifiedManifest {
        let mut m = manifest("1.2.0");
        m.introduces_keys = introduces.iter().map(|&s| key(s)).collect();
        m.retires_keys = retires.iter().map(|&s| key(s)).collect();
        let bytes = m.to_json();
        let sigs = Signatures::sign(&bytes, &[&signing(signer)]).unwrap();
        let trust = TrustStore::new([key(signer)]).unwrap();
        verify_manifest(&bytes, &sigs, &trust).unwrap()
    }

    #[test]
    fn introduced_keys_are_trusted_and_retired_keys_remembered() {
        let mut store = TrustStore::new([key(1)]).unwrap();
        store.apply(&release(1, &[2], &[])).unwrap();
        assert!(store.trusts(&key(1)) && store.trusts(&key(2)));
        store.apply(&release(2, &[], &[1])).unwrap();
        assert!(!store.trusts(&key(1)) && store.trusts(&key(2)));
        assert!(store.is_retired(&key(1)));
        // Applying the same release twice changes nothing more.
        let again = store.applied(&release(2, &[], &[1])).unwrap();
        assert_eq!(again, store);
    }

    #[test]
    fn a_retired_key_never_comes_back() {
        let mut store = TrustStore::new([key(1), key(2)]).unwrap();
        store.apply(&release(2, &[], &[1])).unwrap();
        let before = store.clone();
        assert_eq!(
            store.apply(&release(2, &[1], &[])),
            Err(TrustError::StillRetired(key(1).key_id()))
        );
        assert_eq!(store, before);
    }

    #[test]
    fn the_last_trusted_key_cannot_be_retired() {
        let mut store = TrustStore::new([key(1)]).unwrap();
        let err = store.apply(&release(1, &[], &[1])).unwrap_err();
        assert_eq!(
            err,
            TrustError::WouldRetireLastKey {
                version: "1.2.0".parse().unwrap(),
                keys: vec![key(1).key_id()]
            }
        );
        assert!(err.to_string().contains("introduces the new key first"));
        assert!(store.trusts(&key(1)) && !store.is_retired(&key(1)));
        // Handing over in the same release is fine: the new key is trusted first.
        store.apply(&release(1, &[2], &[1])).unwrap();
        assert_eq!(store.trusted().collect::<Vec<_>>(), [&key(2)]);
    }

    #[test]
    fn the_store_round_trips_through_json_and_refuses_edited_files() {
        let mut store = TrustStore::new([key(1), key(2)]).unwrap();
        store.apply(&release(1, &[], &[2])).unwrap();
        let json = serde_json::to_string(&store).unwrap();
        assert!(
            json.starts_with(r#"{"format":1,"trusted":["ed25519:"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<TrustStore>(&json).unwrap(), store);

        let k1 = key(1).to_string();
        let k2 = key(2).to_string();
        for bad in [
            r#"{"format":1,"trusted":[],"retired":[]}"#.to_owned(),
            format!(r#"{{"format":2,"trusted":["{k1}"],"retired":[]}}"#),
            format!(r#"{{"format":1,"trusted":["{k1}"],"retired":["{k1}"]}}"#),
            format!(r#"{{"format":1,"trusted":["{k1}"],"retired":[],"expires":0}}"#),
            format!(r#"{{"format":1,"trusted":["{k1}"]}}"#),
            format!(r#"{{"format":1,"trusted":["{k1}", "ed25519:AAAA"],"retired":["{k2}"]}}"#),
        ] {
            assert!(serde_json::from_str::<TrustStore>(&bad).is_err(), "{bad}");
        }
        assert!(matches!(TrustStore::new([]), Err(TrustError::Empty)));
    }
}
