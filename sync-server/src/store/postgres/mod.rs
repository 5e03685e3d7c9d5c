//! The PostgreSQL store, for a prefecture or province that runs several server instances on
//! the database its IT already operates. Same trait, same conformance suites as [`super::sqlite`].
//!
//! - [`connection`]: the pool, error mapping and the locks that order feeds.
//! - [`schema`]: versioned migrations, applied under an advisory lock so instances starting
//!   together migrate once.
//! - [`sealed`]: the at-rest key check and the pass that re-seals after a rotation.
//! - [`kiosks`], [`submissions`], [`feeds`]: the SQL behind [`Store`]'s own methods;
//!   [`staff`], [`review`], [`content`], [`ratings`], [`releases`]: each supertrait.
//!
//! Why tokio-postgres with deadpool (and not sqlx): the server already speaks async and needs
//! nothing but a client and a pool; sqlx would bring its own SQLite driver (a second SQLite
//! library beside rusqlite) unless trimmed by features, a query macro layer that wants a
//! database at build time, and a larger build. tokio-postgres is the client sqlx's own Postgres
//! driver grew out of, maintained with rust-postgres; deadpool is a small, maintained pool.
//!
//! Rules, beside the trait's (see [`super`]):
//! - Every integer column is BIGINT (i64), every time TIMESTAMPTZ holding milliseconds, every
//!   flag BOOLEAN; tables, columns and row keys are named as in SQLite, because a sealed value
//!   names its place and `migrate-store` copies sealed values as they are.
//! - A change number a feed hands out (status changes, catalogue, notices) is drawn while the
//!   transaction holds that feed's advisory lock ([`connection::lock_feed`]), so the feed's
//!   changes commit in number order and no reader's cursor passes one still in flight.

mod attachments;
mod audit;
mod connection;
mod content;
mod feeds;
mod filter;
mod kiosks;
mod ratings;
mod releases;
mod review;
mod schema;
mod sealed;
mod staff;
mod submissions;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use sync_protocol::feed::{CatalogItem, FeedPage, Notice, StatusChange, SubmissionStatus};
use sync_protocol::heartbeat::Heartbeat;
use tokio_postgres::NoTls;

pub use self::connection::Client;
pub(crate) use self::connection::redacted;
pub use super::sealed_columns::SealReport;
use super::sealing::KeyRing;
use super::{
    EnrollClaim, EnrollRefusal, Enrollment, ImportReport, IngestItem, IngestOutcome, KioskRef,
    NewEnrollCode, NewNotice, RevokeOutcome, Store, StoreError, StoreFuture, StoreStats,
    SubmissionFilter, SubmissionRecord, SubmissionRef,
};
use crate::domain::fleet::KioskRecord;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = schema::VERSION;

/// Connections one server instance keeps open: PostgreSQL's default max_connections (100) is
/// shared by every instance and staff command.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// A PostgreSQL database (or one schema of it, by `search_path`) used as the server's store.
pub struct PostgresStore {
    pool: Pool,
    keys: Arc<KeyRing>,
    sealed_at_open: SealReport,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`, or libpq's `key=value` form), migrates the
    /// schema, refuses `keys` if they are not the database's and re-seals what an older key
    /// sealed. The password, if any, stays out of every error message.
    pub async fn open(url: &str, keys: Arc<KeyRing>) -> Result<Self, StoreError> {
        Self::open_with(url, keys, DEFAULT_POOL_SIZE).await
    }

    pub async fn open_with(
        url: &str,
        keys: Arc<KeyRing>,
        pool_size: usize,
    ) -> Result<Self, StoreError> {
        let store = Self {
            pool: pool(url, pool_size)?,
            keys,
            sealed_at_open: SealReport::default(),
        };
        let mut client = store.client().await.map_err(|error| StoreError::Open {
            path: connection::redacted(url),
            source: Arc::new(error),
        })?;
        schema::migrate(&mut client).await?;
        let sealed_at_open = sealed::bring_under_newest_key(&mut client, &store.keys).await?;
        drop(client);
        Ok(Self {
            sealed_at_open,
            ..store
        })
    }

    /// Creates or migrates the schema at `url` and writes nothing else (no key check):
    /// `migrate-store` then fills it with a county's rows, `meta` and its key checks included.
    pub async fn migrate_schema(url: &str) -> Result<(), StoreError> {
        let pool = pool(url, 1)?;
        let mut client = pool.get().await.map_err(|source| StoreError::Open {
            path: connection::redacted(url),
            source: Arc::new(source),
        })?;
        schema::migrate(&mut client).await
    }

    /// What opening sealed or re-sealed.
    pub fn sealed_at_open(&self) -> SealReport {
        self.sealed_at_open
    }

    /// How many stored values at-rest key `key_id` still opens.
    pub async fn count_sealed_with(&self, key_id: u32) -> Result<u64, StoreError> {
        let client = self.client().await?;
        sealed::count_sealed_with(&client, key_id).await
    }

    /// The store's pool, for what the server instances share beside the store
    /// (`crate::shared::SharedState::postgres`): its tables come with the store's migrations.
    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// A connection from the pool.
    async fn client(&self) -> Result<Client, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|source| StoreError::backend("get a PostgreSQL connection", source))
    }

    fn keys(&self) -> Arc<KeyRing> {
        Arc::clone(&self.keys)
    }
}

/// A pool of at most `size` connections to `url`.
fn pool(url: &str, size: usize) -> Result<Pool, StoreError> {
    let config: tokio_postgres::Config = url.parse().map_err(|source| StoreError::Open {
        path: connection::redacted(url),
        source: Arc::new(source),
    })?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .build()
        .map_err(|source| StoreError::Open {
            path: connection::redacted(url),
            source: Arc::new(source),
        })
}

impl Store for PostgresStore {
    fn server_id(&self) -> StoreFuture<'_, String> {
        Box::pin(kiosks::server_id(self))
    }

    fn create_enroll_code(&self, code: NewEnrollCode) -> StoreFuture<'_, ()> {
        Box::pin(kiosks::create_enroll_code(self, code))
    }

    fn enroll_kiosk(
        &self,
        claim: EnrollClaim,
    ) -> StoreFuture<'_, Result<Enrollment, EnrollRefusal>> {
        Box::pin(kiosks::enroll_kiosk(self, claim))
    }

    fn find_kiosk<'a>(&'a self, kiosk: &'a KioskRef) -> StoreFuture<'a, Option<KioskRecord>> {
        Box::pin(kiosks::find_kiosk(self, kiosk))
    }

    fn list_kiosks(&self) -> StoreFuture<'_, Vec<KioskRecord>> {
        Box::pin(kiosks::list_kiosks(self))
    }

    fn revoke_kiosk<'a>(
        &'a self,
        kiosk: &'a KioskRef,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, RevokeOutcome> {
        Box::pin(kiosks::revoke_kiosk(self, kiosk, now))
    }

    fn touch_kiosk<'a>(&'a self, kiosk_id: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, ()> {
        Box::pin(kiosks::touch_kiosk(self, kiosk_id, now))
    }

    fn record_heartbeat<'a>(
        &'a self,
        kiosk_id: &'a str,
        heartbeat: &'a Heartbeat,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(kiosks::record_heartbeat(self, kiosk_id, heartbeat, now))
    }

    fn ingest<'a>(
        &'a self,
        kiosk_id: &'a str,
        items: Vec<IngestItem>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Vec<IngestOutcome>> {
        Box::pin(submissions::ingest(self, kiosk_id, items, now))
    }

    fn list_submissions<'a>(
        &'a self,
        filter: &'a SubmissionFilter,
    ) -> StoreFuture<'a, Vec<SubmissionRecord>> {
        Box::pin(submissions::list_submissions(self, filter))
    }

    fn find_submission<'a>(
        &'a self,
        submission: &'a SubmissionRef,
    ) -> StoreFuture<'a, Option<SubmissionRecord>> {
        Box::pin(submissions::find_submission(self, submission))
    }

    fn submission_history(&self, id: uuid::Uuid) -> StoreFuture<'_, Vec<StatusChange>> {
        Box::pin(submissions::submission_history(self, id))
    }

    fn supplements(
        &self,
        original: uuid::Uuid,
        limit: u32,
    ) -> StoreFuture<'_, Vec<SubmissionRecord>> {
        Box::pin(submissions::supplements(self, original, limit))
    }

    fn set_status<'a>(
        &'a self,
        submission: &'a SubmissionRef,
        status: SubmissionStatus,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Option<StatusChange>> {
        Box::pin(submissions::set_status(self, submission, status, note, now))
    }

    fn import_catalog(
        &self,
        items: Vec<CatalogItem>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, ImportReport> {
        Box::pin(feeds::import_catalog(self, items, now))
    }

    fn add_notice(&self, notice: NewNotice, now: DateTime<Utc>) -> StoreFuture<'_, Notice> {
        Box::pin(feeds::add_notice(self, notice, now))
    }

    fn catalog_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: u32,
    ) -> StoreFuture<'a, FeedPage<CatalogItem>> {
        Box::pin(feeds::catalog_page(self, after, limit))
    }

    fn catalog_version(&self) -> StoreFuture<'_, i64> {
        Box::pin(feeds::catalog_version(self))
    }

    fn notices_page<'a>(
        &'a self,
        village: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> StoreFuture<'a, FeedPage<Notice>> {
        Box::pin(feeds::notices_page(self, village, after, limit))
    }

    fn statuses_page<'a>(
        &'a self,
        kiosk_id: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> StoreFuture<'a, FeedPage<StatusChange>> {
        Box::pin(feeds::statuses_page(self, kiosk_id, after, limit))
    }

    fn sealed_at_open(&self) -> SealReport {
        self.sealed_at_open
    }

    fn at_rest_keys(&self) -> Arc<KeyRing> {
        self.keys()
    }

    fn count_sealed_with(&self, key_id: u32) -> StoreFuture<'_, u64> {
        Box::pin(PostgresStore::count_sealed_with(self, key_id))
    }

    fn stats(&self) -> StoreFuture<'_, StoreStats> {
        Box::pin(kiosks::stats(self))
    }
}

/// Throwaway schemas for tests: each test's store lives in its own schema of one database
/// (`SYNC_SERVER_TEST_POSTGRES`, default the local server's `sync_server_tests`, created when
/// missing), dropped when the guard goes. A test that cannot reach PostgreSQL fails: CI
/// installs and starts it.
#[cfg(any(test, feature = "conformance"))]
pub mod testing {
    use std::sync::Arc;

    use super::PostgresStore;
    use crate::store::sealing::KeyRing;

    /// The database tests use unless `SYNC_SERVER_TEST_POSTGRES` names another.
    pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/sync_server_tests";

    /// A schema that exists until this is dropped.
    #[derive(Debug)]
    pub struct TestSchema {
        base: String,
        name: String,
    }

    impl TestSchema {
        /// The database URL, with `search_path` set to this schema: what `serve --store` takes.
        pub fn url(&self) -> String {
            let separator = if self.base.contains('?') { '&' } else { '?' };
            format!(
                "{}{separator}options=-csearch_path%3D{}",
                self.base, self.name
            )
        }

        /// Creates a fresh, empty schema (and the database, the first time).
        pub async fn create() -> Self {
            let base =
                std::env::var("SYNC_SERVER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.into());
            ensure_database(&base).await;
            let name = format!("t_{}", uuid::Uuid::now_v7().simple());
            let client = connect(&base).await;
            client
                .batch_execute(&format!("CREATE SCHEMA {name}"))
                .await
                .unwrap_or_else(|e| panic!("create test schema {name} in {base}: {e}"));
            Self { base, name }
        }

        /// A pool of `size` connections to this schema, migrated: what one more server
        /// instance would use (without opening the store, which would need its keys).
        pub async fn pool(&self, size: usize) -> deadpool_postgres::Pool {
            let config: tokio_postgres::Config = self.url().parse().expect("the test URL parses");
            let manager = deadpool_postgres::Manager::from_config(
                config,
                tokio_postgres::NoTls,
                deadpool_postgres::ManagerConfig {
                    recycling_method: deadpool_postgres::RecyclingMethod::Fast,
                },
            );
            let pool = deadpool_postgres::Pool::builder(manager)
                .max_size(size.max(1))
                .build()
                .expect("build a test pool");
            let mut client = pool.get().await.unwrap_or_else(|e| {
                panic!("cannot reach the tests' PostgreSQL for {}: {e}", self.name)
            });
            super::schema::migrate(&mut client)
                .await
                .unwrap_or_else(|e| panic!("migrate test schema {}: {e}", self.name));
            drop(client);
            pool
        }

        /// A store in this schema with `keys`.
        pub async fn open(&self, keys: Arc<KeyRing>) -> PostgresStore {
            PostgresStore::open_with(&self.url(), keys, 4)
                .await
                .unwrap_or_else(|e| panic!("open a PostgreSQL store in {}: {e}", self.name))
        }
    }

    impl Drop for TestSchema {
        fn drop(&mut self) {
            let (base, name) = (self.base.clone(), self.name.clone());
            // Drop may run inside a runtime: the cleanup gets a thread and a runtime of its own.
            let cleanup = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let (client, connection) =
                        tokio_postgres::connect(&base, tokio_postgres::NoTls)
                            .await
                            .ok()?;
                    tokio::spawn(connection);
                    client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .await
                        .ok()
                })
            });
            let _ = cleanup.join();
        }
    }

    async fn connect(url: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot reach the tests' PostgreSQL at {url}: {e}; start PostgreSQL or set \
                     SYNC_SERVER_TEST_POSTGRES"
                )
            });
        tokio::spawn(connection);
        client
    }

    /// Creates the tests' database through the server's `postgres` database when missing.
    async fn ensure_database(url: &str) {
        let config: tokio_postgres::Config = url.parse().expect("SYNC_SERVER_TEST_POSTGRES parses");
        let Some(dbname) = config.get_dbname().map(str::to_owned) else {
            return;
        };
        let mut admin = config.clone();
        admin.dbname("postgres");
        let (client, connection) = admin
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the tests' PostgreSQL at {url}: {e}; start PostgreSQL or set SYNC_SERVER_TEST_POSTGRES"));
        tokio::spawn(connection);
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&dbname])
            .await
            .expect("list databases")
            .is_some();
        if !exists {
            // Two test binaries may race to create it: the loser's "already exists" is fine.
            if let Err(e) = client
                .batch_execute(&format!("CREATE DATABASE \"{dbname}\""))
                .await
            {
                let duplicate = e.code()
                    == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
                    || e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION);
                assert!(duplicate, "create database {dbname}: {e}");
            }
        }
    }
}
