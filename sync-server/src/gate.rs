//! A bounded place to work: `size` holders at once, at most `queue` more waiting, each for at
//! most a wait limit when there is one, and [`Busy`] at once for anyone beyond. The caller
//! turns `Busy` into "try again later" (`503` with `Retry-After`).
//!
//! Two things in the server are bounded this way: staff password checks
//! (`staff::password::PasswordGate`, argon2 at 19 MiB each) and the booth API's requests
//! (`api::admission`). A semaphore alone queues without bound, and a queue without a time
//! limit turns overload into timeouts instead of answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// No place now, and none for this caller in time: retry later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy: try again in a few seconds")]
pub struct Busy;

#[derive(Debug)]
pub struct Gate {
    places: Arc<Semaphore>,
    size: usize,
    queue: usize,
    wait_limit: Option<Duration>,
    waiting: AtomicUsize,
    refused: AtomicU64,
}

/// A place held; dropping it lets the next one in.
#[derive(Debug)]
pub struct Place(#[allow(dead_code, reason = "held for its drop")] OwnedSemaphorePermit);

/// Every place of a gate, taken by [`Gate::hold_all`]; dropping it gives them back.
#[derive(Debug)]
pub struct HeldAll(#[allow(dead_code, reason = "held for its drop")] OwnedSemaphorePermit);

/// A place in the queue; leaving it (let in, refused, or the caller gone) frees it.
struct InQueue<'a>(&'a AtomicUsize);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    /// `size` places (a gate of none refuses everyone), `queue` waiting, each for at most
    /// `wait_limit` (`None`: until a place frees).
    pub fn new(size: usize, queue: usize, wait_limit: Option<Duration>) -> Self {
        let places = Arc::new(Semaphore::new(size));
        if size == 0 {
            // Nothing could ever let a waiter in: refuse at once rather than leave it hanging.
            places.close();
        }
        Self {
            places,
            size,
            queue,
            wait_limit,
            waiting: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// A place now, or after waiting in the queue; [`Busy`] when the queue is full or the
    /// wait limit passes first.
    pub async fn enter(&self) -> Result<Place, Busy> {
        if let Ok(permit) = Arc::clone(&self.places).try_acquire_owned() {
            return Ok(Place(permit));
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(self.refuse());
        }
        let _in_queue = InQueue(&self.waiting);
        let acquire = Arc::clone(&self.places).acquire_owned();
        let permit = match self.wait_limit {
            Some(limit) => match tokio::time::timeout(limit, acquire).await {
                Ok(permit) => permit,
                Err(_) => return Err(self.refuse()),
            },
            None => acquire.await,
        };
        permit.map(Place).map_err(|_| self.refuse())
    }

    fn refuse(&self) -> Busy {
        self.refused.fetch_add(1, Ordering::Relaxed);
        Busy
    }

    /// Places held now.
    pub fn busy(&self) -> usize {
        self.size.saturating_sub(self.places.available_permits())
    }

    /// Callers waiting for a place now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Callers told [`Busy`] since the start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Takes every place until the result is dropped (waiting for holders to leave): what a
    /// flood does, on purpose, for tests.
    pub async fn hold_all(&self) -> Result<HeldAll, Busy> {
        let size = u32::try_from(self.size).unwrap_or(u32::MAX);
        Arc::clone(&self.places)
            .acquire_many_owned(size)
            .await
            .map(HeldAll)
            .map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spawns `n` callers that each hold their place until the test ends.
    fn queue_up(gate: &Arc<Gate>, n: usize) -> Vec<tokio::task::JoinHandle<Result<(), Busy>>> {
        (0..n)
            .map(|_| {
                let gate = Arc::clone(gate);
                tokio::spawn(async move { gate.enter().await.map(std::mem::forget) })
            })
            .collect()
    }

    async fn until_waiting(gate: &Gate, n: usize) {
        while gate.waiting() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn past_the_places_a_few_wait_and_the_rest_are_refused_at_once() {
        let gate = Arc::new(Gate::new(2, 1, None));
        let first = gate.enter().await.unwrap();
        let _second = gate.enter().await.unwrap();
        assert_eq!(gate.busy(), 2);
        let waiter = queue_up(&gate, 1);
        until_waiting(&gate, 1).await;
        assert_eq!(gate.enter().await.unwrap_err(), Busy);
        assert_eq!(gate.refused(), 1);
        drop(first);
        for waiter in waiter {
            waiter.await.unwrap().unwrap();
        }
        assert_eq!(gate.waiting(), 0);
    }

    #[tokio::test]
    async fn a_caller_waits_no_longer_than_the_limit() {
        let limit = Duration::from_millis(200);
        let gate = Arc::new(Gate::new(1, 8, Some(limit)));
        let held = gate.hold_all().await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(gate.enter().await.unwrap_err(), Busy);
        assert!(
            started.elapsed() >= limit,
            "refused only once the limit passed"
        );
        assert_eq!(gate.waiting(), 0, "a refused waiter leaves the queue");
        assert_eq!(gate.refused(), 1);
        drop(held);
        gate.enter().await.unwrap();
    }

    #[tokio::test]
    async fn a_gate_without_places_refuses_rather_than_hangs() {
        let gate = Gate::new(0, 4, None);
        assert_eq!(gate.enter().await.unwrap_err(), Busy);
    }
}
