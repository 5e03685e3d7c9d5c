//! `sync-server enroll-code --village NAME [--township T] [--county C] [--expires 1h]
//! [--server URL] [--json]`.
//!
//! Text output (the first line is what scripts read):
//! ```text
//! code: ABCD-EFGH
//! village: 示范县 / 凤岭乡 / 石门村
//! expires: 2026-03-01 09:00:00 UTC (in 1h)
//! pin: sha256:3f2a…   (when the server serves https: see below)
//! qr: booth-enroll:v1?server=https%3A%2F%2F10.0.0.5%3A8443&code=ABCD-EFGH&pin=…   (with --server)
//! <that QR code: what the booth's scanner reads in technician mode>
//! on the booth: kiosk enroll --server URL --code ABCD-EFGH [--server-pin sha256:…]
//! ```
//! `--json`: `{"code": "ABCD-EFGH", "village": {...}, "expires_at": "RFC 3339", "pin":
//! "sha256:…" or null}`.
//!
//! The pin is the one of the certificate `serve` serves (recorded in the data directory as it
//! starts, `sync_server::tls::PIN_FILE`), or of `--tls-cert PEM`. It is left out for an http
//! `--server`, which has no certificate (a booth refuses a pin for it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use serde_json::json;
use sync_protocol::enroll::{EnrollQr, Village};
use sync_server::api::enroll_codes::{self, CodeSecret};
use sync_server::store::Store;
use sync_server::tls;

use super::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The village (村) the booth stands in.
    #[arg(long)]
    village: String,
    /// The township (乡镇).
    #[arg(long)]
    township: Option<String>,
    /// The county (县).
    #[arg(long)]
    county: Option<String>,
    /// How long the code stays valid: 90s, 30m, 1h, 2d (at most 30d).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = enroll_codes::parse_ttl)]
    expires: Duration,
    /// The address booths reach the server at (http://10.0.0.5:8080): prints the enrollment
    /// QR code the booth scans, which carries it with the code.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// The certificate booths will meet (PEM): its pin goes with the code. Default: the one
    /// `serve` serves from this data directory.
    #[arg(long, value_name = "PEM")]
    tls_cert: Option<PathBuf>,
    /// Print JSON instead of text and QR.
    #[arg(long)]
    json: bool,
}

impl Args {
    pub async fn run(
        &self,
        store: &dyn Store,
        secret: &CodeSecret,
        data_dir: &Path,
    ) -> anyhow::Result<()> {
        let village = Village {
            county: self.county.as_deref().unwrap_or_default().trim().to_owned(),
            township: self
                .township
                .as_deref()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            village: self.village.trim().to_owned(),
        };
        anyhow::ensure!(
            !village.village.is_empty(),
            "--village is empty: name the village the booth stands in"
        );
        if village.county.is_empty() || village.township.is_empty() {
            // Staff scopes name a county and township; a booth without them is outside every
            // scope but `*`.
            eprintln!(
                "note: no --county or --township: only staff with scope * will see this booth in the web pages"
            );
        }
        // Before the code is issued: an unreadable certificate should not waste one.
        let pin = match &self.tls_cert {
            Some(cert) => Some(tls::certificate_pin(cert)?),
            None => tls::recorded_pin(data_dir)?,
        }
        .filter(|_| {
            self.server
                .as_deref()
                .is_none_or(|server| server.trim().starts_with("https://"))
        });
        let now = Utc::now();
        let issued = enroll_codes::issue(store, secret, village, self.expires, now).await?;
        if self.json {
            return output::print_json(&json!({
                "code": issued.code,
                "village": issued.village,
                "expires_at": issued.expires_at,
                "pin": pin,
            }));
        }
        let place: Vec<&str> = [
            issued.village.county.as_str(),
            issued.village.township.as_str(),
            issued.village.village.as_str(),
        ]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
        println!("code: {}", issued.code);
        println!("village: {}", place.join(" / "));
        println!(
            "expires: {} ({})",
            output::time(issued.expires_at),
            output::relative(issued.expires_at, now)
        );
        if let Some(pin) = &pin {
            println!("pin: {pin}");
        }
        let pin_flag = pin
            .map(|pin| format!(" --server-pin {pin}"))
            .unwrap_or_default();
        let Some(server) = &self.server else {
            println!("(add --server URL to print the enrollment QR code the booth scans)");
            println!(
                "on the booth: kiosk enroll --server URL --code {}{pin_flag}",
                issued.code
            );
            return Ok(());
        };
        let payload = EnrollQr {
            server: server.trim().to_owned(),
            code: issued.code.clone(),
            pin,
        }
        .payload();
        println!("qr: {payload}");
        // Light modules as blocks: right on the dark terminals staff mostly use.
        let qr = QrCode::new(payload.as_bytes())?;
        println!(
            "{}",
            qr.render::<Dense1x2>()
                .dark_color(Dense1x2::Light)
                .light_color(Dense1x2::Dark)
                .quiet_zone(true)
                .build()
        );
        println!(
            "on the booth: kiosk enroll --server {} --code {}{pin_flag}",
            server.trim(),
            issued.code
        );
        Ok(())
    }
}
