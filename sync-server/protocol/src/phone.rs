//! Contact phone numbers a villager leaves to be called back: the one rule the booth (its
//! store refuses a submission [`crate::submission::Submission::validate`] refuses) and the
//! server (which refuses the item as `invalid`) both apply, so they cannot disagree.
//!
//! A number is an 11-digit mainland mobile number (1, then 3–9, then nine digits) or a
//! landline with its area code, 11 or 12 digits in all: 0, a digit 1–9, then the rest of the
//! area code and the local number (010-12345678, 0775-1234567, 0775-12345678). Single spaces
//! or hyphens may separate groups of digits; nothing else may be there (no leading `+`, no
//! letters, no surrounding whitespace: the booth trims what was typed).

/// What a valid number looks like, for messages.
pub const EXAMPLES: &str = "13800138000 or 0775-1234567";

/// Whether `text` is a contact phone number by the rule above.
pub fn is_valid(text: &str) -> bool {
    let separators_fine = text
        .split([' ', '-'])
        .all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()));
    if !separators_fine {
        return false;
    }
    let digits: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let mobile = digits.len() == 11 && digits[0] == 1 && (3..=9).contains(&digits[1]);
    let landline = (11..=12).contains(&digits.len()) && digits[0] == 0 && digits[1] != 0;
    mobile || landline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_and_landline_numbers_with_separators_are_valid() {
        for fine in [
            "13800138000",
            "19912345678",
            "138 0013 8000",
            "138-0013-8000",
            "010-12345678",
            "0775-1234567",
            "0775-12345678",
            "0775 1234567",
            "07751234567",
        ] {
            assert!(is_valid(fine), "{fine:?}");
        }
    }

    #[test]
    fn anything_else_is_invalid() {
        for bad in [
            "",
            "12345",
            "12800138000",
            "1380013800",
            "138001380001",
            "0075-1234567",
            "0775-123456",
            "0775-1234567890",
            "+8613800138000",
            " 13800138000",
            "13800138000 ",
            "\t13800138000",
            "138--0013-8000",
            "-13800138000",
            "13800138000-",
            "=13800138000",
            "１３８００１３８０００",
            "138 0013 800O",
            "\"><b>1</b>",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }
}
