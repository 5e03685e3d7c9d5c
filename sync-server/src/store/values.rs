//! Conversions every backend shares: the millisecond precision of stored times, and JSON
//! columns read without quoting what they hold.

use chrono::{DateTime, Utc};

use crate::store::{StoreError, StoreResult};

/// `now` as the store keeps it (millisecond precision), so what a call returns equals what a
/// later read returns.
pub fn stored_now(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

pub fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    // Only the error's position: serde's message may quote the stored (personal) value.
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: format!(
            "{what}: {:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}

pub fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::backend("encode JSON", e))
}

/// A list of materials as its column keeps it: JSON, `NULL` for none (the rows of every
/// action and change that names none).
pub fn materials_to_column(
    materials: &[sync_protocol::feed::CorrectionMaterial],
) -> StoreResult<Option<String>> {
    if materials.is_empty() {
        Ok(None)
    } else {
        to_json(&materials).map(Some)
    }
}

/// The materials a column holds (see [`materials_to_column`]).
pub fn materials_from_column(
    what: &str,
    column: Option<&str>,
) -> StoreResult<Vec<sync_protocol::feed::CorrectionMaterial>> {
    column.map_or_else(|| Ok(Vec::new()), |text| from_json(what, text))
}

/// The materials a supplement's pages are listed under, each once, in the guide's order:
/// what its arrival tells the original's review history.
pub fn supplied_materials(
    submission: &sync_protocol::submission::Submission,
) -> Vec<sync_protocol::feed::CorrectionMaterial> {
    materials_once(
        submission
            .attachments
            .iter()
            .map(|page| (page.material, page.material_name.as_str())),
    )
}

/// The materials a phone upload's pages are of, each once, in the guide's order: what its
/// entry in the application's review history names.
pub fn phone_materials(
    pages: &[crate::store::attachments::PhonePage],
) -> Vec<sync_protocol::feed::CorrectionMaterial> {
    materials_once(
        pages
            .iter()
            .map(|page| (page.material, page.material_name.as_str())),
    )
}

/// Each material of `pages` (index, name) once, by index, named as its first page names it.
fn materials_once<'a>(
    pages: impl Iterator<Item = (u16, &'a str)>,
) -> Vec<sync_protocol::feed::CorrectionMaterial> {
    let mut named: std::collections::BTreeMap<u16, &str> = std::collections::BTreeMap::new();
    for (index, name) in pages {
        named.entry(index).or_insert(name);
    }
    named
        .into_iter()
        .map(|(index, name)| sync_protocol::feed::CorrectionMaterial {
            index,
            name: name.to_owned(),
        })
        .collect()
}
