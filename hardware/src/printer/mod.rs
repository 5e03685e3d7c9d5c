//! The ESC/POS receipt printer: document model, encoder, status, driver, decoder, emulator.
//!
//! Map of the module:
//! - [`receipt`]: the document — title, styled text, label–value rows, separators, QR, feed, cut.
//! - [`paper`]: 58 mm (384 dots, 32 columns) and 80 mm (576 dots, 48 columns).
//! - [`gbk`]: which characters the printer can print, replacing the rest; printed widths.
//! - [`wrap`]: line breaking by printed width (a Chinese character is two columns).
//! - [`encode`](mod@encode): receipt → ESC/POS bytes (`ESC @`, `FS &`, GBK text, `GS ( k` or `GS v 0` QR,
//!   `GS V 66` cut). Our own encoder rather than the `escpos` crate; see `ARCHITECTURE.md`.
//! - [`qr`]: QR sizing for the paper, drawing as a raster image, reading one back.
//! - [`image`]: the 1-bit raster images `GS v 0` carries.
//! - [`status`]: `DLE EOT n` requests and their one-byte replies.
//! - [`driver`]: [`Printer`], generic over [`Transport`](crate::transport::Transport): checks
//!   status, refuses with a typed error or prints and reports.
//! - [`decode`]: the streaming ESC/POS decoder and the receipt assembler.
//! - [`render`]: a decoded receipt as plain text or a PNG of the paper.
//! - [`emulator`]: a printer on a pseudo-terminal, with settable faults.
//! - [`sample`]: the booth's application receipt and a fixed example of it.

pub mod decode;
pub mod driver;
pub mod emulator;
pub mod encode;
pub mod gbk;
pub mod image;
pub mod paper;
pub mod qr;
pub mod receipt;
pub mod render;
pub mod sample;
pub mod status;
pub mod wrap;

pub use driver::{PrintReport, Printer, PrinterConfig, PrinterError, WhenSilent};
pub use encode::{CutStyle, EncodeError, EncodeOptions, QrMode, encode};
pub use paper::PaperWidth;
pub use receipt::{Align, Element, Receipt, Size, Style};
pub use status::PrinterStatus;
