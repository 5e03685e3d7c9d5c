//! The single writer: one thread owns the write connection and runs every write job. Jobs that
//! arrive while a commit is in progress wait in the channel and go into the next transaction
//! together ("batched commits"), so a burst of requests shares one fsync instead of paying one
//! each. Each job runs in its own savepoint: a failing job rolls back alone; a failing commit
//! fails every job in it. A job's caller hears back only after the commit is durable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::{StoreError, StoreResult};

/// The most jobs one transaction takes; bounds the latency a large burst adds to its first job.
const MAX_JOBS_PER_COMMIT: usize = 256;

/// A write job in the queue, its result type erased.
trait Job: Send {
    /// Runs inside the open transaction; the returned step reports once the commit is known.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Report>;
    /// Reports an error without running (the transaction could not start).
    fn abandon(self: Box<Self>, error: StoreError);
}

trait Report: Send {
    fn report(self: Box<Self>, commit: &StoreResult<()>);
}

struct WriteJob<T, F> {
    operation: &'static str,
    work: F,
    reply: oneshot::Sender<StoreResult<T>>,
}

struct Ran<T> {
    result: StoreResult<T>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for WriteJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Report> {
        let Self {
            operation,
            work,
            reply,
        } = *self;
        let result = in_savepoint(conn, operation, work);
        Box::new(Ran { result, reply })
    }

    fn abandon(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

impl<T: Send + 'static> Report for Ran<T> {
    fn report(self: Box<Self>, commit: &StoreResult<()>) {
        let outcome = match (self.result, commit) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(error)) => Err(error.clone()),
            (Err(error), _) => Err(error),
        };
        // The caller may have gone away (a dropped request); the write stands regardless.
        let _ = self.reply.send(outcome);
    }
}

fn in_savepoint<T>(
    conn: &Connection,
    operation: &'static str,
    work: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    conn.execute_batch("SAVEPOINT job")
        .map_err(|e| StoreError::backend(operation, e))?;
    let result = catch_unwind(AssertUnwindSafe(|| work(conn))).unwrap_or_else(|_| {
        Err(StoreError::Corrupt {
            what: format!("a panic while trying to {operation}"),
        })
    });
    let end = if result.is_ok() {
        "RELEASE job"
    } else {
        "ROLLBACK TO job; RELEASE job"
    };
    conn.execute_batch(end)
        .map_err(|e| StoreError::backend(operation, e))?;
    result
}

/// The handle the store keeps; dropping it lets the thread finish its queue and stop.
#[derive(Debug)]
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    /// No thread was started: the store was opened read-only.
    read_only: bool,
    /// Jobs handed to the thread since it started.
    queued: AtomicU64,
}

impl Writer {
    /// Starts the writer thread on `conn` (already configured and migrated).
    pub(super) fn start(conn: Connection) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(&conn, &queue))?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
            read_only: false,
            queued: AtomicU64::new(0),
        })
    }

    /// A writer that refuses every job, for a store opened read-only.
    pub(super) fn read_only() -> Self {
        Self {
            jobs: None,
            thread: None,
            read_only: true,
            queued: AtomicU64::new(0),
        }
    }

    /// How many jobs were handed to the writer so far: the one queue every write of the
    /// server waits in, so what may add to it from outside is worth counting.
    pub(super) fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Runs `work` in the next transaction and returns its result once committed.
    pub(super) async fn write<T, F>(&self, operation: &'static str, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        if self.read_only {
            return Err(StoreError::ReadOnly { operation });
        }
        let (reply, answer) = oneshot::channel();
        let job = Box::new(WriteJob {
            operation,
            work,
            reply,
        });
        self.jobs
            .as_ref()
            .ok_or(StoreError::WriterStopped)?
            .send(job)
            .map_err(|_| StoreError::WriterStopped)?;
        self.queued.fetch_add(1, Ordering::Relaxed);
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_loop(conn: &Connection, queue: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_JOBS_PER_COMMIT {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(conn, batch);
    }
}

fn commit_batch(conn: &Connection, batch: Vec<Box<dyn Job>>) {
    // IMMEDIATE takes the write lock now, so a staff command writing from another process
    // makes us wait (busy_timeout) instead of failing halfway through a job.
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        let error = StoreError::backend("begin a transaction", error);
        for job in batch {
            job.abandon(error.clone());
        }
        return;
    }
    let reports: Vec<Box<dyn Report>> = batch.into_iter().map(|job| job.run(conn)).collect();
    let commit = conn.execute_batch("COMMIT").map_err(|error| {
        let _ = conn.execute_batch("ROLLBACK");
        StoreError::backend("commit", error)
    });
    if commit.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for report in reports {
        report.report(&commit);
    }
}
