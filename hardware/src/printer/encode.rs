//! Receipt → ESC/POS bytes for a GBK (Chinese-mode) thermal printer.
//!
//! The job starts with `ESC @` and `FS &`, sets alignment, bold and size only when they change,
//! ends every line with a bare LF and cuts with `GS V 66 0` (feed to the cutter, partial cut)
//! by default. Text is wrapped here, by printed width, so the printer never wraps on its own.

use super::gbk;
use super::image::RasterImage;
use super::paper::PaperWidth;
use super::qr;
use super::receipt::{Align, Element, Receipt, Size, Style};
use super::wrap;

/// Command bytes, one function per command, as they appear on the wire.
pub mod command {
    use super::{Align, RasterImage, Size};

    /// `ESC @`: back to power-on modes, print buffer cleared.
    pub const INITIALIZE: [u8; 2] = [0x1B, 0x40];
    /// `FS &`: Chinese mode, so GBK double-byte codes print as one character.
    pub const CHINESE_MODE: [u8; 2] = [0x1C, 0x26];
    /// LF: print the line buffer and feed one line.
    pub const LINE_FEED: u8 = 0x0A;

    /// `ESC a n`.
    pub fn align(align: Align) -> [u8; 3] {
        let n = match align {
            Align::Left => 0,
            Align::Center => 1,
            Align::Right => 2,
        };
        [0x1B, 0x61, n]
    }

    /// `ESC E n`.
    pub fn bold(on: bool) -> [u8; 3] {
        [0x1B, 0x45, u8::from(on)]
    }

    /// `GS ! n`: width multiplier − 1 in the high nibble, height − 1 in the low one.
    pub fn size(size: Size) -> [u8; 3] {
        [0x1D, 0x21, ((size.width() - 1) << 4) | (size.height() - 1)]
    }

    /// The native QR sequence (`GS ( k`, symbol type 49): model 2, `module_dots` per module,
    /// error level M, store `data`, print.
    pub fn native_qr(data: &[u8], module_dots: u8) -> Vec<u8> {
        let store_len = data.len() + 3;
        let mut out = Vec::with_capacity(store_len + 33);
        // Function 165: model 2 (50).
        out.extend_from_slice(&[0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00]);
        // Function 167: module size in dots.
        out.extend_from_slice(&[0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, module_dots]);
        // Function 169: error correction M (49).
        out.extend_from_slice(&[0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31]);
        // Function 180: store, pL pH = data length + 3.
        out.extend_from_slice(&[
            0x1D,
            0x28,
            0x6B,
            (store_len & 0xFF) as u8,
            (store_len >> 8) as u8,
            0x31,
            0x50,
            0x30,
        ]);
        out.extend_from_slice(data);
        // Function 181: print the stored symbol.
        out.extend_from_slice(&[0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]);
        out
    }

    /// `GS v 0 0 xL xH yL yH d…`: a raster image at normal scale.
    pub fn raster(image: &RasterImage) -> Vec<u8> {
        let (x, y) = (image.bytes_per_row(), image.height());
        let mut out = Vec::with_capacity(8 + image.data().len());
        out.extend_from_slice(&[
            0x1D,
            0x76,
            0x30,
            0x00,
            (x & 0xFF) as u8,
            (x >> 8) as u8,
            (y & 0xFF) as u8,
            (y >> 8) as u8,
        ]);
        out.extend_from_slice(image.data());
        out
    }

    /// `GS V m 0` with m = 66 (feed to the cutter, partial cut) or 65 (feed, full cut).
    pub fn cut(style: super::CutStyle) -> [u8; 4] {
        match style {
            super::CutStyle::Partial => [0x1D, 0x56, 0x42, 0x00],
            super::CutStyle::Full => [0x1D, 0x56, 0x41, 0x00],
        }
    }
}

/// How QR codes reach the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QrMode {
    /// The printer draws the symbol from `GS ( k`: few bytes, needs a printer with QR support.
    #[default]
    Native,
    /// We draw the symbol and send it as a `GS v 0` raster image: works on any printer.
    Raster,
}

impl std::str::FromStr for QrMode {
    type Err = UnknownQrMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "native" => Ok(QrMode::Native),
            "raster" | "image" => Ok(QrMode::Raster),
            _ => Err(UnknownQrMode {
                given: s.to_owned(),
            }),
        }
    }
}

/// A QR mode named on a command line that is neither `native` nor `raster`.
#[derive(Debug, thiserror::Error)]
#[error("unknown QR mode `{given}`: use `native` (GS ( k) or `raster` (GS v 0 image)")]
pub struct UnknownQrMode {
    pub given: String,
}

/// How the paper is cut at [`Element::Cut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CutStyle {
    /// Leaves a tab holding the receipt, so it hangs from the slot instead of dropping into
    /// the booth, and works on the 58 mm mechanisms that only cut partially.
    #[default]
    Partial,
    Full,
}

/// Everything about the printer the bytes depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeOptions {
    pub width: PaperWidth,
    pub qr_mode: QrMode,
    pub cut: CutStyle,
}

/// Why a receipt could not be turned into printer bytes.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(
        "the receipt's QR payload ({len} bytes) does not fit in a QR code: shorten the link it carries"
    )]
    QrTooLong {
        len: usize,
        #[source]
        source: qrcode::types::QrError,
    },
    #[error(
        "the receipt's QR code ({modules} modules) is wider than {width} paper: shorten the link it carries"
    )]
    QrTooWide { modules: usize, width: PaperWidth },
}

/// The complete print job for `receipt`.
pub fn encode(receipt: &Receipt, options: &EncodeOptions) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer {
        out: Vec::with_capacity(1024),
        state: Style::default(),
        options,
    };
    writer.out.extend_from_slice(&command::INITIALIZE);
    writer.out.extend_from_slice(&command::CHINESE_MODE);
    for element in receipt.elements() {
        writer.element(element)?;
    }
    Ok(writer.out)
}

struct Writer<'a> {
    out: Vec<u8>,
    /// What the printer is set to now (after `ESC @`: left, regular, normal size).
    state: Style,
    options: &'a EncodeOptions,
}

impl Writer<'_> {
    fn columns(&self) -> usize {
        self.options.width.columns()
    }

    fn element(&mut self, element: &Element) -> Result<(), EncodeError> {
        match element {
            Element::Title(text) => self.text(text, Style::title()),
            Element::Text { text, style } => self.text(text, *style),
            Element::Row { label, value } => {
                let lines = wrap::label_value(
                    &gbk::printable(label),
                    &gbk::printable(value),
                    self.columns(),
                );
                for line in lines {
                    self.line(&line, Style::default());
                }
            }
            Element::Separator => self.line(&"-".repeat(self.columns()), Style::default()),
            Element::Qr(payload) => self.qr(payload.as_bytes())?,
            Element::Feed(lines) => {
                for _ in 0..*lines {
                    self.out.push(command::LINE_FEED);
                }
            }
            Element::Cut => self.out.extend_from_slice(&command::cut(self.options.cut)),
        }
        Ok(())
    }

    fn text(&mut self, text: &str, style: Style) {
        let columns = self.columns() / usize::from(style.size.width());
        for line in wrap::wrap(&gbk::printable(text), columns) {
            self.line(&line, style);
        }
    }

    fn line(&mut self, text: &str, style: Style) {
        self.set(style);
        gbk::encode_into(text, &mut self.out);
        self.out.push(command::LINE_FEED);
    }

    fn set(&mut self, style: Style) {
        if style.align != self.state.align {
            self.out.extend_from_slice(&command::align(style.align));
        }
        if style.bold != self.state.bold {
            self.out.extend_from_slice(&command::bold(style.bold));
        }
        if style.size != self.state.size {
            self.out.extend_from_slice(&command::size(style.size));
        }
        self.state = style;
    }

    fn qr(&mut self, payload: &[u8]) -> Result<(), EncodeError> {
        let code = qr::symbol(payload).map_err(|source| EncodeError::QrTooLong {
            len: payload.len(),
            source,
        })?;
        // Only alignment matters to a symbol; bold and size stay as they are.
        let centred = Style {
            align: Align::Center,
            ..self.state
        };
        self.set(centred);
        let width = self.options.width;
        match self.options.qr_mode {
            QrMode::Native => {
                let dots = qr::module_dots(code.width(), width) as u8;
                self.out
                    .extend_from_slice(&command::native_qr(payload, dots));
            }
            QrMode::Raster => {
                let image = qr::draw(&code, width).ok_or(EncodeError::QrTooWide {
                    modules: code.width(),
                    width,
                })?;
                self.out.extend_from_slice(&command::raster(&image));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: [u8; 4] = [0x1B, 0x40, 0x1C, 0x26];

    fn body(receipt: &Receipt, options: EncodeOptions) -> Vec<u8> {
        let bytes = encode(receipt, &options).unwrap();
        assert_eq!(bytes[..4], PREFIX, "every job starts with ESC @ FS &");
        bytes[4..].to_vec()
    }

    fn bytes_58(receipt: &Receipt) -> Vec<u8> {
        body(receipt, EncodeOptions::default())
    }

    #[test]
    fn an_empty_receipt_is_initialize_and_chinese_mode() {
        assert_eq!(bytes_58(&Receipt::new()), b"");
    }

    #[test]
    fn plain_text_is_gbk_then_lf_without_style_commands() {
        assert_eq!(
            bytes_58(&Receipt::new().text("便民 A1")),
            [0xB1, 0xE3, 0xC3, 0xF1, b' ', b'A', b'1', 0x0A]
        );
    }

    #[test]
    fn a_title_is_centred_bold_double_and_the_next_line_resets_the_style() {
        assert_eq!(
            bytes_58(&Receipt::new().title("回执").text("A")),
            [
                0x1B, 0x61, 0x01, 0x1B, 0x45, 0x01, 0x1D, 0x21, 0x11, // centre, bold, 2×2
                0xBB, 0xD8, 0xD6, 0xB4, 0x0A, // 回执 LF
                0x1B, 0x61, 0x00, 0x1B, 0x45, 0x00, 0x1D, 0x21, 0x00, // back to normal
                b'A', 0x0A,
            ]
        );
    }

    #[test]
    fn each_size_and_alignment_has_its_byte() {
        assert_eq!(command::size(Size::Normal), [0x1D, 0x21, 0x00]);
        assert_eq!(command::size(Size::DoubleWidth), [0x1D, 0x21, 0x10]);
        assert_eq!(command::size(Size::DoubleHeight), [0x1D, 0x21, 0x01]);
        assert_eq!(command::size(Size::Double), [0x1D, 0x21, 0x11]);
        assert_eq!(command::align(Align::Right), [0x1B, 0x61, 0x02]);
        let style = Style::default()
            .align(Align::Right)
            .size(Size::DoubleHeight);
        assert_eq!(
            bytes_58(&Receipt::new().styled("x", style)),
            [0x1B, 0x61, 0x02, 0x1D, 0x21, 0x01, b'x', 0x0A]
        );
    }

    #[test]
    fn double_width_text_wraps_at_half_the_columns() {
        let style = Style::default().size(Size::DoubleWidth);
        let bytes = bytes_58(&Receipt::new().styled("a".repeat(20), style));
        let mut expected = vec![0x1D, 0x21, 0x10];
        expected.extend_from_slice(&[b'a'; 16]);
        expected.push(0x0A);
        expected.extend_from_slice(&[b'a'; 4]);
        expected.push(0x0A);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn a_row_wraps_its_value_under_itself() {
        let bytes = bytes_58(&Receipt::new().row("事项：", "城乡居民基本养老保险参保登记"));
        let mut expected = Vec::new();
        gbk::encode_into("事项：城乡居民基本养老保险参保登", &mut expected);
        expected.push(0x0A);
        expected.extend_from_slice(b"      ");
        gbk::encode_into("记", &mut expected);
        expected.push(0x0A);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn a_separator_spans_the_paper() {
        let mut expected = vec![b'-'; 32];
        expected.push(0x0A);
        assert_eq!(bytes_58(&Receipt::new().separator()), expected);
        let options = EncodeOptions {
            width: PaperWidth::Mm80,
            ..EncodeOptions::default()
        };
        assert_eq!(body(&Receipt::new().separator(), options).len(), 49);
    }

    #[test]
    fn feeds_are_bare_line_feeds_not_esc_d() {
        assert_eq!(bytes_58(&Receipt::new().feed(3)), [0x0A, 0x0A, 0x0A]);
    }

    #[test]
    fn cuts_feed_to_the_cutter_first() {
        assert_eq!(bytes_58(&Receipt::new().cut()), [0x1D, 0x56, 0x42, 0x00]);
        let full = EncodeOptions {
            cut: CutStyle::Full,
            ..EncodeOptions::default()
        };
        assert_eq!(body(&Receipt::new().cut(), full), [0x1D, 0x56, 0x41, 0x00]);
    }

    #[test]
    fn the_native_qr_sequence_matches_the_reference_bytes() {
        // Reference §2.4: ("AB", model 2, size 6, level M), as captured from the escpos crate.
        assert_eq!(
            command::native_qr(b"AB", 6),
            [
                0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00, //
                0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x06, //
                0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31, //
                0x1D, 0x28, 0x6B, 0x05, 0x00, 0x31, 0x50, 0x30, 0x41, 0x42, //
                0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30,
            ]
        );
    }

    #[test]
    fn a_native_qr_element_is_centred_and_sized_for_the_paper() {
        // "AB" is a version 1 symbol: 21 modules, 192 / 21 = 9 dots, capped at 8.
        let mut expected = vec![0x1B, 0x61, 0x01];
        expected.extend_from_slice(&command::native_qr(b"AB", 8));
        assert_eq!(bytes_58(&Receipt::new().qr("AB")), expected);
        let long = "x".repeat(300);
        let bytes = bytes_58(&Receipt::new().qr(long.clone()));
        // 303 = 0x012F in the store command's pL pH.
        let store = bytes
            .windows(8)
            .position(|w| w == [0x1D, 0x28, 0x6B, 0x2F, 0x01, 0x31, 0x50, 0x30])
            .expect("store command with a two-byte length");
        assert_eq!(&bytes[store + 8..store + 8 + 300], long.as_bytes());
    }

    #[test]
    fn a_raster_qr_is_gs_v_0_with_the_drawn_symbol() {
        let options = EncodeOptions {
            qr_mode: QrMode::Raster,
            ..EncodeOptions::default()
        };
        let bytes = body(&Receipt::new().qr("AB"), options);
        let code = qr::symbol(b"AB").unwrap();
        let image = qr::draw(&code, PaperWidth::Mm58).unwrap();
        // 21 + 8 quiet modules at 8 dots = 232 dots: 29 bytes per row, 232 rows.
        assert_eq!(
            bytes[..11],
            [0x1B, 0x61, 0x01, 0x1D, 0x76, 0x30, 0x00, 29, 0, 232, 0]
        );
        assert_eq!(&bytes[11..], image.data());
        assert_eq!(bytes.len(), 11 + 29 * 232);
    }

    #[test]
    fn a_qr_payload_too_long_for_any_symbol_is_a_typed_error() {
        let err = encode(
            &Receipt::new().qr("x".repeat(3000)),
            &EncodeOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, EncodeError::QrTooLong { len: 3000, .. }));
        assert!(err.to_string().contains("shorten"), "{err}");
    }

    #[test]
    fn non_gbk_text_is_sent_as_the_replacement_box() {
        assert_eq!(
            bytes_58(&Receipt::new().text("张𠮷")),
            [0xD5, 0xC5, 0xA1, 0xF5, 0x0A]
        );
    }

    #[test]
    fn qr_modes_parse_from_the_command_line() {
        assert_eq!("native".parse::<QrMode>().unwrap(), QrMode::Native);
        assert_eq!("Raster".parse::<QrMode>().unwrap(), QrMode::Raster);
        assert!(
            "bitmap"
                .parse::<QrMode>()
                .unwrap_err()
                .to_string()
                .contains("`bitmap`")
        );
    }
}
