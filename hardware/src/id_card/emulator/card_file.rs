//! A card as the emulator holds it: the human fields, plus the text block, fake photo and
//! appended address it answers with. Loaded from TOML or JSON fixture files.
//!
//! A card file is a [`Card`] with its `kind` (`resident`, `permit`, `foreign`,
//! `foreign-2023`) and an optional `appended_address`:
//!
//! ```toml
//! kind = "resident"
//! name = "张三"
//! gender = "male"
//! nation = "汉"
//! birth = 1980-01-01
//! address = "北京市东城区示例路1号"
//! id_number = "110105198001010016"
//! issuer = "北京市公安局东城分局"
//! valid_from = 2015-06-01
//! valid_until = "长期"
//! appended_address = "北京市西城区示例街2号"
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::id_card::card::Card;
use crate::id_card::read::{AddressTooLong, PHOTO_LEN, encode_appended_address};
use crate::id_card::text::{EncodeError, TEXT_BLOCK_LEN, encode_text_block};

/// A card ready to be placed on the emulated reader.
#[derive(Clone, PartialEq, Eq)]
pub struct EmulatedCard {
    card: Card,
    text: [u8; TEXT_BLOCK_LEN],
    photo: Vec<u8>,
    appended_address: Option<String>,
}

/// Why a card could not be prepared or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CardFileError {
    #[error("cannot read card file {path}: check the path and its permissions")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("card file {path} is not a valid TOML card: fix the field the cause names")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("card file {path} is not a valid JSON card: fix the field the cause names")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("card file {path} must end in .toml or .json")]
    Extension { path: PathBuf },
    #[error("the card does not fit a card's text block: shorten the field the cause names")]
    Encode(#[from] EncodeError),
    #[error("the appended address does not fit: shorten it")]
    Address(#[from] AddressTooLong),
}

#[derive(serde::Deserialize)]
struct CardFile {
    #[serde(flatten)]
    card: Card,
    #[serde(default)]
    appended_address: Option<String>,
}

impl EmulatedCard {
    /// Prepares a card, building its text block and a photo derived from it.
    pub fn new(card: Card) -> Result<Self, CardFileError> {
        let text = encode_text_block(&card)?;
        let photo = fake_photo(&text);
        Ok(Self {
            card,
            text,
            photo,
            appended_address: None,
        })
    }

    /// Gives the card an appended address (otherwise the reader answers "no content").
    pub fn with_appended_address(
        mut self,
        address: impl Into<String>,
    ) -> Result<Self, CardFileError> {
        let address = address.into();
        encode_appended_address(&address)?;
        self.appended_address = Some(address);
        Ok(self)
    }

    /// Loads a `.toml` or `.json` card file.
    pub fn load(path: &Path) -> Result<Self, CardFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| CardFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file: CardFile = match path.extension().and_then(|ext| ext.to_str()) {
            Some("toml") => toml::from_str(&text).map_err(|source| CardFileError::Toml {
                path: path.to_owned(),
                source,
            })?,
            Some("json") => serde_json::from_str(&text).map_err(|source| CardFileError::Json {
                path: path.to_owned(),
                source,
            })?,
            _ => {
                return Err(CardFileError::Extension {
                    path: path.to_owned(),
                });
            }
        };
        let card = Self::new(file.card)?;
        match file.appended_address {
            Some(address) => card.with_appended_address(address),
            None => Ok(card),
        }
    }

    pub fn card(&self) -> &Card {
        &self.card
    }

    /// The 256 bytes the reader returns for this card.
    pub fn text_block(&self) -> &[u8; TEXT_BLOCK_LEN] {
        &self.text
    }

    /// The photo bytes the reader returns: not a real WLT image, but fixed for a given card.
    pub fn photo(&self) -> &[u8] {
        &self.photo
    }

    pub fn appended_address(&self) -> Option<&str> {
        self.appended_address.as_deref()
    }
}

impl fmt::Debug for EmulatedCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatedCard")
            .field("card", &self.card)
            .field("appended_address", &self.appended_address.is_some())
            .finish_non_exhaustive()
    }
}

/// 1024 bytes that look like compressed data and depend only on the text block, so a test
/// can check the photo it gets is the one for this card.
fn fake_photo(text: &[u8; TEXT_BLOCK_LEN]) -> Vec<u8> {
    // FNV-1a seeds an xorshift64 stream.
    let mut state = text.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut photo = Vec::with_capacity(PHOTO_LEN);
    while photo.len() < PHOTO_LEN {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        photo.extend_from_slice(&state.to_le_bytes());
    }
    photo.truncate(PHOTO_LEN);
    photo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_card::samples;

    #[test]
    fn photos_are_deterministic_and_differ_per_card() {
        let a = EmulatedCard::new(samples::resident()).unwrap();
        let b = EmulatedCard::new(samples::resident()).unwrap();
        let c = EmulatedCard::new(samples::permit()).unwrap();
        assert_eq!(a.photo().len(), PHOTO_LEN);
        assert_eq!(a.photo(), b.photo());
        assert_ne!(a.photo(), c.photo());
    }

    #[test]
    fn loads_toml_and_json_files() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("card.toml");
        std::fs::write(
            &toml_path,
            r#"
kind = "permit"
name = "陈大文"
gender = "male"
birth = 1990-01-01
address = "广西壮族自治区玉林市玉州区示例路8号"
id_number = "810000199001011230"
issuer = "玉林市公安局玉州分局"
valid_from = "2023-03-01"
valid_until = "2028-03-01"
pass_number = "H01234567"
issue_count = 1
appended_address = "广西玉林市玉州区示例街道3号"
"#,
        )
        .unwrap();
        let card = EmulatedCard::load(&toml_path).unwrap();
        assert_eq!(card.card(), &samples::permit());
        assert_eq!(card.appended_address(), Some("广西玉林市玉州区示例街道3号"));

        let json_path = dir.path().join("card.json");
        std::fs::write(
            &json_path,
            r#"{"kind":"foreign-2023","chinese_name":"史密斯","english_name":"SMITH, JOHN",
                "gender":"male","renewal_count":0,"birth":"1980-01-01",
                "id_number":"911840198001010013","valid_from":"2023-12-01",
                "valid_until":"2033-12-01","nationality":"USA"}"#,
        )
        .unwrap();
        let card = EmulatedCard::load(&json_path).unwrap();
        assert_eq!(card.card(), &samples::foreign_2023());
        assert_eq!(card.appended_address(), None);
    }

    #[test]
    fn bad_files_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.yaml");
        std::fs::write(&path, "kind: resident").unwrap();
        let err = EmulatedCard::load(&path).unwrap_err();
        assert!(matches!(err, CardFileError::Extension { .. }));
        assert!(err.to_string().contains("card.yaml"));

        let path = dir.path().join("broken.toml");
        std::fs::write(&path, "kind = \"resident\"\nname = \"张三\"\n").unwrap();
        let err = EmulatedCard::load(&path).unwrap_err();
        assert!(matches!(err, CardFileError::Toml { .. }), "{err:?}");

        let err = EmulatedCard::load(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(err, CardFileError::Read { .. }));
    }

    #[test]
    fn debug_shows_no_personal_text() {
        let card = EmulatedCard::new(samples::resident())
            .unwrap()
            .with_appended_address("某地")
            .unwrap();
        let debug = format!("{card:?}");
        assert!(
            !debug.contains("张三") && !debug.contains("某地"),
            "{debug}"
        );
    }
}
