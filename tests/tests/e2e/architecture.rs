//! The architecture invariants of ARCHITECTURE.md, checked so a change cannot drift past them.

use std::path::Path;
use std::process::Command;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Every crate `package` depends on when built normally (dev-dependencies excluded).
fn dependency_names(package: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(workspace())
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn hardware_depends_on_no_sqlite_slint_or_http_crate() {
    let forbidden = [
        "rusqlite",
        "libsqlite3-sys",
        "sqlx",
        "slint",
        "reqwest",
        "hyper",
        "axum",
        "ureq",
        "tokio",
    ];
    let names = dependency_names("hardware");
    assert!(
        names.iter().any(|n| n == "serialport"),
        "the dependency listing works: {names:?}"
    );
    let found: Vec<&String> = names
        .iter()
        .filter(|n| forbidden.contains(&n.as_str()))
        .collect();
    assert!(
        found.is_empty(),
        "hardware must stay free of storage, UI and HTTP crates, found {found:?}"
    );
}

#[test]
fn anyhow_stays_at_the_binary_edge_of_kiosk() {
    let src = workspace().join("kiosk/src");
    let mut library_files = Vec::new();
    let mut folders = vec![src.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)
            .expect("read kiosk/src")
            .flatten()
        {
            let path = entry.path();
            // The binary: main.rs and the command-line modules under cli/.
            if path == src.join("main.rs") || path == src.join("cli") {
                continue;
            }
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                library_files.push(path);
            }
        }
    }
    assert!(
        !library_files.is_empty(),
        "found no library files under {}",
        src.display()
    );
    for file in library_files {
        let text = std::fs::read_to_string(&file).expect("read kiosk library file");
        assert!(
            !text.contains("anyhow"),
            "{} is library code: return a typed error, not anyhow",
            file.display()
        );
    }
}

#[test]
fn the_booth_core_depends_on_no_ui_window_or_binary_edge_crate() {
    let forbidden = [
        "slint",
        "i-slint-core",
        "ui",
        "winit",
        "kiosk",
        "anyhow",
        "clap",
        "tracing-subscriber",
    ];
    let names = dependency_names("kiosk-core");
    assert!(
        names.iter().any(|n| n == "rusqlite") && names.iter().any(|n| n == "hardware"),
        "the dependency listing works: {names:?}"
    );
    let found: Vec<&String> = names
        .iter()
        .filter(|n| forbidden.contains(&n.as_str()))
        .collect();
    assert!(
        found.is_empty(),
        "kiosk-core is the booth's headless core: no Slint, window, UI or binary-edge crate, found {found:?}"
    );
}

#[test]
fn the_booth_binary_does_not_depend_on_the_demo() {
    let names = dependency_names("kiosk");
    assert!(
        names.iter().any(|n| n == "kiosk-core"),
        "the dependency listing works: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n == "kiosk-demo"),
        "the booth's binary must not carry the demo: {names:?}"
    );
}
