//! `kiosk enroll --server URL --code CODE`: trade a one-time code from county staff for this
//! booth's identity. A refused code leaves an enrolled booth exactly as it was.
//!
//! Text: the identity (kiosk id, number, village, server), then for a re-enrollment one line
//! on the kiosk number: `kept kiosk number N (replaces kiosk OLD_ID): …` or a `warning:`
//! that it changed and what happens to submissions still queued under the old one; then the
//! clock warning, if any, then whether a technician PIN is set. `--json`: the identity with
//! `clock_offset_ms`, `clock_warning`, `replaced` (`{"kiosk_id", "kiosk_number"}` of the
//! previous identity, or null), `kiosk_number_kept` (null for a first enrollment), `warning`
//! (or null) and `technician_pin_set`.
//!
//! `--technician-pin PIN` (or `KIOSK_TECHNICIAN_PIN`) sets the PIN that opens technician mode
//! on the touchscreen; it is checked before the code is spent.
//!
//! `--server-pin sha256:…` (what `sync-server enroll-code` prints as `pin:`; at least its first
//! 16 hex digits) makes the booth trust only that certificate for an https server, without the
//! public roots, from the enrollment on; the whole pin is stored and printed
//! (`server_pin` in `--json`, null without one).

use std::path::Path;

use kiosk_core::store::technician_pin::TechnicianPin;
use kiosk_core::store::{Identity, Store};
use kiosk_core::sync::enroll::{EnrollError, Previous, previous_identity};
use kiosk_core::sync::{SyncError, clock_warning};
use serde_json::json;
use sync_protocol::pin::PinPrefix;

#[derive(Debug, clap::Args)]
pub struct Enroll {
    /// The county server's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    server: String,
    /// The one-time code county staff issued (case and dashes do not matter).
    #[arg(long)]
    code: String,
    /// The fingerprint of the https server's certificate (sha256:…, at least its first 16 hex
    /// digits), as county IT gave it: the booth then trusts that certificate alone.
    #[arg(long, value_name = "SHA256")]
    server_pin: Option<PinPrefix>,
    /// The PIN (4 to 12 digits) that opens technician mode on the touchscreen.
    #[arg(
        long,
        env = "KIOSK_TECHNICIAN_PIN",
        value_name = "PIN",
        hide_env_values = true
    )]
    technician_pin: Option<TechnicianPin>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Enroll {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let previous = previous_identity(data_dir).map_err(enroll_error)?;
        let identity = runtime
            .block_on(kiosk_core::sync::enroll_pinned(
                data_dir,
                &self.server,
                self.server_pin.as_ref(),
                &self.code,
            ))
            .map_err(enroll_error)?;
        let mut store = Store::open(data_dir)?;
        if let Some(pin) = &self.technician_pin {
            store.set_technician_pin(pin)?;
        }
        let pin_set = store.technician_pin_is_set()?;
        let offset_ms = store.clock_offset_ms()?;
        let queued = store.queue_stats(store.corrected_now()?)?.depth();
        let change = previous
            .as_ref()
            .map(|previous| NumberChange::new(previous, &identity, queued));
        if self.json {
            let mut value = identity_json(&identity, offset_ms);
            value["replaced"] = previous.as_ref().map_or(serde_json::Value::Null, |p| {
                json!({
                    "kiosk_id": p.identity.kiosk_id,
                    "kiosk_number": p.identity.kiosk_number,
                })
            });
            value["kiosk_number_kept"] = json!(change.as_ref().map(|c| c.kept));
            value["warning"] = json!(change.as_ref().and_then(NumberChange::warning));
            value["technician_pin_set"] = json!(pin_set);
            println!("{value}");
        } else {
            print!("{}", describe(&identity));
            if let Some(change) = &change {
                println!("{}", change.line());
            }
            if let Some(warning) = clock_warning(offset_ms) {
                println!("{warning}");
            }
            if pin_set {
                println!("technician PIN: set");
            } else {
                println!(
                    "technician PIN: not set, so technician mode cannot be opened on the touchscreen: set one with `kiosk technician-pin`"
                );
            }
        }
        Ok(())
    }
}

/// What a re-enrollment did to the booth's kiosk number, told to the technician.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NumberChange {
    kept: bool,
    old_id: String,
    old_number: u32,
    new_number: u32,
    /// The old key loaded, so the enrollment carried the proof.
    proven: bool,
    /// Submissions waiting for upload, numbered under the old kiosk number.
    queued: u64,
    /// The server install changed: `(old, new)` server ids.
    moved: Option<(String, String)>,
}

impl NumberChange {
    fn new(previous: &Previous, identity: &Identity, queued: u64) -> Self {
        let moved = (previous.identity.server_id != identity.server_id).then(|| {
            (
                previous.identity.server_id.clone(),
                identity.server_id.clone(),
            )
        });
        Self {
            kept: moved.is_none() && previous.identity.kiosk_number == identity.kiosk_number,
            old_id: previous.identity.kiosk_id.clone(),
            old_number: previous.identity.kiosk_number,
            new_number: identity.kiosk_number,
            proven: previous.key_loads,
            queued,
            moved,
        }
    }

    fn line(&self) -> String {
        self.warning().map_or_else(
            || {
                format!(
                    "kept kiosk number {} (replaces kiosk {}): printed receipts and queued submissions stay valid",
                    self.new_number, self.old_id
                )
            },
            |warning| format!("warning: {warning}"),
        )
    }

    fn warning(&self) -> Option<String> {
        if self.kept {
            return None;
        }
        if let Some((old_server, new_server)) = &self.moved {
            let queued = if self.queued == 0 || self.old_number == self.new_number {
                String::new()
            } else {
                format!(
                    "; {} queued submission(s) numbered under #{} will be refused and quarantined: see `kiosk queue quarantined`",
                    self.queued, self.old_number
                )
            };
            return Some(format!(
                "this booth moved to another server install ({new_server}, was {old_server}) as kiosk #{} (was #{}){queued}",
                self.new_number, self.old_number
            ));
        }
        let why = if self.proven {
            "the server did not hand the old number over: the old kiosk was revoked by staff or is unknown to this server"
        } else {
            "the booth's old key was missing, so the server could not tell this is the same booth"
        };
        let consequence = if self.queued == 0 {
            "nothing was queued, so nothing is lost".to_owned()
        } else {
            format!(
                "{} queued submission(s) numbered under #{} will be refused and quarantined: see `kiosk queue quarantined` and report their receipt numbers to county staff",
                self.queued, self.old_number
            )
        };
        Some(format!(
            "kiosk number changed from #{} to #{} ({why}); {consequence}",
            self.old_number, self.new_number
        ))
    }
}

fn describe(identity: &Identity) -> String {
    let village = &identity.village;
    format!(
        "kiosk id: {}\nkiosk number: {}\nvillage: {}/{}/{}\nserver: {} (id {})\n{}",
        identity.kiosk_id,
        identity.kiosk_number,
        village.county,
        village.township,
        village.village,
        identity.server_url,
        identity.server_id,
        identity.server_pin.map_or_else(String::new, |pin| format!(
            "server certificate: {pin} (the only one this booth trusts for the server)\n"
        ))
    )
}

fn identity_json(identity: &Identity, offset_ms: i64) -> serde_json::Value {
    json!({
        "kiosk_id": identity.kiosk_id,
        "kiosk_number": identity.kiosk_number,
        "village": identity.village,
        "server_url": identity.server_url,
        "server_pin": identity.server_pin,
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

    fn identity(kiosk_id: &str, kiosk_number: u32, server_id: &str) -> Identity {
        Identity {
            kiosk_id: kiosk_id.into(),
            kiosk_number,
            village: Village {
                county: "上林县".into(),
                township: "白圩镇".into(),
                village: "覃李村".into(),
            },
            server_url: "http://127.0.0.1:8080".into(),
            server_id: server_id.into(),
            enrolled_at: "2026-11-26T08:00:00Z".parse().unwrap(),
            server_pin: None,
        }
    }

    #[test]
    fn the_number_is_kept_only_on_the_same_server_install() {
        let previous = Previous {
            identity: identity("k-3", 3, "county-1"),
            key_loads: true,
        };
        assert!(NumberChange::new(&previous, &identity("k-4", 3, "county-1"), 0).kept);
        assert!(!NumberChange::new(&previous, &identity("k-4", 9, "county-1"), 0).kept);
        let moved = NumberChange::new(&previous, &identity("k-1", 3, "county-2"), 0);
        assert!(!moved.kept);
        assert!(
            moved.line().starts_with("warning: this booth moved"),
            "{}",
            moved.line()
        );
    }

    #[test]
    fn the_identity_reads_as_four_lines() {
        let identity = identity("k-7", 7, "county-1");
        assert_eq!(
            describe(&identity),
            "kiosk id: k-7\nkiosk number: 7\nvillage: 上林县/白圩镇/覃李村\nserver: http://127.0.0.1:8080 (id county-1)\n"
        );
        let json = identity_json(&identity, 0);
        assert_eq!(json["village"]["township"], "白圩镇");
        assert_eq!(json["clock_warning"], serde_json::Value::Null);
        assert_eq!(json["server_pin"], serde_json::Value::Null);
    }

    #[test]
    fn a_pinned_identity_names_its_certificate() {
        let pin = "sha256:3f2a9c0177be0d4e11223344556677889900aabbccddeeff0123456789abcdef";
        let identity = Identity {
            server_url: "https://10.0.0.5:8443".into(),
            server_pin: Some(pin.parse().unwrap()),
            ..identity("k-7", 7, "county-1")
        };
        assert!(
            describe(&identity).ends_with(&format!(
                "server: https://10.0.0.5:8443 (id county-1)\nserver certificate: {pin} (the only one this booth trusts for the server)\n"
            )),
            "{}",
            describe(&identity)
        );
        assert_eq!(identity_json(&identity, 0)["server_pin"], pin);
    }

    fn change(kept: bool, proven: bool, queued: u64) -> NumberChange {
        NumberChange {
            kept,
            old_id: "k-3".into(),
            old_number: 3,
            new_number: if kept { 3 } else { 9 },
            proven,
            queued,
            moved: None,
        }
    }

    #[test]
    fn a_re_enrollment_says_what_became_of_the_kiosk_number() {
        assert_eq!(
            change(true, true, 4).line(),
            "kept kiosk number 3 (replaces kiosk k-3): printed receipts and queued submissions stay valid"
        );
        assert_eq!(change(true, true, 4).warning(), None);
        assert_eq!(
            change(false, false, 2).line(),
            "warning: kiosk number changed from #3 to #9 (the booth's old key was missing, so the server could not tell this is the same booth); 2 queued submission(s) numbered under #3 will be refused and quarantined: see `kiosk queue quarantined` and report their receipt numbers to county staff"
        );
        let drained = change(false, true, 0).warning().unwrap();
        assert!(drained.contains("revoked by staff"), "{drained}");
        assert!(
            drained.ends_with("nothing was queued, so nothing is lost"),
            "{drained}"
        );
        let moved = NumberChange {
            kept: false,
            moved: Some(("county-a".into(), "county-b".into())),
            ..change(true, true, 2)
        };
        assert_eq!(
            moved.warning().as_deref(),
            Some(
                "this booth moved to another server install (county-b, was county-a) as kiosk #3 (was #3)"
            )
        );
    }
}
