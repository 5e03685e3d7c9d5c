//! The booth's headless core: everything a booth does that is not pixels or a command line.
//! It knows no Slint, no window and no terminal, so `kiosk sync`, the technician's commands and
//! the touchscreen app share one implementation (the architecture test holds it to that).
//!
//! Map of the crate:
//! - [`store`]: the durable offline store (one SQLite file): the submissions outbox, local
//!   receipts, catalogue and notice caches, feed cursors, the booth's identity and settings.
//! - [`sync`]: the sync client that uploads the outbox and pulls the feeds.
//! - [`submit`]: turning what a villager filled in into a submission the item allows.
//! - [`identity`]: the booth's ed25519 key file.
//! - [`guides`]: the Service guides' content: categories, search (pinyin initials too) and one
//!   item's 专栏7 fields as label/value rows.
//! - [`receipt_paper`]: what a villager's paper receipt says.
//! - [`devices`]: opening the reader, printer and scanner from a port spec with their default
//!   baud rates, waiting for a card, the printer's status in words, port descriptions, and the
//!   technician's one-shot device tests.
//! - [`atomic_file`]: replacing a small file whole (key, enrollment journal, config).
//! - [`update`]: the kiosk's side of over-the-air updates: the install request it hands the
//!   booth's updater, and the health reports the updater judges a new release by.

pub mod atomic_file;
pub mod devices;
pub mod guides;
pub mod identity;
pub mod receipt_paper;
pub mod store;
pub mod submit;
pub mod sync;
pub mod update;
