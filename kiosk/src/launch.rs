//! What a binary checks and sets up before it opens the booth window: a display backend compiled
//! in, a display to open it on, and where the logs go. Shared by `kiosk run` and `kiosk-demo`.

use std::path::Path;

/// Why the booth window cannot open here; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(
        "this binary was built without a display backend: build it with `--features winit` (a desktop window) or `--features linuxkms` (a booth without a desktop), e.g. cargo build --release -p kiosk --features winit"
    )]
    NoBackend,
    #[error(
        "no display to open the booth window on: neither DISPLAY nor WAYLAND_DISPLAY is set; run it on a desktop, under Xvfb (Xvfb :99 & DISPLAY=:99 …; ./demo does this), or build with --features linuxkms for a booth without a desktop"
    )]
    NoDisplay,
}

/// Fails when this build cannot open a window at all.
pub fn check_backend() -> Result<(), LaunchError> {
    if cfg!(any(feature = "winit", feature = "linuxkms")) {
        Ok(())
    } else {
        Err(LaunchError::NoBackend)
    }
}

/// Fails early, with what to do, when a desktop window is the only way to show the booth and
/// there is no desktop.
pub fn check_display() -> Result<(), LaunchError> {
    let kms = cfg!(feature = "linuxkms")
        && std::env::var("SLINT_BACKEND").map_or(true, |b| b.starts_with("linuxkms"));
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if kms || desktop || !cfg!(feature = "winit") {
        Ok(())
    } else {
        Err(LaunchError::NoDisplay)
    }
}

fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// Logs on stderr, `info` unless `RUST_LOG` says otherwise.
pub fn init_logging() {
    use std::io::IsTerminal as _;
    // Colours only for a person at a terminal: in the journal they are escape codes.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Logs into `file` (the demo keeps its terminal for commands); stderr if it cannot be made.
pub fn init_logging_to(file: &Path) {
    let Ok(file) = std::fs::File::create(file) else {
        return init_logging();
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}
