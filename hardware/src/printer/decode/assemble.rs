//! Folding decoder events into printed lines and receipts, one receipt per cut.

use super::{CutKind, Event, PrintedImage, QrSymbol, TextStyle};
use crate::printer::gbk;
use crate::printer::paper::{COLUMN_DOTS, PaperWidth};
use crate::printer::receipt::Align;

/// Characters printed in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRun {
    pub text: String,
    pub style: TextStyle,
}

/// One printed line of text; no runs is a blank line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextLine {
    pub align: Align,
    pub runs: Vec<TextRun>,
}

impl TextLine {
    /// The characters of the line, styles dropped.
    pub fn text(&self) -> String {
        self.runs.iter().map(|run| run.text.as_str()).collect()
    }

    /// Dots the line takes across the paper.
    pub fn dots(&self) -> usize {
        self.runs
            .iter()
            .map(|run| gbk::text_columns(&run.text) * usize::from(run.style.width))
            .sum::<usize>()
            * usize::from(COLUMN_DOTS)
    }
}

/// One printed line: text, a QR symbol or an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintedLine {
    Text(TextLine),
    Qr(QrSymbol),
    Image(PrintedImage),
}

/// What came out of the printer between two cuts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecodedReceipt {
    pub lines: Vec<PrintedLine>,
    /// How the receipt was cut off; `None` if the stream ended before a cut.
    pub cut: Option<CutKind>,
}

impl DecodedReceipt {
    /// The text of each text line (QR and image lines left out).
    pub fn text_lines(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|line| match line {
                PrintedLine::Text(text) => Some(text.text()),
                _ => None,
            })
            .collect()
    }

    /// Payloads of every QR symbol, native or read from a raster image, top to bottom.
    pub fn qr_payloads(&self) -> Vec<&[u8]> {
        self.lines
            .iter()
            .filter_map(|line| match line {
                PrintedLine::Qr(symbol) => Some(symbol.payload.as_slice()),
                PrintedLine::Image(image) => image.qr.as_deref(),
                PrintedLine::Text(_) => None,
            })
            .collect()
    }
}

/// Builds receipts from events the way the paper comes out: a line ends at a line feed or
/// when it reaches the paper edge (the printer wraps by itself), a receipt ends at a cut.
#[derive(Debug)]
pub struct Assembler {
    paper_dots: usize,
    lines: Vec<PrintedLine>,
    line: Option<TextLine>,
    line_dots: usize,
}

impl Assembler {
    pub fn new(width: PaperWidth) -> Self {
        Self {
            paper_dots: usize::from(width.dots()),
            lines: Vec::new(),
            line: None,
            line_dots: 0,
        }
    }

    /// Takes one event; returns the finished receipt when the event is a cut.
    pub fn push(&mut self, event: &Event) -> Option<DecodedReceipt> {
        match event {
            Event::Text { text, style } => {
                for c in text.chars() {
                    self.put(c, *style);
                }
            }
            Event::LineFeed => {
                let line = self.line.take().unwrap_or_default();
                self.lines.push(PrintedLine::Text(line));
                self.line_dots = 0;
            }
            Event::Qr(symbol) => {
                self.end_line();
                self.lines.push(PrintedLine::Qr(symbol.clone()));
            }
            Event::Image(image) => {
                self.end_line();
                self.lines.push(PrintedLine::Image(image.clone()));
            }
            Event::Cut(kind) => {
                self.end_line();
                return Some(DecodedReceipt {
                    lines: std::mem::take(&mut self.lines),
                    cut: Some(*kind),
                });
            }
            Event::Initialize => {
                // ESC @ clears the print buffer: an unterminated line is never printed.
                self.line = None;
                self.line_dots = 0;
            }
            Event::ChineseMode(_) | Event::StatusRequest(_) | Event::Unsupported { .. } => {}
        }
        None
    }

    /// What was printed after the last cut, if anything; leaves the assembler empty.
    pub fn finish(&mut self) -> Option<DecodedReceipt> {
        self.end_line();
        if self.lines.is_empty() {
            return None;
        }
        Some(DecodedReceipt {
            lines: std::mem::take(&mut self.lines),
            cut: None,
        })
    }

    fn put(&mut self, c: char, style: TextStyle) {
        let dots = gbk::columns(c) * usize::from(COLUMN_DOTS) * usize::from(style.width);
        if self.line_dots > 0 && self.line_dots + dots > self.paper_dots {
            self.end_line();
        }
        let line = self.line.get_or_insert_with(|| TextLine {
            align: style.align,
            runs: Vec::new(),
        });
        match line.runs.last_mut() {
            Some(run) if run.style == style => run.text.push(c),
            _ => line.runs.push(TextRun {
                text: c.to_string(),
                style,
            }),
        }
        self.line_dots += dots;
    }

    /// Prints a line still in the buffer (before a symbol, image or cut, as printers do).
    fn end_line(&mut self) {
        if let Some(line) = self.line.take() {
            self.lines.push(PrintedLine::Text(line));
        }
        self.line_dots = 0;
    }
}
