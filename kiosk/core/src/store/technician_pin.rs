//! The technician PIN: set at enrollment, asked for after the long press on the village name.
//!
//! Stored in the settings table as `sha256x<N>$<salt>$<hash>`: a random 16-byte salt and SHA-256
//! iterated N times over salt and PIN. A 4–12 digit PIN has little entropy, so whoever reads the
//! database could still try every PIN offline; the stretching only makes that take hours
//! instead of seconds for the longer PINs. That is enough here: the same disk holds the booth's
//! signing key, which is worth more than the PIN. Wrong tries at the screen are limited by the
//! technician page (a lock-out), not here.

use rusqlite::OptionalExtension;
use sha2::{Digest, Sha256};

use super::error::Fault;
use super::{Store, StoreError};

const KEY: &str = "technician_pin";
const SCHEME: &str = "sha256x";
/// About 50 ms in a release build on a booth's small CPU: unnoticed at the screen.
const ITERATIONS: u32 = 50_000;
const SALT_LEN: usize = 16;

/// A PIN of 4 to 12 digits. Its `Debug` never shows the digits.
#[derive(Clone, PartialEq, Eq)]
pub struct TechnicianPin(String);

impl std::fmt::Debug for TechnicianPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TechnicianPin(<redacted>)")
    }
}

/// Why a PIN could not be set.
#[derive(Debug, thiserror::Error)]
pub enum TechnicianPinError {
    #[error("the technician PIN must be 4 to 12 digits")]
    Format,
    #[error("cannot make a salt for the technician PIN")]
    Random(#[source] getrandom::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TechnicianPin {
    pub const MIN_LEN: usize = 4;
    pub const MAX_LEN: usize = 12;

    pub fn parse(text: &str) -> Result<Self, TechnicianPinError> {
        let text = text.trim();
        let digits = text.chars().all(|c| c.is_ascii_digit());
        if digits && (Self::MIN_LEN..=Self::MAX_LEN).contains(&text.len()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(TechnicianPinError::Format)
        }
    }
}

impl std::str::FromStr for TechnicianPin {
    type Err = TechnicianPinError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Store {
    /// Whether a technician PIN has been set on this booth.
    pub fn technician_pin_is_set(&self) -> Result<bool, StoreError> {
        let result = stored_pin(&self.conn).map(|pin| pin.is_some());
        self.finish(result)
    }

    /// Sets (or replaces) the technician PIN.
    pub fn set_technician_pin(&mut self, pin: &TechnicianPin) -> Result<(), TechnicianPinError> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(TechnicianPinError::Random)?;
        let value = format!(
            "{SCHEME}{ITERATIONS}${}${}",
            hex(&salt),
            hex(&stretch(&salt, pin.0.as_bytes(), ITERATIONS))
        );
        let result = self
            .conn
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [KEY, value.as_str()],
            )
            .map(|_| ())
            .map_err(Fault::from);
        Ok(self.finish(result)?)
    }

    /// Whether `pin` is the technician PIN; `false` when none is set.
    pub fn check_technician_pin(&self, pin: &str) -> Result<bool, StoreError> {
        let result = (|| {
            let Some(stored) = stored_pin(&self.conn)? else {
                return Ok(false);
            };
            let (iterations, salt, expected) =
                parse_stored(&stored).ok_or_else(|| Fault::decode(KEY, BadPinRecord))?;
            let actual = stretch(&salt, pin.trim().as_bytes(), iterations);
            Ok(constant_time_eq(&actual, &expected))
        })();
        self.finish(result)
    }
}

fn stored_pin(conn: &rusqlite::Connection) -> Result<Option<String>, Fault> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [KEY], |row| {
            row.get::<_, String>(0)
        })
        .optional()?)
}

#[derive(Debug, thiserror::Error)]
#[error("the stored technician PIN record is malformed: set the PIN again")]
struct BadPinRecord;

fn stretch(salt: &[u8], pin: &[u8], iterations: u32) -> [u8; 32] {
    let mut digest: [u8; 32] = Sha256::new()
        .chain_update(salt)
        .chain_update(pin)
        .finalize()
        .into();
    for _ in 1..iterations {
        digest = Sha256::new()
            .chain_update(digest)
            .chain_update(salt)
            .chain_update(pin)
            .finalize()
            .into();
    }
    digest
}

fn parse_stored(text: &str) -> Option<(u32, Vec<u8>, [u8; 32])> {
    let rest = text.strip_prefix(SCHEME)?;
    let mut parts = rest.split('$');
    let iterations: u32 = parts.next()?.parse().ok().filter(|n| *n > 0)?;
    let salt = unhex(parts.next()?)?;
    let hash: [u8; 32] = unhex(parts.next()?)?.try_into().ok()?;
    parts.next().is_none().then_some((iterations, salt, hash))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Compares without stopping at the first difference, so timing says nothing about the PIN.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_four_to_twelve_digits() {
        assert!(TechnicianPin::parse("1234").is_ok());
        assert!(TechnicianPin::parse(" 123456789012 ").is_ok());
        for bad in ["123", "1234567890123", "12a4", "", "１２３４"] {
            assert!(TechnicianPin::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            format!("{:?}", TechnicianPin::parse("2468").unwrap()),
            "TechnicianPin(<redacted>)"
        );
    }

    #[test]
    fn the_pin_is_stored_salted_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        assert!(!store.technician_pin_is_set().unwrap());
        assert!(!store.check_technician_pin("1234").unwrap());
        store
            .set_technician_pin(&TechnicianPin::parse("2468").unwrap())
            .unwrap();
        assert!(store.technician_pin_is_set().unwrap());
        assert!(store.check_technician_pin("2468").unwrap());
        assert!(!store.check_technician_pin("2469").unwrap());
        assert!(!store.check_technician_pin("").unwrap());
        let stored = stored_pin(&store.conn).unwrap().unwrap();
        assert!(!stored.contains("2468"), "{stored}");
        // Setting it again draws a new salt.
        store
            .set_technician_pin(&TechnicianPin::parse("2468").unwrap())
            .unwrap();
        assert_ne!(stored_pin(&store.conn).unwrap().unwrap(), stored);
        assert!(store.check_technician_pin("2468").unwrap());
    }

    #[test]
    fn stored_records_round_trip_and_malformed_ones_are_refused() {
        let salt = [7u8; SALT_LEN];
        let hash = stretch(&salt, b"1234", 3);
        let text = format!("{SCHEME}3${}${}", hex(&salt), hex(&hash));
        assert_eq!(parse_stored(&text), Some((3, salt.to_vec(), hash)));
        assert_eq!(parse_stored("plain1234"), None);
        assert_eq!(parse_stored(&format!("{SCHEME}0$00$00")), None);
        assert_eq!(parse_stored(&format!("{text}$extra")), None);
    }
}
