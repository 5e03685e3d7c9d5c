//! Where a booth that has been syncing all along stands: at the end of the catalogue, of its
//! village's notices and of its own statuses, and past the highest receipt sequence the
//! server has from it. Read from the store before the clock starts, so a run measures booths
//! that pull what is new, not a fleet catching up from nothing (`--cold-cursors` measures that
//! instead), and a booth's next submission never reuses a receipt number an earlier run sent.
//!
//! The sequence comes from the statuses feed, which the store reads by kiosk through an
//! index: every stored submission has its `received` entry there, with its receipt number.

use std::collections::HashMap;

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use sync_protocol::feed::{FeedPage, MAX_PAGE};
use sync_protocol::receipt::{MAX_SEQ, ReceiptNumber};
use sync_server::store::{Store, StoreError, StoreFuture, StoreResult};

use crate::enroll::BoothIdentity;

/// Reads at once: the SQLite store keeps a few read connections and opens (and parses the
/// schema of) a new one for every read beyond them, so more only costs more.
pub const READS_AT_ONCE: usize = 8;

/// A booth's cursors: catalogue, notices, statuses (`None`: from the start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursors {
    pub catalog: Option<String>,
    pub notices: Option<String>,
    pub statuses: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("booth {index} (kiosk {kiosk_id}) has used up its receipt sequence numbers")]
    SequenceExhausted { index: u32, kiosk_id: String },
}

/// The cursor after the last page `page` gives from the beginning, with every item seen.
async fn walk<'a, T, F>(mut page: F, mut each: impl FnMut(&T)) -> StoreResult<Option<String>>
where
    F: FnMut(Option<String>) -> StoreFuture<'a, FeedPage<T>>,
{
    let mut after: Option<String> = None;
    loop {
        let next = page(after.clone()).await?;
        next.items.iter().for_each(&mut each);
        let stuck = next.items.is_empty() || after.as_deref() == Some(next.cursor.as_str());
        let more = next.more && !stuck;
        after = Some(next.cursor);
        if !more {
            return Ok(after);
        }
    }
}

/// Every booth's caught-up cursors (in `booths`' order), and each booth's `next_seq` set past
/// its highest stored receipt: one catalogue walk for all, one notices walk per village, one
/// statuses walk per booth.
pub async fn resume(
    store: &dyn Store,
    booths: &mut [BoothIdentity],
) -> Result<Vec<Cursors>, ResumeError> {
    let catalog = walk(
        |after| Box::pin(async move { store.catalog_page(after.as_deref(), MAX_PAGE).await }),
        |_| {},
    )
    .await?;
    let mut villages: Vec<String> = booths.iter().map(|b| b.village.clone()).collect();
    villages.sort_unstable();
    villages.dedup();
    let notices: HashMap<String, Option<String>> = stream::iter(villages)
        .map(|village| async move {
            let end = walk(
                |after| {
                    let village = village.clone();
                    Box::pin(async move {
                        store
                            .notices_page(&village, after.as_deref(), MAX_PAGE)
                            .await
                    })
                },
                |_| {},
            )
            .await?;
            Ok::<_, StoreError>((village, end))
        })
        .buffer_unordered(READS_AT_ONCE)
        .try_collect()
        .await?;
    let statuses: Vec<(Option<String>, u64)> = stream::iter(booths.iter())
        .map(|booth| async move {
            let mut highest = 0;
            let end = walk(
                |after| {
                    Box::pin(async move {
                        store
                            .statuses_page(&booth.kiosk_id, after.as_deref(), MAX_PAGE)
                            .await
                    })
                },
                |change| {
                    if let Ok(receipt) = change.receipt_number.parse::<ReceiptNumber>() {
                        highest = highest.max(receipt.seq());
                    }
                },
            )
            .await?;
            Ok::<_, StoreError>((end, highest))
        })
        // In order: they line up with `booths`.
        .buffered(READS_AT_ONCE)
        .try_collect()
        .await?;
    booths
        .iter_mut()
        .zip(statuses)
        .map(|(booth, (statuses, highest))| {
            booth.next_seq = highest + 1;
            if booth.next_seq > MAX_SEQ {
                return Err(ResumeError::SequenceExhausted {
                    index: booth.index,
                    kiosk_id: booth.kiosk_id.clone(),
                });
            }
            Ok(Cursors {
                catalog: catalog.clone(),
                notices: notices.get(&booth.village).cloned().flatten(),
                statuses,
            })
        })
        .collect()
}
