//! The holder key: lets the ID card that handed a submission in list its receipts on this
//! booth without the booth keeping the ID number.
//!
//! The key is HMAC-SHA256 of the normalised ID number under a per-booth random secret kept in
//! its own file beside the database (`DATA/holder.secret`, mode 0600), not in the database: a
//! copied database alone cannot be brute-forced (ID numbers have little entropy: a plain hash
//! would be reversed by trying every birth date and serial). Deleting the file makes every
//! stored key unmatchable, which is a way to forget them all at once.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::StoreError;

/// The secret's file inside the data directory.
pub const SECRET_FILE: &str = "holder.secret";

const SECRET_LEN: usize = 32;
const BLOCK: usize = 64;

/// The per-booth secret.
#[derive(Clone)]
pub(crate) struct HolderSecret([u8; SECRET_LEN]);

impl std::fmt::Debug for HolderSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HolderSecret(..)")
    }
}

pub(crate) fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

/// The secret if it exists; `None` before the first submission with an ID number.
pub(crate) fn load(data_dir: &Path) -> Result<Option<HolderSecret>, StoreError> {
    let path = secret_path(data_dir);
    let io = |source| StoreError::HolderSecret {
        path: path.clone(),
        source,
    };
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io(source)),
    };
    let mut bytes = Vec::with_capacity(SECRET_LEN);
    file.read_to_end(&mut bytes).map_err(io)?;
    let secret: [u8; SECRET_LEN] = bytes.as_slice().try_into().map_err(|_| {
        io(std::io::Error::new(
            ErrorKind::InvalidData,
            format!("{} bytes, expected {SECRET_LEN}", bytes.len()),
        ))
    })?;
    Ok(Some(HolderSecret(secret)))
}

/// The secret, made from the system's randomness on first use. Two processes racing here
/// agree on one file: it is written aside and linked into place, which fails if it exists.
pub(crate) fn load_or_create(data_dir: &Path) -> Result<HolderSecret, StoreError> {
    if let Some(secret) = load(data_dir)? {
        return Ok(secret);
    }
    let path = secret_path(data_dir);
    let io = |source| StoreError::HolderSecret {
        path: path.clone(),
        source,
    };
    let mut secret = [0u8; SECRET_LEN];
    getrandom::fill(&mut secret).map_err(|e| io(std::io::Error::other(e)))?;
    let temporary = data_dir.join(format!(".{SECRET_FILE}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(&secret)?;
        file.sync_all()?;
        match fs::hard_link(&temporary, &path) {
            Err(error) if error.kind() != ErrorKind::AlreadyExists => return Err(error),
            _ => {}
        }
        File::open(data_dir)?.sync_all()
    })();
    let _ = fs::remove_file(&temporary);
    written.map_err(io)?;
    // Whoever linked first won; everyone uses that one.
    load(data_dir)?.ok_or_else(|| io(ErrorKind::NotFound.into()))
}

/// The key stored with the receipts of `id_number`: lowercase hex of
/// HMAC-SHA256(secret, number) over the number as printed on the card (trimmed, `x` → `X`).
pub(crate) fn holder_key(secret: &HolderSecret, id_number: &str) -> String {
    let number = id_number.trim().to_ascii_uppercase();
    hmac_sha256(&secret.0, number.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// RFC 2104 over SHA-256 (the key is shorter than a block, so it is only padded).
fn hmac_sha256(key: &[u8; SECRET_LEN], message: &[u8]) -> [u8; 32] {
    let mut padded = [0u8; BLOCK];
    padded[..SECRET_LEN].copy_from_slice(key);
    let inner_pad: Vec<u8> = padded.iter().map(|b| b ^ 0x36).collect();
    let outer_pad: Vec<u8> = padded.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_1() {
        // RFC 4231 test case 1 uses a 20-byte key of 0x0b; padded with zeros to 32 bytes it is
        // the same HMAC key (HMAC zero-pads keys to the block size).
        let mut key = [0u8; SECRET_LEN];
        key[..20].copy_from_slice(&[0x0b; 20]);
        let mac = hmac_sha256(&key, b"Hi There");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn the_key_ignores_case_and_spaces_and_depends_on_the_secret() {
        let a = HolderSecret([1; SECRET_LEN]);
        let b = HolderSecret([2; SECRET_LEN]);
        let number = "45090219800101002x";
        assert_eq!(
            holder_key(&a, number),
            holder_key(&a, " 45090219800101002X ")
        );
        assert_ne!(holder_key(&a, number), holder_key(&b, number));
        assert!(!holder_key(&a, number).contains("450902"));
    }

    #[test]
    fn the_secret_is_made_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temporary directory");
        assert!(load(dir.path()).expect("load").is_none());
        let first = load_or_create(dir.path()).expect("create");
        let again = load_or_create(dir.path()).expect("load again");
        assert_eq!(first.0, again.0);
        let mode = fs::metadata(secret_path(dir.path()))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
