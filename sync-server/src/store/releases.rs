//! Booth releases and their rollouts, a supertrait of [`super::Store`].
//!
//! A release is a verified bundle: its version (unique), the SHA-256 and size of the bundle
//! file, what its signed manifest says ([`ReleaseSummary`]), who uploaded it and when. The
//! bundle's bytes are a file the server keeps beside the store (`release_shelf`); the store
//! keeps only what names and describes it, and a release row is written only after the file
//! is in place.
//!
//! A rollout points one release at some booths ([`RolloutTargets`]) and changes state by
//! staff action or by itself ([`crate::domain::releases::verdict`], applied by the backend in
//! the transaction that records the heartbeat which tipped it, with a `system` audit line).
//! Each booth's update state is the `update` of its last heartbeat, kept with it.
//!
//! Every staff change takes the [`AuditEntry`] that records it, written in the same
//! transaction; a refused change writes neither.

use booth_release::Version;
use chrono::{DateTime, Utc};

use super::StoreFuture;
use super::staff::AuditEntry;
use crate::domain::releases::{ReleaseSummary, Rollout, RolloutState, RolloutTargets};

/// A release to keep; its bundle file is already in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    pub version: Version,
    /// Lowercase hex SHA-256 of the bundle file.
    pub bundle: String,
    pub size: u64,
    pub summary: ReleaseSummary,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

/// A stored release.
pub type ReleaseRecord = NewRelease;

/// A rollout to start (active at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRollout {
    pub version: Version,
    pub targets: RolloutTargets,
    pub failure_threshold: u8,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// What staff do to a rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutChange {
    /// Active → paused: no new booth starts.
    Pause,
    /// Paused → active (an automatic pause too: staff decided the failures are understood).
    Resume,
    /// Any but stopped → stopped: no booth keeps this target.
    Stop,
    /// Adds booths (a larger percentage, places, numbers); never removes one. Active, paused
    /// or completed (a completed rollout that gains booths is active again).
    Widen(RolloutTargets),
}

impl RolloutChange {
    /// The audit action of the change.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Pause => "rollout.pause",
            Self::Resume => "rollout.resume",
            Self::Stop => "rollout.stop",
            Self::Widen(_) => "rollout.widen",
        }
    }
}

/// Why a release was not kept; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseRefusal {
    #[error(
        "release {0} exists already: a version is uploaded once; sign the change as a new version"
    )]
    VersionExists(Version),
    #[error("this bundle was uploaded already, as release {0}")]
    BundleExists(Version),
}

/// Why a rollout change was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutRefusal {
    #[error("no release {0}: upload its bundle first (`sync-server release list` shows them)")]
    UnknownRelease(Version),
    #[error("no rollout {0}: `sync-server rollout list` shows them")]
    UnknownRollout(i64),
    #[error("rollout {id} is {state}: it cannot be {doing}")]
    WrongState {
        id: i64,
        state: RolloutState,
        doing: &'static str,
    },
    #[error(
        "the rollout would include nobody: give a percentage, townships, villages or booth numbers"
    )]
    NoTargets,
    #[error("widening rollout {0} adds no booth: give a larger percentage or more places")]
    NothingAdded(i64),
}

/// Releases, rollouts and how the booths get on with them.
pub trait ReleaseStore: Send + Sync {
    /// Keeps a release; refused when its version or its bundle is known already.
    fn add_release(
        &self,
        release: NewRelease,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<ReleaseRecord, ReleaseRefusal>>;
    /// Newest version first.
    fn list_releases(&self) -> StoreFuture<'_, Vec<ReleaseRecord>>;
    fn find_release(&self, version: Version) -> StoreFuture<'_, Option<ReleaseRecord>>;

    /// Starts a rollout of a known release, active at once; its audit line's target is the
    /// new rollout's id (only known once it is made).
    fn create_rollout(
        &self,
        rollout: NewRollout,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Rollout, RolloutRefusal>>;
    /// Every rollout, newest first.
    fn list_rollouts(&self) -> StoreFuture<'_, Vec<Rollout>>;
    fn find_rollout(&self, id: i64) -> StoreFuture<'_, Option<Rollout>>;
    /// Pauses, resumes, stops or widens a rollout (see [`RolloutChange`] for which state each
    /// needs); a staff change clears the reason of an automatic pause.
    fn change_rollout(
        &self,
        id: i64,
        change: RolloutChange,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Rollout, RolloutRefusal>>;
}
