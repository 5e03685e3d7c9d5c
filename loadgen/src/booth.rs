//! One simulated booth: its queue, its feed cursors, and the pass `kiosk-core`'s engine makes
//! (`sync/engine/mod.rs::cycle`): upload the queue oldest first in batches, pull every feed
//! page by page from its cursor, send the heartbeat. A failed step ends the pass; what was not
//! acknowledged stays queued and goes again, so the server answers it `duplicate` if it had
//! stored it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sync_protocol::feed::Feed;
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat, PrinterHealth};
use sync_protocol::submission::{BatchRequest, MAX_BATCH, Outcome, Submission};

use crate::api::{Api, CallError};
use crate::cursors::Cursors;
use crate::enroll::{APP_VERSION, BoothIdentity};
use crate::ledger::Ledger;
use crate::recorder::Recorder;
use crate::submissions::{Factory, OutOfReceipts};

/// What every booth of a run shares.
#[derive(Debug)]
pub struct Fleet {
    pub api: Api,
    pub ledger: Ledger,
    pub factory: Factory,
    /// Submissions per upload, at most [`MAX_BATCH`].
    pub batch: usize,
}

/// A booth's state between passes.
#[derive(Debug)]
pub struct Booth {
    pub identity: BoothIdentity,
    cursors: Cursors,
    queue: VecDeque<Submission>,
    quarantined: u64,
    booted: Instant,
}

impl Booth {
    pub fn new(identity: BoothIdentity, cursors: Cursors) -> Self {
        Self {
            identity,
            cursors,
            queue: VecDeque::new(),
            quarantined: 0,
            booted: Instant::now(),
        }
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// A villager hands something in: the next receipt number, queued (and in the ledger).
    pub fn hand_in(
        &mut self,
        fleet: &Fleet,
        rng: &mut fastrand::Rng,
        created_at: DateTime<Utc>,
    ) -> Result<(), OutOfReceipts> {
        let submission = fleet.factory.make(
            rng,
            self.identity.kiosk_number,
            self.identity.next_seq,
            created_at,
        )?;
        self.identity.next_seq += 1;
        fleet.ledger.made(submission.id, &self.identity.kiosk_id);
        self.queue.push_back(submission);
        Ok(())
    }

    /// Uploads until the queue is empty; per-item answers go to the ledger, and what the
    /// server acknowledged or refused for good leaves the queue.
    pub async fn upload(&mut self, fleet: &Fleet, recorder: &Recorder) -> Result<(), CallError> {
        while !self.queue.is_empty() {
            let take = fleet.batch.clamp(1, MAX_BATCH).min(self.queue.len());
            let batch = BatchRequest {
                submissions: self.queue.iter().take(take).cloned().collect(),
            };
            let answer = fleet.api.upload(recorder, &self.identity, &batch).await?;
            for result in &answer.results {
                fleet.ledger.answered(result.id, result.outcome);
                if matches!(result.outcome, Outcome::Conflict | Outcome::Invalid) {
                    self.quarantined += 1;
                }
            }
            let answered: std::collections::HashSet<_> =
                answer.results.iter().map(|result| result.id).collect();
            // Every answer is final (acknowledged or quarantined); an item the answer left out
            // stays queued.
            self.queue.retain(|item| !answered.contains(&item.id));
            if answered.is_empty() {
                break;
            }
        }
        Ok(())
    }

    /// Every feed, page by page from its cursor; a cursor moves only with a page received.
    pub async fn pull_feeds(
        &mut self,
        fleet: &Fleet,
        recorder: &Recorder,
    ) -> Result<(), CallError> {
        for feed in Feed::ALL {
            loop {
                let cursor = match feed {
                    Feed::Catalog => &mut self.cursors.catalog,
                    Feed::Notices => &mut self.cursors.notices,
                    Feed::Statuses => &mut self.cursors.statuses,
                };
                let page = fleet
                    .api
                    .feed_page(recorder, &self.identity, feed, cursor.as_deref())
                    .await?;
                // A server that says "more" without moving on would keep the booth here.
                let stuck = page.items == 0 || cursor.as_deref() == Some(page.cursor.as_str());
                *cursor = Some(page.cursor);
                if !page.more || stuck {
                    break;
                }
            }
        }
        Ok(())
    }

    pub async fn heartbeat(&mut self, fleet: &Fleet, recorder: &Recorder) -> Result<(), CallError> {
        let now = Utc::now();
        let heartbeat = Heartbeat {
            queue_depth: self.queue.len() as u64,
            oldest_pending_age_s: self
                .queue
                .front()
                .map(|oldest| u64::try_from((now - oldest.created_at).num_seconds()).unwrap_or(0)),
            quarantined: self.quarantined,
            devices: DeviceHealth {
                printer: Some(PrinterHealth {
                    online: true,
                    ..PrinterHealth::default()
                }),
                reader_present: true,
                scanner_present: true,
            },
            app_version: APP_VERSION.into(),
            disk_free_bytes: 6 << 30,
            uptime_s: self.booted.elapsed().as_secs(),
            clock_offset_ms: 0,
            update: None,
        };
        fleet
            .api
            .heartbeat(recorder, &self.identity, &heartbeat)
            .await
            .map(drop)
    }

    /// The engine's pass: the queue, then (when due) the feeds and the heartbeat.
    pub async fn pass(
        &mut self,
        fleet: &Fleet,
        recorder: &Recorder,
        feeds_and_heartbeat: bool,
    ) -> Result<(), CallError> {
        self.upload(fleet, recorder).await?;
        if feeds_and_heartbeat {
            self.pull_feeds(fleet, recorder).await?;
            self.heartbeat(fleet, recorder).await?;
        }
        Ok(())
    }
}

/// A fleet shared by booth tasks.
pub type SharedFleet = Arc<Fleet>;
