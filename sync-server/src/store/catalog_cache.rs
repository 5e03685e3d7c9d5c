//! Catalogue feed pages kept in the server process while the catalogue's version holds.
//!
//! Every booth reads the catalogue feed, and nearly always finds it unchanged; a province's
//! booths reading it from the database, each decoding and encoding the same rows, is work
//! for nothing. So a page, with its JSON, is kept by `(after, limit)` and the version it was
//! read at ([`Store::catalog_version`]: the feed's newest change number, one index lookup),
//! and served again while the store's version is still that one.
//!
//! Never stale, with any number of instances on one database: every request is answered
//! against a version read that began after the request arrived, so a change committed on any
//! instance (or by a staff command on the same SQLite file) before a booth asks is in its
//! answer. Requests arriving while a version read is in flight wait for the next one instead
//! of each starting their own: one version read at a time per instance, however many booths
//! ask at once.
//!
//! A page is read after the version it is kept under, so it is never older than that
//! version; the version only grows (change numbers are never reused or lowered), so a page
//! newer than its version is never served once the store has moved past it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use sync_protocol::feed::{CatalogItem, FeedPage};

use super::{Store, StoreError, StoreResult};

/// Pages kept at most: booths ask with the cursor they hold, so there are about as many
/// keys as recent changes, but a bound keeps a stream of odd cursors from growing the map.
const MAX_PAGES: usize = 1024;

/// A catalogue page and its JSON, as served.
#[derive(Debug)]
pub struct CachedPage {
    pub page: FeedPage<CatalogItem>,
    /// `page` as the feed's response body.
    pub json: Bytes,
}

/// The last version read, and when that read began.
#[derive(Debug, Clone, Copy)]
struct Checked {
    began: Instant,
    version: i64,
}

#[derive(Debug, Default)]
struct Pages {
    version: i64,
    by_request: HashMap<(Option<String>, u32), Arc<CachedPage>>,
}

/// How the cache has answered, for tests and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Pages served from memory.
    pub hits: u64,
    /// Pages read from the store.
    pub reads: u64,
    /// Versions read from the store.
    pub version_reads: u64,
}

#[derive(Debug, Default)]
pub struct CatalogCache {
    /// Held across the version read, so requests that arrive meanwhile share the next one.
    checked: tokio::sync::Mutex<Option<Checked>>,
    pages: Mutex<Pages>,
    counts: Mutex<CacheCounts>,
}

impl CatalogCache {
    /// The page of the catalogue feed after `after`, at most `limit` items, as the store
    /// would answer now.
    pub async fn page(
        &self,
        store: &dyn Store,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Arc<CachedPage>> {
        let version = self.version(store).await?;
        let key = (after.map(str::to_owned), limit);
        if let Some(hit) = self.kept(version, &key) {
            self.count(|c| c.hits += 1);
            return Ok(hit);
        }
        let page = store.catalog_page(after, limit).await?;
        let json = serde_json::to_vec(&page)
            .map_err(|error| StoreError::backend("encode the catalogue feed", error))?;
        let read = Arc::new(CachedPage {
            page,
            json: Bytes::from(json),
        });
        self.count(|c| c.reads += 1);
        self.keep(version, key, Arc::clone(&read));
        Ok(read)
    }

    pub fn counts(&self) -> CacheCounts {
        self.counts.lock().map(|c| *c).unwrap_or_default()
    }

    /// The store's version as read by a read that began after this call.
    async fn version(&self, store: &dyn Store) -> StoreResult<i64> {
        let asked = Instant::now();
        let mut checked = self.checked.lock().await;
        if let Some(last) = *checked
            && last.began > asked
        {
            return Ok(last.version);
        }
        let began = Instant::now();
        let version = store.catalog_version().await?;
        self.count(|c| c.version_reads += 1);
        *checked = Some(Checked { began, version });
        Ok(version)
    }

    fn kept(&self, version: i64, key: &(Option<String>, u32)) -> Option<Arc<CachedPage>> {
        let pages = self.pages.lock().ok()?;
        (pages.version == version)
            .then(|| pages.by_request.get(key).cloned())
            .flatten()
    }

    fn keep(&self, version: i64, key: (Option<String>, u32), page: Arc<CachedPage>) {
        // A poisoned lock only means another request panicked mid-insert: the map is still
        // a map, and a cache may always start again empty.
        let mut pages = match self.pages.lock() {
            Ok(pages) => pages,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Pages of another version are never served again (the version only grows; an older
        // request that read an older version keeps its page to itself).
        if version < pages.version {
            return;
        }
        if version > pages.version || pages.by_request.len() >= MAX_PAGES {
            pages.by_request.clear();
            pages.version = version;
        }
        pages.by_request.insert(key, page);
    }

    fn count(&self, change: impl FnOnce(&mut CacheCounts)) {
        if let Ok(mut counts) = self.counts.lock() {
            change(&mut counts);
        }
    }
}
