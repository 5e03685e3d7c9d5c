//! Made-up cards of every kind with valid check digits, for the emulator, demos and tests.
//!
//! The names are the usual placeholders (张三, 陈大文, John Smith); the numbers are built for
//! the purpose and pass GB 11643.

use chrono::NaiveDate;

use super::card::{
    Card, ForeignCard2017, ForeignCard2023, Gender, ResidencePermit, ResidentCard, ValidUntil,
};
use super::id_number::IdNumber;
use super::nation::Nation;

/// Names accepted by [`by_name`], in the order they are listed to technicians.
pub const NAMES: [&str; 4] = ["resident", "permit", "foreign", "foreign-2023"];

/// A sample name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("there is no sample card called `{0}`: use one of resident, permit, foreign, foreign-2023")]
pub struct UnknownSample(pub String);

/// Looks a sample up by the name a command line uses.
pub fn by_name(name: &str) -> Result<Card, UnknownSample> {
    match name.trim() {
        "resident" => Ok(resident()),
        "permit" => Ok(permit()),
        "foreign" | "foreign-2017" => Ok(foreign_2017()),
        "foreign-2023" => Ok(foreign_2023()),
        other => Err(UnknownSample(other.to_owned())),
    }
}

/// Every sample, one per kind.
pub fn all() -> Vec<Card> {
    vec![resident(), permit(), foreign_2017(), foreign_2023()]
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    // The arguments below are literal, real dates; the fallback is never taken.
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
}

/// 居民身份证 of 张三, Beijing, long-term validity.
pub fn resident() -> Card {
    Card::Resident(ResidentCard {
        name: "张三".to_owned(),
        gender: Gender::Male,
        nation: Nation::HAN,
        birth: date(1980, 1, 1),
        address: "北京市东城区示例路1号".to_owned(),
        id_number: IdNumber::new("110105198001010016"),
        issuer: "北京市公安局东城分局".to_owned(),
        valid_from: date(2015, 6, 1),
        valid_until: ValidUntil::LongTerm,
    })
}

/// 港澳台居民居住证 of 陈大文, a Hong Kong resident living in Guangxi.
pub fn permit() -> Card {
    Card::Permit(ResidencePermit {
        name: "陈大文".to_owned(),
        gender: Gender::Male,
        birth: date(1990, 1, 1),
        address: "广西壮族自治区玉林市玉州区示例路8号".to_owned(),
        id_number: IdNumber::new("810000199001011230"),
        issuer: "玉林市公安局玉州分局".to_owned(),
        valid_from: date(2023, 3, 1),
        valid_until: ValidUntil::Date(date(2028, 3, 1)),
        pass_number: IdNumber::new("H01234567"),
        issue_count: 1,
    })
}

/// 外国人永久居留身份证 (2017) of John Smith.
pub fn foreign_2017() -> Card {
    Card::Foreign2017(ForeignCard2017 {
        english_name: "SMITH, JOHN".to_owned(),
        chinese_name: "史密斯".to_owned(),
        gender: Gender::Male,
        number: IdNumber::new("USA110080010101"),
        nationality: "USA".to_owned(),
        birth: date(1980, 1, 1),
        valid_from: date(2017, 7, 1),
        valid_until: ValidUntil::Date(date(2027, 7, 1)),
        card_version: "01".to_owned(),
        authority_code: "1100".to_owned(),
    })
}

/// 外国人永久居留身份证 (2023) of John Smith: number `9 11 840 19800101 001 3`.
pub fn foreign_2023() -> Card {
    Card::Foreign2023(ForeignCard2023 {
        chinese_name: "史密斯".to_owned(),
        english_name: "SMITH, JOHN".to_owned(),
        gender: Gender::Male,
        renewal_count: 0,
        birth: date(1980, 1, 1),
        id_number: IdNumber::new("911840198001010013"),
        valid_from: date(2023, 12, 1),
        valid_until: ValidUntil::Date(date(2033, 12, 1)),
        nationality: "USA".to_owned(),
        previous_number_link: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_their_kinds() {
        for name in NAMES {
            assert!(by_name(name).is_ok(), "{name}");
        }
        assert_eq!(by_name("foreign-2017").unwrap(), foreign_2017());
        let err = by_name("passport").unwrap_err();
        assert!(err.to_string().contains("passport") && err.to_string().contains("permit"));
    }
}
