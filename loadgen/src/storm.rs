//! The reconnect storm: the county's network was down for a day, every booth queued its
//! villagers' submissions, and the network returns for all of them at the same instant.
//!
//! Each booth behaves as `kiosk-core`'s engine does after an outage (`sync/engine/wait.rs`):
//! it had been probing `/healthz`, so it notices the server at once, waits a random spread
//! (2 booth-seconds), then uploads its queue, pulls the feeds and sends its heartbeat. A
//! failure is waited out with full-jitter exponential backoff, never shorter than the
//! server's `Retry-After`; after a failure to connect it probes `/healthz` every 5
//! booth-seconds and resumes (after the spread) at the first answer. The storm ends when every
//! booth has drained its queue and finished its pass, or at the time limit.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use crate::api::CallError;
use crate::backoff::{self, Backoff, Policy};
use crate::booth::{Booth, Fleet};
use crate::recorder::{Failure, Recorder};
use crate::submissions::OutOfReceipts;
use crate::target::Target;

/// The engine's probe period while the server is away.
const PROBE_EVERY: Duration = Duration::from_secs(5);
/// The engine's random spread before resuming.
const RESUME_SPREAD: Duration = Duration::from_secs(2);
/// How far back the queued submissions were handed in: a day.
const OUTAGE: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Copy)]
pub struct StormConfig {
    /// The longest the storm may take before it is called undrained.
    pub limit: Duration,
    pub compress: f64,
    pub backoff: Policy,
    pub seed: u64,
}

/// How the storm went.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StormOutcome {
    /// From the network's return until every booth finished or stopped at the limit.
    pub elapsed_s: f64,
    /// From the network's return to the last queue acknowledged.
    pub drain_s: f64,
    /// From the network's return to the last booth's pass finished (feeds, heartbeat).
    pub complete_s: f64,
    pub drained: bool,
    pub booths_done: u64,
    pub left_queued: u64,
    /// Attempts that failed and were waited out, summed over booths.
    pub retries: u64,
    pub capped: bool,
}

/// Fills every booth's queue with `per_booth` submissions handed in over the past day, oldest
/// first, on the blocking pool (sealing each is the booth's slowest step, and 280,000 of them
/// take both cores for a while).
pub async fn queue_a_day(
    fleet: &Arc<Fleet>,
    booths: Vec<Booth>,
    per_booth: usize,
    seed: u64,
) -> Result<Vec<Booth>, OutOfReceipts> {
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let chunk = booths.len().div_ceil(workers).max(1);
    let mut chunks = Vec::new();
    let mut rest = booths;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|mut chunk| {
            let fleet = Arc::clone(fleet);
            tokio::task::spawn_blocking(move || {
                let now = Utc::now();
                for booth in &mut chunk {
                    let mut rng = fastrand::Rng::with_seed(seed ^ u64::from(booth.identity.index));
                    let mut ago: Vec<Duration> = (0..per_booth)
                        .map(|_| backoff::up_to(&mut rng, OUTAGE))
                        .collect();
                    ago.sort_unstable_by(|a, b| b.cmp(a));
                    for ago in ago {
                        let created = now - chrono::Duration::from_std(ago).unwrap_or_default();
                        booth.hand_in(&fleet, &mut rng, created)?;
                    }
                }
                Ok(chunk)
            })
        })
        .collect();
    let mut ready = Vec::new();
    for task in tasks {
        let chunk = task
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        ready.extend(chunk);
    }
    Ok(ready)
}

/// What one booth's storm came to, from the network's return.
#[derive(Debug, Clone, Copy, Default)]
struct BoothStorm {
    drained_at: Option<Duration>,
    done_at: Option<Duration>,
    left: u64,
    retries: u64,
    capped: bool,
}

/// Every booth returns at once; waits until all are done or `config.limit` passed.
pub async fn run(
    fleet: Arc<Fleet>,
    booths: Vec<Booth>,
    config: StormConfig,
    recorder: Arc<Recorder>,
) -> StormOutcome {
    let returned = Instant::now();
    let deadline = returned + config.limit;
    let tasks: Vec<_> = booths
        .into_iter()
        .map(|mut booth| {
            let fleet = Arc::clone(&fleet);
            let recorder = Arc::clone(&recorder);
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(
                    config.seed
                        ^ u64::from(booth.identity.index).wrapping_mul(0xA076_1D64_78BD_642F),
                );
                let mut storm = Storming {
                    fleet: &fleet,
                    recorder: &recorder,
                    rng: &mut rng,
                    backoff: Backoff::new(config.backoff.compressed(config.compress)),
                    compress: config.compress,
                    deadline,
                    retries: 0,
                };
                let outcome = storm.one(&mut booth, returned).await;
                BoothStorm {
                    left: booth.queued() as u64,
                    retries: storm.retries,
                    ..outcome
                }
            })
        })
        .collect();
    let mut outcome = StormOutcome {
        elapsed_s: 0.0,
        drain_s: 0.0,
        complete_s: 0.0,
        drained: true,
        booths_done: 0,
        left_queued: 0,
        retries: 0,
        capped: false,
    };
    for task in tasks {
        let booth = task
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        match booth.drained_at {
            Some(at) => outcome.drain_s = outcome.drain_s.max(at.as_secs_f64()),
            None => outcome.drained = false,
        }
        if let Some(at) = booth.done_at {
            outcome.complete_s = outcome.complete_s.max(at.as_secs_f64());
            outcome.booths_done += 1;
        }
        outcome.left_queued += booth.left;
        outcome.retries += booth.retries;
        outcome.capped |= booth.capped;
    }
    outcome.drained &= outcome.left_queued == 0;
    outcome.elapsed_s = returned.elapsed().as_secs_f64();
    outcome
}

/// One booth's way through the storm.
struct Storming<'a> {
    fleet: &'a Fleet,
    recorder: &'a Recorder,
    rng: &'a mut fastrand::Rng,
    backoff: Backoff,
    compress: f64,
    deadline: Instant,
    retries: u64,
}

/// The storm's time limit passed, or the request cap: the booth stops where it is.
struct Stopped {
    capped: bool,
}

impl Storming<'_> {
    fn booth_time(&self, booth: Duration) -> Duration {
        booth.div_f64(self.compress.max(1.0))
    }

    async fn one(&mut self, booth: &mut Booth, returned: Instant) -> BoothStorm {
        let mut outcome = BoothStorm::default();
        let target = self.fleet.api.target_for(&booth.identity).clone();
        let result = async {
            self.until_answered(&target).await?;
            let spread = backoff::up_to(self.rng, self.booth_time(RESUME_SPREAD));
            self.sleep(spread).await?;
            loop {
                match booth.upload(self.fleet, self.recorder).await {
                    Ok(()) => break,
                    Err(error) => self.wait_out(&error, &target).await?,
                }
            }
            outcome.drained_at = Some(returned.elapsed());
            self.backoff.reset();
            loop {
                let pass = async {
                    booth.pull_feeds(self.fleet, self.recorder).await?;
                    booth.heartbeat(self.fleet, self.recorder).await
                };
                match pass.await {
                    Ok(()) => break,
                    Err(error) => self.wait_out(&error, &target).await?,
                }
            }
            outcome.done_at = Some(returned.elapsed());
            Ok::<_, Stopped>(())
        }
        .await;
        if let Err(stopped) = result {
            outcome.capped = stopped.capped;
        }
        outcome
    }

    /// Sleeps `wait`, or stops at the deadline.
    async fn sleep(&self, wait: Duration) -> Result<(), Stopped> {
        let until = Instant::now() + wait;
        if until >= self.deadline {
            tokio::time::sleep_until(self.deadline).await;
            return Err(Stopped { capped: false });
        }
        tokio::time::sleep_until(until).await;
        Ok(())
    }

    /// Probes `/healthz` until it answers.
    async fn until_answered(&mut self, target: &Target) -> Result<(), Stopped> {
        loop {
            match self.fleet.api.probe(self.recorder, target).await {
                Ok(()) => return Ok(()),
                Err(CallError::Capped(_)) => return Err(Stopped { capped: true }),
                Err(CallError::Failed(_)) => self.sleep(self.booth_time(PROBE_EVERY)).await?,
            }
        }
    }

    /// The wait after a failed step: backoff floored by `Retry-After`; after a failure to
    /// reach the server, cut short by the first probe that answers (then the spread).
    async fn wait_out(&mut self, error: &CallError, target: &Target) -> Result<(), Stopped> {
        let failure = match error {
            CallError::Capped(_) => return Err(Stopped { capped: true }),
            CallError::Failed(failure) => failure,
        };
        self.retries += 1;
        let wait = self.backoff.next_delay(self.rng, failure.retry_after());
        if !matches!(failure, Failure::Transport(_)) {
            return self.sleep(wait).await;
        }
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            self.sleep(left.min(self.booth_time(PROBE_EVERY))).await?;
            if Instant::now() >= until {
                return Ok(());
            }
            match self.fleet.api.probe(self.recorder, target).await {
                Ok(()) => {
                    let spread = backoff::up_to(self.rng, self.booth_time(RESUME_SPREAD));
                    return self.sleep(spread).await;
                }
                Err(CallError::Capped(_)) => return Err(Stopped { capped: true }),
                Err(CallError::Failed(_)) => {}
            }
        }
    }
}
