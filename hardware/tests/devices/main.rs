//! Every driver against its emulator over real pseudo-terminals.
//!
//! One test binary (ripgrep style); each device has a module.

mod id_card;
mod printer;
mod scanner;
