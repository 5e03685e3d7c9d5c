//! Fail points for the tests: `BOOTH_UPDATE_FAIL_AT=<point>` makes the updater abort right
//! there, the way `kill -9` would stop it, so the tests can check that `recover` leaves a
//! consistent booth from every step; `<point>:hang` makes it stop there and wait, so the VM
//! tests can pull the power at exactly that step (`systemctl set-environment`, which a reboot
//! forgets). Unset on a booth.

/// The environment variable naming the point.
pub const FAIL_AT: &str = "BOOTH_UPDATE_FAIL_AT";

/// Aborts (or hangs) the process if the tests asked to fail at `name`.
pub fn point(name: &str) {
    let Some(at) = std::env::var_os(FAIL_AT) else {
        return;
    };
    if at == name {
        eprintln!("booth-update: failing at {name} ({FAIL_AT})");
        std::process::abort();
    }
    if at.to_str().and_then(|at| at.strip_suffix(":hang")) == Some(name) {
        eprintln!("booth-update: hanging at {name} ({FAIL_AT}): waiting for the power cut");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
