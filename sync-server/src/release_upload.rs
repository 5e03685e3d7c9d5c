//! Taking in a release: what the staff page's upload and `sync-server release upload` share.
//! A received bundle is verified against the release keys, refused when its version is known
//! already, kept under its final name, and only then recorded in the store with its audit
//! line. A refusal at any step leaves neither a file nor a row: the store is unchanged.

use booth_release::Version;

use crate::domain::releases::ReleaseSummary;
use crate::release_keys::ReleaseKeys;
use crate::release_shelf::{Received, ReleaseShelf, ShelfError};
use crate::store::releases::{NewRelease, ReleaseRecord, ReleaseRefusal};
use crate::store::staff::AuditEntry;
use crate::store::{Store, StoreError};

/// Why a release was not taken in.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Shelf(#[from] ShelfError),
    #[error(transparent)]
    Refused(#[from] ReleaseRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UploadError {
    /// A refusal of what was sent (the sender can fix it), not a failure of the server.
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::Shelf(ShelfError::Io { .. } | ShelfError::Task(_)) | Self::Store(_) => false,
            Self::Shelf(_) | Self::Refused(_) => true,
        }
    }
}

/// Verifies `received`, keeps it and records the release as uploaded by `audit.actor`, with
/// `audit` (its target and detail are filled in here: the version and the bundle).
pub async fn take_in(
    store: &dyn Store,
    shelf: &ReleaseShelf,
    keys: &ReleaseKeys,
    received: Received,
    audit: AuditEntry,
) -> Result<ReleaseRecord, UploadError> {
    let verified = shelf.verify(received, keys).await?;
    let version: Version = verified.release.manifest().version;
    // Before the file takes its name: a known version changes nothing on disk either.
    if store.find_release(version).await?.is_some() {
        return Err(ReleaseRefusal::VersionExists(version).into());
    }
    let release = NewRelease {
        version,
        bundle: verified.bundle.clone(),
        size: verified.size,
        summary: ReleaseSummary::of(&verified.release),
        uploaded_by: audit.actor.clone(),
        uploaded_at: audit.at,
    };
    let audit = audit.target(format!("release {version}")).detail(format!(
        "bundle {} ({} bytes), signed by {}",
        release.bundle,
        release.size,
        release.summary.signed_by.join(", ")
    ));
    let bundle = release.bundle.clone();
    // A bundle already kept under this name is this very file (same hash): taking it again
    // only refreshes it.
    let was_there = shelf.path_of(&bundle).exists();
    verified.keep()?;
    match store.add_release(release, audit).await {
        Ok(Ok(record)) => Ok(record),
        Ok(Err(refusal)) => {
            if !was_there {
                shelf.discard(&bundle);
            }
            Err(refusal.into())
        }
        Err(error) => {
            if !was_there {
                shelf.discard(&bundle);
            }
            Err(error.into())
        }
    }
}
