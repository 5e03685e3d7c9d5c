//! Accounts, sessions and the audit log (see [`crate::store::staff`]).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use super::audit;
use super::connection::{failed, millis, stored_now, time};
use super::kiosks;
use crate::domain::access::{LockPolicy, Scope, SessionLifetime};
use crate::store::audit_chain::{AuditHead, ChainedAudit};
use crate::store::staff::{
    AccountRefusal, AuditEntry, AuditFilter, AuditRecord, FleetPage, FleetQuery, FleetSummary,
    FleetSummaryQuery, NewSession, NewStaffUser, StaffSession, StaffStore, StaffUser,
};
use crate::store::{KioskRef, NewEnrollCode, RevokeOutcome, StoreError, StoreFuture, StoreResult};

const USER_COLUMNS: &str = "username, display_name, role, scope, password_hash, created_at, \
     password_changed_at, disabled_at, failed_logins, locked_until";

struct UserRow {
    username: String,
    display_name: String,
    role: String,
    scope: String,
    password_hash: String,
    created_at: i64,
    password_changed_at: i64,
    disabled_at: Option<i64>,
    failed_logins: i64,
    locked_until: Option<i64>,
}

fn user_row(row: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        username: row.get(0)?,
        display_name: row.get(1)?,
        role: row.get(2)?,
        scope: row.get(3)?,
        password_hash: row.get(4)?,
        created_at: row.get(5)?,
        password_changed_at: row.get(6)?,
        disabled_at: row.get(7)?,
        failed_logins: row.get(8)?,
        locked_until: row.get(9)?,
    })
}

impl UserRow {
    fn into_user(self) -> StoreResult<StaffUser> {
        let corrupt = |what: String| StoreError::Corrupt { what };
        Ok(StaffUser {
            role: self
                .role
                .parse()
                .map_err(|_| corrupt(format!("role `{}`", self.role)))?,
            scope: self
                .scope
                .parse()
                .map_err(|_| corrupt(format!("scope `{}`", self.scope)))?,
            username: self.username,
            display_name: self.display_name,
            password_hash: self.password_hash,
            created_at: time(self.created_at)?,
            password_changed_at: time(self.password_changed_at)?,
            disabled_at: self.disabled_at.map(time).transpose()?,
            failed_logins: u32::try_from(self.failed_logins).unwrap_or(u32::MAX),
            locked_until: self.locked_until.map(time).transpose()?,
        })
    }
}

pub(super) fn find_user(conn: &Connection, username: &str) -> StoreResult<Option<StaffUser>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM staff_users WHERE username = ?1"),
        [username],
        user_row,
    )
    .optional()
    .map_err(failed("look up a staff account"))?
    .map(UserRow::into_user)
    .transpose()
}

fn list_users(conn: &Connection) -> StoreResult<Vec<StaffUser>> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT {USER_COLUMNS} FROM staff_users ORDER BY username"
        ))
        .map_err(failed("list staff accounts"))?;
    let rows = statement
        .query_map([], user_row)
        .map_err(failed("list staff accounts"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("list staff accounts"))?;
    rows.into_iter().map(UserRow::into_user).collect()
}

pub(super) fn append_audit(conn: &Connection, entry: &AuditEntry) -> StoreResult<()> {
    // Cut to the caps first, so the hash covers exactly the values inserted.
    let entry = &entry.bounded();
    let link = audit::next_link(conn, entry)?;
    conn.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, target, detail, remote, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            link.seq,
            millis(entry.at),
            entry.actor,
            entry.action,
            entry.target,
            entry.detail,
            entry.remote,
            link.prev_hash.as_bytes(),
            link.hash.as_bytes()
        ])
    })
    .map_err(failed("write the audit log"))?;
    Ok(())
}

fn create_user(
    conn: &Connection,
    user: &NewStaffUser,
    now: DateTime<Utc>,
    audit: &AuditEntry,
) -> StoreResult<Result<StaffUser, AccountRefusal>> {
    let now = stored_now(now);
    let inserted = conn
        .execute(
            "INSERT INTO staff_users (username, display_name, role, scope, password_hash,
                                      created_at, password_changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (username) DO NOTHING",
            params![
                user.username,
                user.display_name,
                user.role.as_str(),
                user.scope.to_string(),
                user.password_hash,
                millis(now)
            ],
        )
        .map_err(failed("create a staff account"))?;
    if inserted == 0 {
        return Ok(Err(AccountRefusal::Exists(user.username.clone())));
    }
    append_audit(conn, audit)?;
    let created = find_user(conn, &user.username)?.ok_or_else(|| StoreError::Corrupt {
        what: "a staff account vanished while it was created".into(),
    })?;
    Ok(Ok(created))
}

fn set_password(
    conn: &Connection,
    username: &str,
    password_hash: &str,
    keep_session: Option<&str>,
    audit: &AuditEntry,
) -> StoreResult<Result<(), AccountRefusal>> {
    let changed = conn
        .execute(
            "UPDATE staff_users SET password_hash = ?2, password_changed_at = ?3,
                 failed_logins = 0, locked_until = NULL
             WHERE username = ?1",
            params![username, password_hash, millis(stored_now(audit.at))],
        )
        .map_err(failed("change a password"))?;
    if changed == 0 {
        return Ok(Err(AccountRefusal::Unknown(username.to_owned())));
    }
    conn.execute(
        "DELETE FROM staff_sessions WHERE username = ?1 AND token_hash IS NOT ?2",
        params![username, keep_session],
    )
    .map_err(failed("end an account's sessions"))?;
    append_audit(conn, audit)?;
    Ok(Ok(()))
}

fn set_disabled(
    conn: &Connection,
    username: &str,
    disabled: bool,
    audit: &AuditEntry,
) -> StoreResult<Result<(), AccountRefusal>> {
    let at = disabled.then(|| millis(stored_now(audit.at)));
    let changed = conn
        .execute(
            "UPDATE staff_users SET disabled_at = ?2, failed_logins = 0, locked_until = NULL
             WHERE username = ?1",
            params![username, at],
        )
        .map_err(failed("disable an account"))?;
    if changed == 0 {
        return Ok(Err(AccountRefusal::Unknown(username.to_owned())));
    }
    if disabled {
        conn.execute("DELETE FROM staff_sessions WHERE username = ?1", [username])
            .map_err(failed("end an account's sessions"))?;
    }
    append_audit(conn, audit)?;
    Ok(Ok(()))
}

fn record_login_failure(
    conn: &Connection,
    username: &str,
    policy: LockPolicy,
    audit: &AuditEntry,
) -> StoreResult<Option<DateTime<Utc>>> {
    append_audit(conn, audit)?;
    let failures: Option<i64> = conn
        .query_row(
            "UPDATE staff_users SET failed_logins = failed_logins + 1 WHERE username = ?1
             RETURNING failed_logins",
            [username],
            |row| row.get(0),
        )
        .optional()
        .map_err(failed("count a failed login"))?;
    let Some(failures) = failures else {
        return Ok(None);
    };
    let Some(lock) = policy.lock_for(u32::try_from(failures).unwrap_or(u32::MAX)) else {
        return Ok(None);
    };
    let until = stored_now(audit.at + lock);
    conn.execute(
        "UPDATE staff_users SET locked_until = ?2 WHERE username = ?1",
        params![username, millis(until)],
    )
    .map_err(failed("lock an account"))?;
    Ok(Some(until))
}

fn open_session(conn: &Connection, session: &NewSession, audit: &AuditEntry) -> StoreResult<()> {
    conn.execute(
        "UPDATE staff_users SET failed_logins = 0, locked_until = NULL WHERE username = ?1",
        [&session.username],
    )
    .map_err(failed("open a session"))?;
    // Logging in is when stale sessions are cleared away: no timer needed.
    conn.execute(
        "DELETE FROM staff_sessions WHERE expires_at <= ?1",
        [millis(session.now)],
    )
    .map_err(failed("open a session"))?;
    conn.execute(
        "INSERT INTO staff_sessions (token_hash, username, csrf_token, created_at,
                                     last_used_at, expires_at, remote)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
        params![
            session.token_hash,
            session.username,
            session.csrf_token,
            millis(session.now),
            millis(session.expires_at),
            session.remote
        ],
    )
    .map_err(failed("open a session"))?;
    append_audit(conn, audit)
}

/// How finely a session's idle expiry slides: in steps of `idle / SLIDE_STEPS`.
const SLIDE_STEPS: i32 = 30;

/// What a read connection can tell of a session without writing.
enum SessionLook {
    /// No session has this token: nothing to write.
    Unknown,
    /// Live, and its expiry need not slide yet: nothing to write.
    Live(Box<StaffSession>),
    /// Expired, its account gone or disabled, or due to slide: the writer must act.
    NeedsWrite,
}

/// The read-only half of [`resume_session`]: a cookie naming no session (made up, or long
/// ended) is answered from a read connection and never takes a turn on the single writer.
fn look_up_session(
    conn: &Connection,
    token_hash: &str,
    now: DateTime<Utc>,
    lifetime: SessionLifetime,
) -> StoreResult<SessionLook> {
    let now = stored_now(now);
    let found: Option<(String, String, i64, i64)> = conn
        .query_row(
            "SELECT username, csrf_token, created_at, expires_at FROM staff_sessions
             WHERE token_hash = ?1",
            [token_hash],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()
        .map_err(failed("look up a session"))?;
    let Some((username, csrf_token, created_at, expires_at)) = found else {
        return Ok(SessionLook::Unknown);
    };
    let user = find_user(conn, &username)?;
    let live = expires_at > millis(now) && user.as_ref().is_some_and(|u| !u.is_disabled());
    let Some(user) = user.filter(|_| live) else {
        return Ok(SessionLook::NeedsWrite);
    };
    let created_at = time(created_at)?;
    let stored_expiry = time(expires_at)?;
    let slid = (now + lifetime.idle).min(created_at + lifetime.absolute);
    if slid - stored_expiry < lifetime.idle / SLIDE_STEPS {
        Ok(SessionLook::Live(Box::new(StaffSession {
            user,
            csrf_token,
            created_at,
            expires_at: stored_expiry,
        })))
    } else {
        Ok(SessionLook::NeedsWrite)
    }
}

fn resume_session(
    conn: &Connection,
    token_hash: &str,
    now: DateTime<Utc>,
    lifetime: SessionLifetime,
) -> StoreResult<Option<StaffSession>> {
    let now = stored_now(now);
    let found: Option<(String, String, i64, i64)> = conn
        .query_row(
            "SELECT username, csrf_token, created_at, expires_at FROM staff_sessions
             WHERE token_hash = ?1",
            [token_hash],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()
        .map_err(failed("look up a session"))?;
    let Some((username, csrf_token, created_at, expires_at)) = found else {
        return Ok(None);
    };
    let user = find_user(conn, &username)?;
    let live = expires_at > millis(now) && user.as_ref().is_some_and(|u| !u.is_disabled());
    let Some(user) = user.filter(|_| live) else {
        conn.execute(
            "DELETE FROM staff_sessions WHERE token_hash = ?1",
            [token_hash],
        )
        .map_err(failed("end a session"))?;
        return Ok(None);
    };
    let created_at = time(created_at)?;
    let stored_expiry = time(expires_at)?;
    let slid = (now + lifetime.idle).min(created_at + lifetime.absolute);
    // Sliding on every view would make each page a durable write. An expiry already within a
    // thirtieth of the idle time of the slid one (a minute of 30) is left as it is: the
    // session may end up to that much early, never late.
    let expires_at = if slid - stored_expiry < lifetime.idle / SLIDE_STEPS {
        stored_expiry
    } else {
        conn.execute(
            "UPDATE staff_sessions SET last_used_at = ?2, expires_at = ?3 WHERE token_hash = ?1",
            params![token_hash, millis(now), millis(slid)],
        )
        .map_err(failed("keep a session alive"))?;
        slid
    };
    Ok(Some(StaffSession {
        user,
        csrf_token,
        created_at,
        expires_at,
    }))
}

fn revoke_kiosk_in(
    conn: &Connection,
    scope: &Scope,
    kiosk_id: &str,
    now: DateTime<Utc>,
    audit: &AuditEntry,
) -> StoreResult<RevokeOutcome> {
    let kiosk = KioskRef::Id(kiosk_id.to_owned());
    // Checked in the same transaction as the change: the answer for a kiosk outside the
    // scope cannot depend on a read made before.
    let in_scope = kiosks::find(conn, &kiosk)?.is_some_and(|found| scope.covers(&found.village));
    if !in_scope {
        return Ok(RevokeOutcome::NotFound);
    }
    let outcome = kiosks::revoke(conn, &kiosk, now)?;
    if matches!(outcome, RevokeOutcome::Revoked(_)) {
        append_audit(conn, audit)?;
    }
    Ok(outcome)
}

fn list_audit(conn: &Connection, filter: &AuditFilter) -> StoreResult<Vec<AuditRecord>> {
    let action_prefix = filter.action.as_ref().map(|action| {
        // LIKE on a prefix; `_` and `%` in the filter are literal.
        let escaped = action
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("{escaped}%")
    });
    let mut statement = conn
        .prepare(
            "SELECT seq, at, actor, action, target, detail, remote FROM audit_log
             WHERE (?1 IS NULL OR actor = ?1)
               AND (?2 IS NULL OR action LIKE ?2 ESCAPE '\\')
               AND (?3 IS NULL OR target = ?3)
               AND (?4 IS NULL OR at >= ?4)
               AND (?5 IS NULL OR at < ?5)
               AND (?6 IS NULL OR seq < ?6)
             ORDER BY seq DESC LIMIT ?7",
        )
        .map_err(failed("read the audit log"))?;
    let rows = statement
        .query_map(
            params![
                filter.actor,
                action_prefix,
                filter.target,
                filter.from.map(millis),
                filter.until.map(millis),
                filter.before_seq,
                i64::from(filter.limit.max(1)),
            ],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, Option<String>>(6)?,
                ))
            },
        )
        .map_err(failed("read the audit log"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("read the audit log"))?;
    rows.into_iter()
        .map(|(seq, at, actor, action, target, detail, remote)| {
            Ok(AuditRecord {
                seq,
                entry: AuditEntry {
                    at: time(at)?,
                    actor,
                    action,
                    target,
                    detail,
                    remote,
                },
            })
        })
        .collect()
}

impl StaffStore for SqliteStore {
    fn create_user(
        &self,
        user: NewStaffUser,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<StaffUser, AccountRefusal>> {
        Box::pin(self.writer.write("create a staff account", move |conn| {
            create_user(conn, &user, now, &audit)
        }))
    }

    fn find_user<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<StaffUser>> {
        let username = username.to_owned();
        Box::pin(self.readers.read(move |conn| find_user(conn, &username)))
    }

    fn list_users(&self) -> StoreFuture<'_, Vec<StaffUser>> {
        Box::pin(self.readers.read(list_users))
    }

    fn set_password<'a>(
        &'a self,
        username: &'a str,
        password_hash: String,
        keep_session: Option<String>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), AccountRefusal>> {
        let username = username.to_owned();
        Box::pin(self.writer.write("change a password", move |conn| {
            set_password(
                conn,
                &username,
                &password_hash,
                keep_session.as_deref(),
                &audit,
            )
        }))
    }

    fn set_disabled<'a>(
        &'a self,
        username: &'a str,
        disabled: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), AccountRefusal>> {
        let username = username.to_owned();
        Box::pin(self.writer.write("disable an account", move |conn| {
            set_disabled(conn, &username, disabled, &audit)
        }))
    }

    fn record_login_failure<'a>(
        &'a self,
        username: &'a str,
        policy: LockPolicy,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Option<DateTime<Utc>>> {
        let username = username.to_owned();
        Box::pin(self.writer.write("count a failed login", move |conn| {
            record_login_failure(conn, &username, policy, &audit)
        }))
    }

    fn open_session(&self, session: NewSession, audit: AuditEntry) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.write("open a session", move |conn| {
            open_session(conn, &session, &audit)
        }))
    }

    fn resume_session<'a>(
        &'a self,
        token_hash: &'a str,
        now: DateTime<Utc>,
        lifetime: SessionLifetime,
    ) -> StoreFuture<'a, Option<StaffSession>> {
        let token_hash = token_hash.to_owned();
        Box::pin(async move {
            let hash = token_hash.clone();
            let look = self
                .readers
                .read(move |conn| look_up_session(conn, &hash, now, lifetime))
                .await?;
            match look {
                SessionLook::Unknown => Ok(None),
                SessionLook::Live(session) => Ok(Some(*session)),
                // Checked again inside the write: another request may have ended or slid it.
                SessionLook::NeedsWrite => {
                    self.writer
                        .write("resume a session", move |conn| {
                            resume_session(conn, &token_hash, now, lifetime)
                        })
                        .await
                }
            }
        })
    }

    fn close_session<'a>(&'a self, token_hash: &'a str, audit: AuditEntry) -> StoreFuture<'a, ()> {
        let token_hash = token_hash.to_owned();
        Box::pin(self.writer.write("end a session", move |conn| {
            conn.execute(
                "DELETE FROM staff_sessions WHERE token_hash = ?1",
                [&token_hash],
            )
            .map_err(failed("end a session"))?;
            append_audit(conn, &audit)
        }))
    }

    fn fleet_page<'a>(&'a self, query: &'a FleetQuery) -> StoreFuture<'a, FleetPage> {
        let query = query.clone();
        Box::pin(
            self.readers
                .read(move |conn| kiosks::fleet_page(conn, &query)),
        )
    }

    fn fleet_summary<'a>(&'a self, query: &'a FleetSummaryQuery) -> StoreFuture<'a, FleetSummary> {
        let query = query.clone();
        Box::pin(
            self.readers
                .read(move |conn| kiosks::fleet_summary(conn, &query)),
        )
    }

    fn revoke_kiosk_in<'a>(
        &'a self,
        scope: &'a Scope,
        kiosk_id: &'a str,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, RevokeOutcome> {
        let (scope, kiosk_id) = (scope.clone(), kiosk_id.to_owned());
        Box::pin(self.writer.write("revoke a kiosk", move |conn| {
            revoke_kiosk_in(conn, &scope, &kiosk_id, now, &audit)
        }))
    }

    fn create_enroll_code_audited(
        &self,
        code: NewEnrollCode,
        audit: AuditEntry,
    ) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.write("store an enrollment code", move |conn| {
            kiosks::create_enroll_code(conn, &code)?;
            append_audit(conn, &audit)
        }))
    }

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.write("write the audit log", move |conn| {
            append_audit(conn, &entry)
        }))
    }

    fn list_audit<'a>(&'a self, filter: &'a AuditFilter) -> StoreFuture<'a, Vec<AuditRecord>> {
        let filter = filter.clone();
        Box::pin(self.readers.read(move |conn| list_audit(conn, &filter)))
    }

    fn audit_chain_page(
        &self,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreFuture<'_, Vec<ChainedAudit>> {
        Box::pin(
            self.readers
                .read(move |conn| audit::chain_page(conn, after_seq, limit)),
        )
    }

    fn audit_head(&self) -> StoreFuture<'_, Option<AuditHead>> {
        Box::pin(self.readers.read(audit::head))
    }
}
