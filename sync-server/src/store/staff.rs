//! What the staff web app keeps: accounts with a role and a scope, server-side sessions, and
//! the append-only audit log. Every staff write takes the [`AuditEntry`] that records it, and a
//! backend writes both in one transaction: there is no action without its audit line.
//!
//! Every line is chained ([`super::audit_chain`]): a backend gives a new line the seq after the
//! last line's, `prev_hash` = the last line's hash (or
//! [`ChainHash::GENESIS`](super::audit_chain::ChainHash::GENESIS)) and `hash` =
//! [`link`](super::audit_chain::link) over exactly what it stores, reading the last line under the same
//! write lock as the insert, so concurrent writers (other processes too) append one after
//! another, never two after the same line.

use std::fmt;

use chrono::{DateTime, Utc};

use super::audit_chain::{AuditHead, ChainedAudit};
use super::paging::PageAt;
use super::{NewEnrollCode, RevokeOutcome, StoreFuture};
use crate::domain::access::{LockPolicy, Role, Scope, SessionLifetime};
use crate::domain::fleet::KioskRecord;
use crate::domain::limits;

/// A staff account as stored. `Debug` leaves the password hash out.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    /// argon2id, PHC string format.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl fmt::Debug for StaffUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .field("disabled_at", &self.disabled_at)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

impl StaffUser {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// A new account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaffUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    pub password_hash: String,
}

/// A session to open; `token_hash` is the SHA-256 of the cookie's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token_hash: String,
    pub username: String,
    pub csrf_token: String,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub remote: Option<String>,
}

/// A live session and its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub user: StaffUser,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One audit line to write: who, what, on what, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// A username, `cli` for the command line, or `system`.
    pub actor: String,
    /// A dotted verb: `login.ok`, `review.accept`, `identity.view`, `export.csv` …
    pub action: String,
    /// What it acted on: a receipt number, a username, an item code …
    pub target: Option<String>,
    /// Free text without personal data.
    pub detail: Option<String>,
    /// The client address, for web actions.
    pub remote: Option<String>,
}

impl AuditEntry {
    pub fn new(at: DateTime<Utc>, actor: &str, action: &str) -> Self {
        Self {
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: None,
            detail: None,
            remote: None,
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn remote(mut self, remote: Option<String>) -> Self {
        self.remote = remote;
        self
    }

    /// The line as a backend writes it: each field cut to its cap in [`limits`] (marked, with
    /// its full length and a hash), whoever built it. The audit log refuses DELETE, so nothing
    /// unbounded may go in.
    pub fn bounded(&self) -> Self {
        let clip = |text: &str, max| limits::clip(text, max).into_owned();
        Self {
            at: self.at,
            actor: clip(&self.actor, limits::AUDIT_ACTOR),
            action: clip(&self.action, limits::AUDIT_ACTION),
            target: self
                .target
                .as_deref()
                .map(|t| clip(t, limits::AUDIT_TARGET)),
            detail: self
                .detail
                .as_deref()
                .map(|d| clip(d, limits::AUDIT_DETAIL)),
            remote: self
                .remote
                .as_deref()
                .map(|r| clip(r, limits::AUDIT_REMOTE)),
        }
    }
}

/// A written audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub entry: AuditEntry,
}

/// Which audit lines to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// A prefix: `review` matches `review.accept`.
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Lines older than this seq (for paging).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// Why an account change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountRefusal {
    #[error("an account named `{0}` exists already: pick another name or change its password")]
    Exists(String),
    #[error("no account named `{0}`: `sync-server staff list` shows them")]
    Unknown(String),
}

/// Which booths a fleet page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetQuery {
    pub scope: Scope,
    /// Where the page starts, by kiosk number.
    pub page: PageAt<u32>,
    /// Kiosk numbers on the page, at most (each with every kiosk that held it).
    pub limit: u32,
}

/// What a fleet summary counts and lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSummaryQuery {
    pub scope: Scope,
    /// Alerting kiosks listed, at most (the counts are of all of them).
    pub alert_limit: u32,
    /// The time alerts are judged at ([`crate::domain::fleet::alerts`]).
    pub now: DateTime<Utc>,
}

/// The scope's kiosks counted by the store, whatever page is shown. Each alert count is the
/// number of kiosks with that alert now, by the rules of [`crate::domain::fleet::alerts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FleetCounts {
    pub active: u64,
    /// Revoked, or replaced when their booth re-enrolled.
    pub retired: u64,
    pub offline: u64,
    pub paper_out: u64,
    pub paper_near_end: u64,
    pub queue_not_draining: u64,
    pub quarantined: u64,
}

impl FleetCounts {
    /// Every alert, as many as the alert list would have unabridged.
    pub fn alerts(&self) -> u64 {
        self.offline
            + self.paper_out
            + self.paper_near_end
            + self.queue_not_draining
            + self.quarantined
    }
}

/// A page of the fleet: the kiosks in one stretch of kiosk numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FleetPage {
    /// The page's kiosks in the order of [`super::Store::list_kiosks`]: `limit` kiosk numbers
    /// at most, each with every kiosk that held it.
    pub kiosks: Vec<KioskRecord>,
    /// [`PageAt::Before`] this number for the page before; `None` on the first.
    pub previous: Option<u32>,
    /// [`PageAt::After`] this number for the page after; `None` on the last.
    pub next: Option<u32>,
}

/// What a fleet page heads with: the scope's counts and its first alerting kiosks.
///
/// Why alerts are counted for the whole scope but listed only for some kiosks: an alert is a
/// booth someone must go to, so it must not hide on page 37 of a county's booths; but at
/// night, or in a power cut, thousands are offline at once, and a list of thousands helps
/// nobody and costs every page view. So the store counts each kind of alert over the whole
/// scope in SQL (the rules' inputs are columns: see
/// [`HeartbeatAlerts`](crate::domain::fleet::HeartbeatAlerts)) and hands over the first
/// alerting kiosks, severe ones first, whose alerts the page lists by the same rules.
///
/// Apart from [`FleetPage`] because it reads every kiosk of the scope (a province's 500,000
/// take about 200 ms, docs/benchmarks.md) while a page seeks: the staff pages keep a summary
/// for a short while ([`super::fleet_summaries`]) and the page itself stays live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FleetSummary {
    pub counts: FleetCounts,
    /// Active kiosks in the whole scope with an alert now: those with a severe one (offline,
    /// paper out, queue not draining) first, then by number; `alert_limit` at most.
    pub alerting: Vec<KioskRecord>,
}

/// Accounts, sessions and the audit log.
pub trait StaffStore: Send + Sync {
    fn create_user(
        &self,
        user: NewStaffUser,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<StaffUser, AccountRefusal>>;
    fn find_user<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<StaffUser>>;
    /// By username.
    fn list_users(&self) -> StoreFuture<'_, Vec<StaffUser>>;
    /// Sets the hash, unlocks the account and ends its sessions but `keep_session` (the one
    /// the change was made from).
    fn set_password<'a>(
        &'a self,
        username: &'a str,
        password_hash: String,
        keep_session: Option<String>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), AccountRefusal>>;
    /// Disables (`true`) or re-enables an account; disabling ends its sessions.
    fn set_disabled<'a>(
        &'a self,
        username: &'a str,
        disabled: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), AccountRefusal>>;

    /// Counts a failed password for `username` (if it exists) and locks it as `policy` says;
    /// returns the lock's end, if any.
    fn record_login_failure<'a>(
        &'a self,
        username: &'a str,
        policy: LockPolicy,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Option<DateTime<Utc>>>;
    /// Opens a session after a correct password, clearing the failure count.
    fn open_session(&self, session: NewSession, audit: AuditEntry) -> StoreFuture<'_, ()>;
    /// The session's account if the session is live and the account enabled, sliding its
    /// expiry by `lifetime` (in steps of a thirtieth of the idle time, so that most page views
    /// write nothing); `None` (and the session gone) otherwise.
    fn resume_session<'a>(
        &'a self,
        token_hash: &'a str,
        now: DateTime<Utc>,
        lifetime: SessionLifetime,
    ) -> StoreFuture<'a, Option<StaffSession>>;
    fn close_session<'a>(&'a self, token_hash: &'a str, audit: AuditEntry) -> StoreFuture<'a, ()>;

    // ── fleet: the kiosks as the staff web app sees and changes them ──

    /// One page of the kiosks in `query.scope`, by kiosk number.
    fn fleet_page<'a>(&'a self, query: &'a FleetQuery) -> StoreFuture<'a, FleetPage>;
    /// The counts of `query.scope`'s kiosks and its first alerting ones (see
    /// [`FleetSummary`]).
    fn fleet_summary<'a>(&'a self, query: &'a FleetSummaryQuery) -> StoreFuture<'a, FleetSummary>;
    /// Revokes kiosk `kiosk_id` and writes `audit`, both at once, if the kiosk is in `scope`
    /// and active. Outside the scope it is [`RevokeOutcome::NotFound`]; when nothing changes
    /// (not found, already revoked) no audit line is written.
    fn revoke_kiosk_in<'a>(
        &'a self,
        scope: &'a Scope,
        kiosk_id: &'a str,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, RevokeOutcome>;
    /// [`super::Store::create_enroll_code`] with its audit line (which must not hold the
    /// code).
    fn create_enroll_code_audited(
        &self,
        code: NewEnrollCode,
        audit: AuditEntry,
    ) -> StoreFuture<'_, ()>;

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, ()>;
    fn list_audit<'a>(&'a self, filter: &'a AuditFilter) -> StoreFuture<'a, Vec<AuditRecord>>;
    /// The lines with their chain hashes as stored, oldest first: those after `after_seq`
    /// (from the first when `None`), at most `limit`. [`verify`](super::audit_chain::verify) walks these.
    fn audit_chain_page(
        &self,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreFuture<'_, Vec<ChainedAudit>>;
    /// The newest line's seq, hash and time; `None` while the log is empty.
    fn audit_head(&self) -> StoreFuture<'_, Option<AuditHead>>;
}
