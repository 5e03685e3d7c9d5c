//! Waiting after a failure: backoff with jitter, or the server's `Retry-After` (spread over up to
//! one more such window, never doubled: `sync::backoff`), ended early by a
//! wake-up or, after a network failure, by the first answer to a `GET /healthz` probe.

use tokio::time::Instant;

use super::{Engine, EngineError, SyncEvent};
use crate::sync::backoff::Delay;

#[derive(Debug, Clone, Copy)]
pub(super) struct PlannedWait {
    pub(super) delay: Delay,
    pub(super) probe: bool,
}

/// Why the engine waits, and how it may be cut short.
pub(super) struct Wait {
    pub(super) until: Instant,
    /// Nothing ends the wait before this (`Retry-After`).
    pub(super) floor: Instant,
    pub(super) probe: bool,
}

impl Engine {
    /// Draws the wait after `err`, counted as one more failure.
    pub(super) fn plan_wait(&mut self, err: &EngineError) -> PlannedWait {
        match err {
            EngineError::Sync(sync) if !sync.is_retryable() => {
                // A person has to act (re-enroll): ask again rarely, never hammer.
                let cap = self.backoff.policy().cap;
                PlannedWait {
                    delay: Delay {
                        total: cap,
                        floor: cap,
                    },
                    probe: false,
                }
            }
            EngineError::Sync(sync) => PlannedWait {
                delay: self.backoff.next_delay(sync.retry_after()),
                probe: sync.is_network(),
            },
            _ => PlannedWait {
                delay: self.backoff.next_delay(None),
                probe: false,
            },
        }
    }

    /// Starts the wait after `err`: the one drawn when the failed items were put back (so
    /// their stored next-attempt time tells the truth), or a new one.
    pub(super) fn wait_after(&mut self, err: &EngineError) -> Wait {
        let planned = match self.planned_wait.take() {
            Some(planned) => planned,
            None => self.plan_wait(err),
        };
        self.emit(SyncEvent::Waiting {
            error: err.to_string(),
            retry_in: planned.delay.total,
            probing: planned.probe,
        });
        let now = Instant::now();
        Wait {
            until: now + planned.delay.total,
            floor: now + planned.delay.floor,
            probe: planned.probe,
        }
    }

    /// Waits until `wait.until`, a wake-up after the floor, or (when probing) the first
    /// answer to a probe. Returns whether a probe ended it.
    pub(super) async fn wait(&mut self, wait: Wait) -> bool {
        tokio::time::sleep_until(wait.floor).await;
        if !wait.probe {
            tokio::select! {
                () = tokio::time::sleep_until(wait.until) => {}
                () = self.wake.notified() => {}
            }
            return false;
        }
        loop {
            let period = self.config.probe_every / 2 + self.backoff.jitter(self.config.probe_every);
            let next_probe = (Instant::now() + period).min(wait.until);
            tokio::select! {
                () = tokio::time::sleep_until(next_probe) => {}
                () = self.wake.notified() => return false,
            }
            if Instant::now() >= wait.until {
                return false;
            }
            if self.client.probe().await {
                self.emit(SyncEvent::Reachable);
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sync_protocol::ErrorCode;
    use tokio::sync::mpsc;

    use crate::store::SubmissionState;
    use crate::sync::engine::SyncEvent;
    use crate::sync::engine::test_support::{Booth, CEILING, spawn, stub_state, until, wait_for};
    use crate::sync::stub_server::{Scripted, StubServer, unused_addr};

    #[tokio::test]
    async fn retry_after_is_never_cut_short() {
        let booth = Booth::new();
        booth.submit(1);
        let server = StubServer::start(stub_state()).await;
        server.script(
            sync_protocol::paths::SUBMISSIONS,
            Scripted::error(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
            )
            .with_header("retry-after", "2"),
        );
        let (events, mut received) = mpsc::unbounded_channel();
        let engine = booth
            .engine(&server.url(), |config| {
                // Without the floor the engine would retry within milliseconds.
                config.backoff.base = Duration::from_millis(1);
                config.backoff.cap = Duration::from_millis(5);
                config.probe_every = Duration::from_millis(50);
            })
            .with_events(events);
        let (stop, task) = spawn(engine);
        let waiting = wait_for(&mut received, |e| matches!(e, SyncEvent::Waiting { .. })).await;
        assert!(
            matches!(waiting, SyncEvent::Waiting { retry_in, probing: false, .. } if retry_in >= Duration::from_secs(2)),
            "{waiting:?}"
        );
        wait_for(&mut received, |e| matches!(e, SyncEvent::Uploaded { .. })).await;
        let _ = stop.send(());
        task.await.unwrap().unwrap();
        let state = server.state.lock().unwrap();
        let uploads: Vec<_> = state
            .requests
            .iter()
            .filter(|(_, path, _)| path == sync_protocol::paths::SUBMISSIONS)
            .map(|(_, _, at)| *at)
            .collect();
        assert_eq!(uploads.len(), 2);
        assert!(
            uploads[1] - uploads[0] >= Duration::from_secs(2),
            "{:?}",
            uploads[1] - uploads[0]
        );
    }

    #[tokio::test]
    async fn when_the_network_returns_the_engine_resumes_without_waiting_out_its_backoff() {
        let booth = Booth::new();
        let receipts = booth.submit(3);
        let addr = unused_addr();
        let (events, mut received) = mpsc::unbounded_channel();
        let engine = booth
            .engine(&format!("http://{addr}"), |config| {
                // A long backoff: only the probe can bring the engine back within the ceiling.
                config.backoff.base = Duration::from_secs(3_600);
                config.backoff.cap = Duration::from_secs(3_600);
                config.probe_every = Duration::from_millis(100);
            })
            .with_events(events);
        let (stop, task) = spawn(engine);
        let waiting = wait_for(&mut received, |e| matches!(e, SyncEvent::Waiting { .. })).await;
        assert!(
            matches!(waiting, SyncEvent::Waiting { retry_in, probing: true, .. } if retry_in > 2 * CEILING),
            "the seed must give a wait far beyond the ceiling: {waiting:?}"
        );
        assert!(
            waiting
                .to_string()
                .contains("or as soon as the server answers"),
            "{waiting}"
        );

        let server = StubServer::start_at(addr, stub_state()).await;
        wait_for(&mut received, |e| *e == SyncEvent::Reachable).await;
        until(|| booth.stats().acknowledged == 3).await;
        for receipt in &receipts {
            assert_eq!(booth.state_of(receipt), SubmissionState::Acknowledged);
        }
        let _ = stop.send(());
        task.await.unwrap().unwrap();
        assert_eq!(server.state.lock().unwrap().received.len(), 3);
        server.stop().await;
    }
}
