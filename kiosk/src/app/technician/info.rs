//! Booth info: identity, software version, free disk, clock offset, config file.

use std::path::Path;
use std::rc::Rc;

use slint::ComponentHandle;
use ui::{MainWindow, TechnicianAdapter};

use crate::app::bind::{Bound, Changes, Flow};
use crate::app::context::Ctx;
use kiosk_core::store::Identity;
use kiosk_core::sync::clock::{clock_warning, describe_offset};

/// What the page shows, read in the background.
#[derive(Debug)]
struct Facts {
    identity: Option<Identity>,
    clock_offset_ms: i64,
    disk: Result<(u64, u64), String>,
}

/// The booth's facts as the page words them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Info {
    kiosk_id: String,
    kiosk_number: String,
    village: String,
    server: String,
    version: String,
    disk_free: String,
    clock_offset: String,
    clock_ok: bool,
    config: String,
}

impl Info {
    fn read(&mut self, facts: Facts, config: String) {
        let identity = facts.identity.as_ref();
        self.kiosk_id = identity.map(|i| i.kiosk_id.clone()).unwrap_or_default();
        self.kiosk_number = identity
            .map(|i| format!("#{}", i.kiosk_number))
            .unwrap_or_default();
        self.village = identity
            .map(|i| {
                let v = &i.village;
                format!("{} {} {}", v.county, v.township, v.village)
            })
            .unwrap_or_default();
        // With the start of the pinned certificate's fingerprint: what a technician compares
        // with county IT when the booth refuses a changed certificate.
        self.server = identity
            .map(|i| match &i.server_pin {
                Some(pin) => format!("{} · sha256:{}…", i.server_url, &pin.hex()[..16]),
                None => i.server_url.clone(),
            })
            .unwrap_or_default();
        kiosk_core::update::running_release().clone_into(&mut self.version);
        self.disk_free = match facts.disk {
            Ok((free, total)) => format!("{} / {}", gigabytes(free), gigabytes(total)),
            Err(err) => err,
        };
        self.clock_offset = describe_offset(facts.clock_offset_ms);
        self.clock_ok = clock_warning(facts.clock_offset_ms).is_none();
        self.config = config;
    }
}

impl Flow for Info {
    type View = Self;

    fn view(&self) -> Self {
        self.clone()
    }

    fn render(now: &Self, before: Option<&Self>, window: &MainWindow) {
        let adapter = window.global::<TechnicianAdapter>();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.kiosk_id, |t| adapter.set_info_kiosk_id(t.into()));
        changes.write(
            |v| &v.kiosk_number,
            |t| adapter.set_info_kiosk_number(t.into()),
        );
        changes.write(|v| &v.village, |t| adapter.set_info_village(t.into()));
        changes.write(|v| &v.server, |t| adapter.set_info_server(t.into()));
        changes.write(|v| &v.version, |t| adapter.set_info_version(t.into()));
        changes.write(|v| &v.disk_free, |t| adapter.set_info_disk_free(t.into()));
        changes.write(
            |v| &v.clock_offset,
            |t| adapter.set_info_clock_offset(t.into()),
        );
        changes.write(|v| &v.clock_ok, |&ok| adapter.set_info_clock_ok(ok));
        changes.write(|v| &v.config, |t| adapter.set_info_config(t.into()));
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>) {
    Bound::<Info>::new(ctx).reset_on_session_end(ctx);
}

pub(super) fn load(ctx: &Rc<Ctx>) {
    tracing::info!(target: "technician", "booth info shown");
    Bound::<Info>::of(ctx).background(
        ctx,
        |services| Facts {
            identity: services.with_store(|s| s.identity().ok().flatten()),
            clock_offset_ms: services.with_store(|s| s.clock_offset_ms().unwrap_or(0)),
            disk: disk_space(services.data_dir()),
        },
        |ctx, page, facts| {
            let config = super::config_file(ctx)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            page.update(ctx, |info| info.read(facts, config));
        },
    );
}

/// Free (for this user) and total bytes on the data directory's file system.
fn disk_space(dir: &Path) -> Result<(u64, u64), String> {
    let stats = rustix::fs::statvfs(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok((
        stats.f_bavail.saturating_mul(stats.f_frsize),
        stats.f_blocks.saturating_mul(stats.f_frsize),
    ))
}

fn gigabytes(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_space_is_read_for_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (free, total) = disk_space(dir.path()).unwrap();
        assert!(total > 0 && free <= total);
        assert!(disk_space(&dir.path().join("absent")).is_err());
        assert_eq!(gigabytes(12_345_000_000), "12.3 GB");
    }

    #[test]
    fn a_booth_not_enrolled_shows_no_identity_but_its_clock_and_disk() {
        let mut info = Info::default();
        info.read(
            Facts {
                identity: None,
                clock_offset_ms: 0,
                disk: Err("/data: not found".into()),
            },
            String::new(),
        );
        let view = info.view();
        assert!(view.kiosk_id.is_empty() && view.village.is_empty());
        assert_eq!(view.disk_free, "/data: not found");
        assert!(view.clock_ok);
        assert_eq!(view.version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn a_pinned_server_shows_the_start_of_its_fingerprint() {
        let pin = "sha256:3f2a9c0177be0d4e11223344556677889900aabbccddeeff0123456789abcdef";
        let identity = Identity {
            kiosk_id: "k-7".into(),
            kiosk_number: 7,
            village: sync_protocol::enroll::Village {
                county: "清河县".into(),
                township: "东乡".into(),
                village: "石桥村".into(),
            },
            server_url: "https://10.0.0.5:8443".into(),
            server_id: "s-1".into(),
            enrolled_at: chrono::Utc::now(),
            server_pin: Some(pin.parse().unwrap()),
        };
        let mut info = Info::default();
        let facts = |identity| Facts {
            identity,
            clock_offset_ms: 0,
            disk: Ok((1, 2)),
        };
        info.read(facts(Some(identity.clone())), String::new());
        assert_eq!(
            info.view().server,
            "https://10.0.0.5:8443 · sha256:3f2a9c0177be0d4e…"
        );
        let plain = Identity {
            server_pin: None,
            ..identity
        };
        info.read(facts(Some(plain)), String::new());
        assert_eq!(info.view().server, "https://10.0.0.5:8443");
    }
}
