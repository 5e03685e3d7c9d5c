//! Paper widths: how many dots a line has and how many 12-dot columns fit in it.

use std::fmt;
use std::str::FromStr;

/// Dots per Font A column (12 × 24 glyphs); a GBK double-byte character takes two columns.
pub const COLUMN_DOTS: u16 = 12;

/// The printable width of the paper roll at 203 dpi (8 dots/mm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PaperWidth {
    /// 58 mm roll: 384 dots, 32 columns.
    #[default]
    Mm58,
    /// 80 mm roll: 576 dots, 48 columns.
    Mm80,
}

impl PaperWidth {
    /// Printable dots per line.
    pub fn dots(self) -> u16 {
        match self {
            PaperWidth::Mm58 => 384,
            PaperWidth::Mm80 => 576,
        }
    }

    /// Font A columns per line (single-byte characters at normal size).
    pub fn columns(self) -> usize {
        usize::from(self.dots() / COLUMN_DOTS)
    }

    /// Millimetres, as printed on the roll's box.
    pub fn millimetres(self) -> u8 {
        match self {
            PaperWidth::Mm58 => 58,
            PaperWidth::Mm80 => 80,
        }
    }

    /// The width whose dot count is `dots`, if it is one of ours.
    pub fn from_dots(dots: u32) -> Option<Self> {
        match dots {
            384 => Some(PaperWidth::Mm58),
            576 => Some(PaperWidth::Mm80),
            _ => None,
        }
    }
}

impl fmt::Display for PaperWidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} mm", self.millimetres())
    }
}

/// A paper width named on a command line or in a config file that is not 58 or 80 mm.
#[derive(Debug, thiserror::Error)]
#[error("unknown paper width `{given}`: use 58 or 80 (millimetres)")]
pub struct UnknownPaperWidth {
    pub given: String,
}

impl FromStr for PaperWidth {
    type Err = UnknownPaperWidth;

    /// Accepts `58`, `58mm`, `58 mm`, `80`, `80mm`, `80 mm`, `384` and `576` (dots).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim().to_ascii_lowercase();
        let number = trimmed.trim_end_matches("mm").trim();
        match number {
            "58" | "384" => Ok(PaperWidth::Mm58),
            "80" | "576" => Ok(PaperWidth::Mm80),
            _ => Err(UnknownPaperWidth {
                given: s.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_have_the_documented_dots_and_columns() {
        assert_eq!(
            (PaperWidth::Mm58.dots(), PaperWidth::Mm58.columns()),
            (384, 32)
        );
        assert_eq!(
            (PaperWidth::Mm80.dots(), PaperWidth::Mm80.columns()),
            (576, 48)
        );
    }

    #[test]
    fn widths_parse_from_command_line_spellings() {
        assert_eq!("58".parse::<PaperWidth>().unwrap(), PaperWidth::Mm58);
        assert_eq!("80 mm".parse::<PaperWidth>().unwrap(), PaperWidth::Mm80);
        assert_eq!("80MM".parse::<PaperWidth>().unwrap(), PaperWidth::Mm80);
        assert_eq!("576".parse::<PaperWidth>().unwrap(), PaperWidth::Mm80);
        let err = "76".parse::<PaperWidth>().unwrap_err().to_string();
        assert!(err.contains("`76`") && err.contains("58 or 80"), "{err}");
    }
}
