//! Signed release bundles for over-the-air booth updates.
//!
//! A bundle is a plain tar of the booth application's files with a manifest in front: the
//! release's version, the running versions it may replace, the store schemas it reads and
//! writes, each file's SHA-256, size and mode, and the release keys it introduces or retires.
//! The manifest is signed offline with an ed25519 release key by `booth-release sign`; the
//! release key never reaches the county server, and booths hold public keys only.
//!
//! An updater on a booth goes:
//!
//! 1. [`Bundle::open_and_verify`]: reads the manifest and its signatures, and verifies them
//!    against the booth's [`TrustStore`] before reading anything else;
//! 2. [`InstallPolicy::check`] (versions and store schemas) and [`TrustStore::applied`] (the
//!    key changes), so a refusal comes before anything is written;
//! 3. [`Bundle::stage_into`]: the files, each checked against the signed manifest;
//! 4. the install itself (the caller's: `booth-update` stages the files beside the running
//!    release, then switches a link);
//! 5. only once that succeeded: keep the new trust store ([`TrustStore::apply`]) and the new
//!    highest installed version ([`InstallPolicy::highest_after`]).
//!
//! Nothing here reads the clock: a booth's clock may be wrong after a power cut, and no
//! signature, key or release expires. Everything is synchronous over `std::io` and pure
//! otherwise (no async runtime, HTTP or SQLite), so the booth's updater and the command line
//! share it.

mod bundle;
mod keys;
mod manifest;
mod pack;
mod policy;
mod signature;
mod trust;
mod ustar;
mod version;

pub use bundle::{
    Bundle, BundleError, LimitError, Limits, MANIFEST_ENTRY, SIGNATURES_ENTRY, SignedParts,
};
pub use ed25519_dalek::SigningKey;
pub use keys::{
    KeyError, KeyId, PUBLIC_KEY_PREFIX, PublicKey, SECRET_KEY_PREFIX, decode_secret_key,
    encode_secret_key, generate_secret_key,
};
pub use manifest::{
    BundlePath, FILES_DIR, FORMAT, FileEntry, FileMode, MAX_KEYS, MAX_NOTES_BYTES, MAX_PATH_BYTES,
    Manifest, ManifestError, PathError, SchemaRange, SchemaRangeError, Sha256Digest, StoreSchemas,
};
pub use pack::{PackError, ReleaseSpec, pack};
pub use policy::{InstallPolicy, InstallRefused};
pub use signature::{
    DOMAIN, MAX_SIGNATURES, ManifestSignature, SignError, SignatureBytes, Signatures,
    VerifiedManifest, VerifyError, verify_manifest,
};
pub use trust::{TRUST_FORMAT, TrustError, TrustStore};
pub use ustar::ArchiveError;
pub use version::{MAX_PART, Version, VersionError};
