//! What every instance of the server must agree on besides the store: the replay memory
//! ([`Nonces`]) and the guessing limits ([`EnrollLimit`], [`LoginLimit`]).
//!
//! One process keeps them in memory ([`SharedState::memory`]): that is the SQLite store's
//! case, one server per database. Several instances behind a load balancer on one PostgreSQL
//! database must keep them in that database ([`SharedState::postgres`]): a nonce remembered
//! by one instance alone could be replayed at the next, and a guesser alternating between two
//! instances would get two budgets.
//!
//! This layer sits between [`crate::api`] / [`crate::staff`] (which define the interfaces and
//! the in-memory forms) and [`crate::state`] (which holds whichever forms it is given).

pub mod postgres;

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::api::nonces::{NonceCache, Nonces};
use crate::api::rate_limit::{EnrollLimit, EnrollLimiter};
use crate::settings::Settings;
use crate::staff::login_limit::{LoginLimit, LoginLimiter};

/// The replay memory and guessing limits an [`crate::state::AppState`] uses; cheap to clone.
#[derive(Clone, Debug)]
pub struct SharedState {
    pub nonces: Arc<dyn Nonces>,
    pub enroll: Arc<dyn EnrollLimit>,
    pub login: Arc<dyn LoginLimit>,
}

impl SharedState {
    /// In this process's memory: for a server that is the only one on its store.
    pub fn memory(settings: &Settings) -> Self {
        Self {
            nonces: Arc::new(NonceCache::default()),
            enroll: Arc::new(EnrollLimiter::new(settings.enroll_limits)),
            login: Arc::new(LoginLimiter::new(settings.login_limits)),
        }
    }

    /// In the PostgreSQL database `pool` reaches, shared by every instance using it. The
    /// schema must be one [`crate::store::postgres::PostgresStore::open`] migrated (its tables
    /// come with the store's migrations): pass that store's
    /// [`crate::store::postgres::PostgresStore::pool`]. Each instance still applies its own
    /// `settings`; give them all the same limits.
    pub fn postgres(pool: Pool, settings: &Settings) -> Self {
        Self {
            nonces: Arc::new(postgres::PgNonces::new(pool.clone())),
            enroll: Arc::new(postgres::PgEnrollLimiter::new(
                pool.clone(),
                settings.enroll_limits,
            )),
            login: Arc::new(postgres::PgLoginLimiter::new(pool, settings.login_limits)),
        }
    }
}
