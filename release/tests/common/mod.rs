//! The real `booth-release` binary, driven like a release manager drives it.

#![allow(dead_code)] // each test file uses its own part

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_booth-release"))
        .args(args)
        .output()
        .expect("run booth-release")
}

/// Runs and expects success; the standard output.
pub fn ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "booth-release {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs and expects exit status 1 with one line on standard error; that line.
pub fn fails(args: &[&str]) -> String {
    let output = run(args);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "booth-release {args:?} should fail; stdout: {} stderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        stderr.starts_with("booth-release: ")
            && stderr.ends_with('\n')
            && stderr.lines().count() == 1,
        "not one error line: {stderr:?}"
    );
    stderr.trim_end().to_owned()
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A release key made by `keygen` in `dir`: the secret key file and the public key.
pub fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let file = dir.join(name);
    let stdout = ok(&["keygen", "--out", path(&file)]);
    let public = stdout.lines().next().unwrap().to_owned();
    (file, public)
}

/// A release directory: an executable, a nested data file, an empty file and one of 3000
/// bytes (data that crosses a block boundary and ends with padding).
pub fn release_dir(dir: &Path, tag: &str) -> PathBuf {
    let root = dir.join(format!("release-{tag}"));
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("share/booth")).unwrap();
    fs::write(
        root.join("bin/kiosk"),
        format!("\x7fELF kiosk {tag}").repeat(50),
    )
    .unwrap();
    fs::set_permissions(root.join("bin/kiosk"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(root.join("share/booth/catalog.json"), br#"{"items":[]}"#).unwrap();
    fs::write(root.join("share/empty"), b"").unwrap();
    fs::write(
        root.join("share/booth/data.bin"),
        (0..3000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    root
}

/// The options of a plain release `version` (replaces 1.0.0 and later, store 3..4 → 4).
pub fn release_args(version: &str) -> Vec<String> {
    [
        "--version",
        version,
        "--min-version",
        "1.0.0",
        "--store-reads",
        "3..4",
        "--store-writes",
        "4",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `sign --key key --from from --out out` with `args`; the bundle's path.
pub fn sign(key: &Path, from: &Path, out: &Path, args: &[String]) -> PathBuf {
    let mut all: Vec<&str> = vec![
        "sign",
        "--key",
        path(key),
        "--from",
        path(from),
        "--out",
        path(out),
    ];
    all.extend(args.iter().map(String::as_str));
    ok(&all);
    out.to_owned()
}
