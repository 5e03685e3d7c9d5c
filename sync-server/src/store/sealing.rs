//! Personal data at rest: how a backend seals a value before it writes it and opens it after
//! it reads it, so a copied database file or backup holds no readable name, ID number,
//! address or phone number. Backend-neutral: the SQLite store uses it, and a PostgreSQL store
//! must seal the same columns the same way (see `docs/personal-data.md`).
//!
//! - Sealing is XChaCha20-Poly1305 with a random 192-bit nonce per value (no nonce bookkeeping,
//!   no reuse across processes) under the newest at-rest key of the [`KeyRing`]; every key in
//!   the ring still opens what it sealed, which is what lets a rotation re-seal row by row.
//! - The associated data is the value's [`Place`] (table, column, row key): a sealed value
//!   copied into another row or column no longer opens, so one applicant's data cannot be
//!   swapped into another's submission without the key.
//! - A sealed value is text, `$s1$<key id>$<base64url(nonce ‖ ciphertext ‖ tag)>`, so it fits
//!   the existing TEXT columns, says which key opens it, and tells itself apart from a value
//!   written before sealing existed (a JSON body starts with `{`).
//! - Lookups by ID number go through [`KeyRing::id_lookup`], HMAC-SHA256 under a key of its
//!   own: equal numbers give equal lookups, and a copied database does not let anyone test a
//!   guessed number (the 18-digit space with a known birth date and region is small enough to
//!   brute-force an unkeyed hash).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The length of every key in the ring.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// What starts a sealed file.
const BYTES_MAGIC: &[u8; 4] = b"CBR1";
const PREFIX: &str = "$s1$";

/// Why a stored value did not open. Cloneable, because store errors are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "it is sealed with at-rest key {key_id}, which the key file lacks: pass the key file this database was sealed with"
    )]
    UnknownKey { key_id: u32 },
    #[error(
        "it does not open with at-rest key {key_id}: the key file is not the one this database was sealed with, or the value was changed outside the server; pass the right key file, or restore the row from a backup"
    )]
    DoesNotOpen { key_id: u32 },
    #[error("it starts like a sealed value but is cut or garbled: restore the row from a backup")]
    Malformed,
    #[error(
        "it holds plain text where a sealed value belongs (written outside the server): restore the row from a backup"
    )]
    NotSealed,
}

/// Where a value lives; the associated data of its seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub table: &'a str,
    pub column: &'a str,
    /// The row's key (a submission id, a change number) as text.
    pub row: &'a str,
}

impl Place<'_> {
    fn associated_data(&self) -> Vec<u8> {
        // Lengths first, so no two places share associated data whatever their text.
        let mut aad = b"sync-server/seal/v1".to_vec();
        for part in [self.table, self.column, self.row] {
            aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} of row {}", self.table, self.column, self.row)
    }
}

/// What a stored value is, read from its prefix alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Written before sealing existed (or never sealed): the text itself.
    Plain,
    /// Sealed under this at-rest key.
    Sealed { key_id: u32 },
}

impl Stored {
    pub fn of(text: &str) -> Self {
        match text
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('$'))
            .and_then(|(id, _)| id.parse().ok())
        {
            Some(key_id) => Self::Sealed { key_id },
            None => Self::Plain,
        }
    }
}

/// One at-rest key and its number.
#[derive(Clone)]
pub struct AtRestKey {
    pub id: u32,
    pub key: [u8; KEY_LEN],
}

impl fmt::Debug for AtRestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtRestKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The keys a store seals and looks up with: at-rest keys by id (the highest seals, all
/// open) and the lookup key.
#[derive(Clone)]
pub struct KeyRing {
    ciphers: BTreeMap<u32, XChaCha20Poly1305>,
    lookup: Hmac<Sha256>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("at_rest_key_ids", &self.ciphers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key ring needs at least one at-rest key")]
pub struct NoAtRestKey;

impl KeyRing {
    pub fn new(at_rest: &[AtRestKey], lookup: &[u8; KEY_LEN]) -> Result<Self, NoAtRestKey> {
        if at_rest.is_empty() {
            return Err(NoAtRestKey);
        }
        Ok(Self {
            ciphers: at_rest
                .iter()
                .map(|k| (k.id, XChaCha20Poly1305::new(&k.key.into())))
                .collect(),
            lookup: <Hmac<Sha256> as Mac>::new_from_slice(lookup)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
        })
    }

    /// A ring of fresh random keys (tests, benchmarks).
    pub fn generate() -> Self {
        let key = AtRestKey {
            id: 1,
            key: random_key(),
        };
        Self::new(&[key], &random_key()).unwrap_or_else(|_| unreachable!("one key given"))
    }

    /// The key new values are sealed with.
    pub fn newest(&self) -> u32 {
        self.ciphers.keys().next_back().copied().unwrap_or_default()
    }

    pub fn key_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.ciphers.keys().copied()
    }

    /// Seals `plaintext` for `place` under the newest key.
    pub fn seal(&self, place: Place<'_>, plaintext: &str) -> String {
        let id = self.newest();
        let cipher = &self.ciphers[&id];
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let aad = place.associated_data();
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 seals any length we store"));
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{id}${}", B64.encode(bytes))
    }

    /// Opens what [`Self::seal`] made for the same `place`. A value that is not sealed
    /// ([`Stored::Plain`]) is an error here: callers that accept legacy plaintext ask
    /// [`Stored::of`] first.
    pub fn open(&self, place: Place<'_>, stored: &str) -> Result<String, SealError> {
        let (key_id, encoded) = stored
            .strip_prefix(PREFIX)
            .ok_or(SealError::NotSealed)?
            .split_once('$')
            .and_then(|(id, rest)| Some((id.parse::<u32>().ok()?, rest)))
            .ok_or(SealError::Malformed)?;
        let cipher = self
            .ciphers
            .get(&key_id)
            .ok_or(SealError::UnknownKey { key_id })?;
        let bytes = B64.decode(encoded).map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = place.associated_data();
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::DoesNotOpen { key_id })?;
        String::from_utf8(plain).map_err(|_| SealError::DoesNotOpen { key_id })
    }

    /// Seals bytes (a file) for `place` under the newest key: `CBR1`, the key id (4 bytes,
    /// big-endian), the nonce, the ciphertext.
    pub fn seal_bytes(&self, place: Place<'_>, plain: &[u8]) -> Vec<u8> {
        let id = self.newest();
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let aad = place.associated_data();
        let sealed = self.ciphers[&id]
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 seals any length we store"));
        let mut out = Vec::with_capacity(BYTES_MAGIC.len() + 4 + NONCE_LEN + sealed.len());
        out.extend_from_slice(BYTES_MAGIC);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`Self::seal_bytes`] made for the same `place`.
    pub fn open_bytes(&self, place: Place<'_>, stored: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = stored
            .strip_prefix(BYTES_MAGIC)
            .ok_or(SealError::NotSealed)?;
        if rest.len() < 4 + NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (id, rest) = rest.split_at(4);
        let key_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let cipher = self
            .ciphers
            .get(&key_id)
            .ok_or(SealError::UnknownKey { key_id })?;
        let aad = place.associated_data();
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::DoesNotOpen { key_id })
    }

    /// Opens a sealed value, or takes a legacy plaintext one as it is.
    pub fn open_or_plain(&self, place: Place<'_>, stored: &str) -> Result<String, SealError> {
        match Stored::of(stored) {
            Stored::Plain => Ok(stored.to_owned()),
            Stored::Sealed { .. } => self.open(place, stored),
        }
    }

    /// The keyed hash an ID number is looked up by (lowercase hex). Spaces are ignored and a
    /// final `x` counts as `X`, as people type it.
    pub fn id_lookup(&self, id_number: &str) -> String {
        let normalised: String = id_number
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        self.lookup_of(&format!("id-number/v1/{normalised}"))
    }

    /// A value that changes with the lookup key only: kept beside the data, it tells a key
    /// file with another lookup key from the right one.
    pub fn lookup_check(&self) -> String {
        self.lookup_of("lookup-check/v1")
    }

    fn lookup_of(&self, text: &str) -> String {
        let mut mac = self.lookup.clone();
        mac.update(text.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// 32 bytes from the operating system's generator.
pub fn random_key() -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    fill_random(&mut key);
    key
}

fn fill_random(bytes: &mut [u8]) {
    // Without randomness nothing can be sealed safely; no fallback is acceptable.
    getrandom::fill(bytes).unwrap_or_else(|e| panic!("the system random generator failed: {e}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: Place<'static> = Place {
        table: "submissions",
        column: "body",
        row: "0190a3c2-0000-7000-8000-000000000001",
    };

    #[test]
    fn a_sealed_value_opens_only_in_its_place_with_its_key() {
        let ring = KeyRing::generate();
        let sealed = ring.seal(BODY, "李秀英 450902196208150028");
        assert!(!sealed.contains("李秀英") && !sealed.contains("196208150028"));
        assert_eq!(Stored::of(&sealed), Stored::Sealed { key_id: 1 });
        assert_eq!(
            ring.open(BODY, &sealed).unwrap(),
            "李秀英 450902196208150028"
        );

        let other_row = Place {
            row: "0190a3c2-0000-7000-8000-000000000002",
            ..BODY
        };
        assert_eq!(
            ring.open(other_row, &sealed),
            Err(SealError::DoesNotOpen { key_id: 1 })
        );
        let other_column = Place {
            column: "note",
            ..BODY
        };
        assert!(ring.open(other_column, &sealed).is_err());
        assert_eq!(
            KeyRing::generate().open(BODY, &sealed),
            Err(SealError::DoesNotOpen { key_id: 1 }),
            "another key file"
        );
    }

    #[test]
    fn a_sealed_file_opens_only_in_its_place_and_every_changed_byte_is_detected() {
        let ring = KeyRing::generate();
        let file = Place {
            table: "attachments",
            column: "file",
            row: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        };
        let page = b"\xFF\xD8 a photographed household register page \xFF\xD9";
        let sealed = ring.seal_bytes(file, page);
        assert!(sealed.starts_with(b"CBR1"));
        assert!(!sealed.windows(12).any(|w| w == b"photographed"));
        assert_eq!(ring.open_bytes(file, &sealed).unwrap(), page);
        let other = Place { row: "00", ..file };
        assert_eq!(
            ring.open_bytes(other, &sealed),
            Err(SealError::DoesNotOpen { key_id: 1 })
        );
        for index in 4..sealed.len() {
            let mut changed = sealed.clone();
            changed[index] ^= 0x01;
            assert!(ring.open_bytes(file, &changed).is_err(), "byte {index}");
        }
        assert_eq!(ring.open_bytes(file, page), Err(SealError::NotSealed));
        assert_eq!(
            ring.open_bytes(file, b"CBR1\0\0"),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn every_changed_byte_is_detected() {
        let ring = KeyRing::generate();
        let sealed = ring.seal(BODY, "{\"name\":\"李秀英\"}");
        let start = sealed.rfind('$').unwrap() + 1;
        for index in start..sealed.len() {
            let mut bytes = sealed.clone().into_bytes();
            bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(ring.open(BODY, &changed).is_err(), "byte {index}");
        }
        assert_eq!(ring.open(BODY, "$s1$1$"), Err(SealError::Malformed));
    }

    #[test]
    fn the_newest_key_seals_and_every_key_opens() {
        let old = AtRestKey {
            id: 1,
            key: random_key(),
        };
        let new = AtRestKey {
            id: 2,
            key: random_key(),
        };
        let lookup = random_key();
        let before = KeyRing::new(std::slice::from_ref(&old), &lookup).unwrap();
        let after = KeyRing::new(&[new.clone(), old], &lookup).unwrap();
        let sealed_before = before.seal(BODY, "地址");
        assert_eq!(after.newest(), 2);
        assert_eq!(after.open(BODY, &sealed_before).unwrap(), "地址");
        assert_eq!(
            Stored::of(&after.seal(BODY, "x")),
            Stored::Sealed { key_id: 2 }
        );
        let without_old = KeyRing::new(&[new], &lookup).unwrap();
        assert_eq!(
            without_old.open(BODY, &sealed_before),
            Err(SealError::UnknownKey { key_id: 1 })
        );
    }

    #[test]
    fn two_seals_of_one_value_differ_and_legacy_text_is_plain() {
        let ring = KeyRing::generate();
        assert_ne!(ring.seal(BODY, "同一个"), ring.seal(BODY, "同一个"));
        assert_eq!(Stored::of("{\"id\":\"x\"}"), Stored::Plain);
        assert_eq!(Stored::of("$s1$x$abc"), Stored::Plain);
        assert_eq!(ring.open_or_plain(BODY, "{}").unwrap(), "{}");
        assert_eq!(ring.open(BODY, "{}"), Err(SealError::NotSealed));
    }

    #[test]
    fn lookups_are_keyed_and_ignore_how_the_number_was_typed() {
        let ring = KeyRing::generate();
        assert_eq!(
            ring.id_lookup("11010519491231002x"),
            ring.id_lookup(" 11010519491231002X ")
        );
        assert_ne!(
            ring.id_lookup("11010519491231002X"),
            ring.id_lookup("110105194912310037")
        );
        assert_ne!(
            ring.id_lookup("11010519491231002X"),
            KeyRing::generate().id_lookup("11010519491231002X")
        );
        assert!(!ring.id_lookup("11010519491231002X").contains("1101"));
    }
}
