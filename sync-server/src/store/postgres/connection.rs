//! The pool's connections, the mapping of PostgreSQL errors, and the advisory locks that keep
//! each feed's change numbers in commit order.

use deadpool_postgres::GenericClient;

use crate::store::{StoreError, StoreResult};

/// A pooled connection.
pub type Client = deadpool_postgres::Object;

/// Maps a PostgreSQL error to the operation that failed.
pub(super) fn failed(operation: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::backend(operation, source)
}

/// `url` without its password, for messages.
pub(crate) fn redacted(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(config) => {
            let hosts: Vec<String> = config
                .get_hosts()
                .iter()
                .map(|host| match host {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            format!(
                "postgres://{}@{}/{}",
                config.get_user().unwrap_or(""),
                hosts.join(","),
                config.get_dbname().unwrap_or("")
            )
        }
        Err(_) => "a PostgreSQL address that does not parse".into(),
    }
}

/// The feeds whose change numbers must become visible in order.
#[derive(Debug, Clone, Copy)]
pub(super) enum Feed {
    Catalog,
    Notices,
    /// One kiosk number's statuses feed (a replacement keeps the number, and so the lock).
    Statuses(i64),
    /// Enrollment: kiosk numbers are handed out one at a time.
    KioskNumbers,
    /// The audit log's chain: one line at a time links to the last.
    AuditChain,
}

/// Takes `feed`'s lock until the end of the transaction. Take it before drawing a change
/// number; take several in the order of this enum (catalogue, notices, statuses by number,
/// kiosk numbers, audit chain) so two transactions cannot deadlock.
pub(super) async fn lock_feed(client: &impl GenericClient, feed: Feed) -> StoreResult<()> {
    // Two-key advisory locks: the first key names the feed, the second the kiosk number.
    let (class, id): (i32, i32) = match feed {
        Feed::Catalog => (1, 0),
        Feed::Notices => (2, 0),
        Feed::Statuses(number) => (3, number as i32),
        Feed::KioskNumbers => (4, 0),
        Feed::AuditChain => (5, 0),
    };
    // Prepared once per connection: a feed lock is taken on every write to a feed.
    let statement = client
        .prepare_cached("SELECT pg_advisory_xact_lock($1, $2)")
        .await
        .map_err(failed("lock a feed"))?;
    client
        .execute(&statement, &[&class, &id])
        .await
        .map_err(failed("lock a feed"))?;
    Ok(())
}
