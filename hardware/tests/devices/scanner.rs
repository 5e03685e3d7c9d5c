//! scanner driver against its emulator over a pseudo-terminal.
