//! `sync-server kiosk list [--json]` and `sync-server kiosk revoke ID|NUMBER [--json]`.
//!
//! `list` text: one line per kiosk with number, state (`active`, `revoked`, or `replaced` when
//! its booth re-enrolled and a newer kiosk took over its number), last seen, queue depth, quarantined
//! count, app version and clock offset (from the last heartbeat), id and village.
//! `list --json`: an array of kiosk objects (see [`kiosk_json`]).
//! `revoke` text: `revoked kiosk #N (ID, VILLAGE) at TIME: its next request is refused with kiosk_revoked`.

use anyhow::anyhow;
use chrono::Utc;
use serde_json::{Value, json};
use sync_server::domain::access::Scope;
use sync_server::domain::fleet::KioskRecord;
use sync_server::store::staff::AuditEntry;
use sync_server::store::{KioskRef, RevokeOutcome, Store};

use super::output;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List enrolled kiosks with their last heartbeat.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a kiosk: its next request is refused with `kiosk_revoked`.
    Revoke {
        /// The kiosk id, or its kiosk number (`7` or `#7`).
        kiosk: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    pub async fn run(&self, store: &dyn Store) -> anyhow::Result<()> {
        match self {
            Self::List { json } => list(store, *json).await,
            Self::Revoke { kiosk, json } => revoke(store, kiosk, *json).await,
        }
    }
}

fn kiosk_json(kiosk: &KioskRecord) -> Value {
    json!({
        "kiosk_id": kiosk.kiosk_id,
        "kiosk_number": kiosk.kiosk_number,
        "village": kiosk.village,
        "state": state(kiosk),
        "enrolled_at": kiosk.enrolled_at,
        "enrolled_app_version": kiosk.app_version,
        "revoked_at": kiosk.revoked_at,
        "replaced_by": kiosk.replaced_by,
        "last_seen_at": kiosk.last_seen_at,
        "last_heartbeat": kiosk.last_heartbeat.as_ref().map(|record| json!({
            "received_at": record.received_at,
            "heartbeat": record.heartbeat,
        })),
    })
}

fn state(kiosk: &KioskRecord) -> &'static str {
    match (kiosk.is_revoked(), kiosk.replaced_by.is_some()) {
        (false, _) => "active",
        (true, true) => "replaced",
        (true, false) => "revoked",
    }
}

async fn list(store: &dyn Store, json: bool) -> anyhow::Result<()> {
    let kiosks = store.list_kiosks().await?;
    if json {
        return output::print_json(&kiosks.iter().map(kiosk_json).collect::<Vec<_>>());
    }
    if kiosks.is_empty() {
        println!("no kiosks enrolled: issue a code with `sync-server enroll-code --village NAME`");
        return Ok(());
    }
    let now = Utc::now();
    println!(
        "{:<6} {:<8} {:<10} {:>6} {:>6} {:<10} {:>9}  {:<36}  VILLAGE",
        "NO", "STATE", "SEEN", "QUEUE", "QUAR", "VERSION", "CLOCK", "KIOSK ID"
    );
    for kiosk in &kiosks {
        let heartbeat = kiosk.last_heartbeat.as_ref().map(|r| &r.heartbeat);
        let dash = || "-".to_owned();
        println!(
            "{:<6} {:<8} {:<10} {:>6} {:>6} {:<10} {:>9}  {:<36}  {}",
            format!("#{}", kiosk.kiosk_number),
            state(kiosk),
            kiosk
                .last_seen_at
                .map_or_else(|| "never".to_owned(), |at| output::relative(at, now)),
            heartbeat.map_or_else(dash, |h| h.queue_depth.to_string()),
            heartbeat.map_or_else(dash, |h| h.quarantined.to_string()),
            heartbeat.map_or(kiosk.app_version.as_str(), |h| h.app_version.as_str()),
            heartbeat.map_or_else(dash, |h| format!(
                "{:+.1}s",
                h.clock_offset_ms as f64 / 1000.0
            )),
            kiosk.kiosk_id,
            kiosk.village.village,
        );
    }
    Ok(())
}

async fn revoke(store: &dyn Store, kiosk: &str, json: bool) -> anyhow::Result<()> {
    let reference = KioskRef::parse(kiosk);
    let not_found =
        || anyhow!("no kiosk {reference}: see `sync-server kiosk list` for ids and numbers");
    let found = store.find_kiosk(&reference).await?.ok_or_else(not_found)?;
    let now = Utc::now();
    // The same audit line as the fleet page's, written with the change; `cli` is the actor.
    let audit = AuditEntry::new(now, "cli", "fleet.revoke")
        .target(&found.kiosk_id)
        .detail(format!("#{} {}", found.kiosk_number, found.village.village));
    let outcome = store
        .revoke_kiosk_in(&Scope::All, &found.kiosk_id, now, audit)
        .await?;
    let (record, already) = match outcome {
        RevokeOutcome::Revoked(record) => (record, false),
        RevokeOutcome::AlreadyRevoked(record) => (record, true),
        RevokeOutcome::NotFound => return Err(not_found()),
    };
    let at = record.revoked_at.map_or_else(String::new, output::time);
    if json {
        let mut value = kiosk_json(&record);
        value["already_revoked"] = already.into();
        return output::print_json(&value);
    }
    if already {
        println!(
            "kiosk #{} ({}, {}) was already revoked at {at}",
            record.kiosk_number, record.kiosk_id, record.village.village
        );
    } else {
        println!(
            "revoked kiosk #{} ({}, {}) at {at}: its next request is refused with kiosk_revoked",
            record.kiosk_number, record.kiosk_id, record.village.village
        );
    }
    Ok(())
}
