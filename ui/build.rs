//! Compiles the `.slint` files into Rust; `src/lib.rs` includes the result.
//!
//! Translations are kept as one `.po` file per screen under `translations/<language>/` (so
//! screens can be worked on apart) and merged here into the single catalogue per language that
//! Slint bundles: `$OUT_DIR/translations/<language>/LC_MESSAGES/ui.po`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let translations = merge_translations(Path::new("translations"));
    // Debug info lets the headless tests find elements by accessible label and element id; it
    // is on for every profile so `cargo test --release` works too (it costs one optimisation pass).
    // Chinese is the source language; `translations/` adds English (and a header-only zh_CN
    // so either language can be selected by name). No context: one translation per string.
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(true)
        .with_bundled_translations(translations)
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    if let Err(error) = slint_build::compile_with_config("ui/main.slint", config) {
        panic!("ui/main.slint does not compile: {error}");
    }
}

/// Writes one catalogue per language directory of `source` and returns where they are.
/// `header.po` comes first; an msgid given twice must be translated the same way both times.
fn merge_translations(source: &Path) -> PathBuf {
    println!("cargo:rerun-if-changed={}", source.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("translations");
    let mut languages: Vec<PathBuf> = read_dir_sorted(source)
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    languages.sort();
    for language in languages {
        println!("cargo:rerun-if-changed={}", language.display());
        let mut parts: Vec<PathBuf> = read_dir_sorted(&language)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "po"))
            .collect();
        // The header entry (msgid "") must lead the catalogue.
        parts.sort_by_key(|p| (p.file_name() != Some("header.po".as_ref()), p.clone()));
        let mut seen: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
        let mut merged = String::new();
        for part in parts {
            println!("cargo:rerun-if-changed={}", part.display());
            let text = fs::read_to_string(&part)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", part.display()));
            for entry in text.replace("\r\n", "\n").split("\n\n") {
                let entry = entry.trim();
                if entry.is_empty() {
                    continue;
                }
                let (msgid, msgstr) = split_entry(entry)
                    .unwrap_or_else(|| panic!("{}: not a po entry: {entry}", part.display()));
                if let Some((earlier, file)) = seen.get(&msgid) {
                    assert!(
                        *earlier == msgstr,
                        "{}: msgid {msgid} is translated differently in {}: keep one translation",
                        part.display(),
                        file.display()
                    );
                    continue;
                }
                seen.insert(msgid, (msgstr, part.clone()));
                merged.push_str(entry);
                merged.push_str("\n\n");
            }
        }
        let name = language.file_name().expect("a directory has a name");
        let target = out.join(name).join("LC_MESSAGES");
        fs::create_dir_all(&target).expect("create the translations directory in OUT_DIR");
        fs::write(target.join("ui.po"), merged).expect("write the merged catalogue");
    }
    out
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("list a directory entry").path())
        .collect();
    paths.sort();
    paths
}

/// The quoted msgid and msgstr of one entry (comments and continuation lines included).
fn split_entry(entry: &str) -> Option<(String, String)> {
    let body: Vec<&str> = entry.lines().filter(|l| !l.starts_with('#')).collect();
    let msgstr_at = body.iter().position(|l| l.starts_with("msgstr "))?;
    let msgid = body[..msgstr_at].join("\n");
    let msgstr = body[msgstr_at..].join("\n");
    msgid.starts_with("msgid ").then_some((msgid, msgstr))
}
