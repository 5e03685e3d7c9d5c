//! Pulling the feeds (catalogue, notices, statuses), page by page from each stored cursor.

use sync_protocol::feed::{CatalogItem, Feed, FeedPage, FeedQuery, MAX_PAGE, Notice, StatusChange};

use super::{Engine, EngineError, OnceSummary, SyncEvent};
use crate::store::{Store, StoreError};

impl Engine {
    /// Every feed, page by page, each page applied with its cursor in one transaction.
    pub(super) async fn pull_feeds(
        &mut self,
        summary: &mut OnceSummary,
    ) -> Result<(), EngineError> {
        summary.catalog += self
            .pull_feed::<CatalogItem>(Feed::Catalog, |store, page| store.apply_catalog_page(page))
            .await?;
        summary.notices += self
            .pull_feed::<Notice>(Feed::Notices, |store, page| store.apply_notice_page(page))
            .await?;
        summary.statuses += self
            .pull_feed::<StatusChange>(Feed::Statuses, |store, page| store.apply_status_page(page))
            .await?;
        Ok(())
    }

    async fn pull_feed<T>(
        &mut self,
        feed: Feed,
        apply: fn(&mut Store, &FeedPage<T>) -> Result<(), StoreError>,
    ) -> Result<usize, EngineError>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let mut total = 0;
        loop {
            let after = self
                .with_store(move |store| store.feed_cursor(feed))
                .await?;
            let query = FeedQuery {
                after: after.clone(),
                limit: Some(MAX_PAGE),
            };
            let page = self.client.feed_page::<T>(feed, &query).await;
            self.persist_offset().await?;
            let page = page?;
            let items = page.items.len();
            // A server that says "more" without moving on would keep the booth here forever.
            let stuck = items == 0 || after.as_deref() == Some(page.cursor.as_str());
            let more = page.more && !stuck;
            self.with_store(move |store| apply(store, &page)).await?;
            total += items;
            if !more {
                break;
            }
        }
        if total > 0 {
            self.emit(SyncEvent::FeedPulled { feed, items: total });
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::engine::test_support::{Booth, stub_state};
    use crate::sync::stub_server::StubServer;

    #[tokio::test]
    async fn feeds_are_pulled_page_by_page_with_their_cursors() {
        let booth = Booth::new();
        let state = stub_state();
        let item = |code: &str| {
            serde_json::json!({
                "code": code, "version": 1, "name_zh": "城乡居民养老保险", "name_en": "Pension",
                "category": "社会保险", "legal_basis": "社会保险法", "conditions": [],
                "materials": [], "steps": [], "time_limit": {"kind": "on_the_spot"},
                "fees": [], "office": {"name": "乡社保所", "address": "乡政府", "phone": "0771-1"},
                "complaint_phone": "12345", "identity": "id_number", "form": []
            })
        };
        state.lock().unwrap().catalog_pages = vec![
            FeedPage {
                items: vec![item("A"), item("B")],
                cursor: "1".into(),
                more: true,
            },
            FeedPage {
                items: vec![item("C")],
                cursor: "2".into(),
                more: false,
            },
        ];
        let server = StubServer::start(state).await;
        let summary = booth
            .engine(&server.url(), |_| {})
            .run_once()
            .await
            .unwrap();
        assert_eq!(
            (summary.catalog, summary.notices, summary.statuses),
            (3, 0, 0)
        );
        let store = booth.store.lock().unwrap();
        assert_eq!(store.catalog_items().unwrap().len(), 3);
        assert_eq!(
            store.feed_cursor(Feed::Catalog).unwrap().as_deref(),
            Some("2")
        );
    }
}
