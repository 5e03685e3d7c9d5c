//! Fail points for the tests: `BOOTH_UPDATE_FAIL_AT=<point>` makes the updater abort right
//! there, the way a power cut or `kill -9` would stop it, so the tests can check that
//! `recover` leaves a consistent booth from every step. Unset on a booth.

/// The environment variable naming the point.
pub const FAIL_AT: &str = "BOOTH_UPDATE_FAIL_AT";

/// Aborts the process if the tests asked to fail at `name`.
pub fn point(name: &str) {
    if std::env::var_os(FAIL_AT).is_some_and(|at| at == name) {
        eprintln!("booth-update: failing at {name} ({FAIL_AT})");
        std::process::abort();
    }
}
