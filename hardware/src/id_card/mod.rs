//! (filled by the id_card work)
