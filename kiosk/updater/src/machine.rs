//! The rules of a trial, and what `recover` does with each step an install can be stopped
//! at: pure functions over the state, so every transition is tested without files or
//! systemd.
//!
//! ```text
//!  request ─► verify ─refused─► (idle; last = failed/verify)
//!               │
//!            staging ─► stopping ─► backing_up ─► switching ─► trial ─► (installed)
//!               └──────── power cut: undone ─────────┘  │         │
//!                                      (switch done: finished)    └─► rolling_back ─► (rolled_back)
//! ```
//!
//! On trial, a release must start and stay up: `start-attempt` (each start of the kiosk)
//! counts the starts since it was last seen READY and rolls back at the
//! [`MAX_STARTS`]+1st. Once READY, `check` (every minute) runs its clock only while the
//! network is known up, i.e. the server answered its heartbeats but did not acknowledge
//! them; after [`NETWORK_UP_BOUND_SECS`] of that it rolls back. A release that cannot reach
//! the network stays on trial, without a rollback, until the network returns.

use booth_release::SchemaRange;
use kiosk_core::update::{FailureStage, HeartbeatClass};

use crate::state::{Install, Phase, Trial};

/// Starts of a release on trial without it being seen READY before it is rolled back.
pub const MAX_STARTS: u32 = 3;
/// How often `check` runs (booth-update-check.timer).
pub const CHECK_EVERY_SECS: u64 = 60;
/// The most one `check` adds to the trial's clocks, whatever the booth's clock did between
/// two checks (it may jump after a power cut or a time sync).
pub const MAX_CHECK_STEP_SECS: u64 = 2 * CHECK_EVERY_SECS;
/// Network-up time a READY release has to get a heartbeat acknowledged.
pub const NETWORK_UP_BOUND_SECS: u64 = 600;

/// What to do with a start of the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartDecision {
    Run,
    RollBack { stage: FailureStage, reason: String },
}

/// Counts a start of a release on trial.
pub fn on_start(trial: &mut Trial) -> StartDecision {
    if trial.starts >= MAX_STARTS {
        let (stage, seen) = if trial.ready_seen {
            (FailureStage::Ready, "after it was READY")
        } else {
            (FailureStage::Start, "without reaching READY")
        };
        return StartDecision::RollBack {
            stage,
            reason: format!(
                "it stopped {} times {seen} (crashed, or not READY within TimeoutStartSec)",
                trial.starts
            ),
        };
    }
    trial.starts += 1;
    StartDecision::Run
}

/// What `check` saw of the running release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The kiosk unit is active: with `Type=notify`, it sent READY.
    pub active: bool,
    /// Its last heartbeat's outcome, if it reported one since the switch.
    pub heartbeat: Option<(HeartbeatClass, String)>,
    /// The booth's clock now.
    pub now_unix: u64,
}

/// What `check` decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckDecision {
    /// Keep judging.
    Wait,
    /// READY and a heartbeat acknowledged: keep the release.
    Confirm,
    RollBack {
        stage: FailureStage,
        reason: String,
    },
}

/// Advances the trial's clocks by what was seen since the last check.
pub fn on_check(trial: &mut Trial, seen: &Observation) -> CheckDecision {
    let step = trial.last_check_unix.map_or(0, |last| {
        seen.now_unix.saturating_sub(last).min(MAX_CHECK_STEP_SECS)
    });
    trial.last_check_unix = Some(seen.now_unix);
    if !seen.active {
        // Starting or restarting: `start-attempt` judges those.
        return CheckDecision::Wait;
    }
    trial.ready_seen = true;
    trial.starts = 0;
    trial.ready_secs += step;
    match &seen.heartbeat {
        Some((HeartbeatClass::Acknowledged, _)) => CheckDecision::Confirm,
        Some((HeartbeatClass::Refused, detail)) => {
            trial.network_up_secs += step;
            if trial.network_up_secs >= NETWORK_UP_BOUND_SECS {
                CheckDecision::RollBack {
                    stage: FailureStage::Heartbeat,
                    reason: format!(
                        "the county server refused its heartbeats for {} s while the network was up: {detail}",
                        trial.network_up_secs
                    ),
                }
            } else {
                CheckDecision::Wait
            }
        }
        // The network is down (or nothing was sent yet): not the release's fault.
        Some((HeartbeatClass::Unreachable, _)) | None => CheckDecision::Wait,
    }
}

/// Whether a rollback to a release that reads `previous_reads` must restore the store
/// backup: only when the store is at a schema that release cannot read. The install policy
/// lets a release migrate only to a schema its predecessor reads, so this happens only when
/// a release migrated beyond what its signed manifest said.
pub fn restore_needed(schema_on_disk: Option<u32>, previous_reads: SchemaRange) -> bool {
    schema_on_disk.is_some_and(|schema| !previous_reads.contains(schema))
}

/// What `recover` does with an install found in the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoverPlan {
    /// Nothing half-done (on trial: the trial goes on).
    Nothing,
    /// Stopped before the switch: remove what was staged; the booth runs what it ran, and
    /// the store was never touched (the backup is a copy).
    Undo,
    /// Stopped after `current` was switched: the release is on trial.
    FinishSwitch,
    /// Stopped during a rollback: do it again (each of its steps can be repeated).
    FinishRollback,
}

/// `current` is the name `releases/current` points at, if anything.
pub fn recover_plan(install: &Install, current: Option<&str>) -> RecoverPlan {
    match install.phase {
        Phase::Staging | Phase::Stopping | Phase::BackingUp => RecoverPlan::Undo,
        Phase::Switching if current == Some(install.version.to_string().as_str()) => {
            RecoverPlan::FinishSwitch
        }
        Phase::Switching => RecoverPlan::Undo,
        Phase::Trial => RecoverPlan::Nothing,
        Phase::RollingBack => RecoverPlan::FinishRollback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ReleaseRef;

    fn seen(active: bool, heartbeat: Option<HeartbeatClass>, now_unix: u64) -> Observation {
        Observation {
            active,
            heartbeat: heartbeat.map(|class| (class, "HTTP 401: bad signature".to_owned())),
            now_unix,
        }
    }

    #[test]
    fn a_release_that_never_gets_ready_is_rolled_back_at_the_fourth_start() {
        let mut trial = Trial::default();
        for start in 1..=MAX_STARTS {
            assert_eq!(on_start(&mut trial), StartDecision::Run, "start {start}");
        }
        let StartDecision::RollBack { stage, reason } = on_start(&mut trial) else {
            panic!("rolled back");
        };
        assert_eq!(stage, FailureStage::Start);
        assert!(
            reason.contains("3 times without reaching READY"),
            "{reason}"
        );
    }

    #[test]
    fn being_seen_ready_resets_the_start_count_and_names_the_stage() {
        let mut trial = Trial::default();
        on_start(&mut trial);
        on_start(&mut trial);
        assert_eq!(
            on_check(&mut trial, &seen(true, None, 100)),
            CheckDecision::Wait
        );
        assert_eq!(trial.starts, 0);
        for _ in 0..MAX_STARTS {
            assert_eq!(on_start(&mut trial), StartDecision::Run);
        }
        assert!(matches!(
            on_start(&mut trial),
            StartDecision::RollBack {
                stage: FailureStage::Ready,
                ..
            }
        ));
    }

    #[test]
    fn the_trial_clock_runs_only_while_the_server_answers() {
        let mut trial = Trial::default();
        let mut now = 1_000;
        assert_eq!(
            on_check(&mut trial, &seen(true, None, now)),
            CheckDecision::Wait
        );
        // An hour without a network: the clock waits.
        for _ in 0..60 {
            now += 60;
            let decision = on_check(
                &mut trial,
                &seen(true, Some(HeartbeatClass::Unreachable), now),
            );
            assert_eq!(decision, CheckDecision::Wait);
        }
        assert_eq!((trial.network_up_secs, trial.ready_secs), (0, 3600));
        // The server answers and refuses: ten minutes of that and the release goes.
        for minute in 1..=10 {
            now += 60;
            let decision = on_check(&mut trial, &seen(true, Some(HeartbeatClass::Refused), now));
            if minute < 10 {
                assert_eq!(decision, CheckDecision::Wait, "minute {minute}");
            } else {
                let CheckDecision::RollBack { stage, reason } = decision else {
                    panic!("rolled back at minute 10");
                };
                assert_eq!(stage, FailureStage::Heartbeat);
                assert!(
                    reason.contains("600 s") && reason.contains("bad signature"),
                    "{reason}"
                );
            }
        }
    }

    #[test]
    fn clock_jumps_count_at_most_two_minutes_and_backwards_not_at_all() {
        let mut trial = Trial::default();
        on_check(
            &mut trial,
            &seen(true, Some(HeartbeatClass::Refused), 1_000),
        );
        on_check(
            &mut trial,
            &seen(true, Some(HeartbeatClass::Refused), 1_000 + 86_400),
        );
        assert_eq!(trial.network_up_secs, MAX_CHECK_STEP_SECS);
        on_check(&mut trial, &seen(true, Some(HeartbeatClass::Refused), 500));
        assert_eq!(trial.network_up_secs, MAX_CHECK_STEP_SECS);
        // Not READY: no clock, no verdict.
        on_check(&mut trial, &seen(false, Some(HeartbeatClass::Refused), 560));
        assert_eq!(trial.network_up_secs, MAX_CHECK_STEP_SECS);
    }

    #[test]
    fn ready_and_an_acknowledged_heartbeat_confirm() {
        let mut trial = Trial::default();
        assert_eq!(
            on_check(
                &mut trial,
                &seen(true, Some(HeartbeatClass::Acknowledged), 10)
            ),
            CheckDecision::Confirm
        );
        assert_eq!(
            on_check(
                &mut trial,
                &seen(false, Some(HeartbeatClass::Acknowledged), 20)
            ),
            CheckDecision::Wait,
            "not READY now"
        );
    }

    #[test]
    fn the_store_is_restored_only_when_the_previous_release_cannot_read_it() {
        let reads = SchemaRange::new(4, 5).unwrap();
        assert!(!restore_needed(Some(5), reads));
        assert!(!restore_needed(Some(4), reads));
        assert!(restore_needed(Some(6), reads));
        assert!(!restore_needed(None, reads));
    }

    #[test]
    fn recovery_undoes_before_the_switch_and_finishes_after_it() {
        let mut install = Install {
            version: "1.3.0".parse().unwrap(),
            from: ReleaseRef::Factory,
            bundle: String::new(),
            phase: Phase::Staging,
            trial: Trial::default(),
            rollback: None,
        };
        for (phase, current, plan) in [
            (Phase::Staging, None, RecoverPlan::Undo),
            (Phase::Stopping, None, RecoverPlan::Undo),
            (Phase::BackingUp, Some("factory"), RecoverPlan::Undo),
            (Phase::Switching, Some("factory"), RecoverPlan::Undo),
            (Phase::Switching, None, RecoverPlan::Undo),
            (Phase::Switching, Some("1.3.0"), RecoverPlan::FinishSwitch),
            (Phase::Trial, Some("1.3.0"), RecoverPlan::Nothing),
            (
                Phase::RollingBack,
                Some("1.3.0"),
                RecoverPlan::FinishRollback,
            ),
            (
                Phase::RollingBack,
                Some("factory"),
                RecoverPlan::FinishRollback,
            ),
        ] {
            install.phase = phase;
            assert_eq!(
                recover_plan(&install, current),
                plan,
                "{phase:?} {current:?}"
            );
        }
    }
}
