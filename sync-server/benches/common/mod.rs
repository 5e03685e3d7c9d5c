//! Helpers shared by the benches of `sync-server` (`benches/ingest.rs`) and `kiosk`
//! (`kiosk/benches/kiosk.rs`, through `#[path]`). Each bench uses only part of them.
#![allow(dead_code)]

pub mod harness;
pub mod server;
