//! Receipt numbers: issued by a booth offline, unique across the fleet, short enough to read
//! out over the phone, with a check symbol so a mistyped number is caught.
//!
//! Format `KKK-SSSSS-C` in Crockford base32 (no I, L, O, U): `KKK` the booth's kiosk number
//! (up to 32,767 booths), `SSSSS` its sequence number (up to 33 million receipts per booth),
//! `C` a check symbol (Damm's algorithm over GF(32)) that catches every single mistyped
//! character and every swap of two neighbours. Typed input may use any case,
//! omit or misplace dashes, and write O for 0 and I or L for 1.

use std::fmt;
use std::str::FromStr;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const KIOSK_DIGITS: usize = 3;
const SEQ_DIGITS: usize = 5;

/// The largest kiosk number and sequence number that fit.
pub const MAX_KIOSK_NUMBER: u32 = 32u32.pow(KIOSK_DIGITS as u32) - 1;
pub const MAX_SEQ: u64 = 32u64.pow(SEQ_DIGITS as u32) - 1;

/// A valid receipt number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiptNumber {
    kiosk: u32,
    seq: u64,
}

/// Why a typed receipt number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("a receipt number has 9 letters and digits (like 07A-00042-M); `{0}` has {1}")]
    Length(String, usize),
    #[error("`{0}` is not a letter or digit used in receipt numbers")]
    Character(char),
    #[error("receipt number `{0}` fails its check: a character is mistyped")]
    Check(String),
}

impl ReceiptNumber {
    /// # Panics
    /// If `kiosk` or `seq` is out of range: callers check [`MAX_KIOSK_NUMBER`] at enrollment
    /// and [`MAX_SEQ`] before issuing.
    pub fn new(kiosk: u32, seq: u64) -> Self {
        assert!(
            kiosk <= MAX_KIOSK_NUMBER && seq <= MAX_SEQ,
            "receipt number out of range"
        );
        Self { kiosk, seq }
    }

    /// `None` when out of range.
    pub fn try_new(kiosk: u32, seq: u64) -> Option<Self> {
        (kiosk <= MAX_KIOSK_NUMBER && seq <= MAX_SEQ).then_some(Self { kiosk, seq })
    }

    pub fn kiosk(self) -> u32 {
        self.kiosk
    }

    pub fn seq(self) -> u64 {
        self.seq
    }

    fn digits(self) -> [u8; KIOSK_DIGITS + SEQ_DIGITS] {
        let mut out = [0u8; KIOSK_DIGITS + SEQ_DIGITS];
        let mut kiosk = u64::from(self.kiosk);
        for slot in out[..KIOSK_DIGITS].iter_mut().rev() {
            *slot = (kiosk % 32) as u8;
            kiosk /= 32;
        }
        let mut seq = self.seq;
        for slot in out[KIOSK_DIGITS..].iter_mut().rev() {
            *slot = (seq % 32) as u8;
            seq /= 32;
        }
        out
    }
}

/// Damm's check over GF(32): the quasigroup `x ∘ y = 2·(x + y)` (addition is XOR, the field
/// built on the primitive polynomial x⁵ + x² + 1) is weakly totally anti-symmetric with a zero
/// diagonal, so every single substitution and every swap of neighbours, check symbol included,
/// changes the result. Luhn mod 32 was tried first and misses swaps of 0 and Z.
fn check_value(values: &[u8]) -> u8 {
    values
        .iter()
        .fold(0u8, |interim, &value| times_two(interim ^ value))
}

/// Multiplication by the field element 2 (the polynomial x) in GF(32).
fn times_two(value: u8) -> u8 {
    let shifted = value << 1;
    if shifted & 0b10_0000 != 0 {
        shifted ^ 0b10_0101
    } else {
        shifted
    }
}

fn value_of(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|p| p as u8)
}

impl fmt::Display for ReceiptNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.digits();
        let symbol = |v: u8| char::from(ALPHABET[usize::from(v)]);
        let kiosk: String = digits[..KIOSK_DIGITS].iter().map(|&v| symbol(v)).collect();
        let seq: String = digits[KIOSK_DIGITS..].iter().map(|&v| symbol(v)).collect();
        write!(f, "{kiosk}-{seq}-{}", symbol(check_value(&digits)))
    }
}

impl FromStr for ReceiptNumber {
    type Err = ReceiptError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let significant: Vec<char> = text.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if significant.len() != KIOSK_DIGITS + SEQ_DIGITS + 1 {
            return Err(ReceiptError::Length(
                text.trim().to_owned(),
                significant.len(),
            ));
        }
        let values = significant
            .iter()
            .map(|&c| value_of(c).ok_or(ReceiptError::Character(c)))
            .collect::<Result<Vec<u8>, _>>()?;
        let (body, _) = values.split_at(KIOSK_DIGITS + SEQ_DIGITS);
        // Folding the check symbol in too gives zero exactly when it matches.
        if check_value(&values) != 0 {
            return Err(ReceiptError::Check(text.trim().to_owned()));
        }
        let kiosk = body[..KIOSK_DIGITS]
            .iter()
            .fold(0u32, |n, &v| n * 32 + u32::from(v));
        let seq = body[KIOSK_DIGITS..]
            .iter()
            .fold(0u64, |n, &v| n * 32 + u64::from(v));
        Ok(Self { kiosk, seq })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn numbers_print_in_groups_and_parse_back_forgivingly() {
        let number = ReceiptNumber::new(7, 42);
        let text = number.to_string();
        assert_eq!(text.len(), 11);
        assert!(text.starts_with("007-0001A-"), "{text}");
        assert_eq!(check_value(&[0; 8]), 0, "an all-zero body checks with 0");
        assert_eq!(text.parse(), Ok(number));
        assert_eq!(text.to_lowercase().replace('-', " ").parse(), Ok(number));
        assert_eq!(text.replace('0', "O").parse(), Ok(number));
        assert!(matches!(
            "007-0001".parse::<ReceiptNumber>(),
            Err(ReceiptError::Length(..))
        ));
        assert!(matches!(
            "007-0001U-0".parse::<ReceiptNumber>(),
            Err(ReceiptError::Character('U'))
        ));
    }

    proptest! {
        #[test]
        fn every_single_typo_and_neighbour_swap_is_caught(
            kiosk in 0..=MAX_KIOSK_NUMBER, seq in 0..=MAX_SEQ, at in 0usize..9, replacement in 0u8..32,
        ) {
            let text: Vec<char> = ReceiptNumber::new(kiosk, seq).to_string().chars().filter(|&c| c != '-').collect();
            let original = value_of(text[at]).unwrap();
            if replacement != original {
                let mut typo = text.clone();
                typo[at] = char::from(ALPHABET[usize::from(replacement)]);
                prop_assert!(typo.iter().collect::<String>().parse::<ReceiptNumber>().is_err());
            }
            if at < 8 && text[at] != text[at + 1] {
                let mut swapped = text.clone();
                swapped.swap(at, at + 1);
                let parsed = swapped.iter().collect::<String>().parse::<ReceiptNumber>();
                prop_assert!(parsed.is_err(), "{:?} vs {:?}", text, swapped);
            }
        }

        #[test]
        fn numbers_round_trip(kiosk in 0..=MAX_KIOSK_NUMBER, seq in 0..=MAX_SEQ) {
            let number = ReceiptNumber::new(kiosk, seq);
            prop_assert_eq!(number.to_string().parse::<ReceiptNumber>(), Ok(number));
        }
    }
}
