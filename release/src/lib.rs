//! Signed release bundles for over-the-air booth updates.
//!
//! A bundle is a plain tar of the booth application's files with a manifest in front: the
//! release's version, the running versions it may replace, the store schemas it reads and
//! writes, each file's SHA-256, size and mode, and the release keys it introduces or retires.
//! The manifest is signed offline with an ed25519 release key; the release key never reaches
//! the county server, and booths hold public keys only.
//!
//! Nothing here reads the clock: a booth's clock may be wrong after a power cut, and no
//! signature, key or release expires.

mod keys;
mod manifest;
mod policy;
mod signature;
mod trust;
mod version;

pub use keys::{
    KeyError, KeyId, PUBLIC_KEY_PREFIX, PublicKey, SECRET_KEY_PREFIX, decode_secret_key,
    encode_secret_key, generate_secret_key,
};
pub use manifest::{
    BundlePath, FILES_DIR, FORMAT, FileEntry, FileMode, MAX_KEYS, MAX_NOTES_BYTES, MAX_PATH_BYTES,
    Manifest, ManifestError, PathError, SchemaRange, SchemaRangeError, Sha256Digest, StoreSchemas,
};
pub use policy::{InstallPolicy, InstallRefused};
pub use signature::{
    DOMAIN, MAX_SIGNATURES, ManifestSignature, SignError, SignatureBytes, Signatures,
    VerifiedManifest, VerifyError, verify_manifest,
};
pub use trust::{TRUST_FORMAT, TrustError, TrustStore};
pub use version::{Version, VersionError};
