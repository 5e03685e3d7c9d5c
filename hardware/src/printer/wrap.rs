//! Breaking printable text into lines that fit a number of paper columns.
//!
//! Widths are the printer's (see [`super::gbk::columns`]): a Chinese character is two columns.
//! Chinese text breaks between any two characters; a run of ASCII without spaces (a receipt
//! number, a phone number, a word) moves to the next line whole when it fits there, and is cut
//! only when it is longer than a line.

use super::gbk;

/// Wraps already-[`printable`](gbk::printable) `text` into lines of at most `columns` columns.
///
/// Always returns at least one line (an empty text prints one blank line). Spaces at a break
/// are dropped; a character wider than `columns` still gets a line of its own.
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut width = 0;
    let mut broke = false;
    for segment in segments(text) {
        let segment_width = gbk::text_columns(segment);
        if segment == " " {
            if broke && width == 0 {
                continue;
            }
            if width + 1 > columns {
                finish(&mut lines, &mut line, &mut width);
                broke = true;
                continue;
            }
        } else if width + segment_width > columns {
            if width > 0 {
                finish(&mut lines, &mut line, &mut width);
                broke = true;
            }
            if segment_width > columns {
                // Longer than a line: cut it wherever the line is full.
                for c in segment.chars() {
                    let w = gbk::columns(c);
                    if width > 0 && width + w > columns {
                        finish(&mut lines, &mut line, &mut width);
                        broke = true;
                    }
                    line.push(c);
                    width += w;
                }
                continue;
            }
        }
        line.push_str(segment);
        width += segment_width;
    }
    lines.push(line);
    lines
}

fn finish(lines: &mut Vec<String>, line: &mut String, width: &mut usize) {
    let trimmed_len = line.trim_end_matches(' ').len();
    line.truncate(trimmed_len);
    lines.push(std::mem::take(line));
    *width = 0;
}

/// Splits text into break units: one space, one non-ASCII character, or a run of other ASCII.
fn segments(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let len = if first == ' ' || !first.is_ascii() {
            first.len_utf8()
        } else {
            rest.find(|c: char| c == ' ' || !c.is_ascii())
                .unwrap_or(rest.len())
        };
        let (segment, tail) = rest.split_at(len);
        rest = tail;
        Some(segment)
    })
}

/// A label followed by its value; a long value continues on the next lines indented to where
/// it started, so the label column stays clear:
///
/// ```text
/// 服务事项：城乡居民基本养老保险参
///           保登记
/// ```
///
/// When the label takes more than half the line the value starts on its own line instead,
/// indented by two columns.
pub fn label_value(label: &str, value: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let label_width = gbk::text_columns(label);
    if label_width * 2 <= columns {
        let indent = " ".repeat(label_width);
        wrap(value, columns - label_width)
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    format!("{label}{part}")
                } else {
                    format!("{indent}{part}")
                }
            })
            .collect()
    } else {
        let indent = 2.min(columns - 1);
        let mut lines = wrap(label, columns);
        lines.extend(
            wrap(value, columns - indent)
                .into_iter()
                .map(|part| format!("{}{part}", " ".repeat(indent))),
        );
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_breaks_at_the_column_limit_counting_two_per_character() {
        // 18 characters = 36 columns on a 32-column line: 16 characters, then 2.
        let lines = wrap("城乡居民基本养老保险参保登记服务指南", 32);
        assert_eq!(lines, ["城乡居民基本养老保险参保登记服务", "指南"]);
        assert!(lines.iter().all(|l| gbk::text_columns(l) <= 32));
    }

    #[test]
    fn a_wide_character_never_straddles_the_edge() {
        // 31 ASCII columns leave one column: the next Chinese character needs two.
        let text = format!("{}回执", "a".repeat(31));
        assert_eq!(wrap(&text, 32), ["a".repeat(31), "回执".to_owned()]);
    }

    #[test]
    fn ascii_words_move_whole_and_spaces_at_breaks_are_dropped() {
        assert_eq!(
            wrap("call 0775-2812345 today", 12),
            ["call", "0775-2812345", "today"]
        );
        assert_eq!(
            wrap("编号 BM-20250312-000123", 16),
            ["编号", "BM-20250312-0001", "23"]
        );
    }

    #[test]
    fn words_longer_than_a_line_are_cut() {
        assert_eq!(
            wrap("https://example.cn/abcdef", 10),
            ["https://ex", "ample.cn/a", "bcdef"]
        );
    }

    #[test]
    fn empty_text_is_one_blank_line_and_leading_spaces_are_kept() {
        assert_eq!(wrap("", 32), [""]);
        assert_eq!(wrap("  indented", 32), ["  indented"]);
    }

    #[test]
    fn a_too_narrow_line_still_makes_progress() {
        assert_eq!(wrap("回执", 1), ["回", "执"]);
        assert_eq!(wrap("ab", 0), ["a", "b"]);
    }

    #[test]
    fn a_value_wraps_under_itself() {
        let lines = label_value("服务事项：", "城乡居民基本养老保险参保登记", 32);
        assert_eq!(
            lines,
            ["服务事项：城乡居民基本养老保险参", "          保登记"]
        );
        assert_eq!(gbk::text_columns(&lines[0]), 32);
    }

    #[test]
    fn a_wide_label_puts_the_value_below_it() {
        let lines = label_value("一个特别特别长的标签名称：", "值", 20);
        assert_eq!(lines, ["一个特别特别长的标签", "名称：", "  值"]);
    }
}
