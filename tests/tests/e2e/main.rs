//! End-to-end: the `kiosk` binary as a technician runs it, an emulator (`kiosk hw emulate …`) in
//! one process and a device command in another, over real pseudo-terminals.
//!
//! One test binary; each area has a module.

mod architecture;
mod fleet_load;
mod hw_errors;
mod hw_id_card;
mod hw_printer;
mod hw_scanner;
mod kiosk_app;
mod link_share;
mod pages;
mod phone_upload;
mod staff_browser;
mod sync_faults;
mod sync_flow;
mod update_download;
