//! The booth application. For now: the technician's device commands (`kiosk hw …`).
pub mod cli;
