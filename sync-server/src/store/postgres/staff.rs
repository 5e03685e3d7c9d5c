#![allow(unused_variables, unused_imports, dead_code)]
// SCAFFOLD: replace every not_yet stub.

use crate::domain::access::{LockPolicy, Role, Scope, SessionLifetime};
use crate::domain::fleet::KioskRecord;
use crate::domain::limits;
use crate::store::audit_chain::{AuditHead, ChainedAudit};
use crate::store::{NewEnrollCode, RevokeOutcome, StoreFuture};
use chrono::{DateTime, Utc};
use std::fmt;

use crate::store::StoreResult;
use deadpool_postgres::GenericClient;

use super::PostgresStore;
use crate::store::staff::*;

impl StaffStore for PostgresStore {
    fn create_user(
        &self,
        user: NewStaffUser,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<StaffUser, AccountRefusal>> {
        Box::pin(async move { Err(super::not_yet("create_user")) })
    }

    fn find_user<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<StaffUser>> {
        Box::pin(async move { Err(super::not_yet("find_user")) })
    }

    fn list_users(&self) -> StoreFuture<'_, Vec<StaffUser>> {
        Box::pin(async move { Err(super::not_yet("list_users")) })
    }

    fn set_password<'a>(
        &'a self,
        username: &'a str,
        password_hash: String,
        keep_session: Option<String>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), AccountRefusal>> {
        Box::pin(async move { Err(super::not_yet("set_password")) })
    }

    fn set_disabled<'a>(
        &'a self,
        username: &'a str,
        disabled: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), AccountRefusal>> {
        Box::pin(async move { Err(super::not_yet("set_disabled")) })
    }

    fn record_login_failure<'a>(
        &'a self,
        username: &'a str,
        policy: LockPolicy,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Option<DateTime<Utc>>> {
        Box::pin(async move { Err(super::not_yet("record_login_failure")) })
    }

    fn open_session(&self, session: NewSession, audit: AuditEntry) -> StoreFuture<'_, ()> {
        Box::pin(async move { Err(super::not_yet("open_session")) })
    }

    fn resume_session<'a>(
        &'a self,
        token_hash: &'a str,
        now: DateTime<Utc>,
        lifetime: SessionLifetime,
    ) -> StoreFuture<'a, Option<StaffSession>> {
        Box::pin(async move { Err(super::not_yet("resume_session")) })
    }

    fn close_session<'a>(&'a self, token_hash: &'a str, audit: AuditEntry) -> StoreFuture<'a, ()> {
        Box::pin(async move { Err(super::not_yet("close_session")) })
    }

    fn list_kiosks_in<'a>(&'a self, scope: &'a Scope) -> StoreFuture<'a, Vec<KioskRecord>> {
        Box::pin(async move { Err(super::not_yet("list_kiosks_in")) })
    }

    fn revoke_kiosk_in<'a>(
        &'a self,
        scope: &'a Scope,
        kiosk_id: &'a str,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, RevokeOutcome> {
        Box::pin(async move { Err(super::not_yet("revoke_kiosk_in")) })
    }

    fn create_enroll_code_audited(
        &self,
        code: NewEnrollCode,
        audit: AuditEntry,
    ) -> StoreFuture<'_, ()> {
        Box::pin(async move { Err(super::not_yet("create_enroll_code_audited")) })
    }

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, ()> {
        Box::pin(async move { Err(super::not_yet("append_audit")) })
    }

    fn list_audit<'a>(&'a self, filter: &'a AuditFilter) -> StoreFuture<'a, Vec<AuditRecord>> {
        Box::pin(async move { Err(super::not_yet("list_audit")) })
    }

    fn audit_chain_page(
        &self,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreFuture<'_, Vec<ChainedAudit>> {
        Box::pin(async move { Err(super::not_yet("audit_chain_page")) })
    }

    fn audit_head(&self) -> StoreFuture<'_, Option<AuditHead>> {
        Box::pin(async move { Err(super::not_yet("audit_head")) })
    }
}

pub(super) async fn find_user(
    client: &impl GenericClient,
    username: &str,
) -> StoreResult<Option<StaffUser>> {
    Err(super::not_yet("staff::find_user"))
}
