//! Fleet summaries (a scope's counts and first alerting booths) kept a short while per scope.
//!
//! Why: a summary reads every booth of its scope — a province's 500,000 take about 200 ms
//! of the database (docs/benchmarks.md, "Staff pages at province scale") — while the page's
//! own table seeks one stretch of booth numbers by key and costs a few milliseconds. Counted
//! on every view, each administrator who reloads the page, and every desk of a province
//! looking at once, would cost that again. Kept for the server's `fleet_summary_keep`
//! setting (15 s by default), a scope is counted at most four times a minute per instance however
//! many look, and the page says how old its counts are.
//!
//! Why that staleness is harmless: booths send a heartbeat a minute and the alert rules
//! speak of an hour offline or an hour-old queue, so the counts are a minute old by nature.
//! The page's table is read afresh on every view. A revocation or an enrollment through this
//! instance drops its summaries at once ([`FleetSummaries::forget`]), so an administrator sees
//! their own change; another instance's summaries catch up within the keep time.
//!
//! One count per scope at a time: views that arrive while their scope is being counted wait
//! for that count instead of starting their own.
//!
//! Beside [`super::catalog_cache`], the other thing the server keeps of the store in memory,
//! and like it checked on both stores by the paging conformance suite.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::staff::{FleetSummary, FleetSummaryQuery};
use super::{Store, StoreResult};
use crate::domain::access::Scope;

/// Scopes kept at most. Staff scopes are few (a province has a few thousand townships), but
/// a bound keeps the map from growing without one.
const MAX_SCOPES: usize = 4096;

/// A summary as the page shows it.
#[derive(Debug, Clone)]
pub struct Counted {
    pub summary: Arc<FleetSummary>,
    /// The time the store judged the alerts at: the page words them at this time too.
    pub at: DateTime<Utc>,
}

#[derive(Debug)]
struct Kept {
    counted: Counted,
    taken: Instant,
    alert_limit: u32,
    /// [`FleetSummaries::forget`]'s count when the summary was taken.
    generation: u64,
}

type Slot = Arc<tokio::sync::Mutex<Option<Kept>>>;

#[derive(Debug)]
pub struct FleetSummaries {
    keep: Duration,
    slots: Mutex<HashMap<Scope, Slot>>,
    generation: AtomicU64,
    counts: AtomicU64,
}

impl FleetSummaries {
    /// Summaries kept for `keep` (zero: counted on every view).
    pub fn new(keep: Duration) -> Self {
        Self {
            keep,
            slots: Mutex::default(),
            generation: AtomicU64::new(0),
            counts: AtomicU64::new(0),
        }
    }

    pub fn keep(&self) -> Duration {
        self.keep
    }

    /// `scope`'s summary with at most `alert_limit` alerting booths listed, counted by the
    /// store within the keep time and after this instance's last [`Self::forget`].
    pub async fn summary(
        &self,
        store: &dyn Store,
        scope: &Scope,
        alert_limit: u32,
    ) -> StoreResult<Counted> {
        let slot = self.slot(scope);
        let mut kept = slot.lock().await;
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(kept) = kept.as_ref()
            && kept.generation == generation
            && kept.alert_limit == alert_limit
            && kept.taken.elapsed() < self.keep
        {
            return Ok(kept.counted.clone());
        }
        let taken = Instant::now();
        let at = Utc::now();
        let summary = store
            .fleet_summary(&FleetSummaryQuery {
                scope: scope.clone(),
                alert_limit,
                now: at,
            })
            .await?;
        self.counts.fetch_add(1, Ordering::Relaxed);
        let counted = Counted {
            summary: Arc::new(summary),
            at,
        };
        *kept = Some(Kept {
            counted: counted.clone(),
            taken,
            alert_limit,
            generation,
        });
        Ok(counted)
    }

    /// Summaries taken before now are not shown again (after a change made through this
    /// instance, such as a revocation).
    pub fn forget(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// How many summaries the store has counted for this instance (for tests).
    pub fn store_counts(&self) -> u64 {
        self.counts.load(Ordering::Relaxed)
    }

    fn slot(&self, scope: &Scope) -> Slot {
        // A poisoned lock only means a panic mid-insert: the map is still a map, and a cache
        // may always start again empty.
        let mut slots = match self.slots.lock() {
            Ok(slots) => slots,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !slots.contains_key(scope) && slots.len() >= MAX_SCOPES {
            // Counts under way keep their slot through their own handle.
            slots.clear();
        }
        Arc::clone(slots.entry(scope.clone()).or_default())
    }
}
