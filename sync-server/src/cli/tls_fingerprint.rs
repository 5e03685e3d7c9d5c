//! `sync-server tls-fingerprint --cert PEM [--json]`: the pin booths trust the server by, for
//! a certificate file (the first certificate in it, the server's own).
//!
//! Text:
//! ```text
//! pin: sha256:3f2a9c0177be0d4e…
//! first 16: 3f2a 9c01 77be 0d4e
//! ```
//! (`kiosk enroll --server-pin` and the booth's enrollment screen take the whole pin or at
//! least its first 16 hex digits.) `--json`: `{"pin": "sha256:…", "first_16": "3f2a 9c01 …"}`.

use std::path::PathBuf;

use serde_json::json;
use sync_server::tls;

use super::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The certificate (PEM), as given to `serve --tls-cert`.
    #[arg(long, value_name = "PEM")]
    cert: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn run(&self) -> anyhow::Result<()> {
        let pin = tls::certificate_pin(&self.cert)?;
        if self.json {
            return output::print_json(&json!({
                "pin": pin,
                "first_16": pin.short(),
            }));
        }
        println!("pin: {pin}");
        println!("first 16: {}", pin.short());
        Ok(())
    }
}
