//! [`AppState`]: what every handler of the kiosk API and the staff pages shares: the store,
//! the settings, and the in-memory parts (nonces, guessing limits, metrics, last-seen
//! throttle).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sync_protocol::personal::CountySecret;

use crate::api::metrics::Metrics;
use crate::api::nonces::NonceCache;
use crate::api::rate_limit::EnrollLimiter;
use crate::settings::Settings;
use crate::store::{Store, StoreError};

/// What every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<dyn Store>,
    server_id: String,
    /// Opens the personal part booths seal to the county's key.
    county: Arc<CountySecret>,
    settings: Settings,
    nonces: NonceCache,
    enroll_limiter: EnrollLimiter,
    login_limiter: EnrollLimiter,
    metrics: Metrics,
    /// When `last_seen` was last written per kiosk, to write it at most every
    /// `settings.last_seen_every`.
    last_seen_written: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("server_id", &self.shared.server_id)
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Reads the server id from the store.
    pub async fn new(
        store: Arc<dyn Store>,
        county: Arc<CountySecret>,
        settings: Settings,
    ) -> Result<Self, StoreError> {
        let server_id = store.server_id().await?;
        Ok(Self {
            shared: Arc::new(Shared {
                enroll_limiter: EnrollLimiter::new(settings.enroll_limits),
                login_limiter: EnrollLimiter::new(settings.login_limits),
                store,
                server_id,
                county,
                settings,
                nonces: NonceCache::default(),
                metrics: Metrics::default(),
                last_seen_written: Mutex::default(),
            }),
        })
    }

    pub fn store(&self) -> &dyn Store {
        self.shared.store.as_ref()
    }

    pub fn store_handle(&self) -> Arc<dyn Store> {
        Arc::clone(&self.shared.store)
    }

    pub fn server_id(&self) -> &str {
        &self.shared.server_id
    }

    /// The county's key pair booths seal personal data to.
    pub fn county(&self) -> &CountySecret {
        &self.shared.county
    }

    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    pub fn nonces(&self) -> &NonceCache {
        &self.shared.nonces
    }

    pub fn enroll_limiter(&self) -> &EnrollLimiter {
        &self.shared.enroll_limiter
    }

    /// Staff login attempts (the same sliding window as enrollment guesses).
    pub fn login_limiter(&self) -> &EnrollLimiter {
        &self.shared.login_limiter
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Records a verified request from `kiosk_id` (throttled). A failure is logged, not
    /// returned: the request itself can still be served.
    pub async fn note_seen(&self, kiosk_id: &str, now: DateTime<Utc>) {
        let due = {
            let mut written = self
                .shared
                .last_seen_written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let every = self.shared.settings.last_seen_every;
            let due = written.get(kiosk_id).is_none_or(|at| at.elapsed() >= every);
            if due {
                written.insert(kiosk_id.to_owned(), Instant::now());
            }
            due
        };
        if due && let Err(error) = self.store().touch_kiosk(kiosk_id, now).await {
            tracing::warn!(error = %error, kiosk = kiosk_id, "could not record last seen");
        }
    }
}
