//! The install request: the kiosk asks the updater to install a bundle it downloaded.
//!
//! `DATA/update/inbox/install-request.json`, written whole (temporary file, fsync, rename), so
//! the path unit that watches for it never starts the updater on half a request. The updater
//! reads it as untrusted input: it re-verifies the bundle's signature and policy itself, and
//! removes the request whatever the outcome so the path unit does not fire again.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::UpdateDirs;
use crate::atomic_file;

/// The request's format.
pub const REQUEST_FORMAT: u32 = 1;
/// A request is a few hundred bytes; the updater reads no more than this.
pub const MAX_REQUEST_BYTES: u64 = 4096;

/// "Install the bundle `file` of the inbox, which should be release `version`."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallRequest {
    pub format: u32,
    /// The release the kiosk expects (the updater believes only the signed manifest).
    pub version: String,
    /// The bundle file's SHA-256, lowercase hex, as the server announced it.
    pub bundle: String,
    /// The bundle's file name inside the inbox: no directories.
    pub file: String,
}

/// Why a request cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(
        "the bundle file name `{0}` is not a plain name in the inbox: give the name only (letters, digits, `.`, `-`, `_`)"
    )]
    FileName(String),
    #[error("the bundle digest `{0}` is not 64 lowercase hex digits")]
    Digest(String),
    #[error(
        "install request format {0} is not {REQUEST_FORMAT}: the kiosk and the updater differ; update the booth image"
    )]
    Format(u32),
    #[error("cannot write the install request {}: {source}; check the data partition", .path.display())]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the install request is not valid JSON ({0}): it was not written by the kiosk")]
    Json(#[source] serde_json::Error),
}

impl InstallRequest {
    pub fn new(version: &str, bundle_sha256: &str, file: &str) -> Result<Self, RequestError> {
        let request = Self {
            format: REQUEST_FORMAT,
            version: version.to_owned(),
            bundle: bundle_sha256.to_owned(),
            file: file.to_owned(),
        };
        request.validate()?;
        Ok(request)
    }

    /// The checks both sides make: a plain file name, a digest, the format.
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.format != REQUEST_FORMAT {
            return Err(RequestError::Format(self.format));
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if self.file.is_empty()
            || self.file.len() > 128
            || self.file.starts_with('.')
            || !self.file.chars().all(plain)
        {
            return Err(RequestError::FileName(self.file.chars().take(64).collect()));
        }
        if self.bundle.len() != 64
            || !self
                .bundle
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(RequestError::Digest(self.bundle.chars().take(80).collect()));
        }
        Ok(())
    }

    /// Reads and checks a request's bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RequestError> {
        let request: Self = serde_json::from_slice(bytes).map_err(RequestError::Json)?;
        request.validate()?;
        Ok(request)
    }

    /// Writes the request into the inbox, whole; the updater starts on it.
    pub fn write(&self, dirs: &UpdateDirs) -> Result<(), RequestError> {
        self.validate()?;
        let path = dirs.install_request();
        let bytes = serde_json::to_vec_pretty(self).expect("a request is plain data");
        atomic_file::write(&path, &bytes, atomic_file::PRIVATE).map_err(|source| {
            RequestError::Write {
                path: path.clone(),
                source,
            }
        })
    }

    /// The bundle's path in the inbox.
    pub fn bundle_path(&self, dirs: &UpdateDirs) -> std::path::PathBuf {
        dirs.inbox.join(Path::new(&self.file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_request_is_written_whole_and_read_back() {
        let data = tempfile::tempdir().unwrap();
        let dirs = UpdateDirs::new(data.path());
        std::fs::create_dir_all(&dirs.inbox).unwrap();
        let request = InstallRequest::new("1.3.0", DIGEST, "1.3.0.bundle").unwrap();
        request.write(&dirs).unwrap();
        let bytes = std::fs::read(dirs.install_request()).unwrap();
        assert_eq!(InstallRequest::from_json(&bytes).unwrap(), request);
        assert_eq!(request.bundle_path(&dirs), dirs.inbox.join("1.3.0.bundle"));
        let names: Vec<_> = std::fs::read_dir(&dirs.inbox).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary left");
    }

    #[test]
    fn a_request_cannot_point_outside_the_inbox() {
        for file in ["../state.json", "/etc/shadow", "a/b", ".hidden", "", "a b"] {
            assert!(
                matches!(
                    InstallRequest::new("1.3.0", DIGEST, file),
                    Err(RequestError::FileName(_))
                ),
                "{file:?}"
            );
        }
        assert!(matches!(
            InstallRequest::new("1.3.0", &DIGEST.to_uppercase(), "x.bundle"),
            Err(RequestError::Digest(_))
        ));
        let text =
            format!(r#"{{"format":1,"version":"1","bundle":"{DIGEST}","file":"x","extra":1}}"#);
        assert!(matches!(
            InstallRequest::from_json(text.as_bytes()),
            Err(RequestError::Json(_))
        ));
        let text = format!(r#"{{"format":2,"version":"1","bundle":"{DIGEST}","file":"x"}}"#);
        assert!(matches!(
            InstallRequest::from_json(text.as_bytes()),
            Err(RequestError::Format(2))
        ));
    }
}
