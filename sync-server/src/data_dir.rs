//! Where the server keeps its files: `--data-dir DIR`, else `$SYNC_SERVER_DATA_DIR`, else
//! [`DEFAULT`]. The directory holds the database (`server.sqlite3` and its WAL files), which
//! holds applicants' personal data, and the secret the enrollment codes are keyed with
//! ([`CODE_SECRET_FILE`]); all of it is for the server's user alone.
//!
//! [`DataDir::create`] makes that so for what it creates (the directory 0700, the database and
//! the secret 0600: SQLite gives the WAL files the database's mode) and refuses to go on when
//! what is already there is open to other users, saying which `chmod` to run. One exception:
//! a directory that holds no database yet (made by `mkdir` or an installer under the default
//! umask) is made private here, since nothing of the server's has been in it.

use std::fs::{self, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// The environment variable naming the data directory.
pub const ENV: &str = "SYNC_SERVER_DATA_DIR";
/// The data directory when neither the flag nor the variable names one.
pub const DEFAULT: &str = "/var/lib/sync-server";
/// The database file inside the data directory.
pub const DB_FILE: &str = "server.sqlite3";
/// The key enrollment codes are hashed with (`crate::api::enroll_codes`), kept out of the
/// database so that a copy of the database alone does not give the codes away.
pub const CODE_SECRET_FILE: &str = "enroll-codes.key";
/// The length of a secret file's content.
pub const SECRET_LEN: usize = 32;

/// The permission bits of group and others.
const SHARED_BITS: u32 = 0o077;

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "cannot create data directory {path}: {source}: pass --data-dir DIR or set {ENV} to a directory you can write"
    )]
    Create {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{what} {path} is readable or writable by other users (mode {mode:03o}) and holds personal data: run `chmod {fix:o} {path}`"
    )]
    Shared {
        what: &'static str,
        path: String,
        mode: u32,
        fix: u32,
    },
    #[error("cannot {doing} {path}: {source}: check the data directory's owner and permissions")]
    Io {
        doing: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} is not a {SECRET_LEN}-byte secret (it has {found} bytes): restore it from the backup it was saved to; if it is lost, move it aside and issue new enrollment codes"
    )]
    BadSecret { path: String, found: usize },
}

fn io_error(doing: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DataDirError + use<> {
    let path = path.display().to_string();
    move |source| DataDirError::Io {
        doing,
        path,
        source,
    }
}

/// The data directory, resolved and created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// The flag's value, else the environment's, else [`DEFAULT`].
    pub fn resolve(flag: Option<&Path>) -> PathBuf {
        flag_env_or(flag, ENV, DEFAULT)
    }

    /// Creates `path` (mode 0700) if it does not exist and the database file (0600) in it,
    /// after checking that neither, nor any file of the server's in it, is open to other
    /// users.
    pub fn create(path: &Path) -> Result<Self, DataDirError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|source| DataDirError::Create {
                path: path.display().to_string(),
                source,
            })?;
        let dir = Self {
            path: path.to_owned(),
        };
        dir.make_private()?;
        for name in [
            DB_FILE.to_owned(),
            format!("{DB_FILE}-wal"),
            format!("{DB_FILE}-shm"),
            CODE_SECRET_FILE.to_owned(),
        ] {
            check_private_file(&dir.path.join(name))?;
        }
        let database = dir.database();
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&database)
        {
            // Empty: SQLite makes it a database, and its WAL files get its mode.
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(io_error("create the database", &database)(error)),
        }
        Ok(dir)
    }

    /// Refuses a shared directory, unless it holds no database yet: then it is made private.
    fn make_private(&self) -> Result<(), DataDirError> {
        let mode = fs::metadata(&self.path)
            .map_err(io_error("read the mode of", &self.path))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & SHARED_BITS == 0 {
            return Ok(());
        }
        let shared = || DataDirError::Shared {
            what: "data directory",
            path: self.path.display().to_string(),
            mode,
            fix: 0o700,
        };
        if self.database().exists() {
            return Err(shared());
        }
        fs::set_permissions(&self.path, fs::Permissions::from_mode(mode & !SHARED_BITS))
            .map_err(|_| shared())?;
        tracing::info!(data_dir = %self.path.display(), "made the new data directory private (mode 700)");
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn database(&self) -> PathBuf {
        self.path.join(DB_FILE)
    }

    /// The enrollment codes' key: read from [`CODE_SECRET_FILE`], made (0600, random) on
    /// first use. Two processes starting at once agree on one: the file appears whole or not
    /// at all (written aside, then linked into place, which fails if another was first).
    pub fn code_secret(&self) -> Result<[u8; SECRET_LEN], DataDirError> {
        let path = self.path.join(CODE_SECRET_FILE);
        if !path.exists() {
            self.write_new_secret(&path)?;
        }
        check_private_file(&path)?;
        let mut content = Vec::new();
        fs::File::open(&path)
            .and_then(|mut file| file.read_to_end(&mut content))
            .map_err(io_error("read", &path))?;
        content
            .try_into()
            .map_err(|content: Vec<u8>| DataDirError::BadSecret {
                path: path.display().to_string(),
                found: content.len(),
            })
    }

    fn write_new_secret(&self, path: &Path) -> Result<(), DataDirError> {
        let mut secret = [0u8; SECRET_LEN];
        getrandom::fill(&mut secret).map_err(|e| DataDirError::Io {
            doing: "make a random secret for",
            path: path.display().to_string(),
            source: io::Error::other(e),
        })?;
        let aside = self
            .path
            .join(format!(".{CODE_SECRET_FILE}.{}.new", std::process::id()));
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&aside)
            .and_then(|mut file| {
                file.write_all(&secret)?;
                file.sync_all()
            });
        let linked = written.and_then(|()| match fs::hard_link(&aside, path) {
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        });
        let _ = fs::remove_file(&aside);
        linked.map_err(io_error("write", path))?;
        fs::File::open(&self.path)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error("sync", &self.path))
    }
}

/// Refuses a file of the server's (if it exists) that group or others may read or write.
pub fn check_private_file(path: &Path) -> Result<(), DataDirError> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error("read the mode of", path)(error)),
    };
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & SHARED_BITS != 0 {
        return Err(DataDirError::Shared {
            what: "file",
            path: path.display().to_string(),
            mode,
            fix: 0o600,
        });
    }
    Ok(())
}

/// A path from a command-line flag, else from the environment variable `env` (when set and not
/// empty), else `default`: how every path the server takes is found.
pub fn flag_env_or(flag: Option<&Path>, env: &str, default: &str) -> PathBuf {
    flag.map(Path::to_owned)
        .or_else(|| {
            std::env::var_os(env)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(default))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn what_it_creates_is_the_owners_alone() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        let dir = DataDir::create(&path).unwrap();
        assert_eq!(mode(&path), 0o700);
        assert_eq!(mode(&dir.database()), 0o600);
        let secret = dir.code_secret().unwrap();
        assert_eq!(mode(&path.join(CODE_SECRET_FILE)), 0o600);
        assert_eq!(dir.code_secret().unwrap(), secret, "made once, then read");
        assert!(
            fs::read_dir(&path).unwrap().count() == 2,
            "no temporary file is left behind"
        );
    }

    #[test]
    fn a_new_directory_made_with_a_loose_umask_is_made_private() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        fs::create_dir(&path).unwrap();
        chmod(&path, 0o755);
        fs::write(path.join("seed.json"), "{}").unwrap();
        DataDir::create(&path).unwrap();
        assert_eq!(mode(&path), 0o700);
    }

    #[test]
    fn shared_data_is_refused_with_the_chmod_to_run() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        let dir = DataDir::create(&path).unwrap();
        dir.code_secret().unwrap();
        let path_text = path.display().to_string();

        chmod(&path, 0o750);
        let refused = DataDir::create(&path).unwrap_err().to_string();
        assert!(
            refused.contains(&format!("run `chmod 700 {path_text}`")),
            "{refused}"
        );
        assert!(!refused.contains('\n'));
        chmod(&path, 0o700);

        for (name, loose) in [
            (DB_FILE.to_owned(), 0o644),
            (format!("{DB_FILE}-wal"), 0o604),
            (CODE_SECRET_FILE.to_owned(), 0o660),
        ] {
            let file = path.join(&name);
            fs::write(&file, b"").unwrap();
            chmod(&file, loose);
            let refused = DataDir::create(&path).unwrap_err().to_string();
            assert!(
                refused.contains(&format!("run `chmod 600 {}`", file.display())),
                "{name}: {refused}"
            );
            chmod(&file, 0o600);
        }
        DataDir::create(&path).unwrap();
    }

    #[test]
    fn a_damaged_secret_is_refused() {
        let parent = tempfile::tempdir().unwrap();
        let dir = DataDir::create(parent.path()).unwrap();
        let file = parent.path().join(CODE_SECRET_FILE);
        fs::write(&file, b"short").unwrap();
        chmod(&file, 0o600);
        let refused = dir.code_secret().unwrap_err().to_string();
        assert!(refused.contains("5 bytes"), "{refused}");
    }
}
