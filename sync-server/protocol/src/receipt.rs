//! Receipt numbers: issued by a booth offline, unique across the fleet, short enough to read
//! out over the phone, with a check symbol so a mistyped number is caught.
//!
//! Format `KKK-SSSSS-C` in Crockford base32 (no I, L, O, U): `KKK` the booth's kiosk number,
//! `SSSSS` its sequence number (up to 33 million receipts per booth), `C` a check symbol
//! (Damm's algorithm over GF(32)) that catches every single mistyped character and every swap
//! of two neighbours. Typed input may use any case, omit or misplace dashes, and write O for 0
//! and I or L for 1.
//!
//! Booths numbered past 32,767 (three symbols) get a fourth kiosk symbol, `KKKK-SSSSS-C`, up
//! to 1,048,575 booths on one server: a province's villages on one platform. Every number has
//! one spelling (the short one when it fits), so a receipt stays unique as text, and every
//! receipt printed before the long form existed reads as it always did.

use std::fmt;
use std::str::FromStr;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Kiosk symbols of the short form, and of the long form for booths past it.
const KIOSK_DIGITS: usize = 3;
const LONG_KIOSK_DIGITS: usize = 4;
const SEQ_DIGITS: usize = 5;
const MAX_DIGITS: usize = LONG_KIOSK_DIGITS + SEQ_DIGITS;

/// The first kiosk number written with four symbols.
pub const FIRST_LONG_KIOSK_NUMBER: u32 = 32u32.pow(KIOSK_DIGITS as u32);

/// The largest kiosk number and sequence number that fit.
pub const MAX_KIOSK_NUMBER: u32 = 32u32.pow(LONG_KIOSK_DIGITS as u32) - 1;
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
    #[error(
        "a receipt number has 9 letters and digits (like 07A-00042-M), 10 for booths numbered past 32767; `{0}` has {1}"
    )]
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

    /// How many symbols this number's kiosk part has.
    fn kiosk_digits(self) -> usize {
        if self.kiosk < FIRST_LONG_KIOSK_NUMBER {
            KIOSK_DIGITS
        } else {
            LONG_KIOSK_DIGITS
        }
    }

    /// The symbols' values without the check, and how many of them there are.
    fn digits(self) -> ([u8; MAX_DIGITS], usize) {
        let kiosk_digits = self.kiosk_digits();
        let len = kiosk_digits + SEQ_DIGITS;
        let mut out = [0u8; MAX_DIGITS];
        let mut kiosk = u64::from(self.kiosk);
        for slot in out[..kiosk_digits].iter_mut().rev() {
            *slot = (kiosk % 32) as u8;
            kiosk /= 32;
        }
        let mut seq = self.seq;
        for slot in out[kiosk_digits..len].iter_mut().rev() {
            *slot = (seq % 32) as u8;
            seq /= 32;
        }
        (out, len)
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
        let (digits, len) = self.digits();
        let digits = &digits[..len];
        let kiosk_digits = self.kiosk_digits();
        let symbol = |v: u8| char::from(ALPHABET[usize::from(v)]);
        let kiosk: String = digits[..kiosk_digits].iter().map(|&v| symbol(v)).collect();
        let seq: String = digits[kiosk_digits..].iter().map(|&v| symbol(v)).collect();
        write!(f, "{kiosk}-{seq}-{}", symbol(check_value(digits)))
    }
}

impl FromStr for ReceiptNumber {
    type Err = ReceiptError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let significant: Vec<char> = text.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        let kiosk_digits = match significant.len().checked_sub(SEQ_DIGITS + 1) {
            Some(KIOSK_DIGITS) => KIOSK_DIGITS,
            Some(LONG_KIOSK_DIGITS) => LONG_KIOSK_DIGITS,
            _ => {
                return Err(ReceiptError::Length(
                    text.trim().to_owned(),
                    significant.len(),
                ));
            }
        };
        let values = significant
            .iter()
            .map(|&c| value_of(c).ok_or(ReceiptError::Character(c)))
            .collect::<Result<Vec<u8>, _>>()?;
        let (body, _) = values.split_at(kiosk_digits + SEQ_DIGITS);
        // Folding the check symbol in too gives zero exactly when it matches.
        if check_value(&values) != 0 {
            return Err(ReceiptError::Check(text.trim().to_owned()));
        }
        let kiosk = body[..kiosk_digits]
            .iter()
            .fold(0u32, |n, &v| n * 32 + u32::from(v));
        let seq = body[kiosk_digits..]
            .iter()
            .fold(0u64, |n, &v| n * 32 + u64::from(v));
        let number = Self { kiosk, seq };
        // One spelling per number: a short booth number written long (a symbol too many that
        // happens to check) is not a receipt anyone was given.
        if number.kiosk_digits() != kiosk_digits {
            return Err(ReceiptError::Length(
                text.trim().to_owned(),
                significant.len(),
            ));
        }
        Ok(number)
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

    #[test]
    fn booths_past_32767_get_a_fourth_symbol_and_short_ones_keep_three() {
        let last_short = ReceiptNumber::new(FIRST_LONG_KIOSK_NUMBER - 1, 1).to_string();
        assert!(last_short.starts_with("ZZZ-00001-"), "{last_short}");
        let first_long = ReceiptNumber::new(FIRST_LONG_KIOSK_NUMBER, 1);
        let text = first_long.to_string();
        assert!(text.starts_with("1000-00001-"), "{text}");
        assert_eq!(text.parse(), Ok(first_long));
        let last = ReceiptNumber::new(MAX_KIOSK_NUMBER, MAX_SEQ);
        assert_eq!(last.to_string().parse(), Ok(last));
        assert!(ReceiptNumber::try_new(MAX_KIOSK_NUMBER + 1, 0).is_none());
        // A short number spelt long, even with a check symbol that fits, is refused: one
        // number, one spelling.
        let short = ReceiptNumber::new(7, 42);
        let (digits, len) = short.digits();
        let mut long = vec![0u8];
        long.extend_from_slice(&digits[..len]);
        long.push(check_value(&long));
        let spelt_long: String = long
            .iter()
            .map(|&v| char::from(ALPHABET[usize::from(v)]))
            .collect();
        assert!(matches!(
            spelt_long.parse::<ReceiptNumber>(),
            Err(ReceiptError::Length(_, 10))
        ));
    }

    proptest! {
        #[test]
        fn every_single_typo_and_neighbour_swap_is_caught(
            kiosk in 0..=MAX_KIOSK_NUMBER, seq in 0..=MAX_SEQ, at in 0usize..10, replacement in 0u8..32,
        ) {
            let text: Vec<char> = ReceiptNumber::new(kiosk, seq).to_string().chars().filter(|&c| c != '-').collect();
            let at = at % text.len();
            let original = value_of(text[at]).unwrap();
            if replacement != original {
                let mut typo = text.clone();
                typo[at] = char::from(ALPHABET[usize::from(replacement)]);
                prop_assert!(typo.iter().collect::<String>().parse::<ReceiptNumber>().is_err());
            }
            if at + 1 < text.len() && text[at] != text[at + 1] {
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
