//! The command table: how long each ESC/POS command is and what it does to the decoder.
//!
//! Lengths follow the Epson ESC/POS reference as implemented by common Chinese printers
//! (SPRT, HPRT, Xprinter). A command is consumed only when all of its bytes are present, so a
//! split command simply waits; an unknown `ESC x` / `FS x` / `GS x` is two bytes.

use super::{CutKind, Decoder, Event, MAX_IMAGE_BYTES, PrintedImage, QrErrorLevel, QrSymbol};
use crate::printer::image::RasterImage;
use crate::printer::qr;
use crate::printer::receipt::Align;

const DLE: u8 = 0x10;
const ESC: u8 = 0x1B;
const FS: u8 = 0x1C;
const GS: u8 = 0x1D;

/// Most bytes searched for the NUL ending `ESC D` tab stops or a `GS k` barcode.
const MAX_NUL_TERMINATED: usize = 256;

fn len16(lo: u8, hi: u8) -> usize {
    usize::from(lo) | usize::from(hi) << 8
}

impl Decoder {
    /// Decodes the command at the start of `input` (never empty). Returns how many bytes it
    /// took (at least one), or `None` if the command is not complete yet.
    pub(super) fn step(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        if self.nv_images > 0 {
            return self.nv_image(input, out);
        }
        let b = input[0];
        match b {
            0x0A => {
                self.emit(out, Event::LineFeed);
                Some(1)
            }
            0x09 => {
                // Tab stops are not modelled; a tab prints as a gap.
                self.put_char(' ', false, out);
                Some(1)
            }
            DLE => self.dle(input, out),
            ESC => self.esc(input, out),
            FS => self.fs(input, out),
            GS => self.gs(input, out),
            // Other control bytes (NUL, CR, FF, CAN…) print nothing in standard mode; the NUL
            // the `escpos` crate appends to DLE EOT n lands here.
            0x00..=0x1F | 0x7F => Some(1),
            _ => self.text(input, out),
        }
    }

    fn text(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let lead = input[0];
        if self.chinese && (0x81..=0xFE).contains(&lead) {
            let &trail = input.get(1)?;
            if (0x40..=0xFE).contains(&trail) && trail != 0x7F {
                let c = encoding_rs::GBK
                    .decode_without_bom_handling_and_without_replacement(&[lead, trail])
                    .and_then(|s| s.chars().next())
                    .unwrap_or(char::REPLACEMENT_CHARACTER);
                self.put_char(c, true, out);
                return Some(2);
            }
            // A lead byte without a valid trail: shown as one bad character, trail reparsed.
            self.put_char(char::REPLACEMENT_CHARACTER, false, out);
            return Some(1);
        }
        let c = if lead.is_ascii() {
            char::from(lead)
        } else {
            // Single-byte code pages (PC437…) are not modelled.
            char::REPLACEMENT_CHARACTER
        };
        self.put_char(c, false, out);
        Some(1)
    }

    fn unsupported(&mut self, out: &mut Vec<Event>, input: &[u8], len: usize) -> Option<usize> {
        let shown = input.len().min(len).min(3);
        self.emit(
            out,
            Event::Unsupported {
                command: input[..shown].to_vec(),
                len,
            },
        );
        Some(len)
    }

    /// A command of fixed total length `len` that only needs skipping.
    fn fixed(&mut self, out: &mut Vec<Event>, input: &[u8], len: usize) -> Option<usize> {
        if input.len() < len {
            return None;
        }
        self.unsupported(out, input, len)
    }

    /// A command of `header` bytes followed by `data` bytes that are skipped, unbuffered if
    /// large.
    fn with_data(
        &mut self,
        out: &mut Vec<Event>,
        input: &[u8],
        header: usize,
        data: usize,
    ) -> Option<usize> {
        let total = header.saturating_add(data);
        if data > MAX_IMAGE_BYTES {
            self.skip = data;
            self.unsupported(out, input, total)?;
            return Some(header);
        }
        if input.len() < total {
            return None;
        }
        self.unsupported(out, input, total)
    }

    /// A command ending at the first NUL after `start`, searched for at most
    /// [`MAX_NUL_TERMINATED`] bytes; past that only the first `start` bytes are dropped.
    fn nul_terminated(
        &mut self,
        out: &mut Vec<Event>,
        input: &[u8],
        start: usize,
    ) -> Option<usize> {
        let window = &input[start.min(input.len())..];
        match window.iter().take(MAX_NUL_TERMINATED).position(|&b| b == 0) {
            Some(i) => self.unsupported(out, input, start + i + 1),
            None if window.len() >= MAX_NUL_TERMINATED => self.unsupported(out, input, start),
            None => None,
        }
    }

    fn dle(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let &x = input.get(1)?;
        match x {
            0x04 => {
                let &n = input.get(2)?;
                match n {
                    1..=4 => {
                        self.emit(out, Event::StatusRequest(n));
                        Some(3)
                    }
                    // DLE EOT 7 a / 8 a (ink, peeler) carry one more byte.
                    7 | 8 => self.fixed(out, input, 4),
                    _ => self.unsupported(out, input, 3),
                }
            }
            0x05 => self.fixed(out, input, 3),
            0x14 => self.fixed(out, input, 5),
            // A lone DLE means nothing; the next byte is read afresh.
            _ => Some(1),
        }
    }

    fn esc(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let &x = input.get(1)?;
        let arg = input.get(2).copied();
        match x {
            b'@' => {
                self.reset();
                self.emit(out, Event::Initialize);
                Some(2)
            }
            b'!' => {
                let n = arg?;
                self.style.bold = n & 0x08 != 0;
                self.style.height = if n & 0x10 != 0 { 2 } else { 1 };
                self.style.width = if n & 0x20 != 0 { 2 } else { 1 };
                self.style.underline = n & 0x80 != 0;
                Some(3)
            }
            b'E' => {
                self.style.bold = arg? & 1 != 0;
                Some(3)
            }
            b'-' => {
                self.style.underline = arg? & 0x03 != 0;
                Some(3)
            }
            b'a' => {
                self.style.align = match arg? & 0x03 {
                    1 => Align::Center,
                    2 => Align::Right,
                    _ => Align::Left,
                };
                Some(3)
            }
            b'd' => {
                let n = arg?;
                self.flush_text(out);
                out.extend(std::iter::repeat_n(Event::LineFeed, usize::from(n)));
                Some(3)
            }
            b'J' => {
                arg?;
                self.emit(out, Event::LineFeed);
                Some(3)
            }
            b'i' | b'm' => {
                self.emit(out, Event::Cut(CutKind::Partial));
                Some(2)
            }
            b'2' | b'<' | b'S' | b'L' | 0x0C | b'4' | b'5' => self.unsupported(out, input, 2),
            b' ' | b'%' | b'3' | b'=' | b'?' | b'G' | b'I' | b'K' | b'M' | b'R' | b'T' | b'U'
            | b'V' | b'e' | b'r' | b't' | b'u' | b'{' => self.fixed(out, input, 3),
            b'$' | b'\\' | b'c' => self.fixed(out, input, 4),
            b'p' => self.fixed(out, input, 5),
            b'W' => self.fixed(out, input, 10),
            b'*' => {
                let (m, lo, hi) = (*input.get(2)?, *input.get(3)?, *input.get(4)?);
                let columns = len16(lo, hi);
                let per_column = if m <= 1 { 1 } else { 3 };
                self.with_data(out, input, 5, columns * per_column)
            }
            b'&' => self.user_characters(input, out),
            b'D' => self.nul_terminated(out, input, 2),
            b'(' => {
                let (lo, hi) = (*input.get(3)?, *input.get(4)?);
                self.with_data(out, input, 5, len16(lo, hi))
            }
            _ => self.unsupported(out, input, 2),
        }
    }

    /// `ESC & y c1 c2 [x d1…d(y·x)]…`: user-defined characters, each with its own width.
    fn user_characters(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let (y, c1, c2) = (*input.get(2)?, *input.get(3)?, *input.get(4)?);
        let mut len = 5;
        if c1 <= c2 {
            for _ in c1..=c2 {
                let x = *input.get(len)?;
                len += 1 + usize::from(y) * usize::from(x);
            }
        }
        self.fixed(out, input, len)
    }

    fn fs(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let &x = input.get(1)?;
        let arg = input.get(2).copied();
        match x {
            b'&' => {
                self.chinese = true;
                self.emit(out, Event::ChineseMode(true));
                Some(2)
            }
            b'.' => {
                self.chinese = false;
                self.emit(out, Event::ChineseMode(false));
                Some(2)
            }
            b'!' => {
                let n = arg?;
                self.kanji_width = if n & 0x04 != 0 { 2 } else { 1 };
                self.kanji_height = if n & 0x08 != 0 { 2 } else { 1 };
                Some(3)
            }
            b'W' => {
                let quad = arg? & 1 != 0;
                self.kanji_width = if quad { 2 } else { 1 };
                self.kanji_height = self.kanji_width;
                Some(3)
            }
            b'-' | b'C' => self.fixed(out, input, 3),
            b'S' | b'?' | b'p' => self.fixed(out, input, 4),
            b'2' => self.fixed(out, input, 76),
            b'(' => {
                let (lo, hi) = (*input.get(3)?, *input.get(4)?);
                self.with_data(out, input, 5, len16(lo, hi))
            }
            b'q' => {
                let n = arg?;
                self.nv_images = n;
                self.unsupported(out, input, 3)
            }
            _ => self.unsupported(out, input, 2),
        }
    }

    /// One image of an `FS q` definition: `xL xH yL yH` then x·y·8 bytes.
    fn nv_image(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let header = input.get(..4)?;
        let data = len16(header[0], header[1]) * len16(header[2], header[3]) * 8;
        let taken = self.with_data(out, input, 4, data)?;
        self.nv_images -= 1;
        Some(taken)
    }

    fn gs(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let &x = input.get(1)?;
        let arg = input.get(2).copied();
        match x {
            b'!' => {
                let n = arg?;
                self.style.width = ((n >> 4) & 0x07) + 1;
                self.style.height = (n & 0x07) + 1;
                Some(3)
            }
            b'(' => {
                let (fn_group, lo, hi) = (*input.get(2)?, *input.get(3)?, *input.get(4)?);
                let len = len16(lo, hi);
                if fn_group == b'k' && len <= MAX_IMAGE_BYTES {
                    let total = 5 + len;
                    let body = input.get(5..total)?;
                    self.symbol(body, out);
                    Some(total)
                } else {
                    self.with_data(out, input, 5, len)
                }
            }
            b'8' if arg == Some(b'L') => {
                let p = input.get(3..7)?;
                let len = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                self.with_data(out, input, 7, usize::try_from(len).unwrap_or(usize::MAX))
            }
            b'*' => {
                let (cx, cy) = (*input.get(2)?, *input.get(3)?);
                self.with_data(out, input, 4, usize::from(cx) * usize::from(cy) * 8)
            }
            b'V' => self.cut(input, out),
            b'k' => self.barcode(input, out),
            b'v' if arg == Some(b'0') => self.raster(input, out),
            b':' => self.unsupported(out, input, 2),
            b'/' | b'B' | b'H' | b'I' | b'T' | b'a' | b'b' | b'f' | b'h' | b'r' | b'w' | b'E'
            | b'|' | b'v' | b'8' => self.fixed(out, input, 3),
            b'L' | b'P' | b'W' | b'\\' => self.fixed(out, input, 4),
            b'^' => self.fixed(out, input, 5),
            _ => self.unsupported(out, input, 2),
        }
    }

    fn cut(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let m = *input.get(2)?;
        let (kind, len) = match m {
            0 | 48 => (CutKind::Full, 3),
            1 | 49 => (CutKind::Partial, 3),
            65 | 97 | 103 => (CutKind::Full, 4),
            66 | 98 | 104 => (CutKind::Partial, 4),
            _ => return self.unsupported(out, input, 3),
        };
        if input.len() < len {
            return None;
        }
        self.emit(out, Event::Cut(kind));
        Some(len)
    }

    fn barcode(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let m = *input.get(2)?;
        match m {
            0..=6 => self.nul_terminated(out, input, 3),
            65..=79 => {
                let n = *input.get(3)?;
                self.fixed(out, input, 4 + usize::from(n))
            }
            _ => self.unsupported(out, input, 3),
        }
    }

    /// `GS v 0 m xL xH yL yH d…`.
    fn raster(&mut self, input: &[u8], out: &mut Vec<Event>) -> Option<usize> {
        let header = input.get(..8)?;
        let m = header[3];
        let bytes_per_row = len16(header[4], header[5]);
        let rows = len16(header[6], header[7]);
        let data_len = bytes_per_row * rows;
        if data_len > MAX_IMAGE_BYTES {
            return self.with_data(out, input, 8, data_len);
        }
        let data = input.get(8..8 + data_len)?;
        let Some(image) = RasterImage::from_rows(bytes_per_row, rows, data.to_vec()) else {
            return self.unsupported(out, input, 8 + data_len);
        };
        let qr = qr::read(&image);
        self.emit(
            out,
            Event::Image(PrintedImage {
                image,
                double_width: m & 1 != 0,
                double_height: m & 2 != 0,
                qr,
                align: self.style.align,
            }),
        );
        Some(8 + data_len)
    }

    /// The body of a `GS ( k` command: `cn fn [parameters]`.
    fn symbol(&mut self, body: &[u8], out: &mut Vec<Event>) {
        let command = |len| Event::Unsupported {
            command: [GS, b'(', b'k'].to_vec(),
            len,
        };
        let total = 5 + body.len();
        // cn 49 is QR; 48 PDF417, 50 MaxiCode and others are not modelled.
        let (Some(&49), Some(&function)) = (body.first(), body.get(1)) else {
            self.emit(out, command(total));
            return;
        };
        let parameter = body.get(2).copied();
        match (function, parameter) {
            (65, Some(n)) => {
                self.qr.model = match n {
                    49 => 1,
                    51 => 3,
                    _ => 2,
                }
            }
            (67, Some(n)) => self.qr.module_dots = n,
            (69, Some(n)) => {
                self.qr.error_level = match n {
                    49 => QrErrorLevel::M,
                    50 => QrErrorLevel::Q,
                    51 => QrErrorLevel::H,
                    _ => QrErrorLevel::L,
                }
            }
            (80, Some(_)) => self.qr.data = Some(body[3..].to_vec()),
            (81, _) => {
                if let Some(payload) = self.qr.data.clone() {
                    let symbol = QrSymbol {
                        payload,
                        model: self.qr.model,
                        module_dots: self.qr.module_dots,
                        error_level: self.qr.error_level,
                        align: self.style.align,
                    };
                    self.emit(out, Event::Qr(symbol));
                }
            }
            _ => self.emit(out, command(total)),
        }
    }
}
