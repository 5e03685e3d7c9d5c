//! (filled by the printer work)
