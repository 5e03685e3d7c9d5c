//! The 256-byte text block (UTF-16LE, space padded) of all card kinds, both directions.
//!
//! The kind is flagged at byte 248: `J` HK/Macao/Taiwan residence permit, `I` 2017 foreign
//! permanent resident card, `Y` 2023 foreign permanent resident card, blank for a resident
//! card. For an unrecognised flag the block is read as a 2023 foreign card when its number
//! field holds an 18-character number starting with `9` (the 2023 numbering; resident region
//! codes never start with 9), a blank flag otherwise means a resident card, and anything else
//! is [`TextError::UnknownLayout`] rather than a guess.

use std::ops::Range;

use chrono::NaiveDate;

use super::card::{
    Card, ForeignCard2017, ForeignCard2023, Gender, ResidencePermit, ResidentCard, ValidUntil,
};
use super::id_number::{IdNumber, parse_yyyymmdd};
use super::nation::Nation;

/// Size of the text block in a read reply.
pub const TEXT_BLOCK_LEN: usize = 256;

const LONG_TERM: &str = "长期";

/// Why a text block could not be read. Messages never quote field contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the card text block is {len} bytes instead of {TEXT_BLOCK_LEN}")]
    Length { len: usize },
    #[error("the card's {field} field {problem}")]
    Field {
        field: &'static str,
        problem: &'static str,
    },
    #[error("the card kind flag {flag:?} at byte 248 is not a card this booth knows")]
    UnknownLayout { flag: char },
}

/// Why a card does not fit the text block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("the card's {field} is longer than the {max} UTF-16 units its field holds")]
    TooLong { field: &'static str, max: usize },
    #[error("the card's {field} is {value}, more than the two digits its field holds")]
    CountTooLarge { field: &'static str, value: u8 },
}

// Field positions, in bytes.
mod at {
    use std::ops::Range;

    pub const NAME: Range<usize> = 0..30;
    pub const GENDER: Range<usize> = 30..32;
    pub const NATION: Range<usize> = 32..36;
    pub const BIRTH: Range<usize> = 36..52;
    pub const ADDRESS: Range<usize> = 52..122;
    pub const ID_NUMBER: Range<usize> = 122..158;
    pub const ISSUER: Range<usize> = 158..188;
    pub const VALID_FROM: Range<usize> = 188..204;
    pub const VALID_UNTIL: Range<usize> = 204..220;
    pub const FLAG: Range<usize> = 248..250;

    pub const PASS_NUMBER: Range<usize> = 220..238;
    pub const ISSUE_COUNT: Range<usize> = 238..242;

    pub const F17_ENGLISH_NAME: Range<usize> = 0..120;
    pub const F17_GENDER: Range<usize> = 120..122;
    pub const F17_NUMBER: Range<usize> = 122..152;
    pub const F17_NATIONALITY: Range<usize> = 152..158;
    pub const F17_CHINESE_NAME: Range<usize> = 158..188;
    pub const F17_BIRTH: Range<usize> = 220..236;
    pub const F17_VERSION: Range<usize> = 236..240;
    pub const F17_AUTHORITY: Range<usize> = 240..248;

    pub const F23_RENEWALS: Range<usize> = 32..36;
    pub const F23_ENGLISH_NAME: Range<usize> = 52..122;
    pub const F23_ENGLISH_NAME_MORE: Range<usize> = 220..242;
    pub const F23_NATIONALITY: Range<usize> = 242..248;
    pub const F23_PREVIOUS_LINK: Range<usize> = 250..256;
}

/// Reads a text block into a card. The ID number is not validated here; see
/// [`Card::validate_number`].
pub fn parse_text_block(block: &[u8]) -> Result<Card, TextError> {
    let block: &[u8; TEXT_BLOCK_LEN] = block
        .try_into()
        .map_err(|_| TextError::Length { len: block.len() })?;
    let flag = raw(block, at::FLAG).chars().next().unwrap_or(' ');
    match flag {
        'J' => parse_permit(block).map(Card::Permit),
        'I' => parse_foreign_2017(block).map(Card::Foreign2017),
        'Y' => parse_foreign_2023(block).map(Card::Foreign2023),
        _ if looks_like_2023_number(&code(block, at::ID_NUMBER)) => {
            parse_foreign_2023(block).map(Card::Foreign2023)
        }
        ' ' | '\0' => parse_resident(block).map(Card::Resident),
        other => Err(TextError::UnknownLayout { flag: other }),
    }
}

/// Writes a card as the text block a reader would return, flag included.
pub fn encode_text_block(card: &Card) -> Result<[u8; TEXT_BLOCK_LEN], EncodeError> {
    let mut block = Block::new();
    match card {
        Card::Resident(card) => {
            block.put("name", at::NAME, &card.name)?;
            block.put("gender", at::GENDER, &card.gender.code().to_string())?;
            block.put("nation", at::NATION, &format!("{:02}", card.nation.code()))?;
            block.put("birth", at::BIRTH, &yyyymmdd(card.birth))?;
            block.put("address", at::ADDRESS, &card.address)?;
            block.put("id_number", at::ID_NUMBER, card.id_number.expose())?;
            block.put("issuer", at::ISSUER, &card.issuer)?;
            block.put("valid_from", at::VALID_FROM, &yyyymmdd(card.valid_from))?;
            block.put("valid_until", at::VALID_UNTIL, &until(card.valid_until))?;
        }
        Card::Permit(card) => {
            block.put("name", at::NAME, &card.name)?;
            block.put("gender", at::GENDER, &card.gender.code().to_string())?;
            block.put("birth", at::BIRTH, &yyyymmdd(card.birth))?;
            block.put("address", at::ADDRESS, &card.address)?;
            block.put("id_number", at::ID_NUMBER, card.id_number.expose())?;
            block.put("issuer", at::ISSUER, &card.issuer)?;
            block.put("valid_from", at::VALID_FROM, &yyyymmdd(card.valid_from))?;
            block.put("valid_until", at::VALID_UNTIL, &until(card.valid_until))?;
            block.put("pass_number", at::PASS_NUMBER, card.pass_number.expose())?;
            block.put(
                "issue_count",
                at::ISSUE_COUNT,
                &two_digits("issue_count", card.issue_count)?,
            )?;
            block.put("flag", at::FLAG, "J")?;
        }
        Card::Foreign2017(card) => {
            block.put("english_name", at::F17_ENGLISH_NAME, &card.english_name)?;
            block.put("gender", at::F17_GENDER, &card.gender.code().to_string())?;
            block.put("number", at::F17_NUMBER, card.number.expose())?;
            block.put("nationality", at::F17_NATIONALITY, &card.nationality)?;
            block.put("chinese_name", at::F17_CHINESE_NAME, &card.chinese_name)?;
            block.put("valid_from", at::VALID_FROM, &yyyymmdd(card.valid_from))?;
            block.put("valid_until", at::VALID_UNTIL, &until(card.valid_until))?;
            block.put("birth", at::F17_BIRTH, &yyyymmdd(card.birth))?;
            block.put("card_version", at::F17_VERSION, &card.card_version)?;
            block.put("authority_code", at::F17_AUTHORITY, &card.authority_code)?;
            block.put("flag", at::FLAG, "I")?;
        }
        Card::Foreign2023(card) => {
            block.put("chinese_name", at::NAME, &card.chinese_name)?;
            block.put("gender", at::GENDER, &card.gender.code().to_string())?;
            block.put(
                "renewal_count",
                at::F23_RENEWALS,
                &two_digits("renewal_count", card.renewal_count)?,
            )?;
            block.put("birth", at::BIRTH, &yyyymmdd(card.birth))?;
            let units: Vec<u16> = card.english_name.encode_utf16().collect();
            let main_len = at::F23_ENGLISH_NAME.len() / 2;
            let (main, more) = units.split_at(units.len().min(main_len));
            block.put_units("english_name", at::F23_ENGLISH_NAME, main)?;
            block.put_units("english_name", at::F23_ENGLISH_NAME_MORE, more)?;
            block.put("id_number", at::ID_NUMBER, card.id_number.expose())?;
            block.put("valid_from", at::VALID_FROM, &yyyymmdd(card.valid_from))?;
            block.put("valid_until", at::VALID_UNTIL, &until(card.valid_until))?;
            block.put("nationality", at::F23_NATIONALITY, &card.nationality)?;
            block.put("flag", at::FLAG, "Y")?;
            block.put(
                "previous_number_link",
                at::F23_PREVIOUS_LINK,
                &card.previous_number_link,
            )?;
        }
    }
    Ok(block.0)
}

fn parse_resident(block: &[u8; TEXT_BLOCK_LEN]) -> Result<ResidentCard, TextError> {
    Ok(ResidentCard {
        name: text(block, at::NAME),
        gender: gender(block, at::GENDER),
        nation: nation(block)?,
        birth: date(block, "birth", at::BIRTH)?,
        address: text(block, at::ADDRESS),
        id_number: IdNumber::new(code(block, at::ID_NUMBER)),
        issuer: text(block, at::ISSUER),
        valid_from: date(block, "valid_from", at::VALID_FROM)?,
        valid_until: valid_until(block)?,
    })
}

fn parse_permit(block: &[u8; TEXT_BLOCK_LEN]) -> Result<ResidencePermit, TextError> {
    Ok(ResidencePermit {
        name: text(block, at::NAME),
        gender: gender(block, at::GENDER),
        birth: date(block, "birth", at::BIRTH)?,
        address: text(block, at::ADDRESS),
        id_number: IdNumber::new(code(block, at::ID_NUMBER)),
        issuer: text(block, at::ISSUER),
        valid_from: date(block, "valid_from", at::VALID_FROM)?,
        valid_until: valid_until(block)?,
        pass_number: IdNumber::new(code(block, at::PASS_NUMBER)),
        issue_count: count(block, "issue_count", at::ISSUE_COUNT)?,
    })
}

fn parse_foreign_2017(block: &[u8; TEXT_BLOCK_LEN]) -> Result<ForeignCard2017, TextError> {
    Ok(ForeignCard2017 {
        english_name: text(block, at::F17_ENGLISH_NAME),
        chinese_name: text(block, at::F17_CHINESE_NAME),
        gender: gender(block, at::F17_GENDER),
        number: IdNumber::new(code(block, at::F17_NUMBER)),
        nationality: code(block, at::F17_NATIONALITY),
        birth: date(block, "birth", at::F17_BIRTH)?,
        valid_from: date(block, "valid_from", at::VALID_FROM)?,
        valid_until: valid_until(block)?,
        card_version: code(block, at::F17_VERSION),
        authority_code: code(block, at::F17_AUTHORITY),
    })
}

fn parse_foreign_2023(block: &[u8; TEXT_BLOCK_LEN]) -> Result<ForeignCard2023, TextError> {
    // The continuation only matters when the main field is full, so join the raw fields
    // before trimming: a space at the split point is part of the name.
    let mut english_name = raw(block, at::F23_ENGLISH_NAME);
    english_name.push_str(&raw(block, at::F23_ENGLISH_NAME_MORE));
    Ok(ForeignCard2023 {
        chinese_name: text(block, at::NAME),
        english_name: trim_padding(&english_name).to_owned(),
        gender: gender(block, at::GENDER),
        renewal_count: count(block, "renewal_count", at::F23_RENEWALS)?,
        birth: date(block, "birth", at::BIRTH)?,
        id_number: IdNumber::new(code(block, at::ID_NUMBER)),
        valid_from: date(block, "valid_from", at::VALID_FROM)?,
        valid_until: valid_until(block)?,
        nationality: code(block, at::F23_NATIONALITY),
        previous_number_link: code(block, at::F23_PREVIOUS_LINK),
    })
}

fn looks_like_2023_number(number: &str) -> bool {
    number.len() == 18 && number.starts_with('9')
}

/// The field as UTF-16LE text, untrimmed. Unpaired surrogates become U+FFFD: a name with a
/// damaged character is still shown, and a damaged number then fails validation.
fn raw(block: &[u8; TEXT_BLOCK_LEN], range: Range<usize>) -> String {
    let units: Vec<u16> = block[range]
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

fn trim_padding(text: &str) -> &str {
    text.trim_end_matches([' ', '\0'])
}

/// Free text (names, addresses): trailing padding removed.
fn text(block: &[u8; TEXT_BLOCK_LEN], range: Range<usize>) -> String {
    trim_padding(&raw(block, range)).to_owned()
}

/// Codes and numbers: padding removed at both ends.
fn code(block: &[u8; TEXT_BLOCK_LEN], range: Range<usize>) -> String {
    raw(block, range).trim_matches([' ', '\0']).to_owned()
}

fn gender(block: &[u8; TEXT_BLOCK_LEN], range: Range<usize>) -> Gender {
    Gender::from_code(code(block, range).chars().next().unwrap_or('0'))
}

fn nation(block: &[u8; TEXT_BLOCK_LEN]) -> Result<Nation, TextError> {
    let value = code(block, at::NATION);
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_digit()) {
        value
            .parse()
            .map(Nation::from_code)
            .map_err(|_| nation_error())
    } else {
        Err(nation_error())
    }
}

fn nation_error() -> TextError {
    TextError::Field {
        field: "nation",
        problem: "is not a two-digit code",
    }
}

fn date(
    block: &[u8; TEXT_BLOCK_LEN],
    field: &'static str,
    range: Range<usize>,
) -> Result<NaiveDate, TextError> {
    parse_yyyymmdd(&code(block, range)).ok_or(TextError::Field {
        field,
        problem: "is not a date (YYYYMMDD)",
    })
}

fn valid_until(block: &[u8; TEXT_BLOCK_LEN]) -> Result<ValidUntil, TextError> {
    let value = code(block, at::VALID_UNTIL);
    if value == LONG_TERM {
        return Ok(ValidUntil::LongTerm);
    }
    parse_yyyymmdd(&value)
        .map(ValidUntil::Date)
        .ok_or(TextError::Field {
            field: "valid_until",
            problem: "is neither a date (YYYYMMDD) nor 长期",
        })
}

/// A two-digit count; blank reads as 0.
fn count(
    block: &[u8; TEXT_BLOCK_LEN],
    field: &'static str,
    range: Range<usize>,
) -> Result<u8, TextError> {
    let value = code(block, range);
    if value.is_empty() {
        return Ok(0);
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TextError::Field {
            field,
            problem: "is not a number",
        });
    }
    value.parse().map_err(|_| TextError::Field {
        field,
        problem: "is not a number",
    })
}

fn yyyymmdd(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

fn until(valid_until: ValidUntil) -> String {
    match valid_until {
        ValidUntil::Date(date) => yyyymmdd(date),
        ValidUntil::LongTerm => LONG_TERM.to_owned(),
    }
}

fn two_digits(field: &'static str, value: u8) -> Result<String, EncodeError> {
    if value > 99 {
        return Err(EncodeError::CountTooLarge { field, value });
    }
    Ok(format!("{value:02}"))
}

/// A block being written: starts as all UTF-16 spaces, like the reserved areas of real cards.
struct Block([u8; TEXT_BLOCK_LEN]);

impl Block {
    fn new() -> Self {
        let mut bytes = [0u8; TEXT_BLOCK_LEN];
        for pair in bytes.chunks_exact_mut(2) {
            pair.copy_from_slice(&[b' ', 0]);
        }
        Self(bytes)
    }

    fn put(
        &mut self,
        field: &'static str,
        range: Range<usize>,
        value: &str,
    ) -> Result<(), EncodeError> {
        let units: Vec<u16> = value.encode_utf16().collect();
        self.put_units(field, range, &units)
    }

    fn put_units(
        &mut self,
        field: &'static str,
        range: Range<usize>,
        units: &[u16],
    ) -> Result<(), EncodeError> {
        let max = range.len() / 2;
        if units.len() > max {
            return Err(EncodeError::TooLong { field, max });
        }
        for (slot, unit) in self.0[range].chunks_exact_mut(2).zip(units) {
            slot.copy_from_slice(&unit.to_le_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_card::samples;

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// A resident block assembled by hand from the published offsets, not by the encoder.
    fn hand_made_resident_block() -> Vec<u8> {
        let mut block = utf16(&" ".repeat(128));
        let mut put = |offset: usize, text: &str| {
            let bytes = utf16(text);
            block[offset..offset + bytes.len()].copy_from_slice(&bytes);
        };
        put(0, "张三");
        put(30, "1");
        put(32, "01");
        put(36, "19800101");
        put(52, "北京市东城区示例路1号");
        put(122, "110105198001010016");
        put(158, "北京市公安局东城分局");
        put(188, "20150601");
        put(204, "长期");
        block
    }

    #[test]
    fn a_hand_made_resident_block_parses_field_by_field() {
        let Card::Resident(card) = parse_text_block(&hand_made_resident_block()).unwrap() else {
            panic!("not a resident card")
        };
        assert_eq!(card.name, "张三");
        assert_eq!(card.gender, Gender::Male);
        assert_eq!(card.nation, Nation::HAN);
        assert_eq!(card.birth, NaiveDate::from_ymd_opt(1980, 1, 1).unwrap());
        assert_eq!(card.address, "北京市东城区示例路1号");
        assert_eq!(card.id_number.expose(), "110105198001010016");
        assert_eq!(card.issuer, "北京市公安局东城分局");
        assert_eq!(
            card.valid_from,
            NaiveDate::from_ymd_opt(2015, 6, 1).unwrap()
        );
        assert_eq!(card.valid_until, ValidUntil::LongTerm);
    }

    #[test]
    fn the_encoder_writes_the_published_offsets() {
        let block = encode_text_block(&samples::resident()).unwrap();
        assert_eq!(&block[122..158], utf16("110105198001010016").as_slice());
        assert_eq!(&block[30..32], utf16("1").as_slice());
        assert_eq!(&block[248..250], utf16(" ").as_slice());
        let permit = encode_text_block(&samples::permit()).unwrap();
        assert_eq!(&permit[248..250], b"J\0");
        assert_eq!(&permit[220..238], utf16("H01234567").as_slice());
        assert_eq!(&permit[238..242], utf16("01").as_slice());
        let foreign = encode_text_block(&samples::foreign_2017()).unwrap();
        assert_eq!(&foreign[248..250], b"I\0");
        assert_eq!(&foreign[122..152], utf16("USA110080010101").as_slice());
        assert_eq!(&foreign[152..158], utf16("USA").as_slice());
        let foreign = encode_text_block(&samples::foreign_2023()).unwrap();
        assert_eq!(&foreign[248..250], b"Y\0");
        assert_eq!(&foreign[242..248], utf16("USA").as_slice());
    }

    #[test]
    fn every_sample_round_trips() {
        for card in samples::all() {
            let block = encode_text_block(&card).unwrap();
            assert_eq!(parse_text_block(&block).unwrap(), card);
        }
    }

    #[test]
    fn a_long_english_name_spills_into_the_continuation_field() {
        let Card::Foreign2023(mut card) = samples::foreign_2023() else {
            unreachable!()
        };
        // 35 characters end on a space, which must survive the split.
        card.english_name = "WOLFESCHLEGELSTEINHAUSEN BERGERDORF MAXIMILIAN".to_owned();
        assert_eq!(card.english_name.len(), 46);
        assert_eq!(&card.english_name[35..36], " ");
        let card = Card::Foreign2023(card);
        let block = encode_text_block(&card).unwrap();
        assert_eq!(parse_text_block(&block).unwrap(), card);

        let Card::Foreign2023(mut too_long) = card else {
            unreachable!()
        };
        too_long.english_name.push('X');
        assert_eq!(
            encode_text_block(&Card::Foreign2023(too_long)),
            Err(EncodeError::TooLong {
                field: "english_name",
                max: 11
            })
        );
    }

    #[test]
    fn an_unflagged_block_with_a_9_number_reads_as_a_2023_card() {
        let card = samples::foreign_2023();
        let mut block = encode_text_block(&card).unwrap();
        block[248..250].copy_from_slice(b"Z\0");
        assert_eq!(parse_text_block(&block).unwrap(), card);
    }

    #[test]
    fn an_unknown_flag_on_a_non_2023_number_is_an_error() {
        let mut block = encode_text_block(&samples::resident()).unwrap();
        block[248..250].copy_from_slice(b"Q\0");
        assert_eq!(
            parse_text_block(&block),
            Err(TextError::UnknownLayout { flag: 'Q' })
        );
    }

    #[test]
    fn nul_padding_is_trimmed_like_spaces() {
        let mut block = hand_made_resident_block();
        block[4..30].fill(0);
        block[220..256].fill(0);
        let card = parse_text_block(&block).unwrap();
        assert_eq!(card.display_name(), "张三");
        assert_eq!(card.kind(), crate::id_card::card::CardKind::Resident);
    }

    #[test]
    fn broken_fields_are_typed_errors_without_contents() {
        let mut block = hand_made_resident_block();
        block[36..38].copy_from_slice(&utf16("X"));
        let err = parse_text_block(&block).unwrap_err();
        assert_eq!(
            err,
            TextError::Field {
                field: "birth",
                problem: "is not a date (YYYYMMDD)"
            }
        );
        assert!(!err.to_string().contains("1980"));
        assert_eq!(
            parse_text_block(&block[..255]),
            Err(TextError::Length { len: 255 })
        );
        let mut block = hand_made_resident_block();
        block[32..36].copy_from_slice(&utf16("汉族"));
        assert_eq!(parse_text_block(&block), Err(nation_error()));
    }

    #[test]
    fn a_name_too_long_for_its_field_is_refused() {
        let Card::Resident(mut card) = samples::resident() else {
            unreachable!()
        };
        card.name = "名".repeat(16);
        assert_eq!(
            encode_text_block(&Card::Resident(card)),
            Err(EncodeError::TooLong {
                field: "name",
                max: 15
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_blocks_never_panic(block in proptest::collection::vec(proptest::prelude::any::<u8>(), 256)) {
            let _ = parse_text_block(&block);
        }
    }
}
