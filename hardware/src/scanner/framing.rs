//! Splitting a serial scanner's byte stream into codes.
//!
//! A serial or USB-CDC scanner sends each decoded code followed by a configurable suffix: CR,
//! LF or CR LF (the Honeywell plug-and-play default), or nothing at all. The framer is pure and
//! streaming: feed it whatever each read returned, in any split, and it hands back whole frames.
//! A scanner without a suffix is framed by silence, which only the driver can measure, so it
//! calls [`Framer::flush`] after an idle gap.

use std::fmt;
use std::str::FromStr;

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// What ends a code on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Terminator {
    /// Carriage return only; a LF is data.
    Cr,
    /// Line feed only; a CR is data.
    Lf,
    /// The pair CR LF; a lone CR or LF is data.
    CrLf,
    /// Any of CR, LF or CR LF, with CR LF counted as one terminator even when the CR and the
    /// LF arrive in different reads. Right for a scanner whose suffix setting is unknown.
    #[default]
    Auto,
    /// No suffix: codes end only when the driver sees silence. CR and LF are data, so a
    /// multi-line QR payload survives intact.
    None,
}

impl Terminator {
    /// The names accepted by [`FromStr`], for command-line help.
    pub const NAMES: [&'static str; 5] = ["cr", "lf", "crlf", "auto", "none"];
}

impl fmt::Display for Terminator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cr => "cr",
            Self::Lf => "lf",
            Self::CrLf => "crlf",
            Self::Auto => "auto",
            Self::None => "none",
        })
    }
}

/// A terminator name that is not one of [`Terminator::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scanner terminator `{given}`: use one of cr, lf, crlf, auto, none")]
pub struct ParseTerminatorError {
    /// What was given.
    pub given: String,
}

impl FromStr for Terminator {
    type Err = ParseTerminatorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cr" => Ok(Self::Cr),
            "lf" => Ok(Self::Lf),
            "crlf" | "cr-lf" | "cr+lf" => Ok(Self::CrLf),
            "auto" => Ok(Self::Auto),
            "none" => Ok(Self::None),
            _ => Err(ParseTerminatorError {
                given: s.to_owned(),
            }),
        }
    }
}

/// The framer's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerConfig {
    /// What ends a code.
    pub terminator: Terminator,
    /// The longest code accepted, in bytes, without the terminator. A version 40 QR code holds
    /// at most 2953 bytes, so the default of 4096 only trips on noise (wrong baud rate) or a
    /// terminator the framer is not listening for.
    pub max_len: usize,
}

impl Default for FramerConfig {
    fn default() -> Self {
        Self {
            terminator: Terminator::Auto,
            max_len: 4096,
        }
    }
}

/// One result of framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameItem {
    /// The bytes of one code, terminator removed; never empty.
    Code(Vec<u8>),
    /// A code longer than the limit. Its bytes up to the terminator were thrown away.
    TooLong {
        /// How many bytes the over-long code had (saturating).
        len: usize,
        /// The limit it broke.
        max_len: usize,
    },
}

/// A streaming framer for CR/LF-terminated scanner output.
///
/// Memory is bounded: at most `max_len` bytes are ever buffered, whatever arrives.
#[derive(Debug, Clone)]
pub struct Framer {
    config: FramerConfig,
    buf: Vec<u8>,
    /// `Some(n)` while throwing away an over-long code of `n` bytes so far.
    overflow: Option<usize>,
    /// `CrLf` mode: a CR was seen and the next byte decides whether it was a terminator.
    pending_cr: bool,
}

impl Framer {
    /// A framer with nothing buffered.
    pub fn new(config: FramerConfig) -> Self {
        Self {
            config,
            buf: Vec::new(),
            overflow: None,
            pending_cr: false,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &FramerConfig {
        &self.config
    }

    /// Feeds bytes as they arrived; returns the frames they completed, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<FrameItem> {
        let mut items = Vec::new();
        for &byte in bytes {
            if let Some(item) = self.push_byte(byte) {
                items.push(item);
            }
        }
        items
    }

    /// Ends the code in progress, if any, as if its terminator had arrived. The driver calls
    /// this after an idle gap so scanners without a suffix (or a suffix the framer is not
    /// listening for) still deliver.
    pub fn flush(&mut self) -> Option<FrameItem> {
        // A trailing lone CR in CrLf mode was the start of a suffix that never finished.
        self.pending_cr = false;
        self.end_frame()
    }

    /// Whether part of a code is waiting for its terminator (or for [`Framer::flush`]).
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.overflow.is_some() || self.pending_cr
    }

    /// How many bytes are buffered now; never more than `max_len`.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Forgets the code in progress, e.g. after the port was reopened.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.overflow = None;
        self.pending_cr = false;
    }

    fn push_byte(&mut self, byte: u8) -> Option<FrameItem> {
        match self.config.terminator {
            Terminator::Cr if byte == CR => self.end_frame(),
            Terminator::Lf if byte == LF => self.end_frame(),
            // The empty frame between the CR and LF of a CR LF is dropped like any empty
            // frame, so the pair counts once however the reads split it.
            Terminator::Auto if byte == CR || byte == LF => self.end_frame(),
            Terminator::CrLf => {
                if std::mem::take(&mut self.pending_cr) {
                    if byte == LF {
                        return self.end_frame();
                    }
                    // A CR not followed by LF was data after all.
                    self.add(CR);
                }
                if byte == CR {
                    self.pending_cr = true;
                } else {
                    self.add(byte);
                }
                None
            }
            _ => {
                self.add(byte);
                None
            }
        }
    }

    fn add(&mut self, byte: u8) {
        if let Some(len) = &mut self.overflow {
            *len = len.saturating_add(1);
        } else if self.buf.len() >= self.config.max_len {
            self.overflow = Some(self.buf.len().saturating_add(1));
            self.buf.clear();
        } else {
            self.buf.push(byte);
        }
    }

    fn end_frame(&mut self) -> Option<FrameItem> {
        if let Some(len) = self.overflow.take() {
            self.buf.clear();
            return Some(FrameItem::TooLong {
                len,
                max_len: self.config.max_len,
            });
        }
        if self.buf.is_empty() {
            return None;
        }
        Some(FrameItem::Code(std::mem::take(&mut self.buf)))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn framer(terminator: Terminator) -> Framer {
        Framer::new(FramerConfig {
            terminator,
            max_len: 16,
        })
    }

    fn code(bytes: &[u8]) -> FrameItem {
        FrameItem::Code(bytes.to_vec())
    }

    #[test]
    fn cr_mode_ends_on_cr_and_keeps_lf_as_data() {
        let mut f = framer(Terminator::Cr);
        assert_eq!(f.push(b"ABC\rDE"), vec![code(b"ABC")]);
        assert_eq!(f.push(b"F\n\r"), vec![code(b"DEF\n")]);
        assert!(!f.has_partial());
    }

    #[test]
    fn lf_mode_ends_on_lf_and_keeps_cr_as_data() {
        let mut f = framer(Terminator::Lf);
        assert_eq!(f.push(b"ABC\nX\rY\n"), vec![code(b"ABC"), code(b"X\rY")]);
    }

    #[test]
    fn crlf_mode_needs_the_pair_even_split_across_reads() {
        let mut f = framer(Terminator::CrLf);
        assert_eq!(f.push(b"AB\r"), vec![]);
        assert!(f.has_partial());
        assert_eq!(
            f.push(b"\nCD\rE\nF\r\r\n"),
            vec![code(b"AB"), code(b"CD\rE\nF\r")]
        );
        assert!(!f.has_partial());
    }

    #[test]
    fn auto_mode_accepts_each_terminator_and_counts_crlf_once() {
        let mut f = framer(Terminator::Auto);
        assert_eq!(
            f.push(b"A\rB\nC\r\nD\n\rE"),
            vec![code(b"A"), code(b"B"), code(b"C"), code(b"D")]
        );
        assert_eq!(f.flush(), Some(code(b"E")));
    }

    #[test]
    fn auto_mode_joins_a_crlf_split_between_reads() {
        let mut f = framer(Terminator::Auto);
        assert_eq!(f.push(b"https://x.cn\r"), vec![code(b"https://x.cn")]);
        assert_eq!(
            f.push(b"\n"),
            vec![],
            "the LF is the end of the same suffix"
        );
        assert_eq!(f.push(b"\nnext\r"), vec![code(b"next")]);
    }

    #[test]
    fn none_mode_only_ends_on_flush_and_keeps_line_breaks() {
        let mut f = framer(Terminator::None);
        assert_eq!(f.push(b"line1\r\nline2"), vec![]);
        assert_eq!(f.flush(), Some(code(b"line1\r\nline2")));
        assert_eq!(f.flush(), None, "nothing left to flush");
    }

    #[test]
    fn empty_frames_are_ignored() {
        let mut f = framer(Terminator::Lf);
        assert_eq!(f.push(b"\n\n\nA\n\n"), vec![code(b"A")]);
        let mut f = framer(Terminator::Auto);
        assert_eq!(f.push(b"\r\r\n\n\r"), vec![]);
    }

    #[test]
    fn flush_drops_an_unfinished_crlf_suffix() {
        let mut f = framer(Terminator::CrLf);
        assert_eq!(f.push(b"XY\r"), vec![]);
        assert_eq!(f.flush(), Some(code(b"XY")));
        assert!(!f.has_partial());
    }

    #[test]
    fn a_code_at_the_limit_passes_and_one_byte_more_is_too_long() {
        let mut f = framer(Terminator::Cr);
        let exact = [b'7'; 16];
        assert_eq!(f.push(&exact), vec![]);
        assert_eq!(f.push(b"\r"), vec![code(&exact)]);

        let mut long = vec![b'8'; 40];
        long.extend_from_slice(b"\rok\r");
        assert_eq!(
            f.push(&long),
            vec![
                FrameItem::TooLong {
                    len: 40,
                    max_len: 16
                },
                code(b"ok")
            ]
        );
        assert!(f.buffered() == 0 && !f.has_partial());
    }

    #[test]
    fn an_over_long_code_is_reported_at_its_terminator_across_reads() {
        let mut f = framer(Terminator::CrLf);
        for _ in 0..10 {
            assert_eq!(f.push(&[b'z'; 7]), vec![]);
            assert!(f.buffered() <= 16);
        }
        assert_eq!(f.push(b"\r"), vec![]);
        assert_eq!(
            f.push(b"\n"),
            vec![FrameItem::TooLong {
                len: 70,
                max_len: 16
            }]
        );
    }

    #[test]
    fn flush_reports_an_over_long_code_without_suffix() {
        let mut f = framer(Terminator::None);
        f.push(&[b'q'; 20]);
        assert_eq!(
            f.flush(),
            Some(FrameItem::TooLong {
                len: 20,
                max_len: 16
            })
        );
    }

    #[test]
    fn reset_forgets_the_partial_code() {
        let mut f = framer(Terminator::CrLf);
        f.push(b"half\r");
        f.reset();
        assert_eq!(f.push(b"\nwhole\r\n"), vec![code(b"\nwhole")]);
    }

    #[test]
    fn terminator_names_parse_case_insensitively() {
        for name in Terminator::NAMES {
            let t: Terminator = name.to_uppercase().parse().unwrap();
            assert_eq!(t.to_string(), name);
        }
        let err = "tab".parse::<Terminator>().unwrap_err();
        assert!(err.to_string().contains("`tab`"), "{err}");
    }

    fn any_terminator() -> impl Strategy<Value = Terminator> {
        prop_oneof![
            Just(Terminator::Cr),
            Just(Terminator::Lf),
            Just(Terminator::CrLf),
            Just(Terminator::Auto),
            Just(Terminator::None),
        ]
    }

    proptest! {
        #[test]
        fn framing_arbitrary_bytes_is_bounded_and_never_panics(
            terminator in any_terminator(),
            max_len in 0usize..64,
            chunks in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(CR), Just(LF), any::<u8>()], 0..96),
                0..12,
            ),
        ) {
            let mut f = Framer::new(FramerConfig { terminator, max_len });
            for chunk in &chunks {
                for item in f.push(chunk) {
                    match item {
                        FrameItem::Code(bytes) => {
                            prop_assert!(!bytes.is_empty());
                            prop_assert!(bytes.len() <= max_len);
                        }
                        FrameItem::TooLong { len, max_len: limit } => {
                            prop_assert!(len > limit);
                            prop_assert_eq!(limit, max_len);
                        }
                    }
                }
                prop_assert!(f.buffered() <= max_len);
            }
            f.flush();
            prop_assert!(!f.has_partial());
        }

        #[test]
        fn the_split_of_reads_does_not_change_the_frames(
            terminator in any_terminator(),
            bytes in proptest::collection::vec(prop_oneof![Just(CR), Just(LF), any::<u8>()], 0..200),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let config = FramerConfig { terminator, max_len: 24 };
            let mut whole = Framer::new(config);
            let mut expected = whole.push(&bytes);
            expected.extend(whole.flush());

            let mut positions: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            positions.sort_unstable();
            let mut split = Framer::new(config);
            let mut got = Vec::new();
            let mut start = 0;
            for end in positions.into_iter().chain([bytes.len()]) {
                got.extend(split.push(&bytes[start..end]));
                start = end;
            }
            got.extend(split.flush());
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn codes_without_terminator_bytes_come_back_whole(
            terminator in any_terminator(),
            codes in proptest::collection::vec("[ -~]{1,24}", 1..6),
        ) {
            let suffix: &[u8] = match terminator {
                Terminator::Cr => b"\r",
                Terminator::Lf => b"\n",
                Terminator::CrLf | Terminator::Auto => b"\r\n",
                Terminator::None => b"",
            };
            let mut f = Framer::new(FramerConfig { terminator, max_len: 24 });
            for c in &codes {
                let mut wire = c.as_bytes().to_vec();
                wire.extend_from_slice(suffix);
                let mut items = f.push(&wire);
                items.extend(f.flush());
                prop_assert_eq!(items, vec![FrameItem::Code(c.as_bytes().to_vec())]);
            }
        }
    }
}
