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

/// Fails with `why` when `package` depends on any of `forbidden`; `present` is a crate it does
/// depend on, so an empty listing cannot pass for a clean one.
fn assert_depends_on_none(package: &str, present: &str, forbidden: &[&str], why: &str) {
    let names = dependency_names(package);
    assert!(
        names.iter().any(|n| n == present),
        "the dependency listing works: {names:?}"
    );
    let found: Vec<&String> = names
        .iter()
        .filter(|n| forbidden.contains(&n.as_str()))
        .collect();
    assert!(found.is_empty(), "{why}, found {found:?}");
}

#[test]
fn hardware_depends_on_no_sqlite_slint_or_http_crate() {
    assert_depends_on_none(
        "hardware",
        "serialport",
        &[
            "rusqlite",
            "libsqlite3-sys",
            "sqlx",
            "slint",
            "reqwest",
            "hyper",
            "axum",
            "ureq",
            "tokio",
        ],
        "hardware must stay free of storage, UI and HTTP crates",
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

/// Every `.rs` file under `folder`, recursively.
fn rust_files(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)
            .unwrap_or_else(|err| panic!("read {}: {err}", folder.display()))
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The top-level modules of the crate that `text` (a file at module path `module`, e.g.
/// `["store", "sqlite", "review"]`) names in code: `crate::x`, `crate::{x, y}`, `$crate::x`
/// and `super::` chains that climb to the crate root, with the line of each. Comments are
/// skipped; macro invocations at the root (`$crate::name!`) are not modules.
fn crate_modules_named(text: &str, module: &[String]) -> Vec<(usize, String)> {
    fn ident_at(text: &str) -> Option<String> {
        let ident: String = text
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let after = &text[ident.len()..];
        (!ident.is_empty() && !after.starts_with('!')).then_some(ident)
    }
    /// The first segment of each top-level item of the group `text` opens (after its `{`).
    fn group_heads(text: &str) -> Vec<String> {
        let mut heads = Vec::new();
        let mut depth = 0;
        let mut item_starts = true;
        for (at, c) in text.char_indices() {
            if item_starts && !c.is_whitespace() {
                heads.extend(ident_at(&text[at..]));
                item_starts = false;
            }
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_starts = true,
                _ => {}
            }
        }
        heads
    }
    // Comments out, line breaks kept, so offsets still tell the line.
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            found.extend(group_heads(group).into_iter().map(|m| (line_of(at), m)));
        } else if let Some(ident) = ident_at(rest) {
            found.push((line_of(at), ident));
        }
    }
    for (at, _) in code.match_indices("super::") {
        if code[..at].ends_with("::") {
            continue;
        }
        let mut rest = &code[at..];
        let mut climbs = 0;
        while let Some(next) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = next;
        }
        // Only a chain that leaves the file's top-level module names another one.
        if climbs >= module.len() {
            let heads = match rest.strip_prefix('{') {
                Some(group) => group_heads(group),
                None => ident_at(rest).into_iter().collect(),
            };
            found.extend(heads.into_iter().map(|m| (line_of(at), m)));
        }
    }
    found
}

/// Checks that every file under `sync-server/src/{layer}` names only `allowed` top-level
/// modules of the crate; returns how many files it read.
fn layer_imports_only(layer: &str, allowed: &[&str]) -> usize {
    let src = workspace().join("sync-server/src");
    let files = rust_files(&src.join(layer));
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let mut module: Vec<String> = relative
            .with_extension("")
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        if module.last().is_some_and(|last| last == "mod") {
            module.pop();
        }
        let text = std::fs::read_to_string(file).expect("read sync-server source");
        for (line, named) in crate_modules_named(&text, &module) {
            assert!(
                allowed.contains(&named.as_str()),
                "{}:{line} uses `crate::{named}`: `{layer}/` may import only from {allowed:?}",
                file.display()
            );
        }
    }
    files.len()
}

#[test]
fn sync_server_layers_import_only_downwards() {
    // domain ← store ← (api, staff): the rules stay pure, the store knows no HTTP or pages.
    let domain = layer_imports_only("domain", &["domain"]);
    let store = layer_imports_only("store", &["domain", "store"]);
    assert!(
        domain >= 5 && store >= 10,
        "found too few sources: {domain} in domain/, {store} in store/"
    );
}

#[test]
fn the_layer_check_sees_every_way_of_naming_a_module() {
    let store_sqlite = ["store".to_owned(), "sqlite".to_owned()];
    let named = |text: &str| -> Vec<String> {
        crate_modules_named(text, &store_sqlite)
            .into_iter()
            .map(|(_, m)| m)
            .collect()
    };
    assert_eq!(named("use crate::api::error::ApiError;"), ["api"]);
    assert_eq!(
        named("use crate::{domain::access::Role, staff};"),
        ["domain", "staff"]
    );
    assert_eq!(named("let x = crate::staff::i18n::Lang::Zh;"), ["staff"]);
    assert_eq!(named("use super::super::api::auth;"), ["api"]);
    assert_eq!(
        named("use super::connection::failed;"),
        Vec::<String>::new()
    );
    assert_eq!(
        named("$crate::store_conformance_tests!(@each $open;"),
        Vec::<String>::new()
    );
    assert_eq!(named("// see crate::staff::web"), Vec::<String>::new());
    assert_eq!(
        named("use crate::{\n    domain::{access, fleet::{self, Alert}},\n    api::auth,\n};"),
        ["domain", "api"]
    );
    assert_eq!(named("use super::super::{api, domain};"), ["api", "domain"]);
}

#[test]
fn the_booth_core_depends_on_no_ui_window_or_binary_edge_crate() {
    assert_depends_on_none(
        "kiosk-core",
        "rusqlite",
        &[
            "slint",
            "i-slint-core",
            "ui",
            "winit",
            "kiosk",
            "anyhow",
            "clap",
            "tracing-subscriber",
        ],
        "kiosk-core is the booth's headless core: no Slint, window, UI or binary-edge crate",
    );
}

#[test]
fn the_booth_binary_does_not_depend_on_the_demo() {
    assert_depends_on_none(
        "kiosk",
        "kiosk-core",
        &["kiosk-demo"],
        "the booth's binary must not carry the demo",
    );
}
