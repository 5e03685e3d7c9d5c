//! Every string a villager can see is translated: each `@tr("…")` in the `.slint` files has an
//! English entry under `translations/en/`. Runs on the sources, so it names the missing string
//! and the file it is in.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn files_with_extension(dir: &Path, extension: &str, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("list a directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files_with_extension(&path, extension, found);
        } else if path.extension().is_some_and(|e| e == extension) {
            found.push(path);
        }
    }
}

/// The quoted source text of each `@tr("…")`, as written (escapes kept).
fn tr_strings(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("@tr(\"") {
        rest = &rest[start + 5..];
        let mut end = 0;
        let bytes = rest.as_bytes();
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        found.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    found
}

fn english_msgids() -> BTreeSet<String> {
    let mut files = Vec::new();
    files_with_extension(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("translations/en"),
        "po",
        &mut files,
    );
    let mut ids = BTreeSet::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("read a po file");
        for entry in text.split("\n\n") {
            let lines: Vec<&str> = entry.lines().filter(|l| !l.starts_with('#')).collect();
            let Some(msgstr_at) = lines.iter().position(|l| l.starts_with("msgstr ")) else {
                continue;
            };
            let id: String = lines[..msgstr_at]
                .iter()
                .map(|l| l.trim_start_matches("msgid ").trim().trim_matches('"'))
                .collect();
            let translation: String = lines[msgstr_at..]
                .iter()
                .map(|l| l.trim_start_matches("msgstr ").trim().trim_matches('"'))
                .collect();
            assert!(
                id.is_empty() || !translation.is_empty(),
                "{}: msgid \"{id}\" has an empty translation",
                file.display()
            );
            ids.insert(id);
        }
    }
    ids
}

#[test]
fn every_visible_string_has_an_english_translation() {
    let ids = english_msgids();
    let mut slint_files = Vec::new();
    files_with_extension(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("ui"),
        "slint",
        &mut slint_files,
    );
    let mut missing = Vec::new();
    let mut total = 0;
    for file in &slint_files {
        for text in tr_strings(&fs::read_to_string(file).expect("read a slint file")) {
            total += 1;
            if !ids.contains(&text) {
                missing.push(format!("{}: \"{text}\"", file.display()));
            }
        }
    }
    assert!(
        total > 20,
        "found only {total} @tr strings: is the scan broken?"
    );
    assert!(
        missing.is_empty(),
        "add these to ui/translations/en/<screen>.po:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_scan_finds_escaped_quotes_and_arguments() {
    assert_eq!(
        tr_strings(r#"a @tr("x \"y\" {}", n) b @tr("z")"#),
        vec![r#"x \"y\" {}"#.to_owned(), "z".to_owned()]
    );
}
