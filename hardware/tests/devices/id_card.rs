//! id_card driver against its emulator over a pseudo-terminal.
