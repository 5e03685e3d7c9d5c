//! Running the server: open the store in a data directory, serve a listener, stop gracefully.
//!
//! In-process use (tests, benchmarks):
//! ```no_run
//! # async fn example() -> Result<(), sync_server::server::ServerError> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let dir = std::path::Path::new("/tmp/sync-server-example");
//! let settings = sync_server::settings::Settings::default();
//! let keys = sync_server::key_file::ServerKeys::generate();
//! tokio::spawn(sync_server::server::run(listener, dir, keys, settings, async move {
//!     let _ = stopped.await;
//! }));
//! // … talk to it …
//! let _ = stop.send(());
//! # Ok(()) }
//! ```

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::api::enroll_codes::CodeSecret;
use crate::app::app;
use crate::connections::{self, Accept, PlainIncoming};
use crate::data_dir::{DataDir, DataDirError};
use crate::key_file::ServerKeys;
use crate::settings::{Settings, StoreChoice};
use crate::shared::SharedState;
use crate::state::AppState;
use crate::store::postgres::PostgresStore;
use crate::store::sealed_columns::SealReport;
use crate::store::sealing::KeyRing;
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};
use crate::tls::TlsListener;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the server stopped serving: {0}")]
    Serve(#[source] std::io::Error),
}

/// Opens (creating if needed) the store `settings.store` names (the SQLite file in `data_dir`
/// by default), sealed with `keys`, and builds the state to serve.
pub async fn open_state(
    data_dir: &Path,
    keys: ServerKeys,
    mut settings: Settings,
) -> Result<AppState, ServerError> {
    let dir = DataDir::create(data_dir)?;
    settings
        .releases
        .dir
        .get_or_insert_with(|| dir.path().join(crate::release_shelf::DIR));
    settings
        .files
        .get_or_insert_with(|| dir.path().join(crate::files::DIR).display().to_string());
    let code_secret = CodeSecret::new(dir.code_secret()?);
    let (store, guards): (Arc<dyn Store>, SharedState) = match &settings.store {
        // One server per SQLite file: nothing to share with another instance.
        StoreChoice::Sqlite => (
            open_store(&dir, Arc::clone(&keys.ring), &settings.store).await?,
            SharedState::memory(&settings),
        ),
        // Replay memory and guessing limits in the database every instance shares.
        StoreChoice::Postgres(url) => {
            let store = Arc::new(open_postgres(url, Arc::clone(&keys.ring)).await?);
            let guards = SharedState::postgres(store.pool(), &settings);
            (store, guards)
        }
    };
    Ok(AppState::new(store, keys.county, settings, code_secret, guards).await?)
}

/// Opens the store `choice` names: the SQLite file of a data directory (off the async workers:
/// it may migrate, and seal what an older version left in the clear), or PostgreSQL.
pub async fn open_store(
    dir: &DataDir,
    keys: Arc<KeyRing>,
    choice: &StoreChoice,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match choice {
        StoreChoice::Sqlite => {
            let newest = keys.newest();
            let path = dir.database();
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path, keys))
                .await
                .map_err(|e| StoreError::backend("open the store", e))??;
            log_sealed(store.sealed_at_open(), newest);
            Arc::new(store)
        }
        StoreChoice::Postgres(url) => Arc::new(open_postgres(url, keys).await?),
    })
}

async fn open_postgres(url: &str, keys: Arc<KeyRing>) -> Result<PostgresStore, StoreError> {
    let newest = keys.newest();
    let store = PostgresStore::open(url, keys).await?;
    log_sealed(store.sealed_at_open(), newest);
    Ok(store)
}

fn log_sealed(report: SealReport, newest: u32) {
    if report.sealed + report.resealed > 0 {
        tracing::info!(
            sealed = report.sealed,
            resealed = report.resealed,
            key = newest,
            "personal data brought under the newest at-rest key"
        );
    }
}

/// How many connections the kernel may hold for the server before it accepts them (Linux caps
/// it at `net.core.somaxconn`, 4096 by default). tokio's own `bind` asks for 1,024: a fleet
/// returning at once overflowed it, and a booth whose connection attempts the kernel dropped
/// timed out without an answer; waiting here, it is accepted and answered once a place frees.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `address` (`host:port`, the first address it resolves to) with
/// [`LISTEN_BACKLOG`].
pub async fn bind(address: &str) -> std::io::Result<TcpListener> {
    let mut last_error = None;
    for resolved in tokio::net::lookup_host(address).await? {
        let socket = if resolved.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As std's and tokio's own bind do: a restarted server need not wait out TIME_WAIT.
        socket.set_reuseaddr(true)?;
        match socket.bind(resolved) {
            Ok(()) => return socket.listen(LISTEN_BACKLOG),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}

/// [`open_state`] then [`serve`].
pub async fn run(
    listener: TcpListener,
    data_dir: &Path,
    keys: ServerKeys,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let state = open_state(data_dir, keys, settings).await?;
    serve(listener, state, shutdown).await
}

/// Serves plain HTTP until `shutdown` resolves, then stops accepting and lets in-flight
/// requests finish. A client that keeps a request open past the request timeout plus a few
/// seconds does not hold the server up: it is cut off.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let incoming = PlainIncoming::new(listener, state.connections().clone());
    serve_on(incoming, state, shutdown).await
}

/// [`serve`] over TLS. Set `Settings::secure_cookies` in `state` (`serve` does).
pub async fn serve_tls(
    listener: TlsListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let incoming = listener.start(state.connections().clone());
    serve_on(incoming, state, shutdown).await
}

async fn serve_on(
    incoming: impl Accept,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let grace = state.settings().request_timeout + Duration::from_secs(5);
    let header_timeout = state.settings().header_timeout;
    let (stopping, stop_requested) = tokio::sync::oneshot::channel::<()>();
    let graceful = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stopping.send(());
    };
    let gauge = state.connections().clone();
    let serving = connections::serve(incoming, app(state), gauge, header_timeout, graceful);
    let deadline = async move {
        if stop_requested.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = serving => Ok(()),
        () = deadline => {
            tracing::warn!(grace_s = grace.as_secs(), "requests still open after the grace period: stopping anyway");
            Ok(())
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
