//! Accounts, sessions and the audit log (see [`crate::store::staff`]), as in
//! [`crate::store::sqlite`]'s `staff.rs`. Every audited write is one transaction whose audit
//! line is appended last: [`audit::append_audit`] takes the chain's lock, the last in the lock
//! order.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::connection::failed;
use super::{PostgresStore, audit, kiosks};
use crate::domain::access::{LockPolicy, Scope, SessionLifetime};
use crate::store::audit_chain::{AuditHead, ChainedAudit};
use crate::store::staff::{
    AccountRefusal, AuditEntry, AuditFilter, AuditRecord, FleetPage, FleetQuery, FleetSummary,
    FleetSummaryQuery, NewSession, NewStaffUser, StaffSession, StaffStore, StaffUser,
};
use crate::store::values::stored_now;
use crate::store::{KioskRef, NewEnrollCode, RevokeOutcome, StoreError, StoreFuture, StoreResult};

const USER_COLUMNS: &str = "username, display_name, role, scope, password_hash, created_at, \
     password_changed_at, disabled_at, failed_logins, locked_until";

/// A row read with [`USER_COLUMNS`].
fn user(row: &Row) -> StoreResult<StaffUser> {
    let corrupt = |what: String| StoreError::Corrupt { what };
    let role: String = row.get(2);
    let scope: String = row.get(3);
    let failed_logins: i64 = row.get(8);
    Ok(StaffUser {
        role: role
            .parse()
            .map_err(|_| corrupt(format!("role `{role}`")))?,
        scope: scope
            .parse()
            .map_err(|_| corrupt(format!("scope `{scope}`")))?,
        username: row.get(0),
        display_name: row.get(1),
        password_hash: row.get(4),
        created_at: row.get(5),
        password_changed_at: row.get(6),
        disabled_at: row.get(7),
        failed_logins: u32::try_from(failed_logins).unwrap_or(u32::MAX),
        locked_until: row.get(9),
    })
}

pub(super) async fn find_user(
    client: &impl GenericClient,
    username: &str,
) -> StoreResult<Option<StaffUser>> {
    client
        .query_opt(
            &format!("SELECT {USER_COLUMNS} FROM staff_users WHERE username = $1"),
            &[&username],
        )
        .await
        .map_err(failed("look up a staff account"))?
        .as_ref()
        .map(user)
        .transpose()
}

async fn list_users(client: &impl GenericClient) -> StoreResult<Vec<StaffUser>> {
    client
        .query(
            &format!("SELECT {USER_COLUMNS} FROM staff_users ORDER BY username"),
            &[],
        )
        .await
        .map_err(failed("list staff accounts"))?
        .iter()
        .map(user)
        .collect()
}

async fn create_user(
    client: &impl GenericClient,
    new: &NewStaffUser,
    now: DateTime<Utc>,
    audit: &AuditEntry,
) -> StoreResult<Result<StaffUser, AccountRefusal>> {
    let now = stored_now(now);
    // ON CONFLICT: of two creations of one name at once, the second is refused, not an error.
    let inserted = client
        .execute(
            "INSERT INTO staff_users (username, display_name, role, scope, password_hash,
                                      created_at, password_changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (username) DO NOTHING",
            &[
                &new.username,
                &new.display_name,
                &new.role.as_str(),
                &new.scope.to_string(),
                &new.password_hash,
                &now,
            ],
        )
        .await
        .map_err(failed("create a staff account"))?;
    if inserted == 0 {
        return Ok(Err(AccountRefusal::Exists(new.username.clone())));
    }
    let created = find_user(client, &new.username)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            what: "a staff account vanished while it was created".into(),
        })?;
    audit::append_audit(client, audit).await?;
    Ok(Ok(created))
}

async fn set_password(
    client: &impl GenericClient,
    username: &str,
    password_hash: &str,
    keep_session: Option<&str>,
    audit: &AuditEntry,
) -> StoreResult<Result<(), AccountRefusal>> {
    let changed = client
        .execute(
            "UPDATE staff_users SET password_hash = $2, password_changed_at = $3,
                 failed_logins = 0, locked_until = NULL
             WHERE username = $1",
            &[&username, &password_hash, &stored_now(audit.at)],
        )
        .await
        .map_err(failed("change a password"))?;
    if changed == 0 {
        return Ok(Err(AccountRefusal::Unknown(username.to_owned())));
    }
    client
        .execute(
            "DELETE FROM staff_sessions WHERE username = $1 AND token_hash IS DISTINCT FROM $2",
            &[&username, &keep_session],
        )
        .await
        .map_err(failed("end an account's sessions"))?;
    audit::append_audit(client, audit).await?;
    Ok(Ok(()))
}

async fn set_disabled(
    client: &impl GenericClient,
    username: &str,
    disabled: bool,
    audit: &AuditEntry,
) -> StoreResult<Result<(), AccountRefusal>> {
    let at = disabled.then(|| stored_now(audit.at));
    let changed = client
        .execute(
            "UPDATE staff_users SET disabled_at = $2, failed_logins = 0, locked_until = NULL
             WHERE username = $1",
            &[&username, &at],
        )
        .await
        .map_err(failed("disable an account"))?;
    if changed == 0 {
        return Ok(Err(AccountRefusal::Unknown(username.to_owned())));
    }
    if disabled {
        client
            .execute(
                "DELETE FROM staff_sessions WHERE username = $1",
                &[&username],
            )
            .await
            .map_err(failed("end an account's sessions"))?;
    }
    audit::append_audit(client, audit).await?;
    Ok(Ok(()))
}

async fn record_login_failure(
    client: &impl GenericClient,
    username: &str,
    policy: LockPolicy,
    audit: &AuditEntry,
) -> StoreResult<Option<DateTime<Utc>>> {
    // The increment happens in the database, and the row stays locked to the commit: failures
    // arriving at once each count (a read-then-write would lose some and under-lock), and the
    // lock below is set from this transaction's own count.
    let failures: Option<i64> = client
        .query_opt(
            "UPDATE staff_users SET failed_logins = failed_logins + 1 WHERE username = $1
             RETURNING failed_logins",
            &[&username],
        )
        .await
        .map_err(failed("count a failed login"))?
        .map(|row| row.get(0));
    let lock =
        failures.and_then(|failures| policy.lock_for(u32::try_from(failures).unwrap_or(u32::MAX)));
    let until = match lock {
        Some(lock) => {
            let until = stored_now(audit.at + lock);
            client
                .execute(
                    "UPDATE staff_users SET locked_until = $2 WHERE username = $1",
                    &[&username, &until],
                )
                .await
                .map_err(failed("lock an account"))?;
            Some(until)
        }
        None => None,
    };
    // Written whether or not the account exists, as SQLite does.
    audit::append_audit(client, audit).await?;
    Ok(until)
}

async fn open_session(
    client: &impl GenericClient,
    session: &NewSession,
    audit: &AuditEntry,
) -> StoreResult<()> {
    let now = stored_now(session.now);
    client
        .execute(
            "UPDATE staff_users SET failed_logins = 0, locked_until = NULL WHERE username = $1",
            &[&session.username],
        )
        .await
        .map_err(failed("open a session"))?;
    // Logging in is when stale sessions are cleared away: no timer needed. SKIP LOCKED: two
    // logins at once would otherwise wait on (or deadlock over) the same stale rows; one a
    // concurrent request holds is cleared by the next login.
    client
        .execute(
            "DELETE FROM staff_sessions WHERE token_hash IN (
                 SELECT token_hash FROM staff_sessions WHERE expires_at <= $1
                 FOR UPDATE SKIP LOCKED)",
            &[&now],
        )
        .await
        .map_err(failed("open a session"))?;
    client
        .execute(
            "INSERT INTO staff_sessions (token_hash, username, csrf_token, created_at,
                                         last_used_at, expires_at, remote)
             VALUES ($1, $2, $3, $4, $4, $5, $6)",
            &[
                &session.token_hash,
                &session.username,
                &session.csrf_token,
                &now,
                &stored_now(session.expires_at),
                &session.remote,
            ],
        )
        .await
        .map_err(failed("open a session"))?;
    audit::append_audit(client, audit).await
}

/// How finely a session's idle expiry slides: in steps of `idle / SLIDE_STEPS`.
const SLIDE_STEPS: i32 = 30;

/// A session row: username, csrf token, created, expires.
type SessionRow = (String, String, DateTime<Utc>, DateTime<Utc>);

/// What a session needs, as [`resume_session`] sees it.
enum SessionLook {
    /// No session has this token: nothing to write.
    Unknown,
    /// Live, and its expiry need not slide yet: nothing to write.
    Live(Box<StaffSession>),
    /// Live, and its expiry slides to this.
    Slide(Box<StaffSession>),
    /// Expired, or its account gone or disabled: it ends.
    Ended,
}

/// Reads the session (`FOR UPDATE` when `lock`, inside the transaction that then writes)
/// and decides what it needs.
async fn look_up_session(
    client: &impl GenericClient,
    token_hash: &str,
    now: DateTime<Utc>,
    lifetime: SessionLifetime,
    lock: bool,
) -> StoreResult<SessionLook> {
    let sql = if lock {
        "SELECT username, csrf_token, created_at, expires_at FROM staff_sessions
         WHERE token_hash = $1 FOR UPDATE"
    } else {
        "SELECT username, csrf_token, created_at, expires_at FROM staff_sessions
         WHERE token_hash = $1"
    };
    let found: Option<SessionRow> = client
        .query_opt(sql, &[&token_hash])
        .await
        .map_err(failed("look up a session"))?
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)));
    let Some((username, csrf_token, created_at, stored_expiry)) = found else {
        return Ok(SessionLook::Unknown);
    };
    let user = find_user(client, &username).await?;
    let live = stored_expiry > now && user.as_ref().is_some_and(|u| !u.is_disabled());
    let Some(user) = user.filter(|_| live) else {
        return Ok(SessionLook::Ended);
    };
    let slid = (now + lifetime.idle).min(created_at + lifetime.absolute);
    // Sliding on every view would make each page a durable write. An expiry already within a
    // thirtieth of the idle time of the slid one (a minute of 30) is left as it is: the
    // session may end up to that much early, never late.
    if slid - stored_expiry < lifetime.idle / SLIDE_STEPS {
        Ok(SessionLook::Live(Box::new(StaffSession {
            user,
            csrf_token,
            created_at,
            expires_at: stored_expiry,
        })))
    } else {
        Ok(SessionLook::Slide(Box::new(StaffSession {
            user,
            csrf_token,
            created_at,
            expires_at: slid,
        })))
    }
}

async fn resume_session(
    store: &PostgresStore,
    token_hash: &str,
    now: DateTime<Utc>,
    lifetime: SessionLifetime,
) -> StoreResult<Option<StaffSession>> {
    let now = stored_now(now);
    let mut client = store.client().await?;
    // Most views (an unknown cookie, a session not due to slide) are answered by a read alone.
    match look_up_session(&client, token_hash, now, lifetime, false).await? {
        SessionLook::Unknown => return Ok(None),
        SessionLook::Live(session) => return Ok(Some(*session)),
        SessionLook::Slide(_) | SessionLook::Ended => {}
    }
    // Looked at again with the row locked: another request may have ended or slid it since.
    let tx = client
        .transaction()
        .await
        .map_err(failed("resume a session"))?;
    let resumed = match look_up_session(&tx, token_hash, now, lifetime, true).await? {
        SessionLook::Unknown => None,
        SessionLook::Live(session) => Some(*session),
        SessionLook::Slide(session) => {
            tx.execute(
                "UPDATE staff_sessions SET last_used_at = $2, expires_at = $3
                 WHERE token_hash = $1",
                &[&token_hash, &now, &session.expires_at],
            )
            .await
            .map_err(failed("keep a session alive"))?;
            Some(*session)
        }
        SessionLook::Ended => {
            tx.execute(
                "DELETE FROM staff_sessions WHERE token_hash = $1",
                &[&token_hash],
            )
            .await
            .map_err(failed("end a session"))?;
            None
        }
    };
    tx.commit().await.map_err(failed("resume a session"))?;
    Ok(resumed)
}

async fn close_session(
    client: &impl GenericClient,
    token_hash: &str,
    audit: &AuditEntry,
) -> StoreResult<()> {
    client
        .execute(
            "DELETE FROM staff_sessions WHERE token_hash = $1",
            &[&token_hash],
        )
        .await
        .map_err(failed("end a session"))?;
    audit::append_audit(client, audit).await
}

async fn revoke_kiosk_in(
    client: &impl GenericClient,
    scope: &Scope,
    kiosk_id: &str,
    now: DateTime<Utc>,
    audit: &AuditEntry,
) -> StoreResult<RevokeOutcome> {
    let kiosk = KioskRef::Id(kiosk_id.to_owned());
    // Checked in the same transaction as the change: the answer for a kiosk outside the
    // scope cannot depend on a read made before.
    let in_scope = kiosks::find(client, &kiosk)
        .await?
        .is_some_and(|found| scope.covers(&found.village));
    if !in_scope {
        return Ok(RevokeOutcome::NotFound);
    }
    let outcome = kiosks::revoke(client, &kiosk, now).await?;
    if matches!(outcome, RevokeOutcome::Revoked(_)) {
        audit::append_audit(client, audit).await?;
    }
    Ok(outcome)
}

async fn list_audit(
    client: &impl GenericClient,
    filter: &AuditFilter,
) -> StoreResult<Vec<AuditRecord>> {
    let action_prefix = filter.action.as_ref().map(|action| {
        // LIKE on a prefix; `_` and `%` in the filter are literal.
        let escaped = action
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("{escaped}%")
    });
    // Bounds cut to milliseconds as SQLite compares them, so both stores pick the same lines.
    let from = filter.from.map(stored_now);
    let until = filter.until.map(stored_now);
    let rows = client
        .query(
            "SELECT seq, at, actor, action, target, detail, remote FROM audit_log
             WHERE ($1::text IS NULL OR actor = $1)
               AND ($2::text IS NULL OR action LIKE $2 ESCAPE '\\')
               AND ($3::text IS NULL OR target = $3)
               AND ($4::timestamptz IS NULL OR at >= $4)
               AND ($5::timestamptz IS NULL OR at < $5)
               AND ($6::bigint IS NULL OR seq < $6)
             ORDER BY seq DESC LIMIT $7",
            &[
                &filter.actor,
                &action_prefix,
                &filter.target,
                &from,
                &until,
                &filter.before_seq,
                &i64::from(filter.limit.max(1)),
            ],
        )
        .await
        .map_err(failed("read the audit log"))?;
    Ok(rows.iter().map(audit::audit_record).collect())
}

impl StaffStore for PostgresStore {
    fn create_user(
        &self,
        user: NewStaffUser,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<StaffUser, AccountRefusal>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(failed("create a staff account"))?;
            let created = create_user(&tx, &user, now, &audit).await?;
            tx.commit()
                .await
                .map_err(failed("create a staff account"))?;
            Ok(created)
        })
    }

    fn find_user<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<StaffUser>> {
        Box::pin(async move { find_user(&self.client().await?, username).await })
    }

    fn list_users(&self) -> StoreFuture<'_, Vec<StaffUser>> {
        Box::pin(async move { list_users(&self.client().await?).await })
    }

    fn set_password<'a>(
        &'a self,
        username: &'a str,
        password_hash: String,
        keep_session: Option<String>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), AccountRefusal>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(failed("change a password"))?;
            let changed = set_password(
                &tx,
                username,
                &password_hash,
                keep_session.as_deref(),
                &audit,
            )
            .await?;
            tx.commit().await.map_err(failed("change a password"))?;
            Ok(changed)
        })
    }

    fn set_disabled<'a>(
        &'a self,
        username: &'a str,
        disabled: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), AccountRefusal>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(failed("disable an account"))?;
            let changed = set_disabled(&tx, username, disabled, &audit).await?;
            tx.commit().await.map_err(failed("disable an account"))?;
            Ok(changed)
        })
    }

    fn record_login_failure<'a>(
        &'a self,
        username: &'a str,
        policy: LockPolicy,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Option<DateTime<Utc>>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(failed("count a failed login"))?;
            let until = record_login_failure(&tx, username, policy, &audit).await?;
            tx.commit().await.map_err(failed("count a failed login"))?;
            Ok(until)
        })
    }

    fn open_session(&self, session: NewSession, audit: AuditEntry) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(failed("open a session"))?;
            open_session(&tx, &session, &audit).await?;
            tx.commit().await.map_err(failed("open a session"))
        })
    }

    fn resume_session<'a>(
        &'a self,
        token_hash: &'a str,
        now: DateTime<Utc>,
        lifetime: SessionLifetime,
    ) -> StoreFuture<'a, Option<StaffSession>> {
        Box::pin(resume_session(self, token_hash, now, lifetime))
    }

    fn close_session<'a>(&'a self, token_hash: &'a str, audit: AuditEntry) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(failed("end a session"))?;
            close_session(&tx, token_hash, &audit).await?;
            tx.commit().await.map_err(failed("end a session"))
        })
    }

    fn fleet_page<'a>(&'a self, query: &'a FleetQuery) -> StoreFuture<'a, FleetPage> {
        Box::pin(async move { kiosks::fleet_page(&self.client().await?, query).await })
    }

    fn fleet_summary<'a>(&'a self, query: &'a FleetSummaryQuery) -> StoreFuture<'a, FleetSummary> {
        Box::pin(async move { kiosks::fleet_summary(&self.client().await?, query).await })
    }

    fn revoke_kiosk_in<'a>(
        &'a self,
        scope: &'a Scope,
        kiosk_id: &'a str,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, RevokeOutcome> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(failed("revoke a kiosk"))?;
            let outcome = revoke_kiosk_in(&tx, scope, kiosk_id, now, &audit).await?;
            tx.commit().await.map_err(failed("revoke a kiosk"))?;
            Ok(outcome)
        })
    }

    fn create_enroll_code_audited(
        &self,
        code: NewEnrollCode,
        audit: AuditEntry,
    ) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(failed("store an enrollment code"))?;
            kiosks::create_code(&tx, &code).await?;
            audit::append_audit(&tx, &audit).await?;
            tx.commit()
                .await
                .map_err(failed("store an enrollment code"))
        })
    }

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            // In a transaction even alone: the chain's advisory lock lasts to the commit.
            let tx = client
                .transaction()
                .await
                .map_err(failed("write the audit log"))?;
            audit::append_audit(&tx, &entry).await?;
            tx.commit().await.map_err(failed("write the audit log"))
        })
    }

    fn list_audit<'a>(&'a self, filter: &'a AuditFilter) -> StoreFuture<'a, Vec<AuditRecord>> {
        Box::pin(async move { list_audit(&self.client().await?, filter).await })
    }

    fn audit_chain_page(
        &self,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreFuture<'_, Vec<ChainedAudit>> {
        Box::pin(async move { audit::chain_page(&self.client().await?, after_seq, limit).await })
    }

    fn audit_head(&self) -> StoreFuture<'_, Option<AuditHead>> {
        Box::pin(async move { audit::head(&self.client().await?).await })
    }
}
