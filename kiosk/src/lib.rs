//! The booth application library.
//!
//! Map of the library (`src/main.rs` and `src/cli/` stay a thin shell over it):
//! - [`device_port`]: how a device's port is named on the command line.
//! - [`guides`]: the Service guides screen's content: categories, search (pinyin initials too)
//!   and one item's 专栏7 fields as label/value rows.
//! - [`store`]: the durable offline store (one SQLite file): the submissions outbox, local
//!   receipts, catalogue and notice caches, feed cursors, the booth's identity and settings.
//! - [`identity`]: the booth's ed25519 key file.
//! - [`submit`]: turning what a villager filled in into a submission the item allows.
//! - [`sync`]: the sync client that uploads the outbox and pulls the feeds.
//!
//! - [`app`]: the booth's touchscreen app: page controllers binding the `ui` crate's globals
//!   to the store, the devices and sync; session privacy; the booth config.
//! - [`receipt_paper`]: what a villager's paper receipt says.

pub mod app;
pub mod device_port;
pub mod guides;
pub mod identity;
pub mod receipt_paper;
pub mod store;
pub mod submit;
pub mod sync;
