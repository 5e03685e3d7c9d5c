//! The booth's touchscreen UI.
//!
//! This crate will hold the `.slint` files; their exported globals (properties, models,
//! callbacks) are its whole API and it holds no business rules. The Slint screens arrive with
//! the booth-app issue; until then the crate is an empty placeholder so the workspace layout is
//! final and nothing depends on Slint's eight-minute build yet.
