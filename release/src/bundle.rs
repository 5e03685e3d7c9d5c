//! Reading a bundle: the signed manifest first, then the files it lists, checked as they
//! stream past.
//!
//! A bundle is a plain, uncompressed ustar archive:
//!
//! ```text
//! manifest.json      the manifest, the exact bytes that were signed
//! manifest.sig       the signatures (JSON list of {key, sig})
//! files/<path>       each file, in the manifest's order (ascending path)
//! (two zero blocks)  the end; nothing after it
//! ```
//!
//! Uncompressed because what it carries (a .deb, binaries, images) is already as small as it
//! gets, and a plain tar is read front to back in one pass without unpacking it anywhere, and
//! an interrupted download resumes by byte range. Entries are regular files only; the archive's
//! exact form is in the `ustar` module.
//!
//! [`Bundle::open_and_verify`] reads the manifest and the signatures (each capped) and
//! verifies the signature before anything else of the bundle is read. [`Bundle::stage_into`]
//! then writes each file into a staging directory, checking size and SHA-256 against the
//! signed manifest on the way. Every refusal says what was wrong and that the bundle must be
//! fetched again; a refused staging leaves nothing behind.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest::{BundlePath, FILES_DIR, FileEntry, Manifest, PathError};
use crate::signature::{Signatures, VerifiedManifest, VerifyError, verify_manifest};
use crate::trust::TrustStore;
use crate::ustar::{self, ArchiveError};
use crate::version::Version;

/// The first entry of every bundle.
pub const MANIFEST_ENTRY: &str = "manifest.json";
/// The second entry of every bundle.
pub const SIGNATURES_ENTRY: &str = "manifest.sig";

/// How much of a bundle a booth reads. The manifest and signatures are read into memory
/// before their signature is checked, so their caps bound what an unsigned bundle can cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// 2 MiB by default: room for 10 000 file entries of about 200 bytes each.
    pub max_manifest_bytes: u64,
    /// 64 KiB by default; a signature entry is about 150 bytes.
    pub max_signatures_bytes: u64,
    /// 10 000 by default.
    pub max_files: usize,
    /// 256 MiB by default.
    pub max_file_bytes: u64,
    /// 256 MiB by default: what a booth's other root slot can take, with room to spare.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        const MIB: u64 = 1024 * 1024;
        Self {
            max_manifest_bytes: 2 * MIB,
            max_signatures_bytes: 64 * 1024,
            max_files: 10_000,
            max_file_bytes: 256 * MIB,
            max_total_bytes: 256 * MIB,
        }
    }
}

/// Why a release is larger than a booth takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "{entry} is {size} bytes, more than the {max} a booth reads: this is not a booth release bundle, or one made for other limits"
    )]
    Entry {
        entry: &'static str,
        size: u64,
        max: u64,
    },
    #[error(
        "release {version} has {count} files, more than the {max} a booth takes: put fewer, larger files in the release (an archive or a .deb)"
    )]
    TooManyFiles {
        version: Version,
        count: usize,
        max: usize,
    },
    #[error("`{path}` is {size} bytes, more than the {max} one file of a release may have")]
    FileTooLarge {
        path: BundlePath,
        size: u64,
        max: u64,
    },
    #[error("release {version} has {total} bytes of files, more than the {max} a booth takes")]
    TotalTooLarge {
        version: Version,
        total: u64,
        max: u64,
    },
}

/// Why a bundle was refused or could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(
        "the bundle has `{found}` where `{expected}` should be: this is not a booth release bundle (made by `booth-release sign`)"
    )]
    NotABundle {
        expected: &'static str,
        found: String,
    },
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(
        "the bundle has `{found}` where `{expected}` should be: the bundle was altered; download it again"
    )]
    OutOfOrder { found: String, expected: String },
    #[error("the bundle has `{found}` twice: the bundle was altered; download it again")]
    Duplicate { found: String },
    #[error(
        "the bundle has `{found}`, which the signed manifest does not list: the bundle was altered; download it again"
    )]
    NotInManifest { found: String },
    #[error(
        "the bundle has an entry with an unsafe path: {reason}; the bundle was altered, download it again"
    )]
    UnsafePath {
        #[source]
        reason: PathError,
    },
    #[error("the bundle ends before `{expected}`: it was cut short; download it again")]
    MissingFile { expected: String },
    #[error(
        "`{path}` is {found} bytes in the bundle and {expected} in the signed manifest: the bundle was altered; download it again"
    )]
    SizeMismatch {
        path: String,
        found: u64,
        expected: u64,
    },
    #[error(
        "`{path}` has mode {found:o} in the bundle and {expected:o} in the signed manifest: the bundle was altered; download it again"
    )]
    ModeMismatch {
        path: String,
        found: u32,
        expected: u32,
    },
    #[error(
        "`{path}` does not match its SHA-256 in the signed manifest: the bundle was altered or damaged; download it again"
    )]
    HashMismatch { path: String },
    #[error(
        "the bundle has `{found}` after its last file: the bundle was altered; download it again"
    )]
    ExtraEntry { found: String },
    #[error("staging directory {} is not empty: give a new or empty directory", .dir.display())]
    StagingNotEmpty { dir: PathBuf },
    #[error("cannot stage into {}: {source}; check that it is a writable directory with room", .path.display())]
    Staging {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A bundle whose manifest verified; its files are not read yet.
pub struct Bundle<R> {
    archive: ustar::Reader<R>,
    release: VerifiedManifest,
    /// The signed bytes as they were verified, kept by an updater beside the staged release so
    /// the signature can be checked again when the release's key changes are applied.
    signed: SignedParts,
}

/// A manifest's exact bytes and its signatures file's bytes, as read from a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedParts {
    pub manifest: Vec<u8>,
    pub signatures: Vec<u8>,
}

impl SignedParts {
    /// Verifies the parts again against `trust` (see [`verify_manifest`]).
    pub fn verify(&self, trust: &TrustStore) -> Result<VerifiedManifest, VerifyError> {
        let signatures = Signatures::from_json(&self.signatures)?;
        verify_manifest(&self.manifest, &signatures, trust)
    }
}

impl<R> std::fmt::Debug for Bundle<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("release", &self.release)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Bundle<R> {
    /// Reads `manifest.json` and `manifest.sig` from the front of `reader`, verifies the
    /// signature against `trust`, then checks the release against `limits`. Nothing else of
    /// the bundle is read yet.
    pub fn open_and_verify(
        reader: R,
        trust: &TrustStore,
        limits: Limits,
    ) -> Result<Self, BundleError> {
        let mut archive = ustar::Reader::new(reader);
        let manifest = read_small(&mut archive, MANIFEST_ENTRY, limits.max_manifest_bytes)?;
        let signatures = read_small(&mut archive, SIGNATURES_ENTRY, limits.max_signatures_bytes)?;
        let signed = SignedParts {
            manifest,
            signatures,
        };
        let release = signed.verify(trust)?;
        check_limits(release.manifest(), &limits)?;
        Ok(Self {
            archive,
            release,
            signed,
        })
    }

    /// The manifest's and the signatures' bytes, exactly as verified.
    pub fn signed_parts(&self) -> &SignedParts {
        &self.signed
    }

    /// The verified manifest, for the install policy and the trust store's dry run before
    /// anything is staged.
    pub fn release(&self) -> &VerifiedManifest {
        &self.release
    }

    /// Reads every file and checks it against the manifest, writing nothing.
    pub fn check_files(mut self) -> Result<VerifiedManifest, BundleError> {
        self.read_files(&mut Discard)?;
        Ok(self.release)
    }

    /// Writes the release's files under `dir` (created if missing; it must otherwise be
    /// empty). Each file streams to `<dir>/<path>.partial` with its size and SHA-256 checked,
    /// gets its manifest mode, is fsynced and renamed to `<dir>/<path>`; the directories are
    /// fsynced at the end. Nothing outside `dir` is written. On any error everything staged
    /// so far is removed (and `dir` too, if this created it).
    pub fn stage_into(mut self, dir: &Path) -> Result<VerifiedManifest, BundleError> {
        let created = prepare_staging(dir)?;
        let mut stager = Stager::new(dir, created);
        let staged = self
            .read_files(&mut stager)
            .and_then(|()| stager.sync_directories());
        match staged {
            Ok(()) => Ok(self.release),
            Err(err) => {
                drop(stager);
                remove_staged(dir, created);
                Err(err)
            }
        }
    }

    fn read_files(&mut self, sink: &mut dyn Sink) -> Result<(), BundleError> {
        let files = &self.release.manifest().files;
        for (at, file) in files.iter().enumerate() {
            let expected = file.path.entry_name();
            let Some(entry) = self.archive.next_header()? else {
                return Err(BundleError::MissingFile { expected });
            };
            if entry.path != expected {
                return Err(misplaced(entry.path, at, files));
            }
            if entry.size != file.size {
                return Err(BundleError::SizeMismatch {
                    path: expected,
                    found: entry.size,
                    expected: file.size,
                });
            }
            if entry.mode != file.mode.bits() {
                return Err(BundleError::ModeMismatch {
                    path: expected,
                    found: entry.mode,
                    expected: file.mode.bits(),
                });
            }
            sink.begin(file)?;
            let mut hasher = Sha256::new();
            self.archive.read_data(&entry, |piece| {
                hasher.update(piece);
                sink.write(piece)
            })?;
            if <[u8; 32]>::from(hasher.finalize()) != file.sha256.0 {
                return Err(BundleError::HashMismatch { path: expected });
            }
            sink.finish(file)?;
        }
        match self.archive.next_header()? {
            None => Ok(()),
            Some(entry) => Err(BundleError::ExtraEntry { found: entry.path }),
        }
    }
}

/// Reads one of the two small entries at the front of the bundle.
fn read_small<R: Read>(
    archive: &mut ustar::Reader<R>,
    name: &'static str,
    max: u64,
) -> Result<Vec<u8>, BundleError> {
    let entry = archive
        .next_header()?
        .ok_or_else(|| BundleError::NotABundle {
            expected: name,
            found: "the end of the archive".to_owned(),
        })?;
    if entry.path != name {
        return Err(BundleError::NotABundle {
            expected: name,
            found: entry.path,
        });
    }
    if entry.mode != 0o644 {
        return Err(ArchiveError::NonCanonical {
            path: entry.path,
            offset: entry.offset,
        }
        .into());
    }
    if entry.size > max {
        return Err(LimitError::Entry {
            entry: name,
            size: entry.size,
            max,
        }
        .into());
    }
    // Grown as the data arrives rather than reserved from the header's say-so: a caller's
    // generous `max` must not let a few header bytes allocate it all.
    let mut bytes = Vec::with_capacity(usize::try_from(entry.size.min(64 * 1024)).unwrap_or(0));
    archive.read_data(&entry, |piece| {
        bytes.extend_from_slice(piece);
        Ok::<(), BundleError>(())
    })?;
    Ok(bytes)
}

/// Checks a manifest's file count and sizes against `limits` (the manifest's own size is
/// checked where it is read, or written).
pub(crate) fn check_limits(manifest: &Manifest, limits: &Limits) -> Result<(), LimitError> {
    if manifest.files.len() > limits.max_files {
        return Err(LimitError::TooManyFiles {
            version: manifest.version,
            count: manifest.files.len(),
            max: limits.max_files,
        });
    }
    if let Some(file) = manifest
        .files
        .iter()
        .find(|file| file.size > limits.max_file_bytes)
    {
        return Err(LimitError::FileTooLarge {
            path: file.path.clone(),
            size: file.size,
            max: limits.max_file_bytes,
        });
    }
    // A validated manifest's total fits a u64.
    let total = manifest.total_size().unwrap_or(u64::MAX);
    if total > limits.max_total_bytes {
        return Err(LimitError::TotalTooLarge {
            version: manifest.version,
            total,
            max: limits.max_total_bytes,
        });
    }
    Ok(())
}

/// Why the entry `found` is not the file expected at position `at`.
fn misplaced(found: String, at: usize, files: &[FileEntry]) -> BundleError {
    let path = found.strip_prefix(FILES_DIR).unwrap_or(&found);
    let path = match BundlePath::parse(path) {
        Ok(path) => path,
        Err(reason) => return BundleError::UnsafePath { reason },
    };
    if !found.starts_with(FILES_DIR) {
        return BundleError::NotInManifest { found };
    }
    match files.binary_search_by(|file| file.path.cmp(&path)) {
        Ok(index) if index < at => BundleError::Duplicate { found },
        Ok(_) => BundleError::OutOfOrder {
            found,
            expected: files[at].path.entry_name(),
        },
        Err(_) => BundleError::NotInManifest { found },
    }
}

/// Where the files' bytes go as they are read and checked.
trait Sink {
    fn begin(&mut self, file: &FileEntry) -> Result<(), BundleError>;
    fn write(&mut self, piece: &[u8]) -> Result<(), BundleError>;
    fn finish(&mut self, file: &FileEntry) -> Result<(), BundleError>;
}

struct Discard;

impl Sink for Discard {
    fn begin(&mut self, _: &FileEntry) -> Result<(), BundleError> {
        Ok(())
    }
    fn write(&mut self, _: &[u8]) -> Result<(), BundleError> {
        Ok(())
    }
    fn finish(&mut self, _: &FileEntry) -> Result<(), BundleError> {
        Ok(())
    }
}

fn staging_error(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |source| BundleError::Staging {
        path: path.to_owned(),
        source,
    }
}

/// Makes sure `dir` is an empty directory; whether this created it.
fn prepare_staging(dir: &Path) -> Result<bool, BundleError> {
    match fs::metadata(dir) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(dir).map_err(staging_error(dir))?;
            Ok(true)
        }
        Err(err) => Err(staging_error(dir)(err)),
        Ok(meta) if !meta.is_dir() => Err(staging_error(dir)(io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a directory",
        ))),
        Ok(_) => {
            if fs::read_dir(dir)
                .map_err(staging_error(dir))?
                .next()
                .is_some()
            {
                return Err(BundleError::StagingNotEmpty {
                    dir: dir.to_owned(),
                });
            }
            Ok(false)
        }
    }
}

/// Removes what staging wrote. Best effort: the error that stopped staging is the one the
/// caller needs, and the next staging refuses a directory that is not empty.
fn remove_staged(dir: &Path, created: bool) {
    if created {
        let _ = fs::remove_dir_all(dir);
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // `file_type` does not follow symbolic links, nor does `remove_dir_all`.
        let _ = match entry.file_type() {
            Ok(kind) if kind.is_dir() => fs::remove_dir_all(&path),
            _ => fs::remove_file(&path),
        };
    }
}

/// Writes files under the staging directory.
struct Stager<'a> {
    root: &'a Path,
    created_root: bool,
    /// Directories whose entries changed: fsynced at the end.
    touched: BTreeSet<PathBuf>,
    current: Option<(File, PathBuf)>,
}

impl<'a> Stager<'a> {
    fn new(root: &'a Path, created_root: bool) -> Self {
        Self {
            root,
            created_root,
            touched: BTreeSet::from([root.to_owned()]),
            current: None,
        }
    }

    /// `<root>/<path>` with `suffix`: bundle paths are relative and free of `..` (checked by
    /// `BundlePath`), so the result is always under the root.
    fn target(&self, path: &BundlePath, suffix: &str) -> PathBuf {
        self.root.join(format!("{path}{suffix}"))
    }

    fn create_parents(&mut self, path: &BundlePath) -> Result<(), BundleError> {
        for parent in path.parents() {
            let dir = self.root.join(parent);
            if self.touched.contains(&dir) {
                continue;
            }
            match fs::create_dir(&dir) {
                Ok(()) => {}
                // Only this stager writes here; a directory it did not make is refused
                // rather than trusted (it could be a symbolic link out of the root).
                Err(err) => return Err(staging_error(&dir)(err)),
            }
            let parent_dir = dir.parent().unwrap_or(self.root).to_owned();
            self.touched.insert(parent_dir);
            self.touched.insert(dir);
        }
        Ok(())
    }

    fn sync_directories(&mut self) -> Result<(), BundleError> {
        let mut dirs: Vec<PathBuf> = self.touched.iter().cloned().collect();
        if self.created_root
            && let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty())
        {
            dirs.push(parent.to_owned());
        }
        for dir in dirs {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(staging_error(&dir))?;
        }
        Ok(())
    }
}

impl Sink for Stager<'_> {
    fn begin(&mut self, file: &FileEntry) -> Result<(), BundleError> {
        self.create_parents(&file.path)?;
        let partial = self.target(&file.path, ".partial");
        // create_new: never through a file or link that is already there.
        let handle = File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .map_err(staging_error(&partial))?;
        self.current = Some((handle, partial));
        Ok(())
    }

    fn write(&mut self, piece: &[u8]) -> Result<(), BundleError> {
        if let Some((handle, partial)) = &mut self.current {
            handle.write_all(piece).map_err(staging_error(partial))?;
        }
        Ok(())
    }

    fn finish(&mut self, file: &FileEntry) -> Result<(), BundleError> {
        let Some((handle, partial)) = self.current.take() else {
            return Ok(());
        };
        // The mode is set explicitly: the umask must not decide whether a binary runs.
        handle
            .set_permissions(fs::Permissions::from_mode(file.mode.bits()))
            .and_then(|()| handle.sync_all())
            .map_err(staging_error(&partial))?;
        drop(handle);
        let target = self.target(&file.path, "");
        fs::rename(&partial, &target).map_err(staging_error(&target))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PublicKey;
    use crate::manifest::{FileMode, SchemaRange, StoreSchemas};
    use crate::pack::{ReleaseSpec, pack};
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    fn signing(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn trust(seed: u8) -> TrustStore {
        TrustStore::new([PublicKey::of(&signing(seed))]).unwrap()
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
            notes: None,
        }
    }

    /// A release directory with a binary, a nested data file and an empty file.
    fn release_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("bin")).unwrap();
        fs::create_dir_all(dir.path().join("share/booth")).unwrap();
        fs::write(dir.path().join("bin/kiosk"), vec![0x7f; 1500]).unwrap();
        fs::set_permissions(
            dir.path().join("bin/kiosk"),
            fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        fs::write(
            dir.path().join("share/booth/catalog.json"),
            b"{\"items\":[]}",
        )
        .unwrap();
        fs::write(dir.path().join("share/empty"), b"").unwrap();
        dir
    }

    fn bundle() -> Vec<u8> {
        static BUNDLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        BUNDLE
            .get_or_init(|| {
                let dir = release_dir();
                let mut out = Vec::new();
                pack(dir.path(), &spec(), &[&signing(1)], &mut out).unwrap();
                out
            })
            .clone()
    }

    fn open(bytes: &[u8]) -> Result<Bundle<&[u8]>, BundleError> {
        Bundle::open_and_verify(bytes, &trust(1), Limits::default())
    }

    /// The offset of entry `name`'s header in a bundle.
    fn header_at(bytes: &[u8], name: &str) -> usize {
        let mut reader = ustar::Reader::new(bytes);
        while let Some(entry) = reader.next_header().unwrap() {
            if entry.path == name {
                return entry.offset as usize;
            }
            reader
                .read_data::<ArchiveError>(&entry, |_| Ok(()))
                .unwrap();
        }
        panic!("no {name}");
    }

    #[test]
    fn a_packed_bundle_stages_exactly_its_files() {
        let bytes = bundle();
        let staging = tempfile::tempdir().unwrap();
        let dir = staging.path().join("stage");
        let release = open(&bytes).unwrap().stage_into(&dir).unwrap();
        assert_eq!(release.manifest().files.len(), 3);
        assert_eq!(fs::read(dir.join("bin/kiosk")).unwrap(), vec![0x7f; 1500]);
        assert_eq!(
            fs::read(dir.join("share/booth/catalog.json")).unwrap(),
            b"{\"items\":[]}"
        );
        let mode = |p: &str| fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode("bin/kiosk"), 0o755);
        assert_eq!(mode("share/empty"), 0o644);
        let mut names = Vec::new();
        for entry in walk(&dir) {
            names.push(entry);
        }
        assert_eq!(
            names,
            [
                "bin",
                "bin/kiosk",
                "share",
                "share/booth",
                "share/booth/catalog.json",
                "share/empty"
            ]
        );
        assert_eq!(release.manifest().files[0].mode, FileMode::Executable);
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for entry in fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                out.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
                if path.is_dir() {
                    stack.push(path);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn check_files_reads_everything_and_writes_nothing() {
        let bytes = bundle();
        assert!(open(&bytes).unwrap().check_files().is_ok());
        let mut changed = bytes.clone();
        // The last padding byte after catalog.json.
        changed[header_at(&bytes, "files/share/empty") - 1] ^= 1;
        assert!(matches!(
            open(&changed).unwrap().check_files(),
            Err(BundleError::Archive(ArchiveError::Padding { .. }))
        ));
    }

    #[test]
    fn every_single_byte_change_is_refused_and_nothing_stays_staged() {
        let bytes = bundle();
        let staging = tempfile::tempdir().unwrap();
        // Every byte is too slow in a debug build; every 7th byte and both ends of each block
        // hit every field of every header and every data and padding region.
        let positions =
            (0..bytes.len()).filter(|at| at % 7 == 0 || at % 512 == 0 || at % 512 == 511);
        for at in positions {
            let mut changed = bytes.clone();
            changed[at] ^= 0x20;
            let dir = staging.path().join("stage");
            let result = open(&changed).and_then(|b| b.stage_into(&dir));
            assert!(result.is_err(), "byte {at} changed and still accepted");
            assert!(!dir.exists(), "byte {at}: staging left behind");
        }
    }

    #[test]
    fn an_existing_staging_directory_must_be_empty_and_is_emptied_on_failure() {
        let bytes = bundle();
        let staging = tempfile::tempdir().unwrap();
        fs::write(staging.path().join("old"), b"x").unwrap();
        assert!(matches!(
            open(&bytes).unwrap().stage_into(staging.path()),
            Err(BundleError::StagingNotEmpty { .. })
        ));
        assert!(staging.path().join("old").exists());
        fs::remove_file(staging.path().join("old")).unwrap();
        let mut changed = bytes.clone();
        let at = header_at(&bytes, "files/share/booth/catalog.json") + 512;
        changed[at] ^= 1;
        let err = open(&changed)
            .unwrap()
            .stage_into(staging.path())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`files/share/booth/catalog.json` does not match its SHA-256 in the signed manifest: the bundle was altered or damaged; download it again"
        );
        assert!(staging.path().exists());
        assert_eq!(fs::read_dir(staging.path()).unwrap().count(), 0);
        // A good bundle then stages into the same, still empty, directory.
        open(&bytes).unwrap().stage_into(staging.path()).unwrap();
    }

    #[test]
    fn the_signature_is_checked_before_any_file_is_read() {
        let bytes = bundle();
        // Only manifest.json and manifest.sig, and then the reader fails: verification must
        // not need a byte more.
        let front = header_at(&bytes, "files/bin/kiosk");
        struct FrontOnly<'a>(&'a [u8]);
        impl Read for FrontOnly<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::other("read past the signed part"));
                }
                self.0.read(buf)
            }
        }
        let opened =
            Bundle::open_and_verify(FrontOnly(&bytes[..front]), &trust(1), Limits::default());
        assert!(opened.is_ok(), "{opened:?}");
        let refused =
            Bundle::open_and_verify(FrontOnly(&bytes[..front]), &trust(2), Limits::default());
        assert!(matches!(
            refused,
            Err(BundleError::Verify(VerifyError::NotTrusted(_)))
        ));
    }

    #[test]
    fn limits_are_checked_before_files_are_read() {
        let bytes = bundle();
        let tight = |limits: Limits| Bundle::open_and_verify(&bytes[..], &trust(1), limits);
        let defaults = Limits::default();
        assert!(matches!(
            tight(Limits {
                max_manifest_bytes: 100,
                ..defaults
            }),
            Err(BundleError::Limit(LimitError::Entry {
                entry: MANIFEST_ENTRY,
                ..
            }))
        ));
        assert!(matches!(
            tight(Limits {
                max_signatures_bytes: 100,
                ..defaults
            }),
            Err(BundleError::Limit(LimitError::Entry {
                entry: SIGNATURES_ENTRY,
                ..
            }))
        ));
        assert!(matches!(
            tight(Limits {
                max_files: 2,
                ..defaults
            }),
            Err(BundleError::Limit(LimitError::TooManyFiles {
                count: 3,
                ..
            }))
        ));
        assert!(matches!(
            tight(Limits {
                max_file_bytes: 1499,
                ..defaults
            }),
            Err(BundleError::Limit(LimitError::FileTooLarge {
                size: 1500,
                ..
            }))
        ));
        assert!(matches!(
            tight(Limits {
                max_total_bytes: 1500,
                ..defaults
            }),
            Err(BundleError::Limit(LimitError::TotalTooLarge {
                total: 1512,
                ..
            }))
        ));
    }

    /// `bytes` with the entry `name` rewritten (header and data; the checksum fixed up, so
    /// only the bundle's own checks stand in the way).
    fn rewrite_header(bytes: &[u8], name: &str, new_name: &str, typeflag: u8) -> Vec<u8> {
        let at = header_at(bytes, name);
        let mut out = bytes.to_vec();
        let mut block = [0u8; 512];
        block.copy_from_slice(&bytes[at..at + 512]);
        block[..100].fill(0);
        block[..new_name.len()].copy_from_slice(new_name.as_bytes());
        block[156] = typeflag;
        block[148..156].copy_from_slice(b"        ");
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out[at..at + 512].copy_from_slice(&block);
        out
    }

    #[test]
    fn entries_that_are_not_the_next_listed_file_are_named() {
        let bytes = bundle();
        let stage = tempfile::tempdir().unwrap();
        let dir = stage.path().join("s");
        let refuse = |changed: Vec<u8>| {
            let err = open(&changed).unwrap().stage_into(&dir).unwrap_err();
            assert!(!dir.exists());
            err
        };
        let err = refuse(rewrite_header(
            &bytes,
            "files/bin/kiosk",
            "files/../etc/passwd",
            b'0',
        ));
        assert!(
            matches!(
                err,
                BundleError::UnsafePath {
                    reason: PathError::DotDot(_)
                }
            ),
            "{err:?}"
        );
        let err = refuse(rewrite_header(
            &bytes,
            "files/bin/kiosk",
            "/etc/passwd",
            b'0',
        ));
        assert!(
            matches!(
                err,
                BundleError::UnsafePath {
                    reason: PathError::Absolute(_)
                }
            ),
            "{err:?}"
        );
        let err = refuse(rewrite_header(
            &bytes,
            "files/bin/kiosk",
            "files/bin\\kiosk",
            b'0',
        ));
        assert!(
            matches!(
                err,
                BundleError::UnsafePath {
                    reason: PathError::Backslash(_)
                }
            ),
            "{err:?}"
        );
        let err = refuse(rewrite_header(
            &bytes,
            "files/bin/kiosk",
            "files/bin//kiosk",
            b'0',
        ));
        assert!(
            matches!(
                err,
                BundleError::UnsafePath {
                    reason: PathError::EmptyComponent(_)
                }
            ),
            "{err:?}"
        );
        let err = refuse(rewrite_header(
            &bytes,
            "files/bin/kiosk",
            "files/bin/kiosk2",
            b'0',
        ));
        assert!(matches!(err, BundleError::NotInManifest { .. }), "{err:?}");
        let err = refuse(rewrite_header(
            &bytes,
            "files/bin/kiosk",
            "files/share/empty",
            b'0',
        ));
        assert!(matches!(err, BundleError::OutOfOrder { .. }), "{err:?}");
        let err = refuse(rewrite_header(
            &bytes,
            "files/share/empty",
            "files/bin/kiosk",
            b'0',
        ));
        assert!(matches!(err, BundleError::Duplicate { .. }), "{err:?}");
        for (flag, kind) in [
            (b'2', "symbolic link"),
            (b'1', "hard link"),
            (b'3', "character device"),
        ] {
            let err = refuse(rewrite_header(
                &bytes,
                "files/bin/kiosk",
                "files/bin/kiosk",
                flag,
            ));
            assert!(
                matches!(&err, BundleError::Archive(ArchiveError::Unsupported { kind: k, .. }) if *k == kind),
                "{err:?}"
            );
        }
    }

    #[test]
    fn missing_extra_and_resized_files_are_refused() {
        let bytes = bundle();
        let last = header_at(&bytes, "files/share/empty");
        // The last file dropped: the end marker comes early.
        let mut short = bytes[..last].to_vec();
        short.extend_from_slice(&ustar::END);
        assert!(matches!(
            open(&short).unwrap().check_files(),
            Err(BundleError::MissingFile { expected }) if expected == "files/share/empty"
        ));
        // An extra file after the last.
        let mut extra = bytes[..bytes.len() - 1024].to_vec();
        extra.extend_from_slice(&ustar::header("files/zzz", 0, 0o644).unwrap());
        extra.extend_from_slice(&ustar::END);
        assert!(matches!(
            open(&extra).unwrap().check_files(),
            Err(BundleError::ExtraEntry { found }) if found == "files/zzz"
        ));
        // A header that says a size or mode other than the manifest's.
        let mut resized = bytes[..last].to_vec();
        resized.extend_from_slice(&ustar::header("files/share/empty", 512, 0o644).unwrap());
        resized.extend_from_slice(&[0; 512]);
        resized.extend_from_slice(&ustar::END);
        assert!(matches!(
            open(&resized).unwrap().check_files(),
            Err(BundleError::SizeMismatch {
                found: 512,
                expected: 0,
                ..
            })
        ));
        let mut remoded = bytes[..last].to_vec();
        remoded.extend_from_slice(&ustar::header("files/share/empty", 0, 0o755).unwrap());
        remoded.extend_from_slice(&ustar::END);
        assert!(matches!(
            open(&remoded).unwrap().check_files(),
            Err(BundleError::ModeMismatch {
                found: 0o755,
                expected: 0o644,
                ..
            })
        ));
        // Cut anywhere: refused.
        for len in [0, 100, 512, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                open(&bytes[..len]).and_then(Bundle::check_files).is_err(),
                "{len}"
            );
        }
    }

    #[test]
    fn something_else_than_a_bundle_is_named_as_such() {
        let mut other = ustar::header("README", 0, 0o644).unwrap().to_vec();
        other.extend_from_slice(&ustar::END);
        let err = open(&other).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the bundle has `README` where `manifest.json` should be: this is not a booth release bundle (made by `booth-release sign`)"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            if let Ok(bundle) = open(&bytes) {
                let _ = bundle.check_files();
            }
        }

        #[test]
        fn a_damaged_bundle_never_panics_and_is_refused(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..), 1..4),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let original = bundle();
            let mut bytes = original.clone();
            for (at, flip) in &edits {
                let at = at.index(bytes.len());
                bytes[at] ^= flip;
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len()));
            }
            // Two edits of one byte may cancel out.
            prop_assume!(bytes != original);
            let result = open(&bytes).and_then(Bundle::check_files);
            prop_assert!(result.is_err());
        }
    }
}
