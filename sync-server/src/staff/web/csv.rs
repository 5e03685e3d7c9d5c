//! One CSV field as the staff exports write it: quoted when needed, and defused when a
//! spreadsheet could read it as a formula (CSV injection: `=HYPERLINK(…)` in an applicant's
//! name runs when a clerk opens the export).
//!
//! A field is defused, by a leading `'` that spreadsheets show as text, when it starts with
//! - a tab, carriage return or line feed (spreadsheets skip or split on them and read what
//!   follows as a new cell's start), or
//! - after any whitespace, control or invisible characters, one of `= + - @ |` or their
//!   full-width (`＝ ＋ － ＠ ｜`) and small (`﹦ ﹢ ﹣ ﹫`) forms, which a Chinese input method
//!   types and spreadsheets fold to the ASCII ones.
//!
//! A number with a leading minus is defused too and so shows as text; the exports hold
//! names, codes and dates, not numbers to add up.

/// Characters that start a formula.
const FORMULA_START: [char; 14] = [
    '=', '+', '-', '@', '|', '＝', '＋', '－', '＠', '｜', '﹦', '﹢', '﹣', '﹫',
];

/// Characters a spreadsheet may skip before it looks for a formula: whitespace (the
/// ideographic space too), controls, and the invisible format characters.
fn skipped(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Whether a spreadsheet could take `text` for a formula.
pub fn looks_like_formula(text: &str) -> bool {
    text.starts_with(['\t', '\r', '\n'])
        || text.trim_start_matches(skipped).starts_with(FORMULA_START)
}

/// `text` as one CSV field.
pub fn field(text: &str) -> String {
    let defused = if looks_like_formula(text) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_pass_and_special_ones_are_quoted() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("李秀英"), "李秀英");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("2026-11-26"), "2026-11-26");
        assert_eq!(field("001-00001-K"), "001-00001-K");
        assert_eq!(field("a=b"), "a=b");
        assert_eq!(field(""), "");
    }

    #[test]
    fn every_formula_start_is_defused() {
        let hostile = [
            "=HYPERLINK(\"x\")",
            "+1+1",
            "-1",
            "@SUM(A1)",
            "|calc",
            "\t=1+1",
            "\tplain after a tab",
            "\r=1+1",
            "\n=1+1",
            " =1+1",
            "   +1",
            "\u{3000}=1+1",
            "\u{a0}@x",
            "\u{200b}=1",
            "\u{feff}=1",
            "＝HYPERLINK(\"x\")",
            "＋1",
            "－1",
            "＠SUM(A1)",
            "﹦1",
            " \t ＝1",
        ];
        for text in hostile {
            assert!(looks_like_formula(text), "{text:?}");
            let written = field(text);
            let unquoted = written
                .strip_prefix('"')
                .and_then(|w| w.strip_suffix('"'))
                .unwrap_or(&written);
            assert!(unquoted.starts_with('\''), "{text:?} → {written:?}");
        }
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field("\r=1"), "\"'\r=1\"");
    }
}
