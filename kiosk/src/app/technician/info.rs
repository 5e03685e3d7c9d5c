//! Booth info: identity, software version, free disk, clock offset, config file.

use std::path::Path;
use std::rc::Rc;

use slint::ComponentHandle;
use ui::TechnicianAdapter;

use crate::app::context::Ctx;
use crate::store::Identity;
use crate::sync::clock::{clock_warning, describe_offset};

pub(super) fn clear(adapter: &TechnicianAdapter<'_>) {
    adapter.set_info_kiosk_id("".into());
    adapter.set_info_kiosk_number("".into());
    adapter.set_info_village("".into());
    adapter.set_info_server("".into());
}

/// What the page shows, read in the background.
#[derive(Debug)]
struct Facts {
    identity: Option<Identity>,
    clock_offset_ms: i64,
    disk: Result<(u64, u64), String>,
}

pub(super) fn load(ctx: &Rc<Ctx>) {
    tracing::info!(target: "technician", "booth info shown");
    ctx.background(
        |services| Facts {
            identity: services.with_store(|s| s.identity().ok().flatten()),
            clock_offset_ms: services.with_store(|s| s.clock_offset_ms().unwrap_or(0)),
            disk: disk_space(services.data_dir()),
        },
        |ctx, facts| {
            let window = ctx.window();
            let adapter = window.global::<TechnicianAdapter>();
            match &facts.identity {
                Some(identity) => {
                    let v = &identity.village;
                    adapter.set_info_kiosk_id(identity.kiosk_id.clone().into());
                    adapter.set_info_kiosk_number(format!("#{}", identity.kiosk_number).into());
                    adapter.set_info_village(
                        format!("{} {} {}", v.county, v.township, v.village).into(),
                    );
                    adapter.set_info_server(identity.server_url.clone().into());
                }
                None => clear(&adapter),
            }
            adapter.set_info_version(env!("CARGO_PKG_VERSION").into());
            adapter.set_info_disk_free(
                match facts.disk {
                    Ok((free, total)) => format!("{} / {}", gigabytes(free), gigabytes(total)),
                    Err(err) => err,
                }
                .into(),
            );
            adapter.set_info_clock_offset(describe_offset(facts.clock_offset_ms).into());
            adapter.set_info_clock_ok(clock_warning(facts.clock_offset_ms).is_none());
            adapter.set_info_config(
                super::config_file(ctx)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
                    .into(),
            );
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
}
