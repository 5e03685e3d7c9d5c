//! Making a bundle from a directory of release files: what `booth-release sign` runs, on the
//! signer's machine, with the release key.
//!
//! Deterministic: paths in byte order, the manifest serialised one way, tar headers with
//! mtime, uid and gid 0 and the mode taken from the file's executable bit only, and ed25519
//! signatures (deterministic by design). Signing the same files with the same fields and keys
//! twice gives the same bundle, byte for byte, so a second signer can check a bundle by
//! rebuilding it.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use crate::bundle::{LimitError, Limits, MANIFEST_ENTRY, SIGNATURES_ENTRY, check_limits};
use crate::keys::PublicKey;
use crate::manifest::{
    BundlePath, FORMAT, FileEntry, FileMode, Manifest, ManifestError, PathError, Sha256Digest,
    StoreSchemas,
};
use crate::signature::{SignError, Signatures};
use crate::ustar;
use crate::version::Version;

/// Everything a manifest says besides its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSpec {
    pub version: Version,
    pub min_version: Version,
    pub supersedes_highest: Option<Version>,
    pub store: StoreSchemas,
    pub introduces_keys: Vec<PublicKey>,
    pub retires_keys: Vec<PublicKey>,
    pub notes: Option<String>,
}

/// Why a bundle could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} is a {kind}: a bundle carries regular files only; put the file itself in the release's directory",
        .path.display()
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("the name of {} is not UTF-8: rename it", .path.display())]
    NotUtf8 { path: PathBuf },
    #[error("cannot pack {}: {source}", .path.display())]
    Path {
        path: PathBuf,
        #[source]
        source: PathError,
    },
    #[error(
        "`{0}` does not fit a ustar header (the last component may have at most 100 bytes, the directories before it 149): shorten it"
    )]
    PathTooLongForTar(BundlePath),
    #[error("booths would refuse this release: {0}")]
    Manifest(#[source] ManifestError),
    #[error("booths would refuse this release: {0}")]
    Limit(#[source] LimitError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(
        "{} changed while it was being packed: pack again when nothing writes to the release's directory",
        .path.display()
    )]
    Changed { path: PathBuf },
    #[error("cannot write the bundle: {0}")]
    Write(#[source] io::Error),
}

/// A file found in the release's directory.
struct Found {
    path: BundlePath,
    on_disk: PathBuf,
    mode: FileMode,
}

/// Packs the regular files under `from` into a bundle signed by each of `keys`, written to
/// `out`; returns its manifest. Symbolic links and special files are refused, empty
/// directories are not carried, and the release must fit [`Limits::default`], the limits
/// booths use.
pub fn pack<W: Write>(
    from: &Path,
    spec: &ReleaseSpec,
    keys: &[&SigningKey],
    mut out: W,
) -> Result<Manifest, PackError> {
    let mut found = Vec::new();
    walk(from, "", &mut found)?;
    found.sort_by(|a, b| a.path.cmp(&b.path));
    // Before any file is read: a path the archive cannot hold fails the pack now.
    if let Some(file) = found
        .iter()
        .find(|file| ustar::split_path(&file.path.entry_name()).is_none())
    {
        return Err(PackError::PathTooLongForTar(file.path.clone()));
    }

    let mut files = Vec::with_capacity(found.len());
    for file in &found {
        let (sha256, size) = digest_file(&file.on_disk)?;
        files.push(FileEntry {
            path: file.path.clone(),
            sha256,
            size,
            mode: file.mode,
        });
    }
    let manifest = Manifest {
        format: FORMAT,
        version: spec.version,
        min_version: spec.min_version,
        supersedes_highest: spec.supersedes_highest,
        store: spec.store,
        files,
        introduces_keys: spec.introduces_keys.clone(),
        retires_keys: spec.retires_keys.clone(),
        notes: spec.notes.clone(),
    };
    manifest.validate().map_err(PackError::Manifest)?;
    let limits = Limits::default();
    check_limits(&manifest, &limits).map_err(PackError::Limit)?;
    let manifest_bytes = manifest.to_json();
    let signature_bytes = Signatures::sign(&manifest_bytes, keys)?.to_json();
    for (entry, bytes, max) in [
        (MANIFEST_ENTRY, &manifest_bytes, limits.max_manifest_bytes),
        (
            SIGNATURES_ENTRY,
            &signature_bytes,
            limits.max_signatures_bytes,
        ),
    ] {
        let size = bytes.len() as u64;
        if size > max {
            return Err(PackError::Limit(LimitError::Entry { entry, size, max }));
        }
    }

    for (name, bytes) in [
        (MANIFEST_ENTRY, &manifest_bytes),
        (SIGNATURES_ENTRY, &signature_bytes),
    ] {
        write_header(&mut out, name, bytes.len() as u64, 0o644)?;
        out.write_all(bytes).map_err(PackError::Write)?;
        write_padding(&mut out, bytes.len() as u64)?;
    }
    let mut buffer = vec![0u8; 64 * 1024];
    for (file, entry) in found.iter().zip(&manifest.files) {
        write_header(
            &mut out,
            &entry.path.entry_name(),
            entry.size,
            entry.mode.bits(),
        )?;
        copy_file(&mut out, &file.on_disk, entry, &mut buffer)?;
        write_padding(&mut out, entry.size)?;
    }
    out.write_all(&ustar::END).map_err(PackError::Write)?;
    out.flush().map_err(PackError::Write)?;
    Ok(manifest)
}

fn write_header(out: &mut impl Write, name: &str, size: u64, mode: u32) -> Result<(), PackError> {
    // Paths were checked to fit, and sizes to be within the limits, far below the 8 GiB of
    // a ustar size field: this refusal is only a guard.
    let header = ustar::header(name, size, mode).ok_or_else(|| {
        PackError::Write(io::Error::other(format!(
            "no ustar header can hold `{name}` of {size} bytes"
        )))
    })?;
    out.write_all(&header).map_err(PackError::Write)
}

fn write_padding(out: &mut impl Write, size: u64) -> Result<(), PackError> {
    out.write_all(&[0u8; ustar::BLOCK][..ustar::padding(size)])
        .map_err(PackError::Write)
}

/// Copies the file's `entry.size` bytes into the bundle. The file is read a second time
/// (the manifest, written first, needed its hash): what goes in must be what was hashed, so
/// a file that changed in between fails the pack.
fn copy_file(
    out: &mut impl Write,
    path: &Path,
    entry: &FileEntry,
    buffer: &mut [u8],
) -> Result<(), PackError> {
    let read_error = |source| PackError::Read {
        path: path.to_owned(),
        source,
    };
    let changed = || PackError::Changed {
        path: path.to_owned(),
    };
    let mut file = File::open(path).map_err(read_error)?;
    let mut hasher = Sha256::new();
    let mut left = entry.size;
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = read_some(&mut file, &mut buffer[..want]).map_err(read_error)?;
        if n == 0 {
            return Err(changed());
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n]).map_err(PackError::Write)?;
        left -= n as u64;
    }
    let grew = read_some(&mut file, &mut [0u8; 1]).map_err(read_error)? != 0;
    if grew || <[u8; 32]>::from(hasher.finalize()) != entry.sha256.0 {
        return Err(changed());
    }
    Ok(())
}

fn read_some(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Collects the regular files under `dir`, whose path in the release starts with `prefix`.
fn walk(dir: &Path, prefix: &str, found: &mut Vec<Found>) -> Result<(), PackError> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| PackError::Read { path, source }
    };
    for entry in fs::read_dir(dir).map_err(read_error(dir))? {
        let entry = entry.map_err(read_error(dir))?;
        let on_disk = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(PackError::NotUtf8 { path: on_disk });
        };
        let path = format!("{prefix}{name}");
        // Not following links: a link's target is outside what the signer looked at.
        let meta = fs::symlink_metadata(&on_disk).map_err(read_error(&on_disk))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            walk(&on_disk, &format!("{path}/"), found)?;
        } else if kind.is_file() {
            let bundle_path = BundlePath::parse(&path).map_err(|source| PackError::Path {
                path: on_disk.clone(),
                source,
            })?;
            found.push(Found {
                path: bundle_path,
                mode: FileMode::of_permissions(meta.permissions().mode()),
                on_disk,
            });
        } else {
            let kind = if kind.is_symlink() {
                "symbolic link"
            } else {
                "special file (device, socket or pipe)"
            };
            return Err(PackError::NotRegular {
                path: on_disk,
                kind,
            });
        }
    }
    Ok(())
}

fn digest_file(path: &Path) -> Result<(Sha256Digest, u64), PackError> {
    let read_error = |source| PackError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let mut hasher = Sha256::new();
    let size = io::copy(&mut file, &mut hasher).map_err(read_error)?;
    Ok((Sha256Digest(hasher.finalize().into()), size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::SchemaRange;
    use std::os::unix::fs::symlink;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn spec() -> ReleaseSpec {
        ReleaseSpec {
            version: "1.2.0".parse().unwrap(),
            min_version: "1.0.0".parse().unwrap(),
            supersedes_highest: None,
            store: StoreSchemas {
                reads: SchemaRange::new(3, 4).unwrap(),
                writes: 4,
            },
            introduces_keys: vec![],
            retires_keys: vec![],
            notes: Some("test".into()),
        }
    }

    fn packed(dir: &Path, keys: &[&SigningKey]) -> Result<Vec<u8>, PackError> {
        let mut out = Vec::new();
        pack(dir, &spec(), keys, &mut out)?;
        Ok(out)
    }

    #[test]
    fn the_same_inputs_give_the_same_bundle() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b", "a", "c/z", "c/a"] {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, name.as_bytes()).unwrap();
        }
        let first = packed(dir.path(), &[&key(1)]).unwrap();
        // Times and owners are not in the bundle.
        let file = File::options()
            .write(true)
            .open(dir.path().join("a"))
            .unwrap();
        file.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1))
            .unwrap();
        assert_eq!(packed(dir.path(), &[&key(1)]).unwrap(), first);
        assert_ne!(packed(dir.path(), &[&key(2)]).unwrap(), first);
        // Only the executable bit of the mode counts.
        fs::set_permissions(dir.path().join("a"), fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(packed(dir.path(), &[&key(1)]).unwrap(), first);
        fs::set_permissions(dir.path().join("a"), fs::Permissions::from_mode(0o744)).unwrap();
        assert_ne!(packed(dir.path(), &[&key(1)]).unwrap(), first);
    }

    #[test]
    fn files_go_in_path_order_with_their_hash_size_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("bin")).unwrap();
        fs::write(dir.path().join("bin/kiosk"), b"ELF").unwrap();
        fs::set_permissions(
            dir.path().join("bin/kiosk"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        fs::write(dir.path().join("a.txt"), b"").unwrap();
        let manifest = pack(dir.path(), &spec(), &[&key(1)], io::sink()).unwrap();
        let listed: Vec<(&str, u64, FileMode)> = manifest
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.size, f.mode))
            .collect();
        assert_eq!(
            listed,
            [
                ("a.txt", 0, FileMode::Regular),
                ("bin/kiosk", 3, FileMode::Executable)
            ]
        );
        assert_eq!(
            manifest.files[1].sha256.0,
            <[u8; 32]>::from(Sha256::digest(b"ELF"))
        );
    }

    #[test]
    fn links_special_files_and_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("real"), b"x").unwrap();
        symlink("real", dir.path().join("link")).unwrap();
        let err = packed(dir.path(), &[&key(1)]).unwrap_err();
        assert!(
            matches!(
                err,
                PackError::NotRegular {
                    kind: "symbolic link",
                    ..
                }
            ),
            "{err:?}"
        );

        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("has space"), b"x").unwrap();
        assert!(matches!(
            packed(dir.path(), &[&key(1)]),
            Err(PackError::Path {
                source: PathError::Character { .. },
                ..
            })
        ));

        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            packed(dir.path(), &[&key(1)]),
            Err(PackError::Manifest(ManifestError::NoFiles(_)))
        ));
        fs::write(dir.path().join("a"), b"x").unwrap();
        assert!(matches!(
            packed(dir.path(), &[]),
            Err(PackError::Sign(SignError::NoKey))
        ));
        assert!(matches!(
            pack(
                Path::new("/nonexistent/release"),
                &spec(),
                &[&key(1)],
                io::sink()
            ),
            Err(PackError::Read { .. })
        ));
    }

    #[test]
    fn a_path_the_tar_header_cannot_hold_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        // 240 bytes, but no `/` splits `files/<path>` into 155 + 100.
        let deep = dir.path().join("d".repeat(150));
        fs::create_dir(&deep).unwrap();
        fs::write(deep.join("f".repeat(89)), b"x").unwrap();
        let mut out = Vec::new();
        let err = pack(dir.path(), &spec(), &[&key(1)], &mut out).unwrap_err();
        assert!(matches!(err, PackError::PathTooLongForTar(_)), "{err:?}");
        assert!(out.is_empty());
        // Split at a later `/`, the same length fits.
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("d".repeat(100)).join("e".repeat(48));
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("f".repeat(90)), b"x").unwrap();
        assert!(pack(dir.path(), &spec(), &[&key(1)], io::sink()).is_ok());
    }

    #[test]
    fn a_release_booths_would_refuse_is_not_made() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"x").unwrap();
        let mut bad = spec();
        bad.min_version = "2.0.0".parse().unwrap();
        let err = pack(dir.path(), &bad, &[&key(1)], io::sink()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("booths would refuse this release: "),
            "{err}"
        );
    }
}
