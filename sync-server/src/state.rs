//! [`AppState`]: what every handler of the kiosk API and the staff pages shares: the store,
//! the settings, the release bundles' folder, the replay memory and guessing limits (in memory
//! or shared with other instances: [`SharedState`]), and the in-memory parts (metrics,
//! last-seen throttle, the download cap).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sync_protocol::personal::CountySecret;

use crate::api::enroll_codes::CodeSecret;
use crate::api::metrics::Metrics;
use crate::api::nonces::Nonces;
use crate::api::rate_limit::EnrollLimit;
use crate::api::throttle::DownloadGate;
use crate::connections::{self, ConnectionGauge};
use crate::files::{self, FileShelf};
use crate::gate::Gate;
use crate::release_shelf::{self, ReleaseShelf};
use crate::settings::Settings;
use crate::shared::SharedState;
use crate::staff::login_limit::LoginLimit;
use crate::staff::password::PasswordGate;
use crate::store::catalog_cache::CatalogCache;
use crate::store::fleet_summaries::FleetSummaries;
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
    code_secret: CodeSecret,
    /// Nonces and guessing limits: what several instances on one database must share.
    guards: SharedState,
    password_gate: PasswordGate,
    connections: ConnectionGauge,
    /// The turns of signed booth requests ([`crate::api::admission`]).
    admission: Gate,
    metrics: Metrics,
    /// When `last_seen` was last written per kiosk, to write it at most every
    /// `settings.last_seen_every`.
    last_seen_written: Mutex<HashMap<String, Instant>>,
    /// Where release bundles are kept.
    shelf: ReleaseShelf,
    /// The places of bundle downloads served at once.
    downloads: DownloadGate,
    /// Catalogue feed pages, kept while the catalogue's version holds.
    catalog: CatalogCache,
    /// Fleet summaries, kept a short while per scope.
    fleet_summaries: FleetSummaries,
    /// Where submissions' files are kept.
    files: FileShelf,
    phone_uploads: crate::phone_upload::PhoneGuards,
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
    /// Reads the server id from the store. `code_secret` keys the enrollment codes (kept
    /// outside the store: `data_dir::CODE_SECRET_FILE`). `guards`: the replay memory and
    /// guessing limits, [`SharedState::memory`] for a server alone on its store,
    /// [`SharedState::postgres`] for one of several instances on a PostgreSQL store.
    pub async fn new(
        store: Arc<dyn Store>,
        county: Arc<CountySecret>,
        settings: Settings,
        code_secret: CodeSecret,
        guards: SharedState,
    ) -> Result<Self, StoreError> {
        let server_id = store.server_id().await?;
        // Tests and benchmarks that build a state by hand keep bundles under the temporary
        // folder; `server::open_state` always names the data directory's.
        let shelf = ReleaseShelf::new(settings.releases.dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("sync-server-{server_id}-{}", release_shelf::DIR))
        }));
        let files = match &settings.files {
            Some(location) => location.clone(),
            None => std::env::temp_dir()
                .join(format!("sync-server-{server_id}-{}", files::DIR))
                .display()
                .to_string(),
        };
        let files = FileShelf::open(&files).map_err(|e| StoreError::Open {
            path: files.clone(),
            source: Arc::new(e),
        })?;
        Ok(Self {
            shared: Arc::new(Shared {
                phone_uploads: crate::phone_upload::PhoneGuards::new(settings.phone_upload_limits),
                files,
                downloads: DownloadGate::new(settings.releases.max_downloads),
                shelf,
                guards,
                password_gate: PasswordGate::new(settings.password_slots, settings.password_queue),
                connections: ConnectionGauge::new(connections::fitting_cap(
                    settings.max_connections,
                    connections::open_file_limit(),
                )),
                admission: settings.admission.gate(),
                fleet_summaries: FleetSummaries::new(settings.fleet_summary_keep),
                store,
                server_id,
                county,
                settings,
                code_secret,
                metrics: Metrics::default(),
                last_seen_written: Mutex::default(),
                catalog: CatalogCache::default(),
            }),
        })
    }

    /// The turns of signed booth requests.
    /// The phone upload page's rate limit and upload places.
    pub fn phone_uploads(&self) -> &crate::phone_upload::PhoneGuards {
        &self.shared.phone_uploads
    }

    pub fn admission(&self) -> &Gate {
        &self.shared.admission
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

    pub fn code_secret(&self) -> &CodeSecret {
        &self.shared.code_secret
    }

    pub fn nonces(&self) -> &dyn Nonces {
        self.shared.guards.nonces.as_ref()
    }

    pub fn enroll_limiter(&self) -> &dyn EnrollLimit {
        self.shared.guards.enroll.as_ref()
    }

    /// Guesses of staff passwords, at login and on the own-password page.
    pub fn login_limiter(&self) -> &dyn LoginLimit {
        self.shared.guards.login.as_ref()
    }

    /// The one way this server runs argon2.
    pub fn password_gate(&self) -> &PasswordGate {
        &self.shared.password_gate
    }

    /// The cap on open connections, and how many there are.
    pub fn connections(&self) -> &ConnectionGauge {
        &self.shared.connections
    }

    /// The catalogue feed as every booth and the review pages read it.
    pub fn catalog(&self) -> &CatalogCache {
        &self.shared.catalog
    }

    /// The fleet page's counts and alerting booths per scope.
    pub fn files(&self) -> &FileShelf {
        &self.shared.files
    }

    pub fn fleet_summaries(&self) -> &FleetSummaries {
        &self.shared.fleet_summaries
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Where release bundles are kept.
    pub fn shelf(&self) -> &ReleaseShelf {
        &self.shared.shelf
    }

    /// The cap on bundle downloads served at once.
    pub fn downloads(&self) -> &DownloadGate {
        &self.shared.downloads
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
