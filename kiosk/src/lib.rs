//! The booth application library.
//!
//! Today it holds what the technician's device commands share: how a port is named on the
//! command line ([`device_port`]). The villager flows, session, offline store and sync client
//! arrive with their issues and live here too; `src/main.rs` and `src/cli/` stay a thin shell.

pub mod device_port;
