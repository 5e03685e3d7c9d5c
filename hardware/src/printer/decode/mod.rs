//! ESC/POS decoder: a streaming state machine turning printer bytes into what the paper shows.
//!
//! [`Decoder::push`] takes bytes in any chunking and returns [`Event`]s: styled text runs
//! (GBK-decoded while Chinese mode is on), line feeds, QR symbols (native `GS ( k` and `GS v 0`
//! raster images that hold one), raster images, cuts and real-time status requests. Commands it
//! does not model are skipped by their documented lengths and reported as
//! [`Event::Unsupported`]; oversized data is counted off without being buffered. Every step
//! consumes at least one byte, so arbitrary input can neither panic nor stall it.
//! [`Assembler`] then folds events into [`DecodedReceipt`]s, one per cut.
//!
//! The structure follows escpresso's renderer (a byte-dispatching state machine emitting
//! receipt elements), extended with Chinese mode and semantic QR decoding.

mod assemble;
mod commands;

pub use assemble::{Assembler, DecodedReceipt, PrintedLine, TextLine, TextRun};

use super::image::RasterImage;
use super::receipt::Align;

/// Largest `GS v 0` / graphics payload kept in memory; larger ones are skipped unread.
/// 1 MiB is a 576-dot-wide image over 14,000 rows long — far beyond any receipt.
pub const MAX_IMAGE_BYTES: usize = 1 << 20;

/// How a text run is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TextStyle {
    pub bold: bool,
    pub underline: bool,
    /// Horizontal magnification, 1..=8.
    pub width: u8,
    /// Vertical magnification, 1..=8.
    pub height: u8,
    /// The justification in force when the run was received.
    pub align: Align,
}

impl Default for TextStyle {
    fn default() -> Self {
        Self {
            bold: false,
            underline: false,
            width: 1,
            height: 1,
            align: Align::Left,
        }
    }
}

/// QR error correction level (`GS ( k` function 169).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QrErrorLevel {
    #[default]
    L,
    M,
    Q,
    H,
}

/// A QR symbol the printer was told to print with `GS ( k`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrSymbol {
    /// The stored data bytes, exactly as sent.
    pub payload: Vec<u8>,
    /// 1 or 2 (3 = Micro QR on the printers that have it).
    pub model: u8,
    pub module_dots: u8,
    pub error_level: QrErrorLevel,
    pub align: Align,
}

/// A `GS v 0` raster image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedImage {
    pub image: RasterImage,
    pub double_width: bool,
    pub double_height: bool,
    /// What the image says if it is a QR symbol and nothing else.
    pub qr: Option<Vec<u8>>,
    pub align: Align,
}

/// `GS V` (and `ESC i` / `ESC m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CutKind {
    Full,
    Partial,
}

/// One thing the printer was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `ESC @`: modes reset and the unprinted line discarded.
    Initialize,
    /// `FS &` (true) / `FS .` (false).
    ChineseMode(bool),
    /// Characters to print, all in one style. A line may arrive as several runs.
    Text {
        text: String,
        style: TextStyle,
    },
    /// The line is printed and the paper advances (LF, `ESC d n` gives n, `ESC J`).
    LineFeed,
    Qr(QrSymbol),
    Image(PrintedImage),
    Cut(CutKind),
    /// `DLE EOT n`; the printer answers with one status byte.
    StatusRequest(u8),
    /// A command recognised by its length but not modelled: its first bytes and total length.
    Unsupported {
        command: Vec<u8>,
        len: usize,
    },
}

#[derive(Debug, Clone)]
struct QrSettings {
    model: u8,
    module_dots: u8,
    error_level: QrErrorLevel,
    data: Option<Vec<u8>>,
}

impl Default for QrSettings {
    fn default() -> Self {
        // Epson's power-on defaults: model 2, 3-dot modules, level L.
        Self {
            model: 2,
            module_dots: 3,
            error_level: QrErrorLevel::L,
            data: None,
        }
    }
}

/// The streaming ESC/POS decoder. See the module documentation.
#[derive(Debug)]
pub struct Decoder {
    pending: Vec<u8>,
    /// Bytes of an oversized command still to throw away.
    skip: usize,
    /// `FS q` NV images still to come after the current one.
    nv_images: u8,
    chinese_at_power_on: bool,
    chinese: bool,
    style: TextStyle,
    /// `FS !` / `FS W` magnification, applied to double-byte characters only.
    kanji_width: u8,
    kanji_height: u8,
    qr: QrSettings,
    text: String,
    text_style: TextStyle,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder for a Chinese printer: Chinese mode is on at power-on and after `ESC @`.
    pub fn new() -> Self {
        Self::with_chinese_mode(true)
    }

    /// A decoder whose Chinese mode at power-on (and after `ESC @`) is `on`.
    pub fn with_chinese_mode(on: bool) -> Self {
        Self {
            pending: Vec::new(),
            skip: 0,
            nv_images: 0,
            chinese_at_power_on: on,
            chinese: on,
            style: TextStyle::default(),
            kanji_width: 1,
            kanji_height: 1,
            qr: QrSettings::default(),
            text: String::new(),
            text_style: TextStyle::default(),
        }
    }

    /// Decodes `bytes`, continuing any command split across calls, and returns the events
    /// completed so far. An incomplete trailing command waits for the next call.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        let mut input = std::mem::take(&mut self.pending);
        input.extend_from_slice(bytes);
        let mut pos = 0;
        while pos < input.len() {
            if self.skip > 0 {
                let n = self.skip.min(input.len() - pos);
                self.skip -= n;
                pos += n;
                continue;
            }
            match self.step(&input[pos..], &mut out) {
                Some(consumed) => pos += consumed.max(1),
                None => break,
            }
        }
        input.drain(..pos);
        self.pending = input;
        self.flush_text(&mut out);
        out
    }

    /// Bytes held back waiting for the rest of a command.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    fn emit(&mut self, out: &mut Vec<Event>, event: Event) {
        self.flush_text(out);
        out.push(event);
    }

    fn flush_text(&mut self, out: &mut Vec<Event>) {
        if !self.text.is_empty() {
            out.push(Event::Text {
                text: std::mem::take(&mut self.text),
                style: self.text_style,
            });
        }
    }

    fn put_char(&mut self, c: char, double_byte: bool, out: &mut Vec<Event>) {
        let mut style = self.style;
        if double_byte {
            style.width = style.width.max(self.kanji_width);
            style.height = style.height.max(self.kanji_height);
        }
        if style != self.text_style {
            self.flush_text(out);
            self.text_style = style;
        }
        self.text.push(c);
    }

    fn reset(&mut self) {
        self.chinese = self.chinese_at_power_on;
        self.style = TextStyle::default();
        self.kanji_width = 1;
        self.kanji_height = 1;
        self.qr = QrSettings::default();
    }
}

#[cfg(test)]
mod tests;
