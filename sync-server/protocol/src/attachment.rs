//! Files a submission carries (申请材料): the pages a villager photographed, each named by the
//! SHA-256 of its bytes and listed in the signed submission, then uploaded in chunks after it.
//!
//! The order is what makes files exactly-once: the submission (with its list) is ingested
//! first, exactly once like any other; the server then takes only files some submission of
//! that kiosk lists, at the size listed, and keeps a file only when its bytes hash to its name.
//! An upload resumes at the offset the server reports, so a cut costs at most the chunk in
//! flight, and a file the server already holds is never sent again. A submission is complete
//! when the server holds every file it lists.
//!
//! On the booth a page is sealed to the county's key ([`seal_file`], RFC 9180 HPKE as
//! [`crate::personal`]) before it is stored, so the queued file on a stolen disk is opaque; the
//! name is the hash of the sealed bytes, which are what travels. The server opens it with the
//! county's secret and keeps it sealed at rest under its own key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::personal::{CountyKey, CountySecret, OpenError};

/// The most files one submission may list.
pub const MAX_ATTACHMENTS: usize = 40;
/// The largest file: a page is about 500 KB; the cap leaves room for a dense page kept larger.
pub const MAX_ATTACHMENT_BYTES: u64 = 2 * 1024 * 1024;
/// The most bytes one upload request carries. Small enough that a heartbeat or a submission
/// waiting behind a chunk on a 512 kbit/s link waits about a second.
pub const MAX_CHUNK_BYTES: usize = 64 * 1024;
/// The longest material name, in characters.
pub const MAX_MATERIAL_NAME_CHARS: usize = 100;

/// One file a submission lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    /// Lowercase hex SHA-256 of the bytes uploaded (the sealed envelope when `sealed`).
    pub sha256: String,
    /// Their length.
    pub bytes: u64,
    /// Which of the item's materials (its index in the catalogue item's list at the
    /// submission's `catalog_version`, from 0).
    pub material: u16,
    /// The material's name as the booth showed it, so the page keeps its meaning if the
    /// catalogue changes.
    pub material_name: String,
    /// The page within the material, from 1.
    pub page: u16,
    /// Whether the bytes are a [`seal_file`] envelope (otherwise a plain JPEG).
    #[serde(default)]
    pub sealed: bool,
}

/// Why a submission's list of files is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListProblem {
    #[error("a submission lists at most {MAX_ATTACHMENTS} files")]
    TooMany,
    #[error("`{0}` is not a lowercase hex SHA-256")]
    BadHash(String),
    #[error("a file of {0} bytes is over the {MAX_ATTACHMENT_BYTES}-byte limit (or empty)")]
    BadSize(u64),
    #[error("the file {0} is listed twice")]
    Repeated(String),
    #[error("a material's name is empty or over {MAX_MATERIAL_NAME_CHARS} characters")]
    MaterialName,
    #[error("page numbers start at 1")]
    PageZero,
}

/// Checks a submission's list of files.
pub fn check_list(list: &[AttachmentRef]) -> Result<(), ListProblem> {
    if list.len() > MAX_ATTACHMENTS {
        return Err(ListProblem::TooMany);
    }
    let mut seen = std::collections::BTreeSet::new();
    for file in list {
        if !is_sha256_hex(&file.sha256) {
            return Err(ListProblem::BadHash(file.sha256.chars().take(80).collect()));
        }
        if file.bytes == 0 || file.bytes > MAX_ATTACHMENT_BYTES {
            return Err(ListProblem::BadSize(file.bytes));
        }
        if !seen.insert(file.sha256.as_str()) {
            return Err(ListProblem::Repeated(file.sha256.clone()));
        }
        let name = file.material_name.chars().count();
        if name == 0 || name > MAX_MATERIAL_NAME_CHARS {
            return Err(ListProblem::MaterialName);
        }
        if file.page == 0 {
            return Err(ListProblem::PageZero);
        }
    }
    Ok(())
}

/// Whether `text` is 64 lowercase hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The name of `bytes`: lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `GET /api/v1/attachments/{sha256}` and every upload's answer: how much of a listed file the
/// server holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentStatus {
    pub sha256: String,
    /// The listed size.
    pub bytes: u64,
    /// The bytes held so far: the offset the next chunk starts at.
    pub received: u64,
    /// Held whole, its hash checked.
    pub complete: bool,
}

/// The magic that starts a sealed file, and its version.
const SEALED_MAGIC: &[u8; 4] = b"CBF1";
/// HPKE's `info` for files: a file's envelope opens only as a file.
const FILE_INFO: &[u8] = b"convenience-booth/file/v1";

/// Seals `plain` (a page's JPEG) to the county's key, bound to its submission: `CBF1`, the
/// 32-byte encapsulated key, then the ciphertext.
pub fn seal_file(key: &CountyKey, submission: uuid::Uuid, plain: &[u8]) -> Vec<u8> {
    let (encapsulated, ciphertext) =
        crate::personal::seal_bytes(key, FILE_INFO, submission.as_bytes(), plain);
    let mut out = Vec::with_capacity(4 + encapsulated.len() + ciphertext.len());
    out.extend_from_slice(SEALED_MAGIC);
    out.extend_from_slice(&encapsulated);
    out.extend_from_slice(&ciphertext);
    out
}

/// Opens a [`seal_file`] envelope of `submission`.
pub fn open_file(
    secret: &CountySecret,
    submission: uuid::Uuid,
    sealed: &[u8],
) -> Result<Vec<u8>, OpenError> {
    let body = sealed
        .strip_prefix(SEALED_MAGIC)
        .ok_or(OpenError::Malformed)?;
    if body.len() < crate::personal::ENCAPSULATED_KEY_BYTES {
        return Err(OpenError::Malformed);
    }
    let (encapsulated, ciphertext) = body.split_at(crate::personal::ENCAPSULATED_KEY_BYTES);
    crate::personal::open_bytes(
        secret,
        FILE_INFO,
        submission.as_bytes(),
        encapsulated,
        ciphertext,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u16) -> AttachmentRef {
        AttachmentRef {
            sha256: sha256_hex(&[n as u8]),
            bytes: 400_000,
            material: 0,
            material_name: "居民户口簿".into(),
            page: n,
            sealed: true,
        }
    }

    #[test]
    fn a_list_is_checked_for_hashes_sizes_repeats_and_pages() {
        assert_eq!(check_list(&[page(1), page(2)]), Ok(()));
        let upper = AttachmentRef {
            sha256: page(1).sha256.to_uppercase(),
            ..page(1)
        };
        assert!(matches!(check_list(&[upper]), Err(ListProblem::BadHash(_))));
        let huge = AttachmentRef {
            bytes: MAX_ATTACHMENT_BYTES + 1,
            ..page(1)
        };
        assert_eq!(
            check_list(&[huge]),
            Err(ListProblem::BadSize(MAX_ATTACHMENT_BYTES + 1))
        );
        assert!(matches!(
            check_list(&[page(1), page(1)]),
            Err(ListProblem::Repeated(_))
        ));
        let zero = AttachmentRef { page: 0, ..page(3) };
        assert_eq!(check_list(&[zero]), Err(ListProblem::PageZero));
        let many: Vec<_> = (1..=MAX_ATTACHMENTS as u16 + 1).map(page).collect();
        assert_eq!(check_list(&many), Err(ListProblem::TooMany));
    }

    #[test]
    fn a_sealed_file_opens_only_for_its_submission_and_its_county() {
        let secret = CountySecret::from_seed(&[7; 32]);
        let other = CountySecret::from_seed(&[8; 32]);
        let id = uuid::Uuid::now_v7();
        let plain = b"\xFF\xD8 a page \xFF\xD9".to_vec();
        let sealed = seal_file(secret.public_key(), id, &plain);
        assert!(sealed.starts_with(b"CBF1"));
        assert!(!sealed.windows(6).any(|w| w == b"a page"));
        assert_eq!(open_file(&secret, id, &sealed).expect("opens"), plain);
        assert!(open_file(&secret, uuid::Uuid::now_v7(), &sealed).is_err());
        assert!(open_file(&other, id, &sealed).is_err());
        let mut tampered = sealed;
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(open_file(&secret, id, &tampered).is_err());
        assert!(open_file(&secret, id, b"CBF1").is_err());
    }
}
