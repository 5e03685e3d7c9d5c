//! What the villager types, checked as plainly as the screen explains it: the ID number as it
//! is typed, and each form field against its kind. Stricter than [`kiosk_core::submit::prepare`]
//! where a friendlier message helps (a phone number needs enough digits), never looser.

use chrono::NaiveDate;
use hardware::id_card::IdNumber;
use hardware::id_card::id_number::{self, IdNumberError};
use sync_protocol::feed::FieldKind;

/// The longest short text a field takes, in characters.
pub const MAX_TEXT_CHARS: usize = 200;

/// What is wrong with a typed ID number, for the message under the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdEntry {
    /// Nothing wrong so far (possibly not finished).
    Fine,
    /// A character that can never be there (a letter other than a final X).
    BadCharacter,
    TooLong,
    /// Fewer than 18 characters when the villager wanted to go on.
    TooShort,
    /// 18 characters that fail the check character or hold no real birth date.
    Wrong,
}

/// Checks the number while it is typed: a wrong character at once, the check character only
/// once all 18 are there (an unfinished number is not an error yet).
pub fn check_typing(text: &str) -> IdEntry {
    let number = text.trim().to_ascii_uppercase();
    let count = number.chars().count();
    let bad_character = number.chars().enumerate().any(|(index, c)| {
        let last_allowed = index == 17 && c == 'X';
        !(c.is_ascii_digit() || last_allowed)
    });
    if bad_character {
        IdEntry::BadCharacter
    } else if count > 18 {
        IdEntry::TooLong
    } else if count < 18 {
        IdEntry::Fine
    } else {
        match id_number::check_gb11643(&number) {
            Ok(_) => IdEntry::Fine,
            Err(IdNumberError::Character { .. }) => IdEntry::BadCharacter,
            Err(_) => IdEntry::Wrong,
        }
    }
}

/// The number when the villager presses Next: a valid number, or what to fix.
pub fn finish_typing(text: &str) -> Result<IdNumber, IdEntry> {
    match check_typing(text) {
        IdEntry::Fine if text.trim().chars().count() < 18 => Err(IdEntry::TooShort),
        IdEntry::Fine => IdNumber::parse_gb11643(text).map_err(|_| IdEntry::Wrong),
        problem => Err(problem),
    }
}

/// Why a field's value cannot be submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    Required,
    ChooseOne,
    NotANumber,
    NotAPhone,
    NotADate,
    TooLong,
}

/// The value as it will be submitted (dates written the one way the server reads them), or
/// what is wrong with it.
pub fn check_field(
    kind: FieldKind,
    required: bool,
    choices: &[String],
    value: &str,
) -> Result<String, FieldProblem> {
    let value = value.trim();
    if value.is_empty() {
        return match (required, kind) {
            (false, _) => Ok(String::new()),
            (true, FieldKind::Choice) => Err(FieldProblem::ChooseOne),
            (true, _) => Err(FieldProblem::Required),
        };
    }
    match kind {
        FieldKind::Choice if choices.iter().any(|c| c == value) => Ok(value.to_owned()),
        FieldKind::Choice => Err(FieldProblem::ChooseOne),
        FieldKind::Number => {
            let number: f64 = value.parse().map_err(|_| FieldProblem::NotANumber)?;
            if number.is_finite() && number >= 0.0 {
                Ok(value.to_owned())
            } else {
                Err(FieldProblem::NotANumber)
            }
        }
        FieldKind::Phone => {
            let allowed = value
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+'));
            let digits = value.chars().filter(char::is_ascii_digit).count();
            if allowed && (7..=15).contains(&digits) {
                Ok(value.to_owned())
            } else {
                Err(FieldProblem::NotAPhone)
            }
        }
        FieldKind::Date => normalise_date(value)
            .map(|date| date.format("%Y-%m-%d").to_string())
            .ok_or(FieldProblem::NotADate),
        FieldKind::Text if value.chars().count() > MAX_TEXT_CHARS => Err(FieldProblem::TooLong),
        FieldKind::Text => Ok(value.to_owned()),
    }
}

/// A date as villagers write it: 2026-11-26, 2026/11/26, 2026.11.26, 2026年11月26日 or
/// 20261126.
fn normalise_date(text: &str) -> Option<NaiveDate> {
    let groups: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let (year, month, day) = match groups.as_slice() {
        [all] if all.len() == 8 => (&all[..4], &all[4..6], &all[6..]),
        [year, month, day] if year.len() == 4 => (*year, *month, *day),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up number with a correct check character (the sample card's).
    const VALID: &str = "110105198001010016";

    #[test]
    fn a_typed_number_is_judged_only_when_complete_unless_a_character_is_impossible() {
        assert_eq!(check_typing(""), IdEntry::Fine);
        assert_eq!(check_typing("1101051980"), IdEntry::Fine);
        assert_eq!(check_typing("11010A"), IdEntry::BadCharacter);
        assert_eq!(check_typing("11010519800101001X"), IdEntry::Wrong);
        assert_eq!(check_typing("110105198001010017"), IdEntry::Wrong);
        assert_eq!(
            check_typing("110105198013010016"),
            IdEntry::Wrong,
            "month 13"
        );
        assert_eq!(check_typing(VALID), IdEntry::Fine);
        assert_eq!(check_typing(&format!("{VALID}1")), IdEntry::TooLong);
        assert_eq!(check_typing("X10105198001010016"), IdEntry::BadCharacter);
    }

    #[test]
    fn next_needs_the_whole_number() {
        assert_eq!(finish_typing("1101051980"), Err(IdEntry::TooShort));
        assert_eq!(finish_typing("110105198001010017"), Err(IdEntry::Wrong));
        let number = finish_typing(&format!(" {VALID} ")).expect("valid");
        assert_eq!(number.expose(), VALID);
        // A lower-case x is accepted and stored upper-case.
        let with_x = "11010519491231002x";
        assert_eq!(check_typing(with_x), IdEntry::Fine);
        assert_eq!(
            finish_typing(with_x).expect("valid").expose(),
            "11010519491231002X"
        );
    }

    #[test]
    fn fields_are_checked_by_kind() {
        let choices = ["子女".to_owned(), "配偶".to_owned()];
        let check = |kind, required, value: &str| check_field(kind, required, &choices, value);
        assert_eq!(check(FieldKind::Choice, false, ""), Ok(String::new()));
        assert_eq!(
            check(FieldKind::Choice, true, ""),
            Err(FieldProblem::ChooseOne)
        );
        assert_eq!(check(FieldKind::Choice, true, "子女"), Ok("子女".into()));
        assert_eq!(
            check(FieldKind::Choice, true, "邻居"),
            Err(FieldProblem::ChooseOne)
        );
        assert_eq!(
            check(FieldKind::Text, true, " "),
            Err(FieldProblem::Required)
        );
        assert_eq!(check(FieldKind::Number, true, "3"), Ok("3".into()));
        assert_eq!(check(FieldKind::Number, true, "2.5"), Ok("2.5".into()));
        assert_eq!(
            check(FieldKind::Number, true, "三"),
            Err(FieldProblem::NotANumber)
        );
        assert_eq!(
            check(FieldKind::Number, true, "-1"),
            Err(FieldProblem::NotANumber)
        );
        assert_eq!(
            check(FieldKind::Phone, true, "13800000000"),
            Ok("13800000000".into())
        );
        assert_eq!(
            check(FieldKind::Phone, true, "0775-5550101"),
            Ok("0775-5550101".into())
        );
        assert_eq!(
            check(FieldKind::Phone, true, "12345"),
            Err(FieldProblem::NotAPhone)
        );
        assert_eq!(
            check(FieldKind::Phone, true, "138abc"),
            Err(FieldProblem::NotAPhone)
        );
        let long = "字".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            check(FieldKind::Text, false, &long),
            Err(FieldProblem::TooLong)
        );
    }

    #[test]
    fn dates_are_accepted_as_villagers_write_them_and_stored_one_way() {
        for written in [
            "2026-11-26",
            "2026/11/26",
            "2026.11.26",
            "2026年11月26日",
            "20261126",
            "2026-11-26 ",
        ] {
            assert_eq!(
                check_field(FieldKind::Date, true, &[], written),
                Ok("2026-11-26".into()),
                "{written}"
            );
        }
        for wrong in ["2026-02-30", "26-11-26", "昨天", "2026-11"] {
            assert_eq!(
                check_field(FieldKind::Date, true, &[], wrong),
                Err(FieldProblem::NotADate),
                "{wrong}"
            );
        }
    }
}
