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
//! The booth's store work overlaps the network: once batch N's answer is in, one task on the
//! blocking pool takes batch N+1 (leaving out N's items, which the store still shows as due),
//! hands it over so its upload starts, then marks it sent and records N's answers while it is
//! on the wire. That task is awaited as soon as N+1's upload returns, and at the end of every
//! pass and on shutdown: nothing is reported done, counted, or waited after before its
//! answers are in the store.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sync_protocol::ErrorCode;
use sync_protocol::feed::{CatalogItem, Feed, FeedPage, FeedQuery, MAX_PAGE, Notice, StatusChange};
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
use sync_protocol::submission::{BatchRequest, ItemResult, MAX_BATCH, Outcome, Submission};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

use super::backoff::{Backoff, BackoffPolicy, Delay};
use super::client::Client;
use super::clock::{clock_warning, describe_offset, human_duration};
use super::error::SyncError;
use super::health;
use crate::store::{QueueStats, Store, StoreError};

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

/// What happened, one line each, for the service's log and the tests. No personal data:
/// receipt numbers, counts, error codes and server messages only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    Uploaded {
        accepted: usize,
        duplicates: usize,
    },
    Quarantined {
        receipt_number: String,
        reason: String,
    },
    FeedPulled {
        feed: Feed,
        items: usize,
    },
    HeartbeatSent {
        queue_depth: u64,
    },
    ClockOffset {
        offset_ms: i64,
    },
    /// A failure; the engine waits `retry_in`, less if a probe or a wake-up says so.
    Waiting {
        error: String,
        retry_in: Duration,
        probing: bool,
    },
    /// The server answered a probe: the wait is over.
    Reachable,
    Stopped,
}

impl std::fmt::Display for SyncEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Uploaded {
                accepted,
                duplicates,
            } => write!(
                f,
                "uploaded {} ({accepted} accepted, {duplicates} already there)",
                accepted + duplicates
            ),
            Self::Quarantined {
                receipt_number,
                reason,
            } => write!(
                f,
                "held back {receipt_number}: {reason} (kiosk queue quarantined lists it)"
            ),
            Self::FeedPulled { feed, items } => write!(f, "{} +{items}", feed.as_str()),
            Self::HeartbeatSent { queue_depth } => {
                write!(f, "heartbeat sent (queue depth {queue_depth})")
            }
            Self::ClockOffset { offset_ms } => match clock_warning(*offset_ms) {
                Some(warning) => f.write_str(&warning),
                None => write!(f, "clock offset {}", describe_offset(*offset_ms)),
            },
            Self::Waiting {
                error,
                retry_in,
                probing,
            } => {
                if *retry_in < Duration::from_secs(1) {
                    return write!(f, "{error}; trying again at once");
                }
                write!(f, "{error}; next try in {}", human_duration(*retry_in))?;
                if *probing {
                    f.write_str(" or as soon as the server answers")?;
                }
                Ok(())
            }
            Self::Reachable => f.write_str("the county server answers again: resuming"),
            Self::Stopped => f.write_str("sync stopped"),
        }
    }
}

/// The result of `kiosk sync --once`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OnceSummary {
    pub uploaded: usize,
    pub duplicates: usize,
    pub quarantined: usize,
    /// Still pending or sent afterwards.
    pub pending: u64,
    pub catalog: usize,
    pub notices: usize,
    pub statuses: usize,
    pub clock_offset_ms: i64,
    pub heartbeat_sent: bool,
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
    client: Client,
    store: Arc<Mutex<Store>>,
    config: EngineConfig,
    wake: Arc<Notify>,
    /// Set by [`EngineHandle::sync_everything_now`], taken by the next pass.
    everything_now: Arc<AtomicBool>,
    events: Option<mpsc::UnboundedSender<SyncEvent>>,
    backoff: Backoff,
    persisted_offset_ms: Option<i64>,
    batch_size: usize,
    /// Drawn when a failed batch was put back, used by the wait that follows.
    planned_wait: Option<PlannedWait>,
    /// The last batch's answers, not yet handed to the store.
    answered: Option<Answered>,
    /// The store's share of the current step, running on the blocking pool. Kept here, not
    /// in the pass's future, so a shutdown that drops the pass can still await it.
    in_store: Option<StoreWork>,
}

/// A batch the server answered.
#[derive(Debug)]
struct Answered {
    /// Everything that was sent: still `sent`, so due, in the store until recorded.
    ids: Vec<Uuid>,
    /// Only results for what was sent.
    results: Vec<ItemResult>,
    receipts: Vec<(Uuid, String)>,
    at: DateTime<Utc>,
}

/// One step's store work on the blocking pool: take the next batch, mark it sent, record the
/// previous batch's answers.
#[derive(Debug)]
struct StoreWork {
    task: tokio::task::JoinHandle<Result<StoreOutcome, EngineError>>,
    /// The answers being recorded, reported once they are.
    recording: Option<Answered>,
}

/// The two writes of a [`StoreWork`], each tried whatever became of the other.
#[derive(Debug)]
struct StoreOutcome {
    marked: Result<(), EngineError>,
    recorded: Result<(), EngineError>,
}

#[derive(Debug, Clone, Copy)]
struct PlannedWait {
    delay: Delay,
    probe: bool,
}

/// One batch's result.
enum BatchStep {
    Nothing,
    Sent,
}

/// Why the engine waits, and how it may be cut short.
struct Wait {
    until: Instant,
    /// Nothing ends the wait before this (`Retry-After`).
    floor: Instant,
    probe: bool,
}

impl Engine {
    pub fn new(client: Client, store: Arc<Mutex<Store>>, config: EngineConfig) -> Self {
        let rng = config
            .rng_seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        let batch_size = config.batch_size.clamp(1, MAX_BATCH);
        Self {
            client,
            store,
            backoff: Backoff::with_rng(config.backoff, rng),
            config,
            wake: Arc::new(Notify::new()),
            everything_now: Arc::new(AtomicBool::new(false)),
            events: None,
            persisted_offset_ms: None,
            batch_size,
            planned_wait: None,
            answered: None,
            in_store: None,
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
        if everything {
            *next_feeds = Instant::now();
            *next_heartbeat = Instant::now();
        }
        if Instant::now() >= *next_feeds {
            self.pull_feeds(&mut summary).await?;
            *next_feeds = Instant::now() + self.config.feeds_every;
        }
        if Instant::now() >= *next_heartbeat {
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
        self.pull_feeds(&mut summary).await?;
        self.send_heartbeat().await?;
        summary.heartbeat_sent = true;
        let now = self.client.clock().server_now();
        let stats = self.with_store(move |store| store.queue_stats(now)).await?;
        summary.pending = stats.depth();
        summary.clock_offset_ms = self.client.clock().get_ms();
        Ok(summary)
    }

    /// Uploads everything due, batch after batch. Whatever ends the pass, every answer in hand
    /// is in the store before this returns.
    async fn upload_due(
        &mut self,
        ignore_schedule: bool,
        summary: &mut OnceSummary,
    ) -> Result<(), EngineError> {
        let mut unanswered = HashSet::new();
        let result = loop {
            match self
                .upload_batch(ignore_schedule, &mut unanswered, summary)
                .await
            {
                Ok(BatchStep::Sent) => {}
                Ok(BatchStep::Nothing) => break Ok(()),
                Err(err) => break Err(err),
            }
        };
        let flushed = self.flush(summary).await;
        result.and(flushed)
    }

    /// Sends one batch of due items while the previous batch's answers are recorded.
    /// `unanswered` holds items the server left without a result in this pass: they are not
    /// sent again until the next pass.
    async fn upload_batch(
        &mut self,
        ignore_schedule: bool,
        unanswered: &mut HashSet<Uuid>,
        summary: &mut OnceSummary,
    ) -> Result<BatchStep, EngineError> {
        let now = self.client.clock().server_now();
        // Far enough ahead that every stored next-attempt time is due, near enough that the
        // store's time text stays well-formed.
        let horizon = if ignore_schedule {
            now + TimeDelta::days(365 * 100)
        } else {
            now
        };
        let taken = self.start_store_work(horizon, unanswered);
        let batch = match taken.await {
            Ok(Ok(batch)) => batch,
            Ok(Err(err)) => {
                self.settle(summary).await?;
                return Err(err);
            }
            // The task dropped its sender without a word: it panicked holding the lock.
            Err(_) => {
                self.settle(summary).await?;
                return Err(EngineError::StorePoisoned);
            }
        };
        if batch.is_empty() {
            self.settle(summary).await?;
            return Ok(BatchStep::Nothing);
        }
        let ids: Vec<Uuid> = batch.iter().map(|submission| submission.id).collect();
        let receipts: Vec<(Uuid, String)> = batch
            .iter()
            .map(|submission| (submission.id, submission.receipt_number.clone()))
            .collect();

        let answer = self
            .client
            .upload(&BatchRequest { submissions: batch })
            .await;
        // The previous answers are recorded and this batch marked sent before anything else
        // touches these items.
        self.settle(summary).await?;
        self.persist_offset().await?;
        let results = match answer {
            Ok(answer) => answer.results,
            Err(err) => return self.batch_failed(err, ids, receipts, summary).await,
        };
        unanswered.extend(
            ids.iter()
                .filter(|id| !results.iter().any(|result| result.id == **id)),
        );
        self.batch_size = self.config.batch_size.clamp(1, MAX_BATCH);

        // Only results for what was sent count; an item the server left out stays sent and
        // is tried again in a later pass.
        let results: Vec<ItemResult> = results
            .into_iter()
            .filter(|result| ids.contains(&result.id))
            .collect();
        self.answered = Some(Answered {
            ids,
            results,
            receipts,
            at: self.client.clock().server_now(),
        });
        Ok(BatchStep::Sent)
    }

    /// Starts the store's share of a step on the blocking pool, in one hold of the lock:
    /// take the next batch and hand it over at once (its upload need not wait for the rest),
    /// then mark it sent and record the answers in hand. The previous batch is left out of
    /// the next: until its answers are recorded the store still shows its items as due.
    fn start_store_work(
        &mut self,
        horizon: DateTime<Utc>,
        unanswered: &HashSet<Uuid>,
    ) -> oneshot::Receiver<Result<Vec<Submission>, EngineError>> {
        let recording = self.answered.take();
        let mut skip = unanswered.clone();
        if let Some(answered) = &recording {
            skip.extend(answered.ids.iter().copied());
        }
        let to_record = recording
            .as_ref()
            .map(|answered| (answered.results.clone(), answered.at));
        let batch_size = self.batch_size;
        let store = Arc::clone(&self.store);
        let (hand_over, taken) = oneshot::channel();
        let task = tokio::task::spawn_blocking(move || {
            let Ok(mut store) = store.lock() else {
                let _ = hand_over.send(Err(EngineError::StorePoisoned));
                return Err(EngineError::StorePoisoned);
            };
            let batch = store
                .due_submissions(horizon, batch_size + skip.len())
                .map(|due| {
                    due.into_iter()
                        .filter(|submission| !skip.contains(&submission.id))
                        .take(batch_size)
                        .collect::<Vec<_>>()
                })
                .map_err(EngineError::Store);
            let ids: Vec<Uuid> = batch
                .iter()
                .flatten()
                .map(|submission| submission.id)
                .collect();
            // A dropped receiver is a shutdown: the writes below are still wanted.
            let _ = hand_over.send(batch);
            let marked = if ids.is_empty() {
                Ok(())
            } else {
                store.mark_sent(&ids).map_err(EngineError::Store)
            };
            let recorded = match to_record {
                Some((results, at)) => store
                    .record_results(&results, at)
                    .map_err(EngineError::Store),
                None => Ok(()),
            };
            Ok(StoreOutcome { marked, recorded })
        });
        self.in_store = Some(StoreWork { task, recording });
        taken
    }

    /// Awaits the step's store work, then reports the answers it recorded. A failure to
    /// record comes first, as it happened first when the steps ran one after the other.
    async fn settle(&mut self, summary: &mut OnceSummary) -> Result<(), EngineError> {
        let Some(work) = self.in_store.as_mut() else {
            return Ok(());
        };
        let joined = (&mut work.task).await;
        // Taken only now: a shutdown during the await leaves it for `flush`.
        let recording = self.in_store.take().and_then(|work| work.recording);
        let outcome = joined.map_err(EngineError::Task)??;
        outcome.recorded?;
        if let Some(answered) = &recording {
            self.report(answered, summary);
        }
        outcome.marked
    }

    /// Puts every answer in hand into the store: the running step's, then any not yet
    /// handed over.
    async fn flush(&mut self, summary: &mut OnceSummary) -> Result<(), EngineError> {
        self.settle(summary).await?;
        if let Some(answered) = self.answered.take() {
            let (results, at) = (answered.results.clone(), answered.at);
            self.with_store(move |store| store.record_results(&results, at))
                .await?;
            self.report(&answered, summary);
        }
        Ok(())
    }

    /// Counts a recorded batch and says what became of it.
    fn report(&self, answered: &Answered, summary: &mut OnceSummary) {
        let (mut accepted, mut duplicates) = (0, 0);
        for result in &answered.results {
            match result.outcome {
                Outcome::Accepted => accepted += 1,
                Outcome::Duplicate => duplicates += 1,
                Outcome::Conflict | Outcome::Invalid => {
                    summary.quarantined += 1;
                    self.emit(SyncEvent::Quarantined {
                        receipt_number: receipt_of(&answered.receipts, result.id),
                        reason: result
                            .message
                            .clone()
                            .unwrap_or_else(|| format!("{:?}", result.outcome).to_lowercase()),
                    });
                }
            }
        }
        summary.uploaded += accepted;
        summary.duplicates += duplicates;
        if accepted + duplicates > 0 {
            self.emit(SyncEvent::Uploaded {
                accepted,
                duplicates,
            });
        }
    }

    /// A whole batch failed. A body the server cannot take (too large, malformed) is split
    /// until the one item at fault is found and held back: one bad record must not block the
    /// queue. Everything else goes back to pending with the error and the next attempt time.
    async fn batch_failed(
        &mut self,
        err: SyncError,
        ids: Vec<Uuid>,
        receipts: Vec<(Uuid, String)>,
        summary: &mut OnceSummary,
    ) -> Result<BatchStep, EngineError> {
        let now = self.client.clock().server_now();
        // A proxy in front of the server refuses a large body with its own 413 page.
        let unacceptable = matches!(
            err,
            SyncError::Rejected {
                code: ErrorCode::BodyTooLarge
                    | ErrorCode::MalformedJson
                    | ErrorCode::InvalidRequest,
                ..
            } | SyncError::Protocol { status: 413, .. }
        );
        if unacceptable && ids.len() == 1 {
            let result = ItemResult {
                id: ids[0],
                outcome: Outcome::Invalid,
                message: Some(err.to_string()),
                received_at: None,
            };
            summary.quarantined += 1;
            self.emit(SyncEvent::Quarantined {
                receipt_number: receipt_of(&receipts, ids[0]),
                reason: err.to_string(),
            });
            self.with_store(move |store| store.record_results(&[result], now))
                .await?;
            return Ok(BatchStep::Sent);
        }
        if unacceptable {
            self.batch_size = (ids.len() / 2).max(1);
            let message = err.to_string();
            // Due at once (the engine retries them in smaller batches right away).
            self.with_store(move |store| store.record_failure(&ids, &message, now))
                .await?;
            return Ok(BatchStep::Sent);
        }
        let err = EngineError::Sync(err);
        let planned = self.plan_wait(&err);
        let next = now + TimeDelta::from_std(planned.delay.total).unwrap_or(TimeDelta::zero());
        self.planned_wait = Some(planned);
        let message = err.to_string();
        self.with_store(move |store| store.record_failure(&ids, &message, next))
            .await?;
        Err(err)
    }

    /// Every feed, page by page, each page applied with its cursor in one transaction.
    async fn pull_feeds(&mut self, summary: &mut OnceSummary) -> Result<(), EngineError> {
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

    async fn send_heartbeat(&mut self) -> Result<(), EngineError> {
        let now = self.client.clock().server_now();
        let (stats, checked_devices): (QueueStats, _) = self
            .with_store(move |store| Ok((store.queue_stats(now)?, store.device_health()?)))
            .await?;
        let data_dir = self.config.data_dir.clone();
        let (disk_free_bytes, uptime_s) = tokio::task::spawn_blocking(move || {
            (health::disk_free_bytes(&data_dir), health::uptime_secs())
        })
        .await
        .map_err(EngineError::Task)?;
        let heartbeat = Heartbeat {
            queue_depth: stats.depth(),
            oldest_pending_age_s: stats.oldest_pending_age_s,
            quarantined: stats.quarantined,
            // The last recorded check wins over the configured default.
            devices: checked_devices
                .map_or_else(|| self.config.devices.clone(), |report| report.health),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            disk_free_bytes,
            uptime_s,
            clock_offset_ms: self.client.clock().get_ms(),
        };
        let answer = self.client.heartbeat(&heartbeat).await;
        self.persist_offset().await?;
        answer?;
        self.emit(SyncEvent::HeartbeatSent {
            queue_depth: heartbeat.queue_depth,
        });
        Ok(())
    }

    /// Stores the learned offset when it changed, and says so.
    async fn persist_offset(&mut self) -> Result<(), EngineError> {
        let offset_ms = self.client.clock().get_ms();
        if self.persisted_offset_ms == Some(offset_ms) {
            return Ok(());
        }
        let first = self.persisted_offset_ms.is_none();
        self.with_store(move |store| store.set_clock_offset_ms(offset_ms))
            .await?;
        self.persisted_offset_ms = Some(offset_ms);
        if !first || clock_warning(offset_ms).is_some() {
            self.emit(SyncEvent::ClockOffset { offset_ms });
        }
        Ok(())
    }

    /// Draws the wait after `err`, counted as one more failure.
    fn plan_wait(&mut self, err: &EngineError) -> PlannedWait {
        match err {
            EngineError::Sync(sync) if !sync.is_retryable() => {
                // A person has to act (re-enroll): ask again rarely, never hammer.
                let cap = self.backoff.policy().cap;
                PlannedWait {
                    delay: Delay {
                        total: cap,
                        floor: cap,
                    },
                    probe: false,
                }
            }
            EngineError::Sync(sync) => PlannedWait {
                delay: self.backoff.next_delay(sync.retry_after()),
                probe: sync.is_network(),
            },
            _ => PlannedWait {
                delay: self.backoff.next_delay(None),
                probe: false,
            },
        }
    }

    /// Starts the wait after `err`: the one drawn when the failed items were put back (so
    /// their stored next-attempt time tells the truth), or a new one.
    fn wait_after(&mut self, err: &EngineError) -> Wait {
        let planned = match self.planned_wait.take() {
            Some(planned) => planned,
            None => self.plan_wait(err),
        };
        self.emit(SyncEvent::Waiting {
            error: err.to_string(),
            retry_in: planned.delay.total,
            probing: planned.probe,
        });
        let now = Instant::now();
        Wait {
            until: now + planned.delay.total,
            floor: now + planned.delay.floor,
            probe: planned.probe,
        }
    }

    /// Waits until `wait.until`, a wake-up after the floor, or (when probing) the first
    /// answer to a probe. Returns whether a probe ended it.
    async fn wait(&mut self, wait: Wait) -> bool {
        tokio::time::sleep_until(wait.floor).await;
        if !wait.probe {
            tokio::select! {
                () = tokio::time::sleep_until(wait.until) => {}
                () = self.wake.notified() => {}
            }
            return false;
        }
        loop {
            let period = self.config.probe_every / 2 + self.backoff.jitter(self.config.probe_every);
            let next_probe = (Instant::now() + period).min(wait.until);
            tokio::select! {
                () = tokio::time::sleep_until(next_probe) => {}
                () = self.wake.notified() => return false,
            }
            if Instant::now() >= wait.until {
                return false;
            }
            if self.client.probe().await {
                self.emit(SyncEvent::Reachable);
                return true;
            }
        }
    }

    /// Runs `operation` on the store on the blocking pool; the lock is held only inside.
    async fn with_store<R, F>(&self, operation: F) -> Result<R, EngineError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let mut store = store.lock().map_err(|_| EngineError::StorePoisoned)?;
            operation(&mut store).map_err(EngineError::Store)
        })
        .await
        .map_err(EngineError::Task)?
    }

    fn emit(&self, event: SyncEvent) {
        tracing::info!(event = %event, "sync");
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }
}

/// A refusal that needs a person; the engine keeps asking, rarely.
fn is_refusal(err: &EngineError) -> bool {
    matches!(
        err,
        EngineError::Sync(SyncError::Rejected { .. } | SyncError::Protocol { .. })
    )
}

fn receipt_of(receipts: &[(Uuid, String)], id: Uuid) -> String {
    receipts
        .iter()
        .find(|(known, _)| *known == id)
        .map_or_else(|| id.to_string(), |(_, receipt)| receipt.clone())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use ed25519_dalek::SigningKey;
    use sync_protocol::enroll::Village;
    use sync_protocol::submission::SubmissionKind;
    use tokio::sync::oneshot;

    use super::*;
    use crate::store::{Identity, NewSubmission, SubmissionState};
    use crate::sync::client::ClientConfig;
    use crate::sync::clock::ClockOffset;
    use crate::sync::stub_server::{Scripted, StubServer, StubState, unused_addr};

    /// Generous: only a broken engine takes this long.
    const CEILING: Duration = Duration::from_secs(60);

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[5u8; 32])
    }

    fn stub_state() -> Arc<StdMutex<StubState>> {
        Arc::new(StdMutex::new(StubState {
            key: Some(key().verifying_key()),
            ..StubState::default()
        }))
    }

    struct Booth {
        dir: tempfile::TempDir,
        store: Arc<Mutex<Store>>,
    }

    impl Booth {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(dir.path()).unwrap();
            store
                .set_identity(&Identity {
                    kiosk_id: "k-1".into(),
                    kiosk_number: 7,
                    village: Village {
                        county: "县".into(),
                        township: "乡".into(),
                        village: "村".into(),
                    },
                    server_url: "http://unused".into(),
                    server_id: "s-1".into(),
                    enrolled_at: chrono::Utc::now(),
                })
                .unwrap();
            Self {
                dir,
                store: Arc::new(Mutex::new(store)),
            }
        }

        /// Submits `count` complaints; returns their receipt numbers, oldest first.
        fn submit(&self, count: usize) -> Vec<String> {
            let mut store = self.store.lock().unwrap();
            (0..count)
                .map(|n| {
                    let mut new = NewSubmission::new(SubmissionKind::Complaint);
                    new.text = Some(format!("complaint {n}"));
                    store.submit(new).unwrap().number.to_string()
                })
                .collect()
        }

        fn engine(&self, url: &str, tune: impl FnOnce(&mut EngineConfig)) -> Engine {
            let offset = self.store.lock().unwrap().clock_offset_ms().unwrap();
            let client = Client::with_config(
                url,
                "k-1",
                key(),
                ClockOffset::new(offset),
                ClientConfig {
                    connect_timeout: Duration::from_secs(2),
                    request_timeout: Duration::from_secs(10),
                    probe_timeout: Duration::from_secs(2),
                },
            )
            .unwrap();
            let mut config = EngineConfig::new(self.dir.path());
            config.rng_seed = Some(42);
            config.resume_spread = Duration::from_millis(10);
            tune(&mut config);
            Engine::new(client, Arc::clone(&self.store), config)
        }

        fn state_of(&self, receipt: &str) -> SubmissionState {
            self.store
                .lock()
                .unwrap()
                .queue_item(receipt)
                .unwrap()
                .state
        }

        fn stats(&self) -> QueueStats {
            self.store
                .lock()
                .unwrap()
                .queue_stats(chrono::Utc::now())
                .unwrap()
        }
    }

    /// Runs an engine in the background until the returned sender is dropped or fired.
    fn spawn(
        engine: Engine,
    ) -> (
        oneshot::Sender<()>,
        tokio::task::JoinHandle<Result<(), EngineError>>,
    ) {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(engine.run(async {
            let _ = stopped.await;
        }));
        (stop, task)
    }

    /// An engine whose first pass (upload, feeds, heartbeat) is done and whose next poll,
    /// feed pull and heartbeat are an hour away: whatever it does next, a handle asked for.
    async fn start_idle(
        booth: &Booth,
        server: &StubServer,
    ) -> (
        EngineHandle,
        mpsc::UnboundedReceiver<SyncEvent>,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<Result<(), EngineError>>,
    ) {
        let (events, mut received) = mpsc::unbounded_channel();
        let engine = booth
            .engine(&server.url(), |config| {
                config.idle_poll = Duration::from_secs(3_600);
                config.heartbeat_every = Duration::from_secs(3_600);
                config.feeds_every = Duration::from_secs(3_600);
            })
            .with_events(events);
        let handle = engine.handle();
        let (stop, task) = spawn(engine);
        wait_for(&mut received, |e| {
            matches!(e, SyncEvent::HeartbeatSent { .. })
        })
        .await;
        (handle, received, stop, task)
    }

    async fn wait_for(
        events: &mut mpsc::UnboundedReceiver<SyncEvent>,
        what: impl Fn(&SyncEvent) -> bool,
    ) -> SyncEvent {
        tokio::time::timeout(CEILING, async {
            loop {
                let event = events.recv().await.expect("the engine stopped");
                if what(&event) {
                    return event;
                }
            }
        })
        .await
        .expect("the event did not come within the ceiling")
    }

    async fn until(mut done: impl FnMut() -> bool) {
        tokio::time::timeout(CEILING, async {
            while !done() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("not done within the ceiling");
    }

    #[test]
    fn events_read_as_one_line_each() {
        let lines: Vec<String> = [
            SyncEvent::Uploaded {
                accepted: 3,
                duplicates: 1,
            },
            SyncEvent::Quarantined {
                receipt_number: "007-00042-M".into(),
                reason: "receipt number does not carry sequence number 43".into(),
            },
            SyncEvent::FeedPulled {
                feed: Feed::Catalog,
                items: 12,
            },
            SyncEvent::Waiting {
                error: "cannot reach the county server at http://county: timed out; check the booth's network".into(),
                retry_in: Duration::from_secs(75),
                probing: true,
            },
            SyncEvent::Waiting {
                error: "the county server at http://county is busy or failing (HTTP 503)".into(),
                retry_in: Duration::from_millis(300),
                probing: false,
            },
            SyncEvent::ClockOffset { offset_ms: 1_500 },
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            lines,
            [
                "uploaded 4 (3 accepted, 1 already there)",
                "held back 007-00042-M: receipt number does not carry sequence number 43 (kiosk queue quarantined lists it)",
                "catalog +12",
                "cannot reach the county server at http://county: timed out; check the booth's network; next try in 1 min 15 s or as soon as the server answers",
                "the county server at http://county is busy or failing (HTTP 503); trying again at once",
                "clock offset +2 s",
            ]
        );
    }

    #[tokio::test]
    async fn per_item_outcomes_are_recorded_and_the_rest_of_the_queue_goes_on() {
        let booth = Booth::new();
        let receipts = booth.submit(5);
        let server = StubServer::start(stub_state()).await;
        server.state.lock().unwrap().invalid_receipts = vec![receipts[2].clone()];
        let mut engine = booth.engine(&server.url(), |config| config.batch_size = 2);
        let summary = engine.run_once().await.unwrap();
        assert_eq!(
            (
                summary.uploaded,
                summary.duplicates,
                summary.quarantined,
                summary.pending
            ),
            (4, 0, 1, 0),
            "{summary:?}"
        );
        assert!(summary.heartbeat_sent);
        for (n, receipt) in receipts.iter().enumerate() {
            let expected = if n == 2 {
                SubmissionState::Quarantined
            } else {
                SubmissionState::Acknowledged
            };
            assert_eq!(booth.state_of(receipt), expected, "{receipt}");
        }
        let held = booth.store.lock().unwrap().quarantined().unwrap();
        assert_eq!(held[0].last_error.as_deref(), Some("scripted invalid"));
        // Oldest first, in batches of two.
        let state = server.state.lock().unwrap();
        assert_eq!(state.received.len(), 5);
        let heartbeat = &state.heartbeats[0];
        assert_eq!((heartbeat.queue_depth, heartbeat.quarantined), (0, 1));
        assert_eq!(heartbeat.app_version, env!("CARGO_PKG_VERSION"));
        assert!(heartbeat.disk_free_bytes > 0 && heartbeat.uptime_s > 0);
    }

    #[tokio::test]
    async fn a_lost_acknowledgement_comes_back_as_a_duplicate_and_counts_as_delivered() {
        let booth = Booth::new();
        let receipts = booth.submit(2);
        let first_id = booth
            .store
            .lock()
            .unwrap()
            .queue_item(&receipts[0])
            .unwrap()
            .id;
        let server = StubServer::start(stub_state()).await;
        server.state.lock().unwrap().stored.push(first_id);
        let summary = booth
            .engine(&server.url(), |_| {})
            .run_once()
            .await
            .unwrap();
        assert_eq!((summary.uploaded, summary.duplicates), (1, 1));
        assert_eq!(booth.stats().acknowledged, 2);
    }

    #[tokio::test]
    async fn a_batch_too_large_is_split_until_the_one_item_at_fault_is_held_back() {
        let booth = Booth::new();
        let receipts = booth.submit(5);
        let server = StubServer::start(stub_state()).await;
        server.state.lock().unwrap().too_large_receipts = vec![receipts[3].clone()];
        let summary = booth
            .engine(&server.url(), |_| {})
            .run_once()
            .await
            .unwrap();
        assert_eq!(
            (summary.uploaded, summary.quarantined, summary.pending),
            (4, 1, 0)
        );
        assert_eq!(booth.state_of(&receipts[3]), SubmissionState::Quarantined);
    }

    #[tokio::test]
    async fn a_booth_two_days_behind_signs_with_server_time_and_stores_the_offset() {
        let booth = Booth::new();
        booth.submit(1);
        let state = stub_state();
        state.lock().unwrap().skew_secs = 2 * 86_400;
        let server = StubServer::start(state).await;
        let (events, mut received) = mpsc::unbounded_channel();
        let mut engine = booth.engine(&server.url(), |_| {}).with_events(events);
        let summary = engine.run_once().await.unwrap();
        assert_eq!(summary.uploaded, 1);
        let stored = booth.store.lock().unwrap().clock_offset_ms().unwrap();
        assert!((stored - 2 * 86_400_000).abs() < 5_000, "{stored}");
        assert_eq!(summary.clock_offset_ms, stored);
        let warning = wait_for(&mut received, |e| {
            matches!(e, SyncEvent::ClockOffset { .. })
        })
        .await;
        assert!(
            warning
                .to_string()
                .starts_with("the booth's clock is off by 2 days 0 h (behind"),
            "{warning}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_fails_once_and_keeps_everything() {
        let booth = Booth::new();
        let receipts = booth.submit(3);
        let mut engine = booth.engine(&format!("http://{}", unused_addr()), |_| {});
        let err = engine.run_once().await.unwrap_err();
        assert!(
            matches!(err, EngineError::Sync(ref sync) if sync.is_network()),
            "{err:?}"
        );
        let item = booth
            .store
            .lock()
            .unwrap()
            .queue_item(&receipts[0])
            .unwrap();
        assert_eq!(item.state, SubmissionState::Pending);
        assert_eq!(item.attempts, 1);
        assert!(
            item.last_error
                .unwrap()
                .starts_with("cannot reach the county server")
        );
        assert_eq!(booth.stats().depth(), 3);
    }

    #[tokio::test]
    async fn retry_after_is_never_cut_short() {
        let booth = Booth::new();
        booth.submit(1);
        let server = StubServer::start(stub_state()).await;
        server.script(
            sync_protocol::paths::SUBMISSIONS,
            Scripted::error(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
            )
            .with_header("retry-after", "2"),
        );
        let (events, mut received) = mpsc::unbounded_channel();
        let engine = booth
            .engine(&server.url(), |config| {
                // Without the floor the engine would retry within milliseconds.
                config.backoff.base = Duration::from_millis(1);
                config.backoff.cap = Duration::from_millis(5);
                config.probe_every = Duration::from_millis(50);
            })
            .with_events(events);
        let (stop, task) = spawn(engine);
        let waiting = wait_for(&mut received, |e| matches!(e, SyncEvent::Waiting { .. })).await;
        assert!(
            matches!(waiting, SyncEvent::Waiting { retry_in, probing: false, .. } if retry_in >= Duration::from_secs(2)),
            "{waiting:?}"
        );
        wait_for(&mut received, |e| matches!(e, SyncEvent::Uploaded { .. })).await;
        let _ = stop.send(());
        task.await.unwrap().unwrap();
        let state = server.state.lock().unwrap();
        let uploads: Vec<_> = state
            .requests
            .iter()
            .filter(|(_, path, _)| path == sync_protocol::paths::SUBMISSIONS)
            .map(|(_, _, at)| *at)
            .collect();
        assert_eq!(uploads.len(), 2);
        assert!(
            uploads[1] - uploads[0] >= Duration::from_secs(2),
            "{:?}",
            uploads[1] - uploads[0]
        );
    }

    #[tokio::test]
    async fn when_the_network_returns_the_engine_resumes_without_waiting_out_its_backoff() {
        let booth = Booth::new();
        let receipts = booth.submit(3);
        let addr = unused_addr();
        let (events, mut received) = mpsc::unbounded_channel();
        let engine = booth
            .engine(&format!("http://{addr}"), |config| {
                // A long backoff: only the probe can bring the engine back within the ceiling.
                config.backoff.base = Duration::from_secs(3_600);
                config.backoff.cap = Duration::from_secs(3_600);
                config.probe_every = Duration::from_millis(100);
            })
            .with_events(events);
        let (stop, task) = spawn(engine);
        let waiting = wait_for(&mut received, |e| matches!(e, SyncEvent::Waiting { .. })).await;
        assert!(
            matches!(waiting, SyncEvent::Waiting { retry_in, probing: true, .. } if retry_in > 2 * CEILING),
            "the seed must give a wait far beyond the ceiling: {waiting:?}"
        );
        assert!(
            waiting
                .to_string()
                .contains("or as soon as the server answers"),
            "{waiting}"
        );

        let server = StubServer::start_at(addr, stub_state()).await;
        wait_for(&mut received, |e| *e == SyncEvent::Reachable).await;
        until(|| booth.stats().acknowledged == 3).await;
        for receipt in &receipts {
            assert_eq!(booth.state_of(receipt), SubmissionState::Acknowledged);
        }
        let _ = stop.send(());
        task.await.unwrap().unwrap();
        assert_eq!(server.state.lock().unwrap().received.len(), 3);
        server.stop().await;
    }

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

    #[tokio::test]
    async fn a_revoked_booth_says_so_and_keeps_its_queue() {
        let booth = Booth::new();
        booth.submit(1);
        let server = StubServer::start(stub_state()).await;
        server.script(
            sync_protocol::paths::SUBMISSIONS,
            Scripted::error(axum::http::StatusCode::FORBIDDEN, ErrorCode::KioskRevoked),
        );
        let err = booth
            .engine(&server.url(), |_| {})
            .run_once()
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("this booth was revoked by the county: re-enroll it"),
            "{err}"
        );
        assert_eq!(booth.stats().pending, 1);
    }
}
