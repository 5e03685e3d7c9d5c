//! Read connections: a few `query_only` connections reused across calls, each call on the
//! blocking pool so SQLite never stalls the async workers. In WAL mode readers see the last
//! commit of any process (the server's writer or a staff command) and never block the writer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::connection;
use crate::store::{StoreError, StoreResult};

/// How many idle read connections are kept; more are opened under load and closed after.
const KEEP_IDLE: usize = 4;

#[derive(Debug, Clone)]
pub(super) struct Readers {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    /// Opened with SQLite's read-only flag (not just `query_only`).
    read_only: bool,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(super) fn new(path: &Path) -> Self {
        Self::with(path, false)
    }

    /// Readers for a file that must not be changed at all (see `SqliteStore::open_read_only`).
    pub(super) fn read_only(path: &Path) -> Self {
        Self::with(path, true)
    }

    fn with(path: &Path, read_only: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                read_only,
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    pub(super) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let conn = inner.take()?;
            let result = work(&conn);
            inner.give_back(conn);
            result
        })
        .await
        .map_err(|e| StoreError::backend("run a read", e))?
    }
}

impl Inner {
    fn take(&self) -> StoreResult<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None if self.read_only => connection::open_read_only(&self.path),
            None => connection::open_reader(&self.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < KEEP_IDLE {
            idle.push(conn);
        }
    }
}
