//! What a card says, typed: the three card kinds, their fields, the photo, and a read result.
//!
//! `Debug` of every type here redacts names, addresses and birth dates, and ID numbers show
//! masked, because `Debug` output ends up in logs. Card types deserialise from the human
//! fields of a card fixture file (TOML or JSON) for the emulator, and do not serialise.

use std::fmt;

use chrono::NaiveDate;

use super::id_number::{self, IdNumber, IdNumberError};
use super::nation::Nation;

/// Which document the card is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardKind {
    /// 居民身份证.
    Resident,
    /// 港澳台居民居住证 (flag `J`).
    Permit,
    /// 外国人永久居留身份证, 2017 version (flag `I`).
    Foreign2017,
    /// 外国人永久居留身份证, 2023 version (flag `Y`).
    Foreign2023,
}

impl CardKind {
    pub fn name_zh(self) -> &'static str {
        match self {
            CardKind::Resident => "居民身份证",
            CardKind::Permit => "港澳台居民居住证",
            CardKind::Foreign2017 => "外国人永久居留身份证（2017版）",
            CardKind::Foreign2023 => "外国人永久居留身份证（2023版）",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            CardKind::Resident => "resident ID card",
            CardKind::Permit => "Hong Kong/Macao/Taiwan residence permit",
            CardKind::Foreign2017 => "foreign permanent resident ID card (2017)",
            CardKind::Foreign2023 => "foreign permanent resident ID card (2023)",
        }
    }
}

impl fmt::Display for CardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_en())
    }
}

/// 性别 as GB/T 2261.1 codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gender {
    /// `1` 男.
    #[serde(alias = "男")]
    Male,
    /// `2` 女.
    #[serde(alias = "女")]
    Female,
    /// `0` 未知的性别, and any code no source documents.
    Unknown,
    /// `9` 未说明的性别.
    Unspecified,
}

impl Gender {
    /// Reads the card's code. Undocumented codes become `Unknown` rather than failing the card.
    pub fn from_code(code: char) -> Self {
        match code {
            '1' => Gender::Male,
            '2' => Gender::Female,
            '9' => Gender::Unspecified,
            _ => Gender::Unknown,
        }
    }

    pub fn code(self) -> char {
        match self {
            Gender::Male => '1',
            Gender::Female => '2',
            Gender::Unknown => '0',
            Gender::Unspecified => '9',
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Gender::Male => "男",
            Gender::Female => "女",
            Gender::Unknown => "未知",
            Gender::Unspecified => "未说明",
        }
    }
}

/// The end of a card's validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidUntil {
    Date(NaiveDate),
    /// 长期: cards issued to people aged 46 and over do not expire.
    LongTerm,
}

impl ValidUntil {
    /// Whether the card is still valid on `today` (the end date itself is still valid).
    pub fn covers(self, today: NaiveDate) -> bool {
        match self {
            ValidUntil::Date(end) => today <= end,
            ValidUntil::LongTerm => true,
        }
    }
}

impl fmt::Display for ValidUntil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidUntil::Date(date) => write!(f, "{date}"),
            ValidUntil::LongTerm => f.write_str("长期"),
        }
    }
}

/// 居民身份证.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentCard {
    pub name: String,
    pub gender: Gender,
    pub nation: Nation,
    #[serde(deserialize_with = "de::date")]
    pub birth: NaiveDate,
    pub address: String,
    pub id_number: IdNumber,
    /// 签发机关.
    pub issuer: String,
    #[serde(deserialize_with = "de::date")]
    pub valid_from: NaiveDate,
    pub valid_until: ValidUntil,
}

/// 港澳台居民居住证: a resident card layout without nation, plus the travel pass.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidencePermit {
    pub name: String,
    pub gender: Gender,
    #[serde(deserialize_with = "de::date")]
    pub birth: NaiveDate,
    pub address: String,
    pub id_number: IdNumber,
    pub issuer: String,
    #[serde(deserialize_with = "de::date")]
    pub valid_from: NaiveDate,
    pub valid_until: ValidUntil,
    /// 通行证号码 (9 characters), masked like an ID number.
    pub pass_number: IdNumber,
    /// 签发次数.
    pub issue_count: u8,
}

/// 外国人永久居留身份证, 2017 version.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignCard2017 {
    pub english_name: String,
    pub chinese_name: String,
    pub gender: Gender,
    /// 永久居留证号码: 3 letters and 12 digits.
    pub number: IdNumber,
    /// Nationality or region code (3 letters).
    pub nationality: String,
    #[serde(deserialize_with = "de::date")]
    pub birth: NaiveDate,
    #[serde(deserialize_with = "de::date")]
    pub valid_from: NaiveDate,
    pub valid_until: ValidUntil,
    /// 证件版本号 (2 characters).
    pub card_version: String,
    /// 当次申请受理机关代码 (4 characters).
    pub authority_code: String,
}

/// 外国人永久居留身份证, 2023 version: an 18-digit GB 11643 style number starting with 9.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignCard2023 {
    pub chinese_name: String,
    /// Up to 46 characters: 35 in the main field and 11 in the continuation field.
    pub english_name: String,
    pub gender: Gender,
    /// 换证次数.
    pub renewal_count: u8,
    #[serde(deserialize_with = "de::date")]
    pub birth: NaiveDate,
    pub id_number: IdNumber,
    #[serde(deserialize_with = "de::date")]
    pub valid_from: NaiveDate,
    pub valid_until: ValidUntil,
    /// 所属国家或地区代码 (3 letters).
    pub nationality: String,
    /// 既往版本证件号码关联项 (3 characters, blank when the holder had no 2017 card).
    #[serde(default)]
    pub previous_number_link: String,
}

/// A card of any kind. Card files name the kind in a `kind` field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Card {
    Resident(ResidentCard),
    Permit(ResidencePermit),
    #[serde(rename = "foreign", alias = "foreign-2017")]
    Foreign2017(ForeignCard2017),
    #[serde(rename = "foreign-2023")]
    Foreign2023(ForeignCard2023),
}

impl Card {
    pub fn kind(&self) -> CardKind {
        match self {
            Card::Resident(_) => CardKind::Resident,
            Card::Permit(_) => CardKind::Permit,
            Card::Foreign2017(_) => CardKind::Foreign2017,
            Card::Foreign2023(_) => CardKind::Foreign2023,
        }
    }

    /// The number that identifies the holder (ID, permit or permanent-residence number).
    pub fn id_number(&self) -> &IdNumber {
        match self {
            Card::Resident(card) => &card.id_number,
            Card::Permit(card) => &card.id_number,
            Card::Foreign2017(card) => &card.number,
            Card::Foreign2023(card) => &card.id_number,
        }
    }

    /// The name to greet the holder with: the Chinese name, or the English one if blank.
    pub fn display_name(&self) -> &str {
        match self {
            Card::Resident(card) => &card.name,
            Card::Permit(card) => &card.name,
            Card::Foreign2017(card) => prefer(&card.chinese_name, &card.english_name),
            Card::Foreign2023(card) => prefer(&card.chinese_name, &card.english_name),
        }
    }

    pub fn gender(&self) -> Gender {
        match self {
            Card::Resident(card) => card.gender,
            Card::Permit(card) => card.gender,
            Card::Foreign2017(card) => card.gender,
            Card::Foreign2023(card) => card.gender,
        }
    }

    pub fn birth(&self) -> NaiveDate {
        match self {
            Card::Resident(card) => card.birth,
            Card::Permit(card) => card.birth,
            Card::Foreign2017(card) => card.birth,
            Card::Foreign2023(card) => card.birth,
        }
    }

    pub fn valid_until(&self) -> ValidUntil {
        match self {
            Card::Resident(card) => card.valid_until,
            Card::Permit(card) => card.valid_until,
            Card::Foreign2017(card) => card.valid_until,
            Card::Foreign2023(card) => card.valid_until,
        }
    }

    /// Checks the number: GB 11643 with a birth date agreeing with the birth field for the
    /// 18-digit kinds, the 3-letter + 12-digit shape for the 2017 foreign card.
    pub fn validate_number(&self) -> Result<(), IdNumberError> {
        match self {
            Card::Foreign2017(card) => id_number::check_foreign_2017(card.number.expose()),
            _ => {
                let in_number = self.id_number().check_gb11643()?;
                if in_number == self.birth() {
                    Ok(())
                } else {
                    Err(IdNumberError::BirthMismatch)
                }
            }
        }
    }
}

fn prefer<'a>(first: &'a str, fallback: &'a str) -> &'a str {
    if first.trim().is_empty() {
        fallback
    } else {
        first
    }
}

/// The 1024-byte WLT photo, kept opaque: no open decoder exists (vendor `libwlt2bmp`).
#[derive(Clone, PartialEq, Eq)]
pub struct Photo(Vec<u8>);

impl Photo {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Photo({} bytes)", self.0.len())
    }
}

/// Everything one read of a card returns.
#[derive(Clone, PartialEq, Eq)]
pub struct CardRead {
    pub card: Card,
    pub photo: Photo,
    /// 追加住址 written by a police station after a move; `None` when the card has none or the
    /// reader cannot read it.
    pub appended_address: Option<String>,
}

impl fmt::Debug for CardRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardRead")
            .field("card", &self.card)
            .field("photo", &self.photo)
            .field(
                "appended_address",
                &self.appended_address.as_ref().map(|_| Redacted),
            )
            .finish()
    }
}

/// Stands in for personal text in `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Debug for ResidentCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResidentCard")
            .field("name", &Redacted)
            .field("gender", &self.gender)
            .field("nation", &self.nation)
            .field("birth", &Redacted)
            .field("address", &Redacted)
            .field("id_number", &self.id_number)
            .field("issuer", &self.issuer)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .finish()
    }
}

impl fmt::Debug for ResidencePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResidencePermit")
            .field("name", &Redacted)
            .field("gender", &self.gender)
            .field("birth", &Redacted)
            .field("address", &Redacted)
            .field("id_number", &self.id_number)
            .field("issuer", &self.issuer)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .field("pass_number", &self.pass_number)
            .field("issue_count", &self.issue_count)
            .finish()
    }
}

impl fmt::Debug for ForeignCard2017 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignCard2017")
            .field("english_name", &Redacted)
            .field("chinese_name", &Redacted)
            .field("gender", &self.gender)
            .field("number", &self.number)
            .field("nationality", &self.nationality)
            .field("birth", &Redacted)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .field("card_version", &self.card_version)
            .field("authority_code", &self.authority_code)
            .finish()
    }
}

impl fmt::Debug for ForeignCard2023 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignCard2023")
            .field("chinese_name", &Redacted)
            .field("english_name", &Redacted)
            .field("gender", &self.gender)
            .field("renewal_count", &self.renewal_count)
            .field("birth", &Redacted)
            .field("id_number", &self.id_number)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .field("nationality", &self.nationality)
            .field("previous_number_link", &self.previous_number_link)
            .finish()
    }
}

/// Lenient readers for the dates of card fixture files.
mod de {
    use chrono::NaiveDate;
    use serde::Deserialize;

    use super::ValidUntil;
    use crate::id_card::id_number::parse_yyyymmdd;

    /// A date as `"1990-01-31"`, `"19900131"` or a bare TOML date.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum DateRepr {
        Text(String),
        Toml(toml::value::Datetime),
    }

    fn parse(text: &str) -> Option<NaiveDate> {
        let text = text.trim();
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .or_else(|| parse_yyyymmdd(text))
    }

    fn from_repr(repr: DateRepr) -> Result<Option<NaiveDate>, String> {
        match repr {
            DateRepr::Text(text) => {
                if matches!(text.trim(), "长期" | "long-term" | "long_term") {
                    return Ok(None);
                }
                parse(&text)
                    .map(Some)
                    .ok_or_else(|| format!("`{text}` is not a date like 1990-01-31"))
            }
            DateRepr::Toml(datetime) => match (datetime.date, datetime.time) {
                (Some(date), None) => NaiveDate::from_ymd_opt(
                    i32::from(date.year),
                    u32::from(date.month),
                    u32::from(date.day),
                )
                .map(Some)
                .ok_or_else(|| format!("{datetime} is not a real date")),
                _ => Err(format!("{datetime} is not a plain date like 1990-01-31")),
            },
        }
    }

    pub(super) fn date<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NaiveDate, D::Error> {
        match from_repr(DateRepr::deserialize(deserializer)?) {
            Ok(Some(date)) => Ok(date),
            Ok(None) => Err(serde::de::Error::custom(
                "only the end of validity may be 长期 (long-term)",
            )),
            Err(message) => Err(serde::de::Error::custom(message)),
        }
    }

    impl<'de> Deserialize<'de> for ValidUntil {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            match from_repr(DateRepr::deserialize(deserializer)?) {
                Ok(Some(date)) => Ok(ValidUntil::Date(date)),
                Ok(None) => Ok(ValidUntil::LongTerm),
                Err(message) => Err(serde::de::Error::custom(message)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_card::samples;

    #[test]
    fn debug_hides_names_addresses_births_and_numbers() {
        for card in [
            samples::resident(),
            samples::permit(),
            samples::foreign_2017(),
            samples::foreign_2023(),
        ] {
            let read = CardRead {
                photo: Photo::new(vec![7; 1024]),
                appended_address: Some("广西玉林市玉州区追加路9号".to_owned()),
                card: card.clone(),
            };
            let debug = format!("{read:?} {read:#?}");
            let (names, address, birth): (Vec<&str>, Option<&str>, NaiveDate) = match &card {
                Card::Resident(c) => (vec![&c.name], Some(&c.address), c.birth),
                Card::Permit(c) => (vec![&c.name], Some(&c.address), c.birth),
                Card::Foreign2017(c) => (vec![&c.english_name, &c.chinese_name], None, c.birth),
                Card::Foreign2023(c) => (vec![&c.english_name, &c.chinese_name], None, c.birth),
            };
            for name in names {
                assert!(!debug.contains(name), "{debug}");
            }
            if let Some(address) = address {
                assert!(!debug.contains(address), "{debug}");
            }
            assert!(!debug.contains("追加路"), "{debug}");
            assert!(!debug.contains(&birth.to_string()), "{debug}");
            assert!(!debug.contains(card.id_number().expose()), "{debug}");
            assert!(debug.contains(&card.id_number().masked()), "{debug}");
            assert!(debug.contains("Photo(1024 bytes)"), "{debug}");
        }
    }

    #[test]
    fn samples_have_valid_numbers() {
        for card in samples::all() {
            assert_eq!(card.validate_number(), Ok(()), "{card:?}");
        }
    }

    #[test]
    fn a_birth_that_disagrees_with_the_number_is_caught() {
        let Card::Resident(mut card) = samples::resident() else {
            unreachable!()
        };
        card.birth = NaiveDate::from_ymd_opt(1980, 1, 2).unwrap();
        assert_eq!(
            Card::Resident(card).validate_number(),
            Err(IdNumberError::BirthMismatch)
        );
    }

    #[test]
    fn card_files_read_from_toml_with_bare_or_quoted_dates() {
        let card: Card = toml::from_str(
            r#"
            kind = "resident"
            name = "张三"
            gender = "male"
            nation = "汉"
            birth = 1980-01-01
            address = "北京市东城区示例路1号"
            id_number = "110105198001010016"
            issuer = "北京市公安局东城分局"
            valid_from = "2015-06-01"
            valid_until = "长期"
            "#,
        )
        .unwrap();
        assert_eq!(card.kind(), CardKind::Resident);
        assert_eq!(card.birth(), NaiveDate::from_ymd_opt(1980, 1, 1).unwrap());
        assert_eq!(card.valid_until(), ValidUntil::LongTerm);
        assert_eq!(card.validate_number(), Ok(()));
    }

    #[test]
    fn card_files_reject_unknown_fields_and_bad_dates() {
        let typo = r#"{"kind":"permit","nam":"x"}"#;
        assert!(serde_json::from_str::<Card>(typo).is_err());
        let err = serde_json::from_str::<ValidUntil>("\"2020-02-30\"").unwrap_err();
        assert!(err.to_string().contains("2020-02-30"), "{err}");
        let until: ValidUntil = serde_json::from_str("\"20300101\"").unwrap();
        assert_eq!(
            until,
            ValidUntil::Date(NaiveDate::from_ymd_opt(2030, 1, 1).unwrap())
        );
    }

    #[test]
    fn validity_covers_its_last_day() {
        let end = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
        assert!(ValidUntil::Date(end).covers(end));
        assert!(!ValidUntil::Date(end).covers(end.succ_opt().unwrap()));
        assert!(ValidUntil::LongTerm.covers(end));
    }
}
