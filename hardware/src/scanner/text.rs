//! Turning a scanned code's bytes into text.
//!
//! Scanners pass a QR code's payload through as bytes. Phones and most payment or government
//! codes carry UTF-8, but codes printed by older Chinese systems (receipts, forms) carry
//! GB18030/GBK, so UTF-8 is tried first and GB18030 second. The two rarely collide: GB18030's
//! Chinese characters are almost never well-formed UTF-8.

use std::fmt;

/// Which encoding a code's bytes were read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, which includes plain ASCII.
    Utf8,
    /// GB18030 (a superset of GBK and GB2312).
    Gb18030,
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Utf8 => "UTF-8",
            Self::Gb18030 => "GB18030",
        })
    }
}

/// A code's text and how it was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedText {
    /// The text with stray control characters removed; may be empty if there was nothing else.
    pub text: String,
    /// The encoding that read the bytes without error.
    pub encoding: TextEncoding,
    /// How many control characters were removed.
    pub removed_controls: usize,
}

/// Bytes that are neither UTF-8 nor GB18030: usually a baud-rate mismatch or line noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{len} scanned bytes are neither UTF-8 nor GB18030: check the scanner's baud rate and output encoding"
)]
pub struct UndecodableText {
    /// How many bytes the code had.
    pub len: usize,
}

/// Decodes a code: UTF-8 first, then GB18030, then removes stray control characters.
///
/// Control characters at either end (a mismatched suffix, NUL padding, STX/ETX wrappers) and a
/// leading byte-order mark are dropped. Inside the text, tab, CR, LF and the ISO/IEC 15434
/// separators (EOT, FS, GS, RS, US, which GS1 and ANSI MH10 codes use between fields) are
/// kept because they are data; any other control character is dropped as noise.
pub fn decode(raw: &[u8]) -> Result<DecodedText, UndecodableText> {
    let (text, encoding) = match std::str::from_utf8(raw) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), TextEncoding::Utf8),
        Err(_) => {
            match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(raw) {
                Some(text) => (text, TextEncoding::Gb18030),
                None => return Err(UndecodableText { len: raw.len() }),
            }
        }
    };
    let (text, removed_controls) = clean(&text);
    Ok(DecodedText {
        text,
        encoding,
        removed_controls,
    })
}

fn clean(text: &str) -> (String, usize) {
    let body = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let trimmed = body.trim_matches(|c: char| c.is_control());
    let mut removed = body.chars().count() - trimmed.chars().count();
    let mut out = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if !c.is_control() || kept_inside(c) {
            out.push(c);
        } else {
            removed += 1;
        }
    }
    (out, removed)
}

fn kept_inside(c: char) -> bool {
    matches!(c, '\t' | '\r' | '\n' | '\u{04}' | '\u{1C}'..='\u{1F}')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn ascii_and_utf8_read_as_utf8() {
        let d = decode(b"https://x.cn/r/A1?b=2").unwrap();
        assert_eq!(d.text, "https://x.cn/r/A1?b=2");
        assert_eq!(d.encoding, TextEncoding::Utf8);
        let d = decode("榆林市便民服务".as_bytes()).unwrap();
        assert_eq!(
            (d.text.as_str(), d.encoding),
            ("榆林市便民服务", TextEncoding::Utf8)
        );
    }

    #[test]
    fn gb18030_chinese_falls_back_to_gb18030() {
        // "中文" in GB18030, written out so the test does not depend on the encoder.
        let d = decode(&[0xD6, 0xD0, 0xCE, 0xC4]).unwrap();
        assert_eq!(d.text, "中文");
        assert_eq!(d.encoding, TextEncoding::Gb18030);

        let (bytes, _, unmappable) = encoding_rs::GB18030.encode("收据号:2024-001 榆林");
        assert!(!unmappable);
        let d = decode(&bytes).unwrap();
        assert_eq!(d.text, "收据号:2024-001 榆林");
        assert_eq!(d.encoding, TextEncoding::Gb18030);
    }

    #[test]
    fn bytes_that_fit_neither_encoding_are_an_error() {
        let err = decode(&[b'A', 0xFF, 0xFE, 0x81]).unwrap_err();
        assert_eq!(err, UndecodableText { len: 4 });
        assert!(err.to_string().contains("baud rate"), "{err}");
    }

    #[test]
    fn controls_at_the_ends_and_noise_inside_are_removed() {
        let d = decode(b"\n\x02ABC\x00D\x03\r").unwrap();
        assert_eq!(d.text, "ABCD");
        assert_eq!(d.removed_controls, 5);
        let d = decode("\u{FEFF}bom".as_bytes()).unwrap();
        assert_eq!(d.text, "bom");
    }

    #[test]
    fn field_separators_and_line_breaks_inside_are_kept() {
        let gs1 = b"]d2\x1d0104912345123459\x1d10ABC";
        assert_eq!(decode(gs1).unwrap().text.as_bytes(), gs1);
        let d = decode(b"name\tvalue\r\nline2").unwrap();
        assert_eq!(d.text, "name\tvalue\r\nline2");
        assert_eq!(d.removed_controls, 0);
    }

    #[test]
    fn only_controls_leave_empty_text() {
        let d = decode(b"\x00\x00\x07").unwrap();
        assert!(d.text.is_empty());
        assert_eq!(d.removed_controls, 3);
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(d) = decode(&raw) {
                prop_assert!(!d.text.starts_with(|c: char| c.is_control()));
                prop_assert!(!d.text.ends_with(|c: char| c.is_control()));
            }
        }

        #[test]
        fn utf8_text_round_trips(text in "[^\\p{Cc}]{1,40}") {
            let d = decode(text.as_bytes()).unwrap();
            prop_assert_eq!(d.encoding, TextEncoding::Utf8);
            prop_assert_eq!(d.text.as_str(), text.strip_prefix('\u{FEFF}').unwrap_or(&text));
        }
    }
}
