//! The booth's touchscreen app and command line, over the headless core in `kiosk-core`.
//!
//! - [`app`]: the touchscreen app: page controllers binding the `ui` crate's globals to the
//!   store, the devices and sync; session privacy; the booth config.
//! - [`launch`]: before the window opens: a display backend and a display, and the logs.
//! - `src/main.rs` and `src/cli/`: the `kiosk` binary, one file per command.

pub mod app;
pub mod launch;
