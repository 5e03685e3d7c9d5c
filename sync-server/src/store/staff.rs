//! What the staff web app keeps: accounts with a role and a scope, server-side sessions, and
//! the append-only audit log. Every staff write takes the [`AuditEntry`] that records it, and a
//! backend writes both in one transaction: there is no action without its audit line.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sync_protocol::enroll::Village;

use super::{KioskRecord, NewEnrollCode, RevokeOutcome, StoreFuture};

/// What a staff account may do. Review roles act at their own level of the chain only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Accounts, content, fleet, audit; does not review.
    Admin,
    /// 承办人: level 1.
    Handler,
    /// 审查人: level 2 of a three-level chain.
    Reviewer,
    /// 审批人: the last level of a two- or three-level chain.
    Approver,
    /// Reads what is in scope; acts on nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Self; 5] = [
        Self::Admin,
        Self::Handler,
        Self::Reviewer,
        Self::Approver,
        Self::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Handler => "handler",
            Self::Reviewer => "reviewer",
            Self::Approver => "approver",
            Self::Viewer => "viewer",
        }
    }

    /// Whether the role takes part in reviews (and so may see a full ID number on request).
    pub fn reviews(self) -> bool {
        matches!(self, Self::Handler | Self::Reviewer | Self::Approver)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text.trim())
            .ok_or_else(|| {
                format!("`{text}` is not a role: use admin, handler, reviewer, approver or viewer")
            })
    }
}

/// The part of the county → township → village hierarchy an account sees and acts in.
/// Written `*` (everything), `县`, `县/乡` or `县/乡/村`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    All,
    County(String),
    Township { county: String, township: String },
    Village(Village),
}

impl Scope {
    /// Whether a kiosk (or anything else) in `village` is inside this scope.
    pub fn covers(&self, village: &Village) -> bool {
        match self {
            Self::All => true,
            Self::County(county) => &village.county == county,
            Self::Township { county, township } => {
                &village.county == county && &village.township == township
            }
            Self::Village(own) => own == village,
        }
    }

    /// Whether everything in `inner` is inside this scope (an admin may only hand out scopes
    /// inside their own).
    pub fn contains(&self, inner: &Self) -> bool {
        let (county, township, _) = inner.parts();
        match self {
            Self::All => true,
            Self::County(own) => county == Some(own.as_str()),
            Self::Township {
                county: own_county,
                township: own_township,
            } => county == Some(own_county.as_str()) && township == Some(own_township.as_str()),
            Self::Village(own) => matches!(inner, Self::Village(v) if v == own),
        }
    }

    /// `(county, township, village)`, each `None` where the scope does not narrow: the
    /// parameters of a query filtered by scope.
    pub fn parts(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Self::All => (None, None, None),
            Self::County(county) => (Some(county), None, None),
            Self::Township { county, township } => (Some(county), Some(township), None),
            Self::Village(v) => (Some(&v.county), Some(&v.township), Some(&v.village)),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::County(county) => f.write_str(county),
            Self::Township { county, township } => write!(f, "{county}/{township}"),
            Self::Village(v) => write!(f, "{}/{}/{}", v.county, v.township, v.village),
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "*" {
            return Ok(Self::All);
        }
        let parts: Vec<&str> = text.split('/').map(str::trim).collect();
        if parts.iter().any(|part| part.is_empty()) || parts.len() > 3 {
            return Err(format!(
                "`{text}` is not a scope: write `*`, a county, `county/township` or `county/township/village`"
            ));
        }
        Ok(match parts.as_slice() {
            [county] => Self::County((*county).to_owned()),
            [county, township] => Self::Township {
                county: (*county).to_owned(),
                township: (*township).to_owned(),
            },
            [county, township, village] => Self::Village(Village {
                county: (*county).to_owned(),
                township: (*township).to_owned(),
                village: (*village).to_owned(),
            }),
            _ => unreachable!("one to three parts"),
        })
    }
}

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

/// How failed logins lock an account: `free_attempts` failures in a row cost nothing, each
/// further one locks it for `base` doubled per failure beyond, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    pub free_attempts: u32,
    pub base: chrono::Duration,
    pub max: chrono::Duration,
}

impl Default for LockPolicy {
    fn default() -> Self {
        Self {
            free_attempts: 5,
            base: chrono::Duration::seconds(30),
            max: chrono::Duration::hours(1),
        }
    }
}

impl LockPolicy {
    /// How long the account is locked after its `failures`-th failure in a row.
    pub fn lock_for(&self, failures: u32) -> Option<chrono::Duration> {
        let beyond = failures.checked_sub(self.free_attempts)?;
        let factor = 1_i32.checked_shl(beyond.min(20)).unwrap_or(i32::MAX);
        Some((self.base * factor).min(self.max))
    }
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

/// How long sessions live: `idle` after the last request, never past `absolute` after login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetime {
    pub idle: chrono::Duration,
    pub absolute: chrono::Duration,
}

impl Default for SessionLifetime {
    fn default() -> Self {
        Self {
            idle: chrono::Duration::minutes(30),
            absolute: chrono::Duration::hours(10),
        }
    }
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

    /// The kiosks in `scope`, every state, in the order of [`super::Store::list_kiosks`].
    fn list_kiosks_in<'a>(&'a self, scope: &'a Scope) -> StoreFuture<'a, Vec<KioskRecord>>;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn village(county: &str, township: &str, name: &str) -> Village {
        Village {
            county: county.into(),
            township: township.into(),
            village: name.into(),
        }
    }

    #[test]
    fn scopes_parse_print_and_cover_their_part_of_the_hierarchy() {
        let township: Scope = "示范县/凤岭乡".parse().unwrap();
        assert_eq!(township.to_string(), "示范县/凤岭乡");
        assert!(township.covers(&village("示范县", "凤岭乡", "义江村")));
        assert!(!township.covers(&village("示范县", "白圩镇", "义江村")));
        assert!(!township.covers(&village("邻县", "凤岭乡", "义江村")));
        let county: Scope = "示范县".parse().unwrap();
        assert!(county.contains(&township));
        assert!(!township.contains(&county));
        assert!(Scope::All.contains(&county));
        for bad in ["", "a//b", "a/b/c/d", " / "] {
            assert!(bad.parse::<Scope>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lockout_doubles_after_the_free_attempts_up_to_the_cap() {
        let policy = LockPolicy::default();
        assert_eq!(policy.lock_for(4), None);
        assert_eq!(policy.lock_for(5), Some(chrono::Duration::seconds(30)));
        assert_eq!(policy.lock_for(6), Some(chrono::Duration::seconds(60)));
        assert_eq!(policy.lock_for(40), Some(chrono::Duration::hours(1)));
    }
}
