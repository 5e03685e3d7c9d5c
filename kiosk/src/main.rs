//! `kiosk`: the booth binary (a thin shell over the `kiosk` library).
fn main() {}
