//! Identity numbers: GB 11643 (ISO 7064 MOD 11-2) validation and the masked form every log,
//! screen and receipt shows.

use std::fmt;

use chrono::NaiveDate;

/// GB 11643 weights for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check character for each value of the weighted sum mod 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// An identity number (resident ID, permit, permanent-residence or pass number).
///
/// `Display`, `Debug` and `Serialize` show only the masked form (`110105********002X`), so the
/// number cannot reach a log or a JSON file by accident. [`IdNumber::expose`] returns the full
/// number for the rare code that must have it (matching records, submitting an application).
/// `Deserialize` reads the full number, for card fixture files; a round trip through serde is
/// lossy on purpose.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

/// Why an ID number is not valid. Messages never quote the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("the number has {found} characters instead of {expected}")]
    Length { expected: usize, found: usize },
    #[error("character {position} of the number is not allowed there")]
    Character { position: usize },
    #[error("the number's check character does not match (GB 11643 MOD 11-2)")]
    CheckDigit,
    #[error("characters 7 to 14 of the number are not a real birth date")]
    BirthDate,
    #[error("the birth date inside the number differs from the card's birth date")]
    BirthMismatch,
}

impl IdNumber {
    /// Wraps a number as read, without validating it.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// Parses an 18-character GB 11643 number typed by a person: surrounding spaces are dropped
    /// and a lower-case `x` is accepted.
    pub fn parse_gb11643(text: &str) -> Result<Self, IdNumberError> {
        let number = text.trim().to_ascii_uppercase();
        check_gb11643(&number)?;
        Ok(Self(number))
    }

    /// The full, unmasked number. Never log or display it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form safe to show anywhere, e.g. `110105********002X`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// Validates the number as GB 11643 and returns the birth date it encodes.
    pub fn check_gb11643(&self) -> Result<NaiveDate, IdNumberError> {
        check_gb11643(&self.0)
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl serde::Serialize for IdNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.masked())
    }
}

impl<'de> serde::Deserialize<'de> for IdNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(Self(raw.trim().to_owned()))
    }
}

/// Masks a number: 18- and 15-character numbers keep their first 6 and last 4 characters;
/// shorter ones (a 9-character pass number) keep 2 and 2; anything under 8 keeps 1 and 1, and
/// under 4 keeps nothing. Every hidden character becomes one `*`.
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        15.. => (6, 4),
        8..15 => (2, 2),
        4..8 => (1, 1),
        _ => (0, 0),
    };
    let mut out = String::with_capacity(n);
    out.extend(&chars[..head]);
    out.extend(std::iter::repeat_n('*', n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// The GB 11643 check character for the first 17 digits, or `None` if they are not 17 digits.
pub fn check_character(first_17: &str) -> Option<char> {
    if first_17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (byte, weight) in first_17.bytes().zip(WEIGHTS) {
        let digit = char::from(byte).to_digit(10)?;
        sum += digit * weight;
    }
    CHECK_CHARS.get((sum % 11) as usize).copied()
}

/// Validates an 18-character GB 11643 number (resident ID, HK/Macau/Taiwan residence permit,
/// 2023 foreign permanent resident card) and returns the birth date in characters 7-14.
pub fn check_gb11643(number: &str) -> Result<NaiveDate, IdNumberError> {
    let found = number.chars().count();
    if found != 18 {
        return Err(IdNumberError::Length {
            expected: 18,
            found,
        });
    }
    let bytes = number.as_bytes();
    if let Some(position) = bytes[..17].iter().position(|b| !b.is_ascii_digit()) {
        return Err(IdNumberError::Character {
            position: position + 1,
        });
    }
    let last = char::from(bytes[17]).to_ascii_uppercase();
    if !(last.is_ascii_digit() || last == 'X') {
        return Err(IdNumberError::Character { position: 18 });
    }
    let birth = parse_yyyymmdd(&number[6..14]).ok_or(IdNumberError::BirthDate)?;
    if check_character(&number[..17]) != Some(last) {
        return Err(IdNumberError::CheckDigit);
    }
    Ok(birth)
}

/// Checks a 2017 foreign permanent resident number: three letters (nationality) then twelve
/// digits. Its check digit scheme is not documented in any source checked, so it is not tested.
pub fn check_foreign_2017(number: &str) -> Result<(), IdNumberError> {
    let found = number.chars().count();
    if found != 15 {
        return Err(IdNumberError::Length {
            expected: 15,
            found,
        });
    }
    for (index, byte) in number.bytes().enumerate() {
        let ok = if index < 3 {
            byte.is_ascii_uppercase()
        } else {
            byte.is_ascii_digit()
        };
        if !ok {
            return Err(IdNumberError::Character {
                position: index + 1,
            });
        }
    }
    Ok(())
}

/// `YYYYMMDD` of ASCII digits as a date.
pub(crate) fn parse_yyyymmdd(text: &str) -> Option<NaiveDate> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = text[..4].parse().ok()?;
    let month = text[4..6].parse().ok()?;
    let day = text[6..8].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vectors() {
        assert_eq!(
            check_gb11643("360426199101010071"),
            Ok(NaiveDate::from_ymd_opt(1991, 1, 1).unwrap())
        );
        assert_eq!(
            check_gb11643("120103198806018241"),
            Ok(NaiveDate::from_ymd_opt(1988, 6, 1).unwrap())
        );
        assert_eq!(
            check_gb11643("360426199101010072"),
            Err(IdNumberError::CheckDigit)
        );
        assert_eq!(
            check_gb11643("11010519491231002X"),
            Ok(NaiveDate::from_ymd_opt(1949, 12, 31).unwrap())
        );
        assert_eq!(check_character("11010519491231002"), Some('X'));
    }

    #[test]
    fn malformed_numbers_say_what_is_wrong() {
        assert_eq!(
            check_gb11643("36042619910101007"),
            Err(IdNumberError::Length {
                expected: 18,
                found: 17
            })
        );
        assert_eq!(
            check_gb11643("3604261991010100A1"),
            Err(IdNumberError::Character { position: 17 })
        );
        assert_eq!(
            check_gb11643("36042619910101007Y"),
            Err(IdNumberError::Character { position: 18 })
        );
        // 1991-02-30 does not exist, whatever the check digit says.
        assert_eq!(
            check_gb11643("360426199102300071"),
            Err(IdNumberError::BirthDate)
        );
    }

    #[test]
    fn full_width_digits_are_rejected_without_panicking() {
        let err = check_gb11643("３６０426199101010071").unwrap_err();
        assert!(matches!(err, IdNumberError::Character { position: 1 }));
    }

    #[test]
    fn lower_case_x_is_accepted_when_typed() {
        let number = IdNumber::parse_gb11643(" 11010519491231002x ").unwrap();
        assert_eq!(number.expose(), "11010519491231002X");
    }

    #[test]
    fn masking_keeps_six_and_four() {
        let number = IdNumber::new("11010519491231002X");
        assert_eq!(number.masked(), "110105********002X");
        assert_eq!(number.to_string(), "110105********002X");
        assert_eq!(format!("{number:?}"), "IdNumber(110105********002X)");
        assert_eq!(
            serde_json::to_string(&number).unwrap(),
            "\"110105********002X\""
        );
        assert_eq!(mask("USA110080010101"), "USA110*****0101");
        assert_eq!(mask("H01234567"), "H0*****67");
        assert_eq!(mask("12345"), "1***5");
        assert_eq!(mask("123"), "***");
        assert_eq!(mask(""), "");
        assert_eq!(
            mask("张三李四王五赵六钱七孙八周九吴十"),
            "张三李四王五******周九吴十"
        );
    }

    #[test]
    fn deserialising_reads_the_full_number() {
        let number: IdNumber = serde_json::from_str("\"11010519491231002X\"").unwrap();
        assert_eq!(number.expose(), "11010519491231002X");
    }

    #[test]
    fn foreign_2017_numbers() {
        assert_eq!(check_foreign_2017("USA110080010101"), Ok(()));
        assert_eq!(
            check_foreign_2017("US1110080010101"),
            Err(IdNumberError::Character { position: 3 })
        );
        assert_eq!(
            check_foreign_2017("USA11008001010"),
            Err(IdNumberError::Length {
                expected: 15,
                found: 14
            })
        );
    }
}
