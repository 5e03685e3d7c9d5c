//! Showing a decoded receipt: as plain text, and as a 1-bit picture of the paper (PNG).
//!
//! The picture keeps the printer's geometry — 12 × 24 dots per column, 30-dot lines, symbols
//! and images at their dot sizes — and draws characters with GNU Unifont bitmaps (8 × 16
//! half-width, 16 × 16 full-width) centred in each cell, magnified for double size.

use qrcode::{Color, EcLevel, QrCode};

use super::decode::{
    CutKind, DecodedReceipt, PrintedImage, PrintedLine, QrErrorLevel, QrSymbol, TextLine,
};
use super::paper::{COLUMN_DOTS, PaperWidth};
use super::receipt::Align;

/// Marker lines in the text rendering.
pub const PARTIAL_CUT_MARK: &str = "----- cut -----";
pub const FULL_CUT_MARK: &str = "----- full cut -----";

/// One line per printed line: text placed by its alignment in paper columns (a double-width
/// character still shows as one), `[QR: payload]` for a symbol — native or read from a raster
/// image, so both QR modes read the same — `[image W×H]` for other images, then the cut.
pub fn text(receipt: &DecodedReceipt, width: PaperWidth) -> String {
    let columns = width.columns();
    let mut out = String::new();
    for line in &receipt.lines {
        let shown = match line {
            PrintedLine::Text(line) => {
                let used = line.dots() / usize::from(COLUMN_DOTS);
                let pad = offset(line.align, used, columns);
                format!("{}{}", " ".repeat(pad), line.text())
            }
            PrintedLine::Qr(symbol) => qr_marker(&symbol.payload),
            PrintedLine::Image(image) => match &image.qr {
                Some(payload) => qr_marker(payload),
                None => format!("[image {}x{}]", image.image.width(), image.image.height()),
            },
        };
        out.push_str(shown.trim_end());
        out.push('\n');
    }
    match receipt.cut {
        Some(CutKind::Partial) => out.push_str(PARTIAL_CUT_MARK),
        Some(CutKind::Full) => out.push_str(FULL_CUT_MARK),
        None => return out,
    }
    out.push('\n');
    out
}

fn qr_marker(payload: &[u8]) -> String {
    format!("[QR: {}]", String::from_utf8_lossy(payload))
}

fn offset(align: Align, used: usize, available: usize) -> usize {
    match align {
        Align::Left => 0,
        Align::Center => available.saturating_sub(used) / 2,
        Align::Right => available.saturating_sub(used),
    }
}

/// A black-and-white picture, one bit per dot (set = black), rows padded to whole bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: usize,
    height: usize,
    row_bytes: usize,
    dots: Vec<u8>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitmap")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl Bitmap {
    fn new(width: usize, height: usize) -> Self {
        let row_bytes = width.div_ceil(8);
        Self {
            width,
            height,
            row_bytes,
            dots: vec![0; row_bytes * height],
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn is_black(&self, x: usize, y: usize) -> bool {
        x < self.width
            && y < self.height
            && self.dots[y * self.row_bytes + x / 8] & (0x80 >> (x % 8)) != 0
    }

    fn set(&mut self, x: usize, y: usize) {
        if x < self.width && y < self.height {
            self.dots[y * self.row_bytes + x / 8] |= 0x80 >> (x % 8);
        }
    }

    /// A 1-bit greyscale PNG (white paper, black print).
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        let (w, h) = (
            u32::try_from(self.width).unwrap_or(u32::MAX),
            u32::try_from(self.height).unwrap_or(u32::MAX),
        );
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header()?;
        // In 1-bit greyscale a set bit is white.
        let data: Vec<u8> = self.dots.iter().map(|b| !b).collect();
        writer.write_image_data(&data)?;
        writer.finish()?;
        Ok(out)
    }
}

const MARGIN: usize = 8;
/// Tallest picture drawn: 8 m of paper. A stream of feeds from a confused host would
/// otherwise ask for gigabytes; lines further down are left off the picture.
pub const MAX_PICTURE_DOTS: usize = 1 << 16;
const LINE_DOTS: usize = 24;
/// Default line spacing (`ESC 2`) is 30 dots: 24 for the glyphs and 6 between lines.
const LINE_GAP: usize = 6;

/// The receipt as it would look on `width` paper.
pub fn bitmap(receipt: &DecodedReceipt, width: PaperWidth) -> Bitmap {
    let paper = usize::from(width.dots());
    let placed: Vec<(usize, &PrintedLine)> = {
        let mut y = MARGIN;
        receipt
            .lines
            .iter()
            .map(|line| {
                let top = y;
                y += line_height(line);
                (top, line)
            })
            .collect()
    };
    let body_end = placed
        .last()
        .map_or(MARGIN, |(top, line)| top + line_height(line));
    let body_end = body_end.min(MAX_PICTURE_DOTS);
    let mut bitmap = Bitmap::new(paper, body_end + 3 * MARGIN);
    for (top, line) in placed.into_iter().take_while(|(top, _)| *top < body_end) {
        match line {
            PrintedLine::Text(text) => draw_text(&mut bitmap, text, top),
            PrintedLine::Qr(symbol) => draw_symbol(&mut bitmap, symbol, top),
            PrintedLine::Image(image) => draw_image(&mut bitmap, image, top),
        }
    }
    if let Some(kind) = receipt.cut {
        let y = body_end + MARGIN;
        let (dash, gap) = match kind {
            CutKind::Partial => (6, 6),
            CutKind::Full => (12, 2),
        };
        for x in (0..paper).filter(|x| x % (dash + gap) < dash) {
            bitmap.set(x, y);
        }
    }
    bitmap
}

/// The receipt as a PNG of `width` paper.
pub fn png(receipt: &DecodedReceipt, width: PaperWidth) -> Result<Vec<u8>, png::EncodingError> {
    bitmap(receipt, width).to_png()
}

fn line_height(line: &PrintedLine) -> usize {
    match line {
        PrintedLine::Text(text) => {
            let tallest = text
                .runs
                .iter()
                .map(|run| usize::from(run.style.height))
                .max()
                .unwrap_or(1);
            LINE_DOTS * tallest + LINE_GAP
        }
        PrintedLine::Qr(symbol) => {
            symbol_code(symbol).map_or(64, |code| code.width() * module_dots(symbol)) + LINE_GAP
        }
        PrintedLine::Image(image) => image.image.height() * if image.double_height { 2 } else { 1 },
    }
}

fn draw_text(bitmap: &mut Bitmap, line: &TextLine, top: usize) {
    let tallest = line
        .runs
        .iter()
        .map(|run| usize::from(run.style.height))
        .max()
        .unwrap_or(1);
    let baseline = top + LINE_DOTS * tallest;
    let mut x = offset(line.align, line.dots(), bitmap.width);
    for run in &line.runs {
        let (sx, sy) = (usize::from(run.style.width), usize::from(run.style.height));
        let cell_height = LINE_DOTS * sy;
        let cell_top = baseline - cell_height;
        for c in run.text.chars() {
            let cell_width = super::gbk::columns(c) * usize::from(COLUMN_DOTS) * sx;
            draw_glyph(
                bitmap,
                c,
                (x, cell_top),
                (cell_width, cell_height),
                (sx, sy),
                run.style.bold,
            );
            if run.style.underline {
                for dx in 0..cell_width {
                    bitmap.set(x + dx, baseline - 1);
                }
            }
            x += cell_width;
        }
    }
}

fn draw_glyph(
    bitmap: &mut Bitmap,
    c: char,
    (left, top): (usize, usize),
    (cell_width, cell_height): (usize, usize),
    (sx, sy): (usize, usize),
    bold: bool,
) {
    let glyph = if c == ' ' {
        None
    } else {
        unifont::get_glyph(c)
    };
    let Some(glyph) = glyph else {
        if c != ' ' {
            // No glyph: an outlined box, like the printer's own missing-character mark.
            for dx in 2..cell_width.saturating_sub(2) {
                bitmap.set(left + dx, top + 4);
                bitmap.set(left + dx, top + cell_height - 5);
            }
            for dy in 4..cell_height.saturating_sub(4) {
                bitmap.set(left + 2, top + dy);
                bitmap.set(left + cell_width - 3, top + dy);
            }
        }
        return;
    };
    let (gw, gh) = (glyph.get_width(), 16);
    let x0 = left + cell_width.saturating_sub(gw * sx) / 2;
    let y0 = top + cell_height.saturating_sub(gh * sy) / 2;
    for gy in 0..gh {
        for gx in 0..gw {
            if !glyph.get_pixel(gx, gy) {
                continue;
            }
            for dy in 0..sy {
                for dx in 0..sx + usize::from(bold) {
                    bitmap.set(x0 + gx * sx + dx, y0 + gy * sy + dy);
                }
            }
        }
    }
}

fn module_dots(symbol: &QrSymbol) -> usize {
    usize::from(symbol.module_dots.clamp(1, 16))
}

fn symbol_code(symbol: &QrSymbol) -> Option<QrCode> {
    let level = match symbol.error_level {
        QrErrorLevel::L => EcLevel::L,
        QrErrorLevel::M => EcLevel::M,
        QrErrorLevel::Q => EcLevel::Q,
        QrErrorLevel::H => EcLevel::H,
    };
    // Model 1 symbols are drawn as model 2: only the payload matters on a preview.
    QrCode::with_error_correction_level(&symbol.payload, level).ok()
}

fn draw_symbol(bitmap: &mut Bitmap, symbol: &QrSymbol, top: usize) {
    let scale = module_dots(symbol);
    let Some(code) = symbol_code(symbol) else {
        // The printer would refuse it too; show where it would have gone.
        let left = offset(symbol.align, 64, bitmap.width);
        for i in 0..64 {
            bitmap.set(left + i, top + i);
            bitmap.set(left + 63 - i, top + i);
        }
        return;
    };
    let modules = code.width();
    let left = offset(symbol.align, modules * scale, bitmap.width);
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (mx, my) = (i % modules, i / modules);
            for dy in 0..scale {
                for dx in 0..scale {
                    bitmap.set(left + mx * scale + dx, top + my * scale + dy);
                }
            }
        }
    }
}

fn draw_image(bitmap: &mut Bitmap, image: &PrintedImage, top: usize) {
    let sx = if image.double_width { 2 } else { 1 };
    let sy = if image.double_height { 2 } else { 1 };
    let raster = &image.image;
    let left = offset(image.align, raster.width() * sx, bitmap.width);
    for y in 0..raster.height() {
        for x in 0..raster.width() {
            if raster.dot(x, y) {
                for dy in 0..sy {
                    for dx in 0..sx {
                        bitmap.set(left + x * sx + dx, top + y * sy + dy);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::decode::{Assembler, Decoder};
    use crate::printer::encode::{EncodeOptions, QrMode, encode};
    use crate::printer::receipt::Receipt;

    fn decoded(receipt: &Receipt, options: EncodeOptions) -> DecodedReceipt {
        let bytes = encode(receipt, &options).unwrap();
        let mut assembler = Assembler::new(options.width);
        let mut receipts: Vec<DecodedReceipt> = Decoder::new()
            .push(&bytes)
            .iter()
            .filter_map(|event| assembler.push(event))
            .collect();
        assert_eq!(receipts.len(), 1);
        receipts.remove(0)
    }

    #[test]
    fn text_places_lines_by_alignment_in_paper_columns() {
        let receipt = Receipt::new()
            .title("回执")
            .styled(
                "右",
                crate::printer::receipt::Style::default().align(Align::Right),
            )
            .qr("AB")
            .cut();
        let text = text(
            &decoded(&receipt, EncodeOptions::default()),
            PaperWidth::Mm58,
        );
        // 回执 at double width is 8 columns: (32 - 8) / 2 = 12 spaces.
        assert_eq!(
            text,
            format!(
                "{}回执\n{}右\n[QR: AB]\n----- cut -----\n",
                " ".repeat(12),
                " ".repeat(30)
            )
        );
    }

    #[test]
    fn the_picture_is_paper_wide_and_its_qr_scans() {
        for qr_mode in [QrMode::Native, QrMode::Raster] {
            for width in [PaperWidth::Mm58, PaperWidth::Mm80] {
                let options = EncodeOptions {
                    width,
                    qr_mode,
                    ..EncodeOptions::default()
                };
                let receipt = Receipt::new()
                    .title("便民服务")
                    .qr("https://example.cn/r/1")
                    .cut();
                let picture = bitmap(&decoded(&receipt, options), width);
                assert_eq!(picture.width(), usize::from(width.dots()));
                let mut prepared = rqrr::PreparedImage::prepare_from_bitmap(
                    picture.width(),
                    picture.height(),
                    |x, y| picture.is_black(x, y),
                );
                let grids = prepared.detect_grids();
                assert_eq!(grids.len(), 1, "{qr_mode:?} {width}");
                assert_eq!(grids[0].decode().unwrap().1, "https://example.cn/r/1");
            }
        }
    }

    #[test]
    fn glyphs_are_drawn_double_for_double_size_text() {
        let normal = Receipt::new().text("回").cut();
        let double = Receipt::new().title("回").cut();
        let ink = |receipt: &Receipt| {
            let picture = bitmap(
                &decoded(receipt, EncodeOptions::default()),
                PaperWidth::Mm58,
            );
            (0..picture.height())
                .flat_map(|y| (0..picture.width()).map(move |x| (x, y)))
                .filter(|&(x, y)| picture.is_black(x, y))
                .count()
        };
        // The cut line is shared; a 2×2 bold glyph has well over four times the ink.
        let cut_ink = 384 / 12 * 6;
        assert!(ink(&double) - cut_ink > 4 * (ink(&normal) - cut_ink));
    }

    #[test]
    fn an_endless_feed_is_drawn_only_down_to_the_height_limit() {
        let mut assembler = crate::printer::decode::Assembler::new(PaperWidth::Mm80);
        let events = Decoder::new().push(&[0x1B, 0x64, 0xFF].repeat(2000));
        for event in &events {
            assembler.push(event);
        }
        let receipt = assembler.finish().unwrap();
        assert_eq!(receipt.lines.len(), 255 * 2000);
        let picture = bitmap(&receipt, PaperWidth::Mm80);
        assert_eq!(picture.height(), MAX_PICTURE_DOTS + 3 * MARGIN);
    }

    #[test]
    fn the_png_is_a_one_bit_image_of_the_paper_width() {
        let receipt = decoded(&Receipt::new().text("A").cut(), EncodeOptions::default());
        let bytes = png(&receipt, PaperWidth::Mm58).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, 384);
        assert_eq!(info.bit_depth, png::BitDepth::One);
        assert_eq!(info.color_type, png::ColorType::Grayscale);
    }
}
