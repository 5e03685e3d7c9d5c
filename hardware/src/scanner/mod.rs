//! (filled by the scanner work)
