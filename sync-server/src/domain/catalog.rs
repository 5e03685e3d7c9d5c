//! The service catalogue import: the file staff edit (`sync-server catalog import FILE`), its
//! checks, and how an import changes what booths see.
//!
//! The file is JSON: `{"note": "…", "items": [CatalogItem without "version" or "withdrawn"]}`.
//! The server owns versions: an item whose content changed gets the next version, an item
//! missing from the file is withdrawn (and stays in the feed so booths drop it), and an item
//! that comes back is un-withdrawn with a new version. Every new version goes into the item's
//! history (published by `import`); drafts staff are preparing in the web editor are left
//! alone, so an import never destroys unpublished work. [`check_item`] is the rule for every
//! published item, whether it comes from a file or the editor.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use sync_protocol::feed::CatalogItem;

/// Why a catalogue file was refused; nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum CatalogFileError {
    #[error("cannot read catalogue file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("catalogue file {path} is not valid: {problem}")]
    Invalid { path: String, problem: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    /// Free text for whoever edits the file (e.g. that the offices are fictional).
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    items: Vec<serde_json::Value>,
}

/// Reads and checks a catalogue file.
pub fn read_file(path: &Path) -> Result<Vec<CatalogItem>, CatalogFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| CatalogFileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(|problem| CatalogFileError::Invalid {
        path: path.display().to_string(),
        problem,
    })
}

/// Parses catalogue JSON; the error names the item and the problem.
pub fn parse(text: &str) -> Result<Vec<CatalogItem>, String> {
    let file: CatalogFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut items = Vec::with_capacity(file.items.len());
    let mut codes = BTreeSet::new();
    for (index, mut raw) in file.items.into_iter().enumerate() {
        let label = raw
            .get("code")
            .and_then(|c| c.as_str())
            .map_or_else(|| format!("item {}", index + 1), |c| format!("item {c}"));
        let object = raw
            .as_object_mut()
            .ok_or_else(|| format!("{label} is not an object"))?;
        for reserved in ["version", "withdrawn"] {
            if object.contains_key(reserved) {
                return Err(format!(
                    "{label} sets `{reserved}`: the server manages it, remove the field"
                ));
            }
        }
        object.insert("version".into(), 0.into());
        let item: CatalogItem =
            serde_json::from_value(raw.clone()).map_err(|e| format!("{label}: {e}"))?;
        // Serde ignores unknown fields, so a misspelt optional field would vanish silently:
        // every field written must come back when the item is written out again.
        let written = serde_json::to_value(&item).map_err(|e| format!("{label}: {e}"))?;
        if let Some(path) = first_unknown_field(&raw, &written, "") {
            return Err(format!("{label} has an unknown field `{path}`"));
        }
        check_item(&item).map_err(|problem| format!("{label}: {problem}"))?;
        if !codes.insert(item.code.clone()) {
            return Err(format!("{label} appears twice"));
        }
        items.push(item);
    }
    if items.is_empty() {
        return Err("it has no items: an empty import would withdraw the whole catalogue".into());
    }
    Ok(items)
}

fn first_unknown_field(
    given: &serde_json::Value,
    known: &serde_json::Value,
    at: &str,
) -> Option<String> {
    use serde_json::Value;
    match (given, known) {
        (Value::Object(given), Value::Object(known)) => given.iter().find_map(|(key, value)| {
            let path = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            match known.get(key) {
                None if value.is_null() => None,
                None => Some(path),
                Some(inner) => first_unknown_field(value, inner, &path),
            }
        }),
        (Value::Array(given), Value::Array(known)) => given
            .iter()
            .zip(known)
            .enumerate()
            .find_map(|(i, (g, k))| first_unknown_field(g, k, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// Why an item cannot be published (in a file import or from the staff editor). `field` is
/// the item's JSON path, so the editor can name its own input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemProblem {
    #[error("`{0}` is empty")]
    Empty(&'static str),
    #[error("`review_levels` is {0}: use 1, 2 or 3")]
    ReviewLevels(u8),
    #[error("a material has count 0")]
    MaterialCountZero,
    #[error("form field `{0}` appears twice")]
    DuplicateFormField(String),
}

/// What every published item must have, whoever publishes it.
pub fn check_item(item: &CatalogItem) -> Result<(), ItemProblem> {
    let required = [
        ("code", &item.code),
        ("name_zh", &item.name_zh),
        ("name_en", &item.name_en),
        ("category", &item.category),
        ("legal_basis", &item.legal_basis),
        ("office.name", &item.office.name),
        ("office.address", &item.office.address),
        ("office.phone", &item.office.phone),
        ("complaint_phone", &item.complaint_phone),
    ];
    if let Some((name, _)) = required.iter().find(|(_, value)| value.trim().is_empty()) {
        return Err(ItemProblem::Empty(name));
    }
    if item.steps.is_empty() {
        return Err(ItemProblem::Empty("steps"));
    }
    if !(1..=3).contains(&item.review_levels) {
        return Err(ItemProblem::ReviewLevels(item.review_levels));
    }
    if item.materials.iter().any(|m| m.count == 0) {
        return Err(ItemProblem::MaterialCountZero);
    }
    let mut keys = BTreeSet::new();
    if let Some(field) = item.form.iter().find(|f| !keys.insert(f.key.as_str())) {
        return Err(ItemProblem::DuplicateFormField(field.key.clone()));
    }
    Ok(())
}

/// What an import does to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogChange {
    /// New, version 1.
    Add(CatalogItem),
    /// Changed content (or back from withdrawal), next version.
    Update(CatalogItem),
    /// Missing from the file: withdrawn, next version.
    Withdraw(CatalogItem),
    /// Present with the same content.
    Unchanged(String),
}

/// Whether two items say the same, whatever their version and withdrawal.
pub fn same_content(a: &CatalogItem, b: &CatalogItem) -> bool {
    let plain = |item: &CatalogItem| CatalogItem {
        version: 0,
        withdrawn: false,
        ..item.clone()
    };
    plain(a) == plain(b)
}

/// Compares the stored catalogue with the imported items (by code); every backend applies
/// the result in one transaction.
pub fn plan_import(current: Vec<CatalogItem>, incoming: Vec<CatalogItem>) -> Vec<CatalogChange> {
    let mut current: BTreeMap<String, CatalogItem> = current
        .into_iter()
        .map(|item| (item.code.clone(), item))
        .collect();
    let mut changes = Vec::new();
    for item in incoming {
        let change = match current.remove(&item.code) {
            None => CatalogChange::Add(CatalogItem {
                version: 1,
                withdrawn: false,
                ..item
            }),
            Some(stored) if !stored.withdrawn && same_content(&stored, &item) => {
                CatalogChange::Unchanged(item.code)
            }
            Some(stored) => CatalogChange::Update(CatalogItem {
                version: stored.version + 1,
                withdrawn: false,
                ..item
            }),
        };
        changes.push(change);
    }
    for (_, stored) in current {
        if !stored.withdrawn {
            changes.push(CatalogChange::Withdraw(CatalogItem {
                version: stored.version + 1,
                withdrawn: true,
                ..stored
            }));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../seed/catalog.json");

    #[test]
    fn the_seed_file_parses_with_every_field() {
        let items = parse(SEED).unwrap();
        assert!(items.len() >= 8, "{} items", items.len());
        for item in &items {
            assert!(!item.materials.is_empty(), "{} has no materials", item.code);
            assert!(
                !item.conditions.is_empty(),
                "{} has no conditions",
                item.code
            );
            assert!(!item.form.is_empty(), "{} has no form", item.code);
            assert!(item.office.phone.starts_with("0775-"), "{}", item.code);
        }
    }

    #[test]
    fn unknown_and_reserved_fields_are_refused() {
        let mut value: serde_json::Value = serde_json::from_str(SEED).unwrap();
        value["items"][0]["office"]["adress"] = "typo".into();
        let error = parse(&value.to_string()).unwrap_err();
        assert!(error.contains("office.adress"), "{error}");

        let mut value: serde_json::Value = serde_json::from_str(SEED).unwrap();
        value["items"][0]["version"] = 3.into();
        assert!(parse(&value.to_string()).unwrap_err().contains("version"));
    }

    #[test]
    fn imports_bump_changed_items_and_withdraw_missing_ones() {
        let items = parse(SEED).unwrap();
        let first = plan_import(Vec::new(), items.clone());
        assert!(
            first
                .iter()
                .all(|c| matches!(c, CatalogChange::Add(i) if i.version == 1))
        );
        let stored: Vec<CatalogItem> = first
            .into_iter()
            .map(|c| match c {
                CatalogChange::Add(item) => item,
                other => panic!("{other:?}"),
            })
            .collect();

        let mut next = items[1..].to_vec();
        next[0].steps.push("领取结果".into());
        let changes = plan_import(stored, next);
        assert!(changes.contains(&CatalogChange::Withdraw(CatalogItem {
            version: 2,
            withdrawn: true,
            ..stored_first(&items)
        })));
        assert!(changes.iter().any(
            |c| matches!(c, CatalogChange::Update(i) if i.code == items[1].code && i.version == 2)
        ));
        let unchanged = changes
            .iter()
            .filter(|c| matches!(c, CatalogChange::Unchanged(_)))
            .count();
        assert_eq!(unchanged, items.len() - 2);
    }

    fn stored_first(items: &[CatalogItem]) -> CatalogItem {
        CatalogItem {
            version: 1,
            ..items[0].clone()
        }
    }
}
