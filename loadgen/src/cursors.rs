//! Where a booth that has been syncing all along stands in each feed: at the end of the
//! catalogue, of its village's notices and of its own statuses. Read from the store before the
//! clock starts, so a steady-state run measures booths that pull what is new, not a fleet
//! catching up from nothing (`--cold-cursors` measures that instead).

use std::collections::HashMap;

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use sync_protocol::feed::{FeedPage, MAX_PAGE};
use sync_server::store::{Store, StoreResult};

use crate::enroll::BoothIdentity;

/// A booth's cursors: catalogue, notices, statuses (`None`: from the start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursors {
    pub catalog: Option<String>,
    pub notices: Option<String>,
    pub statuses: Option<String>,
}

/// The cursor after the last page `page` gives, starting from the beginning.
async fn end_of<'a, T, F>(mut page: F) -> StoreResult<Option<String>>
where
    F: FnMut(Option<String>) -> sync_server::store::StoreFuture<'a, FeedPage<T>>,
{
    let mut after: Option<String> = None;
    loop {
        let next = page(after.clone()).await?;
        let stuck = next.items.is_empty() || after.as_deref() == Some(next.cursor.as_str());
        let more = next.more && !stuck;
        after = Some(next.cursor);
        if !more {
            return Ok(after);
        }
    }
}

/// Every booth's caught-up cursors, `concurrency` store reads at a time (one catalogue read
/// for all, one notices read per village, one statuses read per booth).
pub async fn caught_up(
    store: &dyn Store,
    booths: &[BoothIdentity],
    concurrency: usize,
) -> StoreResult<Vec<Cursors>> {
    let catalog = end_of(|after| {
        Box::pin(async move { store.catalog_page(after.as_deref(), MAX_PAGE).await })
    })
    .await?;
    let mut villages: Vec<&str> = booths.iter().map(|b| b.village.as_str()).collect();
    villages.sort_unstable();
    villages.dedup();
    let notices: HashMap<&str, Option<String>> = stream::iter(villages)
        .map(|village| async move {
            let end = end_of(|after| {
                Box::pin(async move {
                    store
                        .notices_page(village, after.as_deref(), MAX_PAGE)
                        .await
                })
            })
            .await?;
            Ok::<_, sync_server::store::StoreError>((village, end))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    stream::iter(booths)
        .map(|booth| {
            let catalog = catalog.clone();
            let notices = notices.get(booth.village.as_str()).cloned().flatten();
            async move {
                let kiosk = booth.kiosk_id.as_str();
                let statuses = end_of(|after| {
                    Box::pin(
                        async move { store.statuses_page(kiosk, after.as_deref(), MAX_PAGE).await },
                    )
                })
                .await?;
                Ok(Cursors {
                    catalog,
                    notices,
                    statuses,
                })
            }
        })
        // In order: cursors line up with `booths`.
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}
