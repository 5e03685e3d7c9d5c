//! The background sync task: uploads the outbox oldest first in batches, pulls the feeds,
//! sends a heartbeat every minute, and after a failure waits with backoff — but resumes as soon
//! as the server is reachable again.
//!
//! Resuming at once, without waiting for the next local write, rests on three things:
//! - while waiting out a network failure the engine probes `GET /healthz` every few seconds;
//!   the first answer ends the wait (after a short random spread, so a county's booths do not
//!   all reconnect in the same second);
//! - a [`EngineHandle::wake`] from the app (a new submission) ends any wait not floored by the
//!   server's `Retry-After`;
//! - while idle it looks at the store every couple of seconds, because `kiosk submit` in
//!   another process cannot wake it.
//!
//! Probing only shortens waits after *network* failures: a server answering 5xx still answers
//! `/healthz`, and a `Retry-After` is a floor nothing cuts short.
//!
//! An item leaves the queue only through `Store::record_results`, called after the whole
//! answer was read; any failure before that leaves it pending or sent, to be sent again (the
//! server answers a resend as a duplicate). So dropping the engine's future at any await —
//! shutdown — is as safe as the crash the store is built for.
//!
//! Files, one job each:
//! - this one: [`Engine`], its [`EngineConfig`] and [`EngineHandle`], the run loop and one
//!   pass (`cycle`, `run_once`), and the store on the blocking pool (`with_store`);
//! - `events`: [`SyncEvent`] (one line each for the log) and [`OnceSummary`];
//! - `upload`: draining the outbox in batches, the per-item outcomes, splitting a batch the
//!   server cannot take, and the store work overlapped with the next upload;
//! - `feeds`: pulling every feed page by page;
//! - `files`: the pages submissions carry, uploaded by their own task in chunks that resume
//!   where the server's copy ends, each waiting for the engine's own requests;
//! - `heartbeat`: the heartbeat, and persisting the learned clock offset;
//! - `wait`: the wait after a failure (backoff, `Retry-After`), cut short by a wake-up or by the
//!   first answer to a `/healthz` probe.

mod events;
mod feeds;
mod files;
mod heartbeat;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod update_tests;
mod upload;
mod wait;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sync_protocol::heartbeat::DeviceHealth;
use sync_protocol::submission::MAX_BATCH;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::backoff::{Backoff, BackoffPolicy};
use super::client::Client;
use super::download::UploadsFirst;
use super::error::SyncError;
use crate::store::{Store, StoreError};
use crate::update::{HealthReporter, UpdateAgent, fetcher};

pub use events::{OnceSummary, SyncEvent};
pub use files::{FilesConfig, FilesProgress};
use upload::{Answered, StoreWork};
use wait::{PlannedWait, Wait};

/// How the engine paces itself.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// At most [`MAX_BATCH`].
    pub batch_size: usize,
    pub heartbeat_every: Duration,
    pub feeds_every: Duration,
    /// How often an idle engine looks for submissions written by other processes.
    pub idle_poll: Duration,
    /// How often a waiting engine asks `/healthz` whether the network is back.
    pub probe_every: Duration,
    /// The random spread before the first attempt after start or after the network returns.
    pub resume_spread: Duration,
    pub backoff: BackoffPolicy,
    /// Seeds the jitter (tests); `None` seeds from the OS.
    pub rng_seed: Option<u64>,
    /// The devices to report when no check was ever recorded (`kiosk devices check` records one).
    pub devices: DeviceHealth,
    /// Where the data lives, for the heartbeat's disk free.
    pub data_dir: PathBuf,
    /// Where each heartbeat's outcome goes for the booth's updater (a release on trial is
    /// judged by it); `None` on a booth without the updater.
    pub update_health: Option<Arc<HealthReporter>>,
    /// The kiosk's side of updates: the heartbeat reports it and offers it the county's
    /// target, and the engine runs its download task; `None` on a booth without the updater.
    pub updates: Option<Arc<UpdateAgent>>,
    /// The pages' uploader.
    pub files: FilesConfig,
}

impl EngineConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            batch_size: MAX_BATCH,
            heartbeat_every: Duration::from_secs(60),
            feeds_every: Duration::from_secs(60),
            idle_poll: Duration::from_secs(2),
            probe_every: Duration::from_secs(5),
            resume_spread: Duration::from_secs(2),
            backoff: BackoffPolicy::default(),
            rng_seed: None,
            devices: DeviceHealth::default(),
            data_dir: data_dir.into(),
            update_health: None,
            updates: None,
            files: FilesConfig::default(),
        }
    }
}

/// Why a sync step stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the booth's database is unusable after an earlier failure in this process: restart the kiosk"
    )]
    StorePoisoned,
    #[error("a database task of the sync engine failed")]
    Task(#[source] tokio::task::JoinError),
}

impl EngineError {
    /// Worth trying again later without anyone doing anything.
    fn is_transient(&self) -> bool {
        match self {
            Self::Sync(err) => err.is_retryable(),
            Self::Store(StoreError::DiskFull { .. } | StoreError::Busy { .. }) => true,
            _ => false,
        }
    }
}

/// Wakes a running engine: call it after a new submission is committed.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    wake: Arc<Notify>,
    everything: Arc<AtomicBool>,
}

impl EngineHandle {
    /// Ends the engine's current wait, except the part the server asked for (`Retry-After`)
    /// and the long wait after a refusal that needs a person. A wake while the engine is busy
    /// is remembered, never lost.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A person's "sync now": like [`Self::wake`], and the next pass also pulls every feed
    /// and sends a heartbeat, whatever their schedule says.
    pub fn sync_everything_now(&self) {
        self.everything.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// The sync engine of one booth.
#[derive(Debug)]
pub struct Engine {
    /// Shared with the release download task.
    client: Arc<Client>,
    /// Uploads go before release downloads.
    uploads_first: UploadsFirst,
    store: Arc<Mutex<Store>>,
    config: EngineConfig,
    wake: Arc<Notify>,
    /// Set by [`EngineHandle::sync_everything_now`], taken by the next pass.
    everything_now: Arc<AtomicBool>,
    events: Option<mpsc::UnboundedSender<SyncEvent>>,
    backoff: Backoff,
    persisted_offset_ms: Option<i64>,
    /// The county key last stored, so a heartbeat writes only a new one.
    known_county_key: Option<sync_protocol::personal::CountyKey>,
    batch_size: usize,
    /// Drawn when a failed batch was put back, used by the wait that follows.
    planned_wait: Option<PlannedWait>,
    /// The last batch's answers, not yet handed to the store.
    answered: Option<Answered>,
    /// The store's share of the current step, running on the blocking pool. Kept here, not
    /// in the pass's future, so a shutdown that drops the pass can still await it.
    in_store: Option<StoreWork>,
    /// Wakes the pages' uploader after submissions were acknowledged.
    files_wake: Arc<Notify>,
    files_progress: Arc<FilesProgress>,
}

impl Engine {
    pub fn new(client: Client, store: Arc<Mutex<Store>>, config: EngineConfig) -> Self {
        let rng = config
            .rng_seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        let batch_size = config.batch_size.clamp(1, MAX_BATCH);
        Self {
            client: Arc::new(client),
            uploads_first: UploadsFirst::default(),
            store,
            backoff: Backoff::with_rng(config.backoff, rng),
            config,
            wake: Arc::new(Notify::new()),
            everything_now: Arc::new(AtomicBool::new(false)),
            events: None,
            persisted_offset_ms: None,
            known_county_key: None,
            batch_size,
            planned_wait: None,
            answered: None,
            in_store: None,
            files_wake: Arc::new(Notify::new()),
            files_progress: Arc::new(FilesProgress::default()),
        }
    }

    /// What the pages' uploader has sent so far.
    pub fn files_progress(&self) -> Arc<FilesProgress> {
        Arc::clone(&self.files_progress)
    }

    fn file_uploader(&self) -> files::FileUploader {
        files::FileUploader {
            client: Arc::clone(&self.client),
            store: Arc::clone(&self.store),
            uploads_first: self.uploads_first.clone(),
            wake: Arc::clone(&self.files_wake),
            events: self.events.clone(),
            config: self.config.files.clone(),
            progress: Arc::clone(&self.files_progress),
        }
    }

    /// Sends every event to `events` as well as to the log.
    pub fn with_events(mut self, events: mpsc::UnboundedSender<SyncEvent>) -> Self {
        self.events = Some(events);
        self
    }

    /// The clock offset the engine signs with (server time minus booth time).
    pub fn clock_offset_ms(&self) -> i64 {
        self.client.clock().get_ms()
    }

    pub fn handle(&self) -> EngineHandle {
        EngineHandle {
            wake: Arc::clone(&self.wake),
            everything: Arc::clone(&self.everything_now),
        }
    }

    /// Runs until `shutdown` completes. Transient failures (network, server, full disk) are
    /// waited out; a refusal that needs a person (revoked, unknown kiosk) is retried every
    /// backoff cap; a store failure that needs a restart ends the run with the error.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), EngineError> {
        tokio::pin!(shutdown);
        // Its own task, so a bundle never holds up the loop; aborted with the engine (a
        // partial download resumes at the next start).
        let _fetcher = self.config.updates.clone().map(|agent| {
            AbortOnDrop(tokio::spawn(fetcher::run(
                Arc::clone(&self.client),
                agent,
                self.uploads_first.clone(),
            )))
        });
        // The pages' own task: a page on a slow link never holds up the loop.
        let _files = AbortOnDrop(tokio::spawn(self.file_uploader().run()));
        let result = tokio::select! {
            () = &mut shutdown => Ok(()),
            result = self.run_forever() => result,
        };
        // A shutdown drops the pass wherever it was: answers already in hand still go into
        // the store before the engine says it stopped.
        let flushed = self.flush(&mut OnceSummary::default()).await;
        self.emit(SyncEvent::Stopped);
        result.and(flushed)
    }

    async fn run_forever(&mut self) -> Result<(), EngineError> {
        let mut next_feeds = Instant::now();
        let mut next_heartbeat = Instant::now();
        // After a restart, the queue's stored next-attempt times are from a previous life:
        // try at once, spread like a resume (a whole village's power comes back together).
        let spread = self.backoff.jitter(self.config.resume_spread);
        tokio::time::sleep(spread).await;
        let mut ignore_schedule = true;
        loop {
            match self
                .cycle(ignore_schedule, &mut next_feeds, &mut next_heartbeat)
                .await
            {
                Ok(()) => {
                    self.backoff.reset();
                    ignore_schedule = false;
                    let next = next_feeds
                        .min(next_heartbeat)
                        .min(Instant::now() + self.config.idle_poll);
                    let wait = Wait {
                        until: next,
                        floor: Instant::now(),
                        probe: false,
                    };
                    self.wait(wait).await;
                }
                Err(err) if err.is_transient() || is_refusal(&err) => {
                    let wait = self.wait_after(&err);
                    let resumed_by_probe = self.wait(wait).await;
                    if resumed_by_probe {
                        let spread = self.backoff.jitter(self.config.resume_spread);
                        tokio::time::sleep(spread).await;
                    }
                    // The engine decided the wait is over: the items' stored times are ours.
                    ignore_schedule = true;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Uploads everything due, then the feeds and heartbeat when their time has come.
    async fn cycle(
        &mut self,
        ignore_schedule: bool,
        next_feeds: &mut Instant,
        next_heartbeat: &mut Instant,
    ) -> Result<(), EngineError> {
        let mut summary = OnceSummary::default();
        let everything = self.everything_now.swap(false, Ordering::AcqRel);
        self.upload_due(ignore_schedule, &mut summary).await?;
        // Newly acknowledged submissions may have pages to send.
        self.files_wake.notify_one();
        if everything {
            *next_feeds = Instant::now();
            *next_heartbeat = Instant::now();
        }
        if Instant::now() >= *next_feeds {
            // Pages and release downloads wait while the feeds come in.
            let _turn = self.uploads_first.upload();
            self.pull_feeds(&mut summary).await?;
            *next_feeds = Instant::now() + self.config.feeds_every;
        }
        if Instant::now() >= *next_heartbeat {
            let _turn = self.uploads_first.upload();
            self.send_heartbeat().await?;
            *next_heartbeat = Instant::now() + self.config.heartbeat_every;
        }
        Ok(())
    }

    /// `kiosk sync --once`: upload everything pending (waiting items too), pull every feed,
    /// send one heartbeat.
    pub async fn run_once(&mut self) -> Result<OnceSummary, EngineError> {
        let mut summary = OnceSummary::default();
        self.upload_due(true, &mut summary).await?;
        let uploader = self.file_uploader();
        let held_before = self
            .files_progress
            .files_held
            .load(std::sync::atomic::Ordering::Relaxed);
        while uploader.send_due().await? {}
        summary.pages_sent = self
            .files_progress
            .files_held
            .load(std::sync::atomic::Ordering::Relaxed)
            - held_before;
        self.pull_feeds(&mut summary).await?;
        self.send_heartbeat().await?;
        summary.heartbeat_sent = true;
        let now = self.client.clock().server_now();
        let stats = self.with_store(move |store| store.queue_stats(now)).await?;
        summary.pending = stats.depth();
        summary.pages_pending = self.with_store(|store| store.file_counts()).await?.0;
        summary.clock_offset_ms = self.client.clock().get_ms();
        Ok(summary)
    }

    /// Runs `operation` on the store on the blocking pool; the lock is held only inside.
    async fn with_store<R, F>(&self, operation: F) -> Result<R, EngineError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    {
        on_store(&self.store, operation).await
    }

    fn emit(&self, event: SyncEvent) {
        emit_to(self.events.as_ref(), event);
    }
}

/// Runs `operation` on the store on the blocking pool; the lock is held only inside. Shared
/// by the engine's loop and the pages' uploader.
async fn on_store<R, F>(store: &Arc<Mutex<Store>>, operation: F) -> Result<R, EngineError>
where
    R: Send + 'static,
    F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
{
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        let mut store = store.lock().map_err(|_| EngineError::StorePoisoned)?;
        operation(&mut store).map_err(EngineError::Store)
    })
    .await
    .map_err(EngineError::Task)?
}

/// One event to the log and, when someone listens, to them.
fn emit_to(events: Option<&mpsc::UnboundedSender<SyncEvent>>, event: SyncEvent) {
    tracing::info!(event = %event, "sync");
    if let Some(events) = events {
        let _ = events.send(event);
    }
}

/// Stops a background task when the engine stops, however it stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A refusal that needs a person; the engine keeps asking, rarely.
fn is_refusal(err: &EngineError) -> bool {
    // A changed certificate too: the engine asks again rarely rather than stopping, so a
    // certificate county IT puts back is picked up without a restart.
    matches!(
        err,
        EngineError::Sync(
            SyncError::Rejected { .. }
                | SyncError::Protocol { .. }
                | SyncError::CertificateMismatch { .. }
        )
    )
}

#[cfg(test)]
mod tests {
    use super::test_support::{Booth, start_idle, stub_state, wait_for};
    use super::*;
    use crate::store::SubmissionState;
    use crate::sync::stub_server::StubServer;

    #[tokio::test]
    async fn a_wake_up_sends_a_new_submission_without_waiting_for_the_next_poll() {
        let booth = Booth::new();
        let server = StubServer::start(stub_state()).await;
        let (handle, mut received, stop, task) = start_idle(&booth, &server).await;
        let receipts = booth.submit(1);
        handle.wake();
        wait_for(&mut received, |e| {
            matches!(e, SyncEvent::Uploaded { accepted: 1, .. })
        })
        .await;
        assert_eq!(booth.state_of(&receipts[0]), SubmissionState::Acknowledged);
        let _ = stop.send(());
        let result = task.await.unwrap();
        assert!(result.is_ok(), "{result:?}");
        wait_for(&mut received, |e| *e == SyncEvent::Stopped).await;
    }

    #[tokio::test]
    async fn sync_everything_now_also_pulls_the_feeds_and_sends_a_heartbeat_off_schedule() {
        let booth = Booth::new();
        let server = StubServer::start(stub_state()).await;
        let (handle, mut received, stop, task) = start_idle(&booth, &server).await;
        handle.sync_everything_now();
        wait_for(&mut received, |e| {
            matches!(e, SyncEvent::HeartbeatSent { .. })
        })
        .await;
        let _ = stop.send(());
        let result = task.await.unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}
