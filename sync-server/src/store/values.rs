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
