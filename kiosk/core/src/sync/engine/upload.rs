//! Draining the outbox: batch after batch, oldest first, each item's outcome recorded, and a
//! batch the server cannot take split until the one item at fault is held back.
//!
//! The booth's store work overlaps the network: once batch N's answer is in, one task on the
//! blocking pool takes batch N+1 (leaving out N's items, which the store still shows as due),
//! hands it over so its upload starts, then marks it sent and records N's answers while it is
//! on the wire. That task is awaited as soon as N+1's upload returns, and at the end of every
//! pass and on shutdown: nothing is reported done, counted, or waited after before its
//! answers are in the store.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sync_protocol::ErrorCode;
use sync_protocol::submission::{BatchRequest, ItemResult, MAX_BATCH, Outcome, Submission};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{Engine, EngineError, OnceSummary, SyncEvent};
use crate::sync::error::SyncError;

/// A batch the server answered.
#[derive(Debug)]
pub(super) struct Answered {
    /// Everything that was sent: still `sent`, so due, in the store until recorded.
    ids: Vec<Uuid>,
    /// Only results for what was sent.
    results: Vec<ItemResult>,
    receipts: Vec<(Uuid, String)>,
    at: DateTime<Utc>,
}

/// One step's store work on the blocking pool: take the next batch, mark it sent, record the
/// previous batch's answers.
#[derive(Debug)]
pub(super) struct StoreWork {
    task: tokio::task::JoinHandle<Result<StoreOutcome, EngineError>>,
    /// The answers being recorded, reported once they are.
    recording: Option<Answered>,
}

/// The two writes of a [`StoreWork`], each tried whatever became of the other.
#[derive(Debug)]
struct StoreOutcome {
    marked: Result<(), EngineError>,
    recorded: Result<(), EngineError>,
}

/// One batch's result.
enum BatchStep {
    Nothing,
    Sent,
}

impl Engine {
    /// Uploads everything due, batch after batch. Whatever ends the pass, every answer in hand
    /// is in the store before this returns.
    pub(super) async fn upload_due(
        &mut self,
        ignore_schedule: bool,
        summary: &mut OnceSummary,
    ) -> Result<(), EngineError> {
        let mut unanswered = HashSet::new();
        let result = loop {
            match self
                .upload_batch(ignore_schedule, &mut unanswered, summary)
                .await
            {
                Ok(BatchStep::Sent) => {}
                Ok(BatchStep::Nothing) => break Ok(()),
                Err(err) => break Err(err),
            }
        };
        let flushed = self.flush(summary).await;
        result.and(flushed)
    }

    /// Sends one batch of due items while the previous batch's answers are recorded.
    /// `unanswered` holds items the server left without a result in this pass: they are not
    /// sent again until the next pass.
    async fn upload_batch(
        &mut self,
        ignore_schedule: bool,
        unanswered: &mut HashSet<Uuid>,
        summary: &mut OnceSummary,
    ) -> Result<BatchStep, EngineError> {
        let now = self.client.clock().server_now();
        // Far enough ahead that every stored next-attempt time is due, near enough that the
        // store's time text stays well-formed.
        let horizon = if ignore_schedule {
            now + TimeDelta::days(365 * 100)
        } else {
            now
        };
        let taken = self.start_store_work(horizon, unanswered);
        let batch = match taken.await {
            Ok(Ok(batch)) => batch,
            Ok(Err(err)) => {
                self.settle(summary).await?;
                return Err(err);
            }
            // The task dropped its sender without a word: it panicked holding the lock.
            Err(_) => {
                self.settle(summary).await?;
                return Err(EngineError::StorePoisoned);
            }
        };
        if batch.is_empty() {
            self.settle(summary).await?;
            return Ok(BatchStep::Nothing);
        }
        let ids: Vec<Uuid> = batch.iter().map(|submission| submission.id).collect();
        let receipts: Vec<(Uuid, String)> = batch
            .iter()
            .map(|submission| (submission.id, submission.receipt_number.clone()))
            .collect();

        // A release download in the background pauses while the batch goes out.
        let turn = self.uploads_first.upload();
        let answer = self
            .client
            .upload(&BatchRequest { submissions: batch })
            .await;
        drop(turn);
        // The previous answers are recorded and this batch marked sent before anything else
        // touches these items.
        self.settle(summary).await?;
        self.persist_offset().await?;
        let results = match answer {
            Ok(answer) => answer.results,
            Err(err) => return self.batch_failed(err, ids, receipts, summary).await,
        };
        unanswered.extend(
            ids.iter()
                .filter(|id| !results.iter().any(|result| result.id == **id)),
        );
        self.batch_size = self.config.batch_size.clamp(1, MAX_BATCH);

        // Only results for what was sent count; an item the server left out stays sent and
        // is tried again in a later pass.
        let results: Vec<ItemResult> = results
            .into_iter()
            .filter(|result| ids.contains(&result.id))
            .collect();
        self.answered = Some(Answered {
            ids,
            results,
            receipts,
            at: self.client.clock().server_now(),
        });
        Ok(BatchStep::Sent)
    }

    /// Starts the store's share of a step on the blocking pool, in one hold of the lock:
    /// take the next batch and hand it over at once (its upload need not wait for the rest),
    /// then mark it sent and record the answers in hand. The previous batch is left out of
    /// the next: until its answers are recorded the store still shows its items as due.
    fn start_store_work(
        &mut self,
        horizon: DateTime<Utc>,
        unanswered: &HashSet<Uuid>,
    ) -> oneshot::Receiver<Result<Vec<Submission>, EngineError>> {
        let recording = self.answered.take();
        let mut skip = unanswered.clone();
        if let Some(answered) = &recording {
            skip.extend(answered.ids.iter().copied());
        }
        let to_record = recording
            .as_ref()
            .map(|answered| (answered.results.clone(), answered.at));
        let batch_size = self.batch_size;
        let store = Arc::clone(&self.store);
        let (hand_over, taken) = oneshot::channel();
        let task = tokio::task::spawn_blocking(move || {
            let Ok(mut store) = store.lock() else {
                let _ = hand_over.send(Err(EngineError::StorePoisoned));
                return Err(EngineError::StorePoisoned);
            };
            let batch = store
                .due_submissions(horizon, batch_size + skip.len())
                .map(|due| {
                    due.into_iter()
                        .filter(|submission| !skip.contains(&submission.id))
                        .take(batch_size)
                        .collect::<Vec<_>>()
                })
                .map_err(EngineError::Store);
            let ids: Vec<Uuid> = batch
                .iter()
                .flatten()
                .map(|submission| submission.id)
                .collect();
            // A dropped receiver is a shutdown: the writes below are still wanted.
            let _ = hand_over.send(batch);
            let marked = if ids.is_empty() {
                Ok(())
            } else {
                store.mark_sent(&ids).map_err(EngineError::Store)
            };
            let recorded = match to_record {
                Some((results, at)) => store
                    .record_results(&results, at)
                    .map_err(EngineError::Store),
                None => Ok(()),
            };
            Ok(StoreOutcome { marked, recorded })
        });
        self.in_store = Some(StoreWork { task, recording });
        taken
    }

    /// Awaits the step's store work, then reports the answers it recorded. A failure to
    /// record comes first, as it happened first when the steps ran one after the other.
    async fn settle(&mut self, summary: &mut OnceSummary) -> Result<(), EngineError> {
        let Some(work) = self.in_store.as_mut() else {
            return Ok(());
        };
        let joined = (&mut work.task).await;
        // Taken only now: a shutdown during the await leaves it for `flush`.
        let recording = self.in_store.take().and_then(|work| work.recording);
        let outcome = joined.map_err(EngineError::Task)??;
        outcome.recorded?;
        if let Some(answered) = &recording {
            self.report(answered, summary);
        }
        outcome.marked
    }

    /// Puts every answer in hand into the store: the running step's, then any not yet
    /// handed over.
    pub(super) async fn flush(&mut self, summary: &mut OnceSummary) -> Result<(), EngineError> {
        self.settle(summary).await?;
        if let Some(answered) = self.answered.take() {
            let (results, at) = (answered.results.clone(), answered.at);
            self.with_store(move |store| store.record_results(&results, at))
                .await?;
            self.report(&answered, summary);
        }
        Ok(())
    }

    /// Counts a recorded batch and says what became of it.
    fn report(&self, answered: &Answered, summary: &mut OnceSummary) {
        let (mut accepted, mut duplicates) = (0, 0);
        for result in &answered.results {
            match result.outcome {
                Outcome::Accepted => accepted += 1,
                Outcome::Duplicate => duplicates += 1,
                Outcome::Conflict | Outcome::Invalid => {
                    summary.quarantined += 1;
                    self.emit(SyncEvent::Quarantined {
                        receipt_number: receipt_of(&answered.receipts, result.id),
                        reason: result
                            .message
                            .clone()
                            .unwrap_or_else(|| format!("{:?}", result.outcome).to_lowercase()),
                    });
                }
            }
        }
        summary.uploaded += accepted;
        summary.duplicates += duplicates;
        if accepted + duplicates > 0 {
            self.emit(SyncEvent::Uploaded {
                accepted,
                duplicates,
            });
        }
    }

    /// A whole batch failed. A body the server cannot take (too large, malformed) is split
    /// until the one item at fault is found and held back: one bad record must not block the
    /// queue. Everything else goes back to pending with the error and the next attempt time.
    async fn batch_failed(
        &mut self,
        err: SyncError,
        ids: Vec<Uuid>,
        receipts: Vec<(Uuid, String)>,
        summary: &mut OnceSummary,
    ) -> Result<BatchStep, EngineError> {
        let now = self.client.clock().server_now();
        // A proxy in front of the server refuses a large body with its own 413 page.
        let unacceptable = matches!(
            err,
            SyncError::Rejected {
                code: ErrorCode::BodyTooLarge
                    | ErrorCode::MalformedJson
                    | ErrorCode::InvalidRequest,
                ..
            } | SyncError::Protocol { status: 413, .. }
        );
        if unacceptable && ids.len() == 1 {
            let result = ItemResult {
                id: ids[0],
                outcome: Outcome::Invalid,
                message: Some(err.to_string()),
                code: None,
                received_at: None,
            };
            summary.quarantined += 1;
            self.emit(SyncEvent::Quarantined {
                receipt_number: receipt_of(&receipts, ids[0]),
                reason: err.to_string(),
            });
            self.with_store(move |store| store.record_results(&[result], now))
                .await?;
            return Ok(BatchStep::Sent);
        }
        if unacceptable {
            self.batch_size = (ids.len() / 2).max(1);
            let message = err.to_string();
            // Due at once (the engine retries them in smaller batches right away).
            self.with_store(move |store| store.record_failure(&ids, &message, now))
                .await?;
            return Ok(BatchStep::Sent);
        }
        let err = EngineError::Sync(err);
        let planned = self.plan_wait(&err);
        let next = now + TimeDelta::from_std(planned.delay.total).unwrap_or(TimeDelta::zero());
        self.planned_wait = Some(planned);
        let message = err.to_string();
        self.with_store(move |store| store.record_failure(&ids, &message, next))
            .await?;
        Err(err)
    }
}

fn receipt_of(receipts: &[(Uuid, String)], id: Uuid) -> String {
    receipts
        .iter()
        .find(|(known, _)| *known == id)
        .map_or_else(|| id.to_string(), |(_, receipt)| receipt.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SubmissionState;
    use crate::sync::engine::test_support::{Booth, stub_state};
    use crate::sync::stub_server::{Scripted, StubServer, unused_addr};

    #[tokio::test]
    async fn per_item_outcomes_are_recorded_and_the_rest_of_the_queue_goes_on() {
        let booth = Booth::new();
        let receipts = booth.submit(5);
        let server = StubServer::start(stub_state()).await;
        server.state.lock().unwrap().invalid_receipts = vec![receipts[2].clone()];
        let mut engine = booth.engine(&server.url(), |config| config.batch_size = 2);
        let summary = engine.run_once().await.unwrap();
        assert_eq!(
            (
                summary.uploaded,
                summary.duplicates,
                summary.quarantined,
                summary.pending
            ),
            (4, 0, 1, 0),
            "{summary:?}"
        );
        assert!(summary.heartbeat_sent);
        for (n, receipt) in receipts.iter().enumerate() {
            let expected = if n == 2 {
                SubmissionState::Quarantined
            } else {
                SubmissionState::Acknowledged
            };
            assert_eq!(booth.state_of(receipt), expected, "{receipt}");
        }
        let held = booth.store.lock().unwrap().quarantined().unwrap();
        assert_eq!(held[0].last_error.as_deref(), Some("scripted invalid"));
        // Oldest first, in batches of two.
        let state = server.state.lock().unwrap();
        assert_eq!(state.received.len(), 5);
        let heartbeat = &state.heartbeats[0];
        assert_eq!((heartbeat.queue_depth, heartbeat.quarantined), (0, 1));
        assert_eq!(heartbeat.app_version, env!("CARGO_PKG_VERSION"));
        assert!(heartbeat.disk_free_bytes > 0 && heartbeat.uptime_s > 0);
    }

    #[tokio::test]
    async fn a_lost_acknowledgement_comes_back_as_a_duplicate_and_counts_as_delivered() {
        let booth = Booth::new();
        let receipts = booth.submit(2);
        let first_id = booth
            .store
            .lock()
            .unwrap()
            .queue_item(&receipts[0])
            .unwrap()
            .id;
        let server = StubServer::start(stub_state()).await;
        server.state.lock().unwrap().stored.push(first_id);
        let summary = booth
            .engine(&server.url(), |_| {})
            .run_once()
            .await
            .unwrap();
        assert_eq!((summary.uploaded, summary.duplicates), (1, 1));
        assert_eq!(booth.stats().acknowledged, 2);
    }

    #[tokio::test]
    async fn a_batch_too_large_is_split_until_the_one_item_at_fault_is_held_back() {
        let booth = Booth::new();
        let receipts = booth.submit(5);
        let server = StubServer::start(stub_state()).await;
        server.state.lock().unwrap().too_large_receipts = vec![receipts[3].clone()];
        let summary = booth
            .engine(&server.url(), |_| {})
            .run_once()
            .await
            .unwrap();
        assert_eq!(
            (summary.uploaded, summary.quarantined, summary.pending),
            (4, 1, 0)
        );
        assert_eq!(booth.state_of(&receipts[3]), SubmissionState::Quarantined);
    }

    #[tokio::test]
    async fn an_unreachable_server_fails_once_and_keeps_everything() {
        let booth = Booth::new();
        let receipts = booth.submit(3);
        let mut engine = booth.engine(&format!("http://{}", unused_addr()), |_| {});
        let err = engine.run_once().await.unwrap_err();
        assert!(
            matches!(err, EngineError::Sync(ref sync) if sync.is_network()),
            "{err:?}"
        );
        let item = booth
            .store
            .lock()
            .unwrap()
            .queue_item(&receipts[0])
            .unwrap();
        assert_eq!(item.state, SubmissionState::Pending);
        assert_eq!(item.attempts, 1);
        assert!(
            item.last_error
                .unwrap()
                .starts_with("cannot reach the county server")
        );
        assert_eq!(booth.stats().depth(), 3);
    }

    #[tokio::test]
    async fn a_revoked_booth_says_so_and_keeps_its_queue() {
        let booth = Booth::new();
        booth.submit(1);
        let server = StubServer::start(stub_state()).await;
        server.script(
            sync_protocol::paths::SUBMISSIONS,
            Scripted::error(axum::http::StatusCode::FORBIDDEN, ErrorCode::KioskRevoked),
        );
        let err = booth
            .engine(&server.url(), |_| {})
            .run_once()
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("this booth was revoked by the county: re-enroll it"),
            "{err}"
        );
        assert_eq!(booth.stats().pending, 1);
    }
}
