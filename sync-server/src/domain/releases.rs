//! Rollouts of booth releases: which booths a rollout includes, which release each booth is
//! told to run, how far a rollout got, and when it pauses itself. Pure functions over the
//! rollouts, the kiosk records and their last heartbeats, so the rules are tested alone and
//! every backend and page applies the same ones.
//!
//! The rules:
//! - **Who is in a rollout**: the booths whose kiosk number falls in its percentage, plus every
//!   booth in one of its townships or villages, plus the booths it names. The percentage picks
//!   booths by [`bucket`], a hash of the rollout's id and the kiosk number: each booth gets a
//!   fixed place in 0..10 000 per rollout, so widening 10 % → 30 % keeps the first 10 % and adds
//!   others, and two rollouts pick different booths first. The kiosk number, not the kiosk id:
//!   a booth that re-enrolls (new id, same number) stays where it was in a rollout.
//! - **A booth's target** ([`target_for`]): the newest rollout that includes it and is active
//!   or completed; a paused one only for booths that already started it (no new booth starts,
//!   one half-way is not left stranded); a stopped one for nobody. No rollout: no target, and
//!   the booth keeps what it runs.
//! - **Started, failed, installed** ([`BoothProgress`]) are read from the booth's last
//!   update report against the rollout's version.
//! - **Automatic pause** ([`verdict`]): an active rollout pauses itself when more than its
//!   failure threshold of the booths that started it failed, once at least
//!   `max(3, ⌈10 % of started⌉)` failed. Three, because one or two booths failing is what a
//!   power cut or a full disk at the wrong moment does to any release; the ratio of a handful
//!   of booths says nothing until a third one fails the same way. And 10 % of the started
//!   booths, because a threshold set very low (say 2 %) must not pause a large rollout on the
//!   noise of a few booths: below 10 % the floor is what decides.
//!   A rollout to fewer booths than that (a pilot on one or two booths) pauses when every
//!   booth it includes failed: no third failure can come, and its booths are told to retry
//!   nothing (a rolled-back release is never installed again).
//! - **Completed**: an active rollout every one of whose booths (at least one) runs its
//!   version. It keeps giving its target, so a booth enrolled later in a targeted village
//!   still gets it.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use booth_release::Version;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sync_protocol::enroll::Village;
use sync_protocol::release::UpdateReport;

use super::fleet::KioskRecord;

/// A rollout's default failure threshold, percent of the booths that started it.
pub const DEFAULT_FAILURE_THRESHOLD: u8 = 20;
/// The fewest failed booths that can pause a rollout, whatever the ratio.
pub const MIN_FAILED_TO_PAUSE: u64 = 3;
/// Buckets of the percentage selection: 0.01 % each.
const BUCKETS: u32 = 10_000;

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RolloutState {
    Active,
    /// No new booth starts; booths that started keep their target.
    Paused,
    /// No booth has this target any more.
    Stopped,
    /// Every booth it includes runs the version; it still gives its target.
    Completed,
}

impl RolloutState {
    pub const ALL: [Self; 4] = [Self::Active, Self::Paused, Self::Stopped, Self::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
            Self::Completed => "completed",
        }
    }
}

impl fmt::Display for RolloutState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RolloutState {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not a rollout state"))
    }
}

/// Which booths a rollout includes: the union of all four.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutTargets {
    /// Of every booth, 0 to 100.
    pub percent: u8,
    /// `county/township`, as scopes are written.
    pub townships: BTreeSet<String>,
    /// `county/township/village`.
    pub villages: BTreeSet<String>,
    /// Kiosk numbers.
    pub booths: BTreeSet<u32>,
}

impl RolloutTargets {
    /// Whether the booth numbered `kiosk_number` in `village` is in rollout `rollout_id`.
    pub fn includes(&self, rollout_id: i64, kiosk_number: u32, village: &Village) -> bool {
        let township = format!("{}/{}", village.county, village.township);
        let path = format!("{township}/{}", village.village);
        bucket(rollout_id, kiosk_number) < u32::from(self.percent.min(100)) * (BUCKETS / 100)
            || self.townships.contains(&township)
            || self.villages.contains(&path)
            || self.booths.contains(&kiosk_number)
    }

    /// Whether these targets include everything `before` did (a widening never drops a booth).
    pub fn covers(&self, before: &Self) -> bool {
        self.percent >= before.percent
            && self.townships.is_superset(&before.townships)
            && self.villages.is_superset(&before.villages)
            && self.booths.is_superset(&before.booths)
    }

    /// These targets with `more` added: the larger percentage, every place and booth of both.
    pub fn widened(&self, more: &Self) -> Self {
        Self {
            percent: self.percent.max(more.percent),
            townships: self.townships.union(&more.townships).cloned().collect(),
            villages: self.villages.union(&more.villages).cloned().collect(),
            booths: self.booths.union(&more.booths).copied().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.percent == 0
            && self.townships.is_empty()
            && self.villages.is_empty()
            && self.booths.is_empty()
    }
}

impl fmt::Display for RolloutTargets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.percent > 0 {
            parts.push(format!("{} %", self.percent));
        }
        parts.extend(self.townships.iter().cloned());
        parts.extend(self.villages.iter().cloned());
        parts.extend(self.booths.iter().map(|n| format!("#{n}")));
        if parts.is_empty() {
            f.write_str("nobody")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Why a rollout's targets, as typed on the page or the command line, are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetsError {
    #[error("`{0}` is not a percentage: give a whole number from 0 to 100")]
    Percent(String),
    #[error("`{0}` is not a failure threshold: give a whole number of percent from 0 to 100")]
    Threshold(String),
    #[error("`{text}` is not a {what}: write it as {shape}")]
    Place {
        text: String,
        what: &'static str,
        shape: &'static str,
    },
    #[error("`{0}` is not a booth number: give numbers like 7 or #7")]
    Booth(String),
    #[error("more than {max} {what} in one rollout: name fewer, or use a percentage")]
    TooMany { what: &'static str, max: usize },
}

/// The entries of a list typed one a line or separated by commas.
fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', ',', '，', ';', '；'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

fn places(
    text: &str,
    parts: usize,
    what: &'static str,
    shape: &'static str,
) -> Result<BTreeSet<String>, TargetsError> {
    let mut found = BTreeSet::new();
    for entry in entries(text) {
        let names: Vec<&str> = entry.split('/').map(str::trim).collect();
        let fits = names.len() == parts
            && names
                .iter()
                .all(|name| !name.is_empty() && name.chars().count() <= super::limits::PLACE_NAME);
        if !fits {
            return Err(TargetsError::Place {
                text: super::limits::clip(entry, super::limits::SCOPE).into_owned(),
                what,
                shape,
            });
        }
        found.insert(names.join("/"));
        if found.len() > super::limits::ROLLOUT_TARGETS {
            return Err(TargetsError::TooMany {
                what,
                max: super::limits::ROLLOUT_TARGETS,
            });
        }
    }
    Ok(found)
}

/// A percentage as typed; empty is 0.
pub fn parse_percent(text: &str) -> Result<u8, TargetsError> {
    let text = text.trim().trim_end_matches('%').trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<u8>()
        .ok()
        .filter(|percent| *percent <= 100)
        .ok_or_else(|| TargetsError::Percent(super::limits::clip(text, 20).into_owned()))
}

/// A failure threshold as typed; empty is [`DEFAULT_FAILURE_THRESHOLD`].
pub fn parse_threshold(text: &str) -> Result<u8, TargetsError> {
    let text = text.trim().trim_end_matches('%').trim();
    if text.is_empty() {
        return Ok(DEFAULT_FAILURE_THRESHOLD);
    }
    text.parse::<u8>()
        .ok()
        .filter(|percent| *percent <= 100)
        .ok_or_else(|| TargetsError::Threshold(super::limits::clip(text, 20).into_owned()))
}

/// Targets as typed: a percentage, townships (`county/township`), villages
/// (`county/township/village`) and booth numbers, the lists one a line or comma-separated.
pub fn parse_targets(
    percent: &str,
    townships: &str,
    villages: &str,
    booths: &str,
) -> Result<RolloutTargets, TargetsError> {
    let mut numbers = BTreeSet::new();
    for entry in entries(booths).flat_map(str::split_whitespace) {
        let number = entry
            .trim_start_matches('#')
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| TargetsError::Booth(super::limits::clip(entry, 20).into_owned()))?;
        numbers.insert(number);
        if numbers.len() > super::limits::ROLLOUT_TARGETS {
            return Err(TargetsError::TooMany {
                what: "booths",
                max: super::limits::ROLLOUT_TARGETS,
            });
        }
    }
    Ok(RolloutTargets {
        percent: parse_percent(percent)?,
        townships: places(
            townships,
            2,
            "township",
            "county/township, like 示范县/凤岭乡",
        )?,
        villages: places(
            villages,
            3,
            "village",
            "county/township/village, like 示范县/凤岭乡/石门村",
        )?,
        booths: numbers,
    })
}

/// The booth's fixed place, 0..10 000, in rollout `rollout_id`'s percentage.
pub fn bucket(rollout_id: i64, kiosk_number: u32) -> u32 {
    let digest = Sha256::new()
        .chain_update(b"booth-rollout-v1\0")
        .chain_update(rollout_id.to_be_bytes())
        .chain_update(kiosk_number.to_be_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // u64 modulo 10 000: the bias is below 1e-15.
    u32::try_from(u64::from_be_bytes(first) % u64::from(BUCKETS)).unwrap_or(0)
}

/// What the staff pages show of an uploaded release: the signed manifest's fields, read when
/// the bundle verified.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReleaseSummary {
    /// The lowest running version it may replace.
    pub min_version: Version,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes_highest: Option<Version>,
    /// The store schemas it reads, `min..max`, and the one it writes.
    pub store_reads: String,
    pub store_writes: u32,
    pub files: u64,
    pub files_bytes: u64,
    /// Key ids of the release keys whose signatures verified.
    pub signed_by: Vec<String>,
    /// Cut to [`crate::domain::limits::RELEASE_NOTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl ReleaseSummary {
    /// The summary of a verified manifest.
    pub fn of(release: &booth_release::VerifiedManifest) -> Self {
        let manifest = release.manifest();
        Self {
            min_version: manifest.min_version,
            supersedes_highest: manifest.supersedes_highest,
            store_reads: manifest.store.reads.to_string(),
            store_writes: manifest.store.writes,
            files: manifest.files.len() as u64,
            files_bytes: manifest.total_size().unwrap_or(u64::MAX),
            signed_by: release
                .signed_by()
                .iter()
                .map(|key| key.key_id().to_string())
                .collect(),
            notes: manifest
                .notes
                .as_deref()
                .map(|notes| super::limits::clip(notes, super::limits::RELEASE_NOTES).into_owned()),
        }
    }
}

/// A rollout as stored, with its release's bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub id: i64,
    pub version: Version,
    /// The release's bundle: hex SHA-256 and size.
    pub bundle: String,
    pub size: u64,
    pub targets: RolloutTargets,
    pub state: RolloutState,
    /// Percent of the booths that started it which may fail before it pauses itself.
    pub failure_threshold: u8,
    /// Why it is in its state, when the system or a person said (an automatic pause's
    /// numbers).
    pub state_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub changed_at: DateTime<Utc>,
}

impl Rollout {
    /// Whether the kiosk is in this rollout (revoked kiosks never are).
    pub fn includes(&self, kiosk: &KioskRecord) -> bool {
        !kiosk.is_revoked()
            && self
                .targets
                .includes(self.id, kiosk.kiosk_number, &kiosk.village)
    }

    /// Paused by the system (the failure threshold), not by a person.
    pub fn paused_automatically(&self) -> bool {
        self.state == RolloutState::Paused && self.state_reason.is_some()
    }
}

/// The booth's last update report, if its last heartbeat had one.
pub fn update_report(kiosk: &KioskRecord) -> Option<&UpdateReport> {
    kiosk
        .last_heartbeat
        .as_ref()
        .and_then(|record| record.heartbeat.update.as_ref())
}

/// Where one booth is with one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoothProgress {
    /// Nothing reported about this version.
    NotStarted,
    /// Working towards it (downloading, staged, installing, on trial).
    InProgress,
    Installed,
    /// Failed or rolled back, and not running it.
    Failed,
}

/// What the booth's report says about `version`.
pub fn progress_of(version: Version, report: Option<&UpdateReport>) -> BoothProgress {
    let Some(report) = report else {
        return BoothProgress::NotStarted;
    };
    if report.running == version {
        return BoothProgress::Installed;
    }
    let failed_it = report
        .last_failure
        .as_ref()
        .is_some_and(|failure| failure.version == version);
    let aiming = report.target == Some(version);
    if failed_it || (aiming && report.state.is_failure()) {
        BoothProgress::Failed
    } else if aiming {
        BoothProgress::InProgress
    } else {
        BoothProgress::NotStarted
    }
}

/// The counts of one rollout over the booths it includes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub targeted: u64,
    /// In progress, installed or failed.
    pub started: u64,
    pub in_progress: u64,
    pub installed: u64,
    pub failed: u64,
}

/// Counts `rollout` over `kiosks` (those it includes).
pub fn progress(rollout: &Rollout, kiosks: &[KioskRecord]) -> Progress {
    let mut counts = Progress::default();
    for kiosk in kiosks.iter().filter(|kiosk| rollout.includes(kiosk)) {
        counts.targeted += 1;
        match progress_of(rollout.version, update_report(kiosk)) {
            BoothProgress::NotStarted => continue,
            BoothProgress::InProgress => counts.in_progress += 1,
            BoothProgress::Installed => counts.installed += 1,
            BoothProgress::Failed => counts.failed += 1,
        }
        counts.started += 1;
    }
    counts
}

/// The fewest failures that may pause a rollout of `targeted` booths, `started` of which
/// began it (see the module).
pub fn min_failed_to_pause(started: u64, targeted: u64) -> u64 {
    MIN_FAILED_TO_PAUSE
        .max(started.div_ceil(10))
        .min(targeted.max(1))
}

/// What an active rollout's counts call for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Too many failed: pause, for this reason (one line, for the audit log and the page).
    Pause(String),
    /// Every booth runs it.
    Complete,
}

/// Whether an active rollout must change state now; `None` for any other state.
pub fn verdict(rollout: &Rollout, progress: &Progress) -> Option<Verdict> {
    if rollout.state != RolloutState::Active {
        return None;
    }
    let threshold = u64::from(rollout.failure_threshold);
    let floor = min_failed_to_pause(progress.started, progress.targeted);
    if progress.failed >= floor && progress.failed * 100 > threshold * progress.started {
        return Some(Verdict::Pause(format!(
            "{} of the {} booths that started {} failed, more than the {} % threshold (and at least {floor}): paused automatically",
            progress.failed, progress.started, rollout.version, rollout.failure_threshold
        )));
    }
    if progress.targeted > 0 && progress.installed == progress.targeted {
        return Some(Verdict::Complete);
    }
    None
}

/// The rollout whose release `kiosk` is told to run, from `rollouts` (any order).
pub fn target_for<'r>(rollouts: &'r [Rollout], kiosk: &KioskRecord) -> Option<&'r Rollout> {
    let report = update_report(kiosk);
    rollouts
        .iter()
        .filter(|rollout| rollout.includes(kiosk))
        .filter(|rollout| match rollout.state {
            RolloutState::Active | RolloutState::Completed => true,
            RolloutState::Paused => {
                progress_of(rollout.version, report) != BoothProgress::NotStarted
            }
            RolloutState::Stopped => false,
        })
        .max_by_key(|rollout| rollout.id)
}

/// The bundles `kiosk` may download: its target's, and those of the other rollouts it is in
/// that it started and that still run (active or paused), so a download cut off when a newer
/// rollout came along can still finish.
pub fn downloadable<'r>(rollouts: &'r [Rollout], kiosk: &KioskRecord) -> Vec<&'r Rollout> {
    let report = update_report(kiosk);
    let target = target_for(rollouts, kiosk).map(|rollout| rollout.id);
    rollouts
        .iter()
        .filter(|rollout| {
            Some(rollout.id) == target
                || (matches!(rollout.state, RolloutState::Active | RolloutState::Paused)
                    && rollout.includes(kiosk)
                    && progress_of(rollout.version, report) != BoothProgress::NotStarted)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
    use sync_protocol::release::{FailureStage, UpdateFailure, UpdateState};

    use super::*;
    use crate::domain::fleet::HeartbeatRecord;

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    fn at() -> DateTime<Utc> {
        "2026-03-01T10:00:00Z".parse().unwrap()
    }

    fn village(township: &str, name: &str) -> Village {
        Village {
            county: "示范县".into(),
            township: township.into(),
            village: name.into(),
        }
    }

    fn kiosk(number: u32, place: Village, report: Option<UpdateReport>) -> KioskRecord {
        KioskRecord {
            kiosk_id: format!("kiosk-{number}"),
            kiosk_number: number,
            public_key: [0; 32],
            village: place,
            app_version: "1.0.0".into(),
            enrolled_at: at(),
            revoked_at: None,
            replaced_by: None,
            last_seen_at: Some(at()),
            last_heartbeat: report.map(|update| HeartbeatRecord {
                heartbeat: Heartbeat {
                    queue_depth: 0,
                    oldest_pending_age_s: None,
                    quarantined: 0,
                    devices: DeviceHealth::default(),
                    app_version: "1.0.0".into(),
                    disk_free_bytes: 0,
                    uptime_s: 0,
                    clock_offset_ms: 0,
                    update: Some(update),
                },
                received_at: at(),
            }),
        }
    }

    fn report(running: &str, target: Option<&str>, state: UpdateState) -> UpdateReport {
        UpdateReport {
            running: v(running),
            highest_installed: v(running),
            target: target.map(v),
            state,
            downloaded_bytes: None,
            last_failure: None,
        }
    }

    fn failed(running: &str, version: &str) -> UpdateReport {
        UpdateReport {
            last_failure: Some(UpdateFailure {
                version: v(version),
                stage: FailureStage::Ready,
                reason: "no".into(),
            }),
            ..report(running, Some(version), UpdateState::RolledBack)
        }
    }

    fn rollout(id: i64, version: &str, targets: RolloutTargets, state: RolloutState) -> Rollout {
        Rollout {
            id,
            version: v(version),
            bundle: format!("{id:064x}"),
            size: 1,
            targets,
            state,
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            state_reason: None,
            created_by: "county".into(),
            created_at: at(),
            changed_at: at(),
        }
    }

    fn percent(percent: u8) -> RolloutTargets {
        RolloutTargets {
            percent,
            ..RolloutTargets::default()
        }
    }

    #[test]
    fn widening_a_percentage_keeps_every_booth_it_had() {
        let place = village("凤岭乡", "石门村");
        let chosen = |id: i64, pct: u8| -> BTreeSet<u32> {
            (1..=2000)
                .filter(|n| percent(pct).includes(id, *n, &place))
                .collect()
        };
        let ten = chosen(7, 10);
        let thirty = chosen(7, 30);
        assert!(ten.is_subset(&thirty));
        // 2000 booths: about 200 and 600, give or take what chance does.
        assert!((150..250).contains(&ten.len()), "{}", ten.len());
        assert!((520..680).contains(&thirty.len()), "{}", thirty.len());
        assert_ne!(
            chosen(8, 10),
            ten,
            "another rollout starts with other booths"
        );
        assert!(chosen(7, 0).is_empty());
        assert_eq!(chosen(7, 100).len(), 2000);
    }

    #[test]
    fn places_and_numbers_add_to_the_percentage() {
        let targets = RolloutTargets {
            percent: 0,
            townships: ["示范县/白圩镇".to_owned()].into(),
            villages: ["示范县/凤岭乡/石门村".to_owned()].into(),
            booths: [42].into(),
        };
        assert!(targets.includes(1, 1, &village("白圩镇", "白圩村")));
        assert!(targets.includes(1, 2, &village("凤岭乡", "石门村")));
        assert!(!targets.includes(1, 3, &village("凤岭乡", "义江村")));
        assert!(targets.includes(1, 42, &village("凤岭乡", "义江村")));
        let wider = targets.widened(&percent(10));
        assert!(wider.covers(&targets) && !targets.covers(&wider));
        assert_eq!(
            wider.to_string(),
            "10 %, 示范县/白圩镇, 示范县/凤岭乡/石门村, #42"
        );
    }

    #[test]
    fn targets_are_read_as_typed_and_refused_with_what_is_wrong() {
        let targets = parse_targets(
            " 10 % ",
            "示范县/凤岭乡\n示范县 / 白圩镇",
            "示范县/凤岭乡/石门村，示范县/白圩镇/白圩村",
            "#7, 9 12",
        )
        .unwrap();
        assert_eq!(targets.percent, 10);
        assert_eq!(
            targets.townships,
            ["示范县/凤岭乡".to_owned(), "示范县/白圩镇".to_owned()].into()
        );
        assert_eq!(targets.villages.len(), 2);
        assert_eq!(targets.booths, [7, 9, 12].into());
        assert_eq!(parse_targets("", "", "", ""), Ok(RolloutTargets::default()));
        for (percent, townships, villages, booths) in [
            ("101", "", "", ""),
            ("-1", "", "", ""),
            ("", "凤岭乡", "", ""),
            ("", "", "示范县/凤岭乡", ""),
            ("", "", "", "#0"),
            ("", "", "", "seven"),
        ] {
            assert!(
                parse_targets(percent, townships, villages, booths).is_err(),
                "{percent} {townships} {villages} {booths}"
            );
        }
        let many = (1..=501)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert!(matches!(
            parse_targets("", "", "", &many),
            Err(TargetsError::TooMany { .. })
        ));
        assert_eq!(parse_threshold(""), Ok(DEFAULT_FAILURE_THRESHOLD));
        assert_eq!(parse_threshold("5%"), Ok(5));
        assert!(parse_threshold("500").is_err());
    }

    #[test]
    fn the_newest_rollout_that_includes_a_booth_is_its_target() {
        let place = village("凤岭乡", "石门村");
        let booth = kiosk(5, place.clone(), None);
        let all = || percent(100);
        let old = rollout(1, "1.1.0", all(), RolloutState::Active);
        let new = rollout(2, "1.2.0", all(), RolloutState::Active);
        let rollouts = [new, old.clone()];
        assert_eq!(target_for(&rollouts, &booth).map(|r| r.id), Some(2));
        let stopped = rollout(2, "1.2.0", all(), RolloutState::Stopped);
        assert_eq!(
            target_for(&[old, stopped.clone()], &booth).map(|r| r.id),
            Some(1)
        );
        assert_eq!(target_for(&[stopped], &booth), None);
        // Paused: a booth that has not started gets nothing new; one that did keeps it.
        let paused = rollout(2, "1.2.0", all(), RolloutState::Paused);
        assert_eq!(target_for(std::slice::from_ref(&paused), &booth), None);
        let started = kiosk(
            5,
            place.clone(),
            Some(report("1.1.0", Some("1.2.0"), UpdateState::Downloading)),
        );
        assert_eq!(
            target_for(std::slice::from_ref(&paused), &started).map(|r| r.id),
            Some(2)
        );
        let mut revoked = booth.clone();
        revoked.revoked_at = Some(at());
        assert_eq!(target_for(&rollouts, &revoked), None);
        // A download under way when a newer rollout came can still finish.
        let under_way = kiosk(
            5,
            place,
            Some(report("1.0.0", Some("1.1.0"), UpdateState::Downloading)),
        );
        let ids: Vec<i64> = downloadable(&rollouts, &under_way)
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, [2, 1]);
        assert_eq!(
            downloadable(&rollouts, &booth)
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>(),
            [2]
        );
    }

    #[test]
    fn reports_count_as_started_installed_or_failed_for_their_version() {
        let version = v("1.2.0");
        assert_eq!(progress_of(version, None), BoothProgress::NotStarted);
        let idle = report("1.1.0", None, UpdateState::Idle);
        assert_eq!(progress_of(version, Some(&idle)), BoothProgress::NotStarted);
        let busy = report("1.1.0", Some("1.2.0"), UpdateState::Staged);
        assert_eq!(progress_of(version, Some(&busy)), BoothProgress::InProgress);
        let done = report("1.2.0", Some("1.2.0"), UpdateState::Installed);
        assert_eq!(progress_of(version, Some(&done)), BoothProgress::Installed);
        assert_eq!(
            progress_of(version, Some(&failed("1.1.0", "1.2.0"))),
            BoothProgress::Failed
        );
        let failed_before_download = report("1.1.0", Some("1.2.0"), UpdateState::Failed);
        assert_eq!(
            progress_of(version, Some(&failed_before_download)),
            BoothProgress::Failed
        );
        // Failed once, then installed on a retry: installed.
        let retried = UpdateReport {
            state: UpdateState::Installed,
            ..failed("1.2.0", "1.2.0")
        };
        assert_eq!(
            progress_of(version, Some(&retried)),
            BoothProgress::Installed
        );
    }

    #[test]
    fn a_rollout_pauses_past_its_threshold_once_enough_booths_failed() {
        let place = village("凤岭乡", "石门村");
        let active = rollout(3, "1.2.0", percent(100), RolloutState::Active);
        let fleet = |failed_count: u32, ok: u32| -> Vec<KioskRecord> {
            let mut kiosks: Vec<KioskRecord> = (1..=failed_count)
                .map(|n| kiosk(n, place.clone(), Some(failed("1.1.0", "1.2.0"))))
                .collect();
            kiosks.extend((1..=ok).map(|n| {
                kiosk(
                    100 + n,
                    place.clone(),
                    Some(report("1.2.0", Some("1.2.0"), UpdateState::Installed)),
                )
            }));
            kiosks.push(kiosk(999, place.clone(), None));
            kiosks
        };
        // Two of two failed: 100 %, but two is not enough to tell a bad release.
        let two = progress(&active, &fleet(2, 0));
        assert_eq!((two.targeted, two.started, two.failed), (3, 2, 2));
        assert_eq!(verdict(&active, &two), None);
        let three = progress(&active, &fleet(3, 9));
        assert!(
            matches!(verdict(&active, &three), Some(Verdict::Pause(reason)) if reason.contains("3 of the 12 booths"))
        );
        // Exactly at the threshold is not over it.
        assert_eq!(verdict(&active, &progress(&active, &fleet(3, 12))), None);
        // A low threshold on a large rollout: the 10 % floor decides.
        let touchy = Rollout {
            failure_threshold: 2,
            ..active.clone()
        };
        assert_eq!(min_failed_to_pause(100, 100), 10);
        assert_eq!(verdict(&touchy, &progress(&touchy, &fleet(9, 91))), None);
        assert!(matches!(
            verdict(&touchy, &progress(&touchy, &fleet(10, 90))),
            Some(Verdict::Pause(_))
        ));
        // A pilot on two booths, both failed: no third failure can come.
        let pilot: Vec<KioskRecord> = (1..=2)
            .map(|n| kiosk(n, place.clone(), Some(failed("1.1.0", "1.2.0"))))
            .collect();
        assert_eq!(min_failed_to_pause(2, 2), 2);
        assert!(matches!(
            verdict(&active, &progress(&active, &pilot)),
            Some(Verdict::Pause(reason)) if reason.contains("2 of the 2 booths")
        ));
        let paused = Rollout {
            state: RolloutState::Paused,
            ..active
        };
        assert_eq!(
            verdict(&paused, &three),
            None,
            "only active rollouts change"
        );
    }

    #[test]
    fn a_rollout_completes_when_every_booth_runs_it() {
        let place = village("凤岭乡", "石门村");
        let active = rollout(4, "1.2.0", percent(100), RolloutState::Active);
        let installed = || Some(report("1.2.0", Some("1.2.0"), UpdateState::Installed));
        let all = [
            kiosk(1, place.clone(), installed()),
            kiosk(2, place.clone(), installed()),
        ];
        assert_eq!(
            verdict(&active, &progress(&active, &all)),
            Some(Verdict::Complete)
        );
        let one_left = [kiosk(1, place.clone(), installed()), kiosk(2, place, None)];
        assert_eq!(verdict(&active, &progress(&active, &one_left)), None);
        let nobody = rollout(5, "1.2.0", percent(0), RolloutState::Active);
        assert_eq!(verdict(&nobody, &progress(&nobody, &all)), None);
    }
}
