//! QR / barcode scanners: serial and USB-CDC scanners that send each code followed by a
//! suffix, and keyboard-mode (USB HID) scanners that type it.
//!
//! Map of the module:
//! - [`framing`]: the pure streaming framer: CR / LF / CR LF / auto-detected suffixes, no
//!   suffix (idle flush), a bounded maximum code length.
//! - [`text`]: decoding a code's bytes, UTF-8 first and GB18030 second, with control
//!   characters cleaned up.
//! - [`dedupe`]: dropping the same code read twice within a window (time passed in).
//! - [`driver`]: [`Scanner`], generic over [`Transport`](crate::transport::Transport): reads,
//!   frames, decodes and filters.
//! - [`reconnect`]: [`ReconnectingScanner`], which opens a port by path and re-opens it with
//!   back-off after the device goes away.
//! - [`keyboard`]: the pure decoder from Linux key events (US layout) to codes.
//! - `evdev` (feature `evdev`): `HidScanner`, reading a keyboard-mode scanner from
//!   `/dev/input` into that decoder.
//! - [`emulator`]: a scanner on a pseudo-terminal that types codes on demand.

pub mod dedupe;
pub mod driver;
pub mod emulator;
#[cfg(feature = "evdev")]
pub mod evdev;
pub mod framing;
pub mod keyboard;
pub mod reconnect;
pub mod text;

pub use dedupe::DuplicateFilter;
pub use driver::{Scan, Scanner, ScannerConfig, ScannerError};
pub use emulator::{
    CodeEncoding, EmulatorConfig, EmulatorSender, ScannerEmulator, Suffix, parse_encoding,
    parse_suffix,
};
#[cfg(feature = "evdev")]
pub use evdev::{HidConfig, HidError, HidScanner};
pub use framing::{FrameItem, Framer, FramerConfig, Terminator};
pub use keyboard::{KeyDecoder, KeyEvent, KeyItem};
pub use reconnect::{Backoff, LinkLost, ReconnectConfig, ReconnectingScanner, ScannerEvent};
pub use text::{DecodedText, TextEncoding, decode};
