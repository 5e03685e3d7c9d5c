//! Making text printable on a GBK printer: what survives, what is replaced, how wide it prints.
//!
//! In Chinese mode the printer takes printable ASCII as single bytes (one 12-dot column) and
//! GBK double-byte codes (a 24-dot glyph, two columns). Anything else — GB18030 four-byte
//! characters, emoji, control characters, the single byte GBK uses for `€` — would be misprinted
//! or read as a command, so it is replaced before encoding.

use encoding_rs::{EncoderResult, GBK};
use unicode_width::UnicodeWidthChar;

/// Printed in place of a character the printer cannot print. It is itself in GBK (A1 F5), the
/// box Chinese typesetting uses for a missing glyph.
pub const REPLACEMENT: char = '□';

/// `text` with every character the printer cannot print replaced by [`REPLACEMENT`].
///
/// Tabs and other control characters become spaces (a raw control byte is a printer command);
/// zero-width characters outside GBK (combining marks, variation selectors, joiners) are dropped
/// rather than boxed, so `✅️` prints one box, not two.
pub fn printable(text: &str) -> String {
    let mut encoder = GBK.new_encoder();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(if c.is_ascii_control() { ' ' } else { c });
        } else if c.is_control() {
            out.push(' ');
        } else if ('\u{E000}'..='\u{F8FF}').contains(&c) {
            // encoding_rs maps private-use characters into GBK's user-defined areas, which a
            // printer's font leaves blank or fills with its own glyphs.
            out.push(REPLACEMENT);
        } else if encoded_len(&mut encoder, c) == Some(2) {
            out.push(c);
        } else if c.width() == Some(0) {
            // Dropped: a zero-width mark has nothing to show.
        } else {
            out.push(REPLACEMENT);
        }
    }
    out
}

fn encoded_len(encoder: &mut encoding_rs::Encoder, c: char) -> Option<usize> {
    let mut utf8 = [0u8; 4];
    let mut out = [0u8; 8];
    let (result, _, written) =
        encoder.encode_from_utf8_without_replacement(c.encode_utf8(&mut utf8), &mut out, true);
    matches!(result, EncoderResult::InputEmpty).then_some(written)
}

/// Columns a character takes on paper at normal size: one for a single byte, two for a GBK
/// double-byte glyph.
///
/// This is the printer's rule, not `unicode-width`'s: the two agree on CJK ideographs, but
/// about 2,500 GBK characters (pinyin `ā`, `·`, `—`, Greek, Cyrillic) are narrow to a terminal
/// and still print as 24-dot glyphs. `U+FFFD` is what the decoder shows for a stray single byte.
pub fn columns(c: char) -> usize {
    if c.is_ascii() || c == char::REPLACEMENT_CHARACTER {
        1
    } else {
        2
    }
}

/// Columns `text` takes at normal size (see [`columns`]).
pub fn text_columns(text: &str) -> usize {
    text.chars().map(columns).sum()
}

/// Appends `text` as GBK bytes. Characters [`printable`] would replace are written as the
/// replacement, so no byte the printer would misread is ever produced.
pub fn encode_into(text: &str, out: &mut Vec<u8>) {
    let text = printable(text);
    let mut encoder = GBK.new_encoder();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let start = out.len();
        let room = encoder
            .max_buffer_length_from_utf8_without_replacement(rest.len())
            .unwrap_or(rest.len() * 2 + 8);
        out.resize(start + room, 0);
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut out[start..], true);
        out.truncate(start + written);
        rest = &rest[read..];
        if let EncoderResult::Unmappable(_) = result {
            out.extend_from_slice(&[0xA1, 0xF5]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(text, &mut out);
        out
    }

    #[test]
    fn chinese_text_is_gbk_double_bytes() {
        assert_eq!(gbk("便民"), [0xB1, 0xE3, 0xC3, 0xF1]);
        assert_eq!(gbk("A1"), *b"A1");
        assert_eq!(gbk(&REPLACEMENT.to_string()), [0xA1, 0xF5]);
    }

    #[test]
    fn characters_outside_gbk_are_replaced_by_a_visible_box() {
        // 𠮷 is GB18030 four-byte only; 😀 has no GB code at all; € is GBK's lone single byte 0x80.
        assert_eq!(printable("吉𠮷😀€"), "吉□□□");
        assert_eq!(printable("\u{E5E5}"), "□");
        assert_eq!(gbk("𠮷"), [0xA1, 0xF5]);
        assert_eq!(gbk("€"), [0xA1, 0xF5]);
    }

    #[test]
    fn no_byte_sequence_outside_ascii_and_gbk_double_bytes_is_produced() {
        let bytes = gbk("姓名：张𠮷 ✅️ ā·— 😀\u{1b}@\t\n€");
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                assert!((0x20..0x7F).contains(&b), "control byte {b:#04x} at {i}");
                i += 1;
            } else {
                assert!((0x81..=0xFE).contains(&b), "bad lead {b:#04x}");
                let trail = bytes[i + 1];
                assert!(
                    (0x40..=0xFE).contains(&trail) && trail != 0x7F,
                    "bad trail {trail:#04x}"
                );
                i += 2;
            }
        }
    }

    #[test]
    fn control_characters_never_reach_the_printer_as_commands() {
        assert_eq!(printable("a\u{1b}@b\nc\td\u{85}"), "a @b c d ");
    }

    #[test]
    fn zero_width_marks_outside_gbk_are_dropped() {
        assert_eq!(printable("✅\u{FE0F}"), "□");
        assert_eq!(printable("e\u{301}"), "e");
    }

    #[test]
    fn printed_columns_follow_the_byte_count() {
        assert_eq!(text_columns("回执A1"), 6);
        // Narrow in a terminal, but a 24-dot glyph on the printer.
        assert_eq!(text_columns("ā·"), 4);
        assert_eq!(text_columns(&printable("𠮷")), 2);
    }
}
