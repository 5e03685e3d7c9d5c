//! The file operations every step is built from, each durable when it returns: a power cut
//! afterwards finds the change whole, and a power cut during it finds the old state.

use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// An I/O failure on a named path.
#[derive(Debug, thiserror::Error)]
#[error("{what} {}: {source}", .path.display())]
pub struct FsError {
    pub what: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

pub fn err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> FsError + 'a {
    move |source| FsError {
        what,
        path: path.to_owned(),
        source,
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err("cannot sync the directory", dir))
}

/// Replaces `path` with `bytes`: temporary file with `mode`, fsync, rename, fsync of the
/// directory.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    let dir = parent(path);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = dir.join(format!(".{name}.tmp"));
    let written = (|| {
        let _ = fs::remove_file(&temporary);
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temporary)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&temporary);
        return Err(FsError {
            what: "cannot write",
            path: path.to_owned(),
            source,
        });
    }
    sync_dir(dir)
}

/// Points the symbolic link `link` at `target` atomically: a new link `<link>.new`, renamed
/// over `link`, then the directory fsynced. Readers see the old target or the new one.
pub fn switch_link(link: &Path, target: &str) -> Result<(), FsError> {
    let new = sibling(link, ".new");
    let _ = fs::remove_file(&new);
    std::os::unix::fs::symlink(target, &new).map_err(err("cannot make the link", &new))?;
    // A power cut here leaves `<link>.new` beside the old link: recovery removes it.
    crate::fail::point(&format!(
        "before-rename-{}",
        link.file_name().unwrap_or_default().to_string_lossy()
    ));
    fs::rename(&new, link).map_err(err("cannot switch the link", link))?;
    sync_dir(parent(link))
}

/// `<path><suffix>`.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The name a link points at; `None` when there is no link.
pub fn link_target(link: &Path) -> Result<Option<String>, FsError> {
    match fs::read_link(link) {
        Ok(target) => Ok(Some(target.to_string_lossy().into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err("cannot read the link", link)(e)),
    }
}

/// Removes a file that may be missing.
pub fn remove_file(path: &Path) -> Result<(), FsError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err("cannot remove", path)(e)),
    }
}

/// Removes a directory tree that may be missing.
pub fn remove_tree(path: &Path) -> Result<(), FsError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err("cannot remove", path)(e)),
    }
}

/// Makes `dir` (and its parents) if missing, and gives it `mode`.
pub fn ensure_dir(dir: &Path, mode: u32) -> Result<(), FsError> {
    fs::create_dir_all(dir).map_err(err("cannot make the directory", dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(err("cannot set the mode of", dir))
}

/// Reads a small file without following a symbolic link at its place (the kiosk's files are
/// the booth user's, who could leave a link to a file only root may read).
pub fn read_small_nofollow(path: &Path, max: u64) -> Result<Option<Vec<u8>>, FsError> {
    let file = match open_nofollow(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err("cannot read", path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(err("cannot read", path))?;
    if bytes.len() as u64 > max {
        return Err(FsError {
            what: "refusing an oversized file",
            path: path.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidData, format!("more than {max} bytes")),
        });
    }
    Ok(Some(bytes))
}

/// Opens a regular file for reading, refusing a symbolic link or anything not a regular file.
pub fn open_nofollow(path: &Path) -> io::Result<File> {
    let file = File::options()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Why a directory the updater trusts may not be trusted.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error(transparent)]
    Io(#[from] FsError),
    #[error(
        "{} is not a directory owned by the updater's user and writable by it alone: someone else could change what the booth runs; re-image the booth",
        .0.display()
    )]
    Untrusted(PathBuf),
}

/// Checks that `dir` is a real directory (not a link), owned by this process's effective user
/// and not writable by group or others. The data directory is the `booth` user's, so a
/// compromised app could try to replace `releases/` or `update/` with its own: this is the
/// updater's check that it did not.
pub fn check_own_dir(dir: &Path) -> Result<(), OwnerError> {
    let meta = fs::symlink_metadata(dir).map_err(err("cannot look at", dir))?;
    let me = rustix::process::geteuid().as_raw();
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(OwnerError::Untrusted(dir.to_owned()));
    }
    Ok(())
}

/// Copies `from` to the new file `to` (mode 0600), fsynced.
pub fn copy_durably(from: &Path, to: &Path) -> Result<(), FsError> {
    let mut source = File::open(from).map_err(err("cannot read", from))?;
    let mut target = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(err("cannot create", to))?;
    io::copy(&mut source, &mut target).map_err(err("cannot write", to))?;
    target.sync_all().map_err(err("cannot write", to))
}
