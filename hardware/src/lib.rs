//! The booth's devices: a resident ID card reader (GA 467 SAM protocol), an ESC/POS thermal
//! receipt printer and a QR/barcode scanner — their wire codecs, drivers and emulators.
//!
//! Map of the crate:
//! - [`transport`]: the byte link every driver is generic over (serial port, pseudo-terminal,
//!   `usblp` node, in-memory pipe).
//! - [`ports`]: listing ports and finding a device by USB vendor:product id.
//! - [`id_card`]: frame codec, commands and status words, card text parsing, ID number
//!   validation and masking, the reader driver, and the reader emulator.
//! - [`printer`]: the receipt document model, its ESC/POS encoder, real-time status, the
//!   printer driver, and the printer emulator (ESC/POS decoder, text and PNG output).
//! - [`camera`]: the document camera (V4L2/UVC): frame codec, V4L2 source, driver, page
//!   processing (edges, perspective, 200 dpi JPEG) and the emulated camera's frames.
//! - [`scanner`]: serial scanner framing and driver, the keyboard-mode key decoder, and the
//!   scanner emulator.
//!
//! Each device module keeps the same shape: pure codecs (bytes in, typed values out) with no
//! I/O, a driver generic over [`transport::Transport`], and an `emulator` that speaks the
//! device's side of the same bytes on a pseudo-terminal.
//!
//! The camera differs in its link: V4L2 delivers whole frames, not bytes, so its driver is
//! generic over [`camera::FrameSource`] and its emulator makes frames, not a pseudo-terminal.
//!
//! This crate knows nothing of SQLite, Slint or HTTP.

pub mod camera;
pub mod id_card;
pub mod ports;
pub mod printer;
pub mod scanner;
pub mod transport;
