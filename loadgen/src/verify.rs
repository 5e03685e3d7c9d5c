//! Exactly-once as the store has it, checked after the run through the `Store` trait: every
//! submission the server acknowledged is stored (found by its id, under its kiosk), and the
//! store grew by exactly as many submissions as were acknowledged, so nothing was stored
//! twice or came from nowhere.
//!
//! The growth is counted over the whole store: run loadgen against a server nobody else is
//! using.

use std::collections::HashMap;

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde::Serialize;
use sync_server::store::{Store, StoreError, StoreResult, SubmissionRef};
use uuid::Uuid;

use crate::cursors::READS_AT_ONCE;

/// Every stored submission, whatever its status.
pub async fn stored(store: &dyn Store) -> StoreResult<u64> {
    Ok(store
        .stats()
        .await?
        .submissions_by_status
        .iter()
        .map(|(_, count)| count)
        .sum())
}

/// What the store holds of the run's submissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StoreCheck {
    /// Submissions the server acknowledged.
    pub acknowledged: u64,
    /// Of those, found in the store under their kiosk.
    pub found: u64,
    /// Acknowledged but not in the store: lost.
    pub missing: u64,
    pub stored_before: u64,
    pub stored_after: u64,
}

impl StoreCheck {
    /// Rows the run added.
    pub fn added(&self) -> u64 {
        self.stored_after.saturating_sub(self.stored_before)
    }

    /// Everything acknowledged is stored, and nothing else was added.
    pub fn exactly_once(&self) -> bool {
        self.missing == 0
            && self.found == self.acknowledged
            && self.stored_after == self.stored_before + self.acknowledged
    }
}

/// Looks up every acknowledged id (`by_kiosk`, as [`crate::ledger::Ledger::delivered_by_kiosk`]
/// gives them) by its key, and counts those stored under the kiosk that sent them.
pub async fn check(
    store: &dyn Store,
    by_kiosk: HashMap<String, Vec<Uuid>>,
    stored_before: u64,
) -> StoreResult<StoreCheck> {
    let acknowledged: u64 = by_kiosk.values().map(|ids| ids.len() as u64).sum();
    let expected = by_kiosk
        .into_iter()
        .flat_map(|(kiosk, ids)| ids.into_iter().map(move |id| (kiosk.clone(), id)));
    let found: u64 = stream::iter(expected)
        .map(|(kiosk_id, id)| async move {
            let record = store.find_submission(&SubmissionRef::Id(id)).await?;
            Ok::<u64, StoreError>(u64::from(
                record.is_some_and(|record| record.kiosk_id == kiosk_id),
            ))
        })
        .buffer_unordered(READS_AT_ONCE)
        .try_fold(0, |sum, found| async move { Ok(sum + found) })
        .await?;
    let stored_after = stored(store).await?;
    Ok(StoreCheck {
        acknowledged,
        found,
        missing: acknowledged - found,
        stored_before,
        stored_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_must_match_what_was_acknowledged() {
        let check = |found, after| StoreCheck {
            acknowledged: 10,
            found,
            missing: 10 - found,
            stored_before: 100,
            stored_after: after,
        };
        assert!(check(10, 110).exactly_once());
        assert!(!check(9, 110).exactly_once(), "one lost");
        assert!(
            !check(10, 111).exactly_once(),
            "one stored twice or from nowhere"
        );
        assert_eq!(check(10, 111).added(), 11);
    }
}
