//! The steady state: every booth does what a booth does all day, on booth time. Once a
//! booth-minute it pulls the feeds and sends its heartbeat (the engine's `feeds_every` and
//! `heartbeat_every`); villagers hand in about `per_day` submissions a day on the day's
//! profile, each uploaded at once (the app wakes the engine). Booths start spread over the
//! first minute, as a fleet that has been running is.
//!
//! After `duration` the booths stop handing in and ticking, and drain what they still hold
//! (recorded apart, so the figures are the steady state's), for at most `drain_timeout`: only
//! then can exactly-once be checked.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use crate::api::CallError;
use crate::backoff::{self, Backoff, Policy};
use crate::booth::{Booth, Fleet};
use crate::clock::{BoothClock, DayProfile};
use crate::recorder::Recorder;

/// A booth-minute: the engine's heartbeat and feed period.
const TICK: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub struct SteadyConfig {
    pub duration: Duration,
    pub compress: f64,
    pub per_day: f64,
    pub start_hour: f64,
    pub drain_timeout: Duration,
    pub seed: u64,
    pub backoff: Policy,
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SteadyOutcome {
    /// The measured window: from the start to the end of the booths' schedule.
    pub window_s: f64,
    /// How long draining what was queued at the end took.
    pub drain_s: f64,
    /// Submissions still queued after the drain (0 unless the server kept failing).
    pub left_queued: u64,
    /// A booth stopped early because the run's request cap was reached.
    pub capped: bool,
}

/// Runs `booths` for `config.duration`, then drains them.
pub async fn run(
    fleet: Arc<Fleet>,
    booths: Vec<Booth>,
    config: SteadyConfig,
    load: Arc<Recorder>,
    drain: Arc<Recorder>,
) -> SteadyOutcome {
    let clock = BoothClock::new(config.start_hour, config.compress);
    let started = Instant::now();
    let deadline = started + config.duration;
    let drain_deadline = deadline + config.drain_timeout;
    let tasks: Vec<_> = booths
        .into_iter()
        .map(|booth| {
            let fleet = Arc::clone(&fleet);
            let load = Arc::clone(&load);
            let drain = Arc::clone(&drain);
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(
                    config.seed
                        ^ u64::from(booth.identity.index).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                let mut booth = booth;
                let capped = live(
                    &fleet, &mut booth, &mut rng, &clock, &config, deadline, &load,
                )
                .await;
                let drained_at = drain_queue(
                    &fleet,
                    &mut booth,
                    &mut rng,
                    config.backoff.compressed(config.compress),
                    drain_deadline,
                    &drain,
                )
                .await;
                (booth.queued() as u64, capped, drained_at)
            })
        })
        .collect();
    let mut outcome = SteadyOutcome {
        window_s: config.duration.as_secs_f64(),
        drain_s: 0.0,
        left_queued: 0,
        capped: false,
    };
    for task in tasks {
        // A booth task only ends by returning; a panic in one is a bug worth seeing.
        let (left, capped, drained_at) = task
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        outcome.left_queued += left;
        outcome.capped |= capped;
        outcome.drain_s = outcome
            .drain_s
            .max(drained_at.saturating_duration_since(deadline).as_secs_f64());
    }
    outcome
}

/// The booth's day until `deadline`; `true` if it stopped at the request cap.
async fn live(
    fleet: &Fleet,
    booth: &mut Booth,
    rng: &mut fastrand::Rng,
    clock: &BoothClock,
    config: &SteadyConfig,
    deadline: Instant,
    recorder: &Recorder,
) -> bool {
    let profile = DayProfile::new(config.per_day);
    let period = clock.real(TICK);
    let mut backoff = Backoff::new(config.backoff.compressed(config.compress));
    let mut next_tick = Instant::now() + backoff::up_to(rng, period);
    let mut next_hand_in = profile
        .next_after(rng, clock.booth_seconds(Instant::now()))
        .map(|at| clock.instant_of(at));
    // The tick whose feeds and heartbeat are still to be done, and when it fell due.
    let mut due_since: Option<Instant> = None;
    let mut retry_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        while let Some(at) = next_hand_in.filter(|at| *at <= now) {
            if booth.hand_in(fleet, rng, Utc::now()).is_err() {
                // Out of receipt numbers: this booth stops handing in, like a full roll.
                next_hand_in = None;
                break;
            }
            next_hand_in = profile
                .next_after(rng, clock.booth_seconds(at))
                .map(|next| clock.instant_of(next));
        }
        if now >= next_tick {
            due_since.get_or_insert(next_tick);
            next_tick += period;
            if next_tick <= now {
                // Missed ticks are not made up, as the engine schedules from its last pass.
                next_tick = now + period;
            }
        }
        let work = due_since.is_some() || booth.queued() > 0;
        if work && retry_at.is_none_or(|at| now >= at) {
            if let (Some(due), None) = (due_since, retry_at) {
                recorder.lagged(now.saturating_duration_since(due));
            }
            match booth.pass(fleet, recorder, due_since.is_some()).await {
                Ok(()) => {
                    backoff.reset();
                    retry_at = None;
                    due_since = None;
                }
                Err(CallError::Capped(_)) => return true,
                Err(CallError::Failed(failure)) => {
                    retry_at =
                        Some(Instant::now() + backoff.next_delay(rng, failure.retry_after()));
                }
            }
            continue;
        }
        let mut wake = next_tick.min(deadline);
        if let Some(at) = next_hand_in {
            wake = wake.min(at);
        }
        if let Some(at) = retry_at.filter(|_| work) {
            wake = wake.min(at);
        }
        tokio::time::sleep_until(wake).await;
    }
}

/// Uploads what is still queued, backing off on failures, until empty or `until`; returns
/// when it ended.
pub async fn drain_queue(
    fleet: &Fleet,
    booth: &mut Booth,
    rng: &mut fastrand::Rng,
    policy: Policy,
    until: Instant,
    recorder: &Recorder,
) -> Instant {
    let mut backoff = Backoff::new(policy);
    while booth.queued() > 0 && Instant::now() < until {
        match booth.upload(fleet, recorder).await {
            Ok(()) | Err(CallError::Capped(_)) => break,
            Err(CallError::Failed(failure)) => {
                let wait = backoff.next_delay(rng, failure.retry_after());
                tokio::time::sleep_until((Instant::now() + wait).min(until)).await;
            }
        }
    }
    Instant::now()
}
