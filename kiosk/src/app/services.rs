//! What the booth app runs on besides the UI: the store, the devices, a Tokio runtime for
//! background work, and the sync engine once the booth is enrolled.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::config::AppConfig;
use super::context::UiSender;
use super::devices::Devices;
use kiosk_core::receipt_paper::PhoneUploadLink;
use kiosk_core::store::{Identity, Store, StoreError};
use kiosk_core::sync::{Client, ClockOffset, Engine, EngineConfig, EngineHandle};
use kiosk_core::update::{HealthReporter, UpdateAgent, running_release};

#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the booth's background threads: {0}")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Enroll(#[from] kiosk_core::sync::EnrollError),
    #[error(transparent)]
    Key(#[from] kiosk_core::identity::KeyError),
    #[error(transparent)]
    Sync(#[from] kiosk_core::sync::SyncError),
}

/// Shared by the UI thread and background work.
#[derive(Debug)]
pub struct Services {
    config: AppConfig,
    store: Arc<Mutex<Store>>,
    devices: Devices,
    runtime: tokio::runtime::Runtime,
    sync: Mutex<Option<EngineHandle>>,
    shutdown: watch::Sender<bool>,
    ui: UiSender,
    /// The running release's health reports for the booth's updater; `None` without one.
    update_health: Option<Arc<HealthReporter>>,
    /// The kiosk's side of updates (download, early check, install request at a quiet
    /// moment); `None` on a booth without the updater.
    updates: Option<Arc<UpdateAgent>>,
}

impl Services {
    /// Opens the store, starts the devices and, if the booth is enrolled, sync.
    pub fn start(config: AppConfig, ui: UiSender) -> Result<Arc<Self>, ServicesError> {
        kiosk_core::sync::finish_pending(&config.data_dir)?;
        let store = Store::open(&config.data_dir)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("booth-background")
            .enable_all()
            .build()
            .map_err(ServicesError::Runtime)?;
        let devices = Devices::start(&config.devices, &ui);
        let (shutdown, _) = watch::channel(false);
        let update_health =
            HealthReporter::for_data_dir(&config.data_dir, running_release()).map(Arc::new);
        let updates = UpdateAgent::for_data_dir(&config.data_dir, running_release()).map(Arc::new);
        let services = Arc::new(Self {
            config,
            store: Arc::new(Mutex::new(store)),
            devices,
            runtime,
            sync: Mutex::new(None),
            shutdown,
            ui,
            update_health,
            updates,
        });
        services.start_sync()?;
        Ok(services)
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Where READY and the heartbeats are reported for the booth's updater, if it has one.
    pub fn update_health(&self) -> Option<&Arc<HealthReporter>> {
        self.update_health.as_ref()
    }

    /// The update agent, whose quiet flag the UI keeps up to date.
    pub fn updates(&self) -> Option<&Arc<UpdateAgent>> {
        self.updates.as_ref()
    }

    /// The store, shared with sync. Lock it only in background work: its writes wait for the disk.
    pub fn store(&self) -> &Arc<Mutex<Store>> {
        &self.store
    }

    /// Runs `f` with the store locked (a poisoned lock still holds a consistent SQLite file).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut store)
    }

    /// The one-time phone upload page for `token` of an application created at `created`:
    /// on the server at `[sync] phone_upload_url`, else at the address this booth syncs with
    /// (`None` on a booth never enrolled).
    pub fn phone_upload_link(
        &self,
        identity: Option<&Identity>,
        token: &str,
        created: DateTime<Utc>,
    ) -> Option<PhoneUploadLink> {
        let base = self
            .config
            .sync
            .phone_upload_url
            .as_deref()
            .or(identity.map(|i| i.server_url.as_str()))?;
        Some(PhoneUploadLink::new(base, token, created))
    }

    pub fn devices(&self) -> &Devices {
        &self.devices
    }

    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// Starts the sync engine if the booth is enrolled and it is not running yet; its events go
    /// to the header (connection line, waiting count). Returns whether sync runs.
    pub fn start_sync(&self) -> Result<bool, ServicesError> {
        let mut running = self
            .sync
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if running.is_some() {
            return Ok(true);
        }
        let Some(identity) = self.with_store(|s| s.identity())? else {
            return Ok(false);
        };
        let key = kiosk_core::identity::load(self.data_dir())?;
        let clock = ClockOffset::new(self.with_store(|s| s.clock_offset_ms())?);
        let client = Client::new(
            &identity.server_url,
            identity.server_pin,
            identity.kiosk_id.clone(),
            key,
            clock,
        )?;
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        let every = &self.config.sync;
        let config = EngineConfig {
            feeds_every: Duration::from_secs(every.feeds_every_s.max(1)),
            heartbeat_every: Duration::from_secs(every.heartbeat_every_s.max(1)),
            update_health: self.update_health.clone(),
            updates: self.updates.clone(),
            ..EngineConfig::new(self.data_dir())
        };
        let engine = Engine::new(client, Arc::clone(&self.store), config).with_events(events);
        *running = Some(engine.handle());
        let mut shutdown = self.shutdown.subscribe();
        self.runtime.spawn(async move {
            let stop = async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            };
            if let Err(err) = engine.run(stop).await {
                tracing::error!(%err, "sync stopped");
            }
        });
        let ui = self.ui.clone();
        self.runtime.spawn(async move {
            while let Some(event) = received.recv().await {
                tracing::info!(%event, "sync");
                ui.post(move |ctx| ctx.sync_event(&event));
            }
        });
        Ok(true)
    }

    /// The technician's "sync now": upload, pull every feed and send a heartbeat at once.
    pub fn sync_everything_now(&self) {
        self.with_sync(EngineHandle::sync_everything_now);
    }

    /// Asks sync to upload now (after a submission).
    pub fn wake_sync(&self) {
        self.with_sync(EngineHandle::wake);
    }

    /// Nothing to do on a booth that is not enrolled (no engine runs).
    fn with_sync(&self, act: impl FnOnce(&EngineHandle)) {
        if let Some(handle) = self
            .sync
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            act(handle);
        }
    }

    pub fn sync_running(&self) -> bool {
        self.sync
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
