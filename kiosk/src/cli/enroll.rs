//! `kiosk enroll --server URL --code CODE`: trade a one-time code from county staff for this
//! booth's identity. A refused code leaves an enrolled booth exactly as it was.

use std::path::Path;

use kiosk::store::{Identity, Store};
use kiosk::sync::enroll::EnrollError;
use kiosk::sync::{SyncError, clock_warning};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Enroll {
    /// The county server's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    server: String,
    /// The one-time code county staff issued (case and dashes do not matter).
    #[arg(long)]
    code: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Enroll {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let identity = runtime
            .block_on(kiosk::sync::enroll(data_dir, &self.server, &self.code))
            .map_err(enroll_error)?;
        let offset_ms = Store::open(data_dir)?.clock_offset_ms()?;
        if self.json {
            println!("{}", identity_json(&identity, offset_ms));
        } else {
            print!("{}", describe(&identity));
            if let Some(warning) = clock_warning(offset_ms) {
                println!("{warning}");
            }
        }
        Ok(())
    }
}

fn describe(identity: &Identity) -> String {
    let village = &identity.village;
    format!(
        "kiosk id: {}\nkiosk number: {}\nvillage: {}/{}/{}\nserver: {} (id {})\n",
        identity.kiosk_id,
        identity.kiosk_number,
        village.county,
        village.township,
        village.village,
        identity.server_url,
        identity.server_id
    )
}

fn identity_json(identity: &Identity, offset_ms: i64) -> serde_json::Value {
    json!({
        "kiosk_id": identity.kiosk_id,
        "kiosk_number": identity.kiosk_number,
        "village": identity.village,
        "server_url": identity.server_url,
        "server_id": identity.server_id,
        "enrolled_at": identity.enrolled_at,
        "clock_offset_ms": offset_ms,
        "clock_warning": clock_warning(offset_ms),
    })
}

/// Network and server failures read best as their own line; the HTTP library's chain below
/// them (`error sending request for url …`) says nothing more to a technician.
fn enroll_error(err: EnrollError) -> anyhow::Error {
    match err {
        EnrollError::Server(SyncError::Network { .. } | SyncError::Protocol { .. })
        | EnrollError::Refused(_) => anyhow::anyhow!("{err}"),
        other => anyhow::Error::new(other),
    }
}

#[cfg(test)]
mod tests {
    use sync_protocol::enroll::Village;

    use super::*;

    #[test]
    fn the_identity_reads_as_four_lines() {
        let identity = Identity {
            kiosk_id: "k-7".into(),
            kiosk_number: 7,
            village: Village {
                county: "上林县".into(),
                township: "白圩镇".into(),
                village: "覃李村".into(),
            },
            server_url: "http://127.0.0.1:8080".into(),
            server_id: "county-1".into(),
            enrolled_at: "2026-11-26T08:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            describe(&identity),
            "kiosk id: k-7\nkiosk number: 7\nvillage: 上林县/白圩镇/覃李村\nserver: http://127.0.0.1:8080 (id county-1)\n"
        );
        let json = identity_json(&identity, 0);
        assert_eq!(json["village"]["township"], "白圩镇");
        assert_eq!(json["clock_warning"], serde_json::Value::Null);
    }
}
