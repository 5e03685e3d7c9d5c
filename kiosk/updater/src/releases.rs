//! What is installed in `releases/` and which release runs.
//!
//! An installed release is `releases/<version>/`: `manifest.json` and `manifest.sig`, the
//! signed bytes exactly as verified (checked again when its key changes are applied), and
//! `files/`, the bundle's files (`files/bin/kiosk` is what runs). The factory release is
//! the image's `/usr/bin/kiosk`, with no directory: `current` is absent or points at
//! `factory`, and its schemas are this build's.

use std::fs;
use std::path::PathBuf;

use booth_release::{Manifest, ManifestError, SchemaRange, SignedParts, Version};

use crate::fsx::{self, FsError};
use crate::layout::{FACTORY, Layout};
use crate::state::ReleaseRef;

/// The signed manifest kept with a release.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Its signatures.
pub const SIGNATURES_FILE: &str = "manifest.sig";
/// The release's files.
pub const FILES_DIR: &str = "files";
/// The app, inside the files: every release has it.
pub const KIOSK_PATH: &str = "bin/kiosk";

const MAX_MANIFEST_BYTES: u64 = 2 * 1024 * 1024;

/// Why the installed releases cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Io(#[from] FsError),
    #[error(
        "{} points at `{target}`, which is not a release: it was changed by hand; point it at a release or remove it to run the factory app",
        .link.display()
    )]
    BadLink { link: PathBuf, target: String },
    #[error(
        "release {0} is missing its signed manifest in releases/{0}: it was damaged; reinstall it or re-image the booth"
    )]
    NoManifest(Version),
    #[error("release {version}'s kept manifest is refused: {source}")]
    Manifest {
        version: Version,
        #[source]
        source: ManifestError,
    },
}

/// A release's version and the store schemas it reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseInfo {
    pub release: ReleaseRef,
    pub version: Version,
    pub reads: SchemaRange,
    pub writes: u32,
}

/// The release a link (`current`, `previous`) names; `None` without the link.
pub fn linked(layout: &Layout, link: &std::path::Path) -> Result<Option<ReleaseRef>, ReleaseError> {
    let Some(target) = fsx::link_target(link)? else {
        return Ok(None);
    };
    target
        .parse()
        .map(Some)
        .map_err(|_| ReleaseError::BadLink {
            link: link.to_owned(),
            target: target.chars().take(64).collect(),
        })
        .and_then(|release| match release {
            Some(ReleaseRef::Installed(v)) if !layout.release_dir(&v.to_string()).is_dir() => {
                Err(ReleaseError::BadLink {
                    link: link.to_owned(),
                    target,
                })
            }
            other => Ok(other),
        })
}

/// The release that runs: `current`, or the factory release without it.
pub fn running(layout: &Layout) -> Result<ReleaseRef, ReleaseError> {
    Ok(linked(layout, &layout.current())?.unwrap_or(ReleaseRef::Factory))
}

/// The factory release: this build's version and store schemas.
pub fn factory(version: Version) -> ReleaseInfo {
    let (min, max) = kiosk_core::store::SCHEMA_READS;
    ReleaseInfo {
        release: ReleaseRef::Factory,
        version,
        reads: SchemaRange::new(min, max).expect("the store reads an ordered range"),
        writes: kiosk_core::store::SCHEMA_WRITES,
    }
}

/// What `release` is: the factory's, or its kept manifest's.
pub fn info(
    layout: &Layout,
    release: ReleaseRef,
    factory_version: Version,
) -> Result<ReleaseInfo, ReleaseError> {
    let version = match release {
        ReleaseRef::Factory => return Ok(factory(factory_version)),
        ReleaseRef::Installed(version) => version,
    };
    let parts = signed_parts(layout, version)?;
    let manifest = Manifest::from_json(&parts.manifest)
        .map_err(|source| ReleaseError::Manifest { version, source })?;
    Ok(ReleaseInfo {
        release,
        version,
        reads: manifest.store.reads,
        writes: manifest.store.writes,
    })
}

/// The signed bytes kept with an installed release.
pub fn signed_parts(layout: &Layout, version: Version) -> Result<SignedParts, ReleaseError> {
    let dir = layout.release_dir(&version.to_string());
    let read = |name: &str| -> Result<Vec<u8>, ReleaseError> {
        fsx::read_small_nofollow(&dir.join(name), MAX_MANIFEST_BYTES)?
            .ok_or(ReleaseError::NoManifest(version))
    };
    Ok(SignedParts {
        manifest: read(MANIFEST_FILE)?,
        signatures: read(SIGNATURES_FILE)?,
    })
}

/// Removes every release but the ones named in `keep`, and every half-staged one: what
/// `confirm` does once the new release proved itself.
pub fn prune(layout: &Layout, keep: &[String]) -> Result<Vec<String>, FsError> {
    let mut removed = Vec::new();
    let entries =
        fs::read_dir(&layout.releases).map_err(fsx::err("cannot list", &layout.releases))?;
    for entry in entries {
        let entry = entry.map_err(fsx::err("cannot list", &layout.releases))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if !is_dir || keep.contains(&name) || name == FACTORY {
            continue;
        }
        fsx::remove_tree(&entry.path())?;
        removed.push(name);
    }
    fsx::sync_dir(&layout.releases)?;
    Ok(removed)
}
