//! The heartbeat (queue, devices, disk, uptime, clock offset), and persisting the clock offset
//! the client learns from every answer. Its answer carries the county's key: a booth enrolled
//! before sealing existed learns it here, and its queue is sealed at once.

use sync_protocol::heartbeat::Heartbeat;

use super::{Engine, EngineError, SyncEvent};
use crate::store::QueueStats;
use crate::sync::clock::clock_warning;
use crate::sync::health;

impl Engine {
    pub(super) async fn send_heartbeat(&mut self) -> Result<(), EngineError> {
        let now = self.client.clock().server_now();
        let (stats, checked_devices): (QueueStats, _) = self
            .with_store(move |store| Ok((store.queue_stats(now)?, store.device_health()?)))
            .await?;
        let data_dir = self.config.data_dir.clone();
        let updates = self.config.updates.clone();
        let (disk_free_bytes, uptime_s, update) = tokio::task::spawn_blocking(move || {
            (
                health::disk_free_bytes(&data_dir),
                health::uptime_secs(),
                // The updater's state file and the kiosk's own download.
                updates.and_then(|agent| agent.wire_report()),
            )
        })
        .await
        .map_err(EngineError::Task)?;
        let heartbeat = Heartbeat {
            queue_depth: stats.depth(),
            oldest_pending_age_s: stats.oldest_pending_age_s,
            quarantined: stats.quarantined,
            // The last recorded check wins over the configured default.
            devices: checked_devices
                .map_or_else(|| self.config.devices.clone(), |report| report.health),
            app_version: crate::update::running_release().to_owned(),
            disk_free_bytes,
            uptime_s,
            clock_offset_ms: self.client.clock().get_ms(),
            update,
        };
        let answer = self.client.heartbeat(&heartbeat).await;
        self.report_to_updater(answer.as_ref().map(|_| ()));
        self.persist_offset().await?;
        let answer = answer?;
        if let Some(agent) = &self.config.updates {
            agent.offer(answer.release.clone());
        }
        if let Some(key) = answer.county_key
            && self.known_county_key.as_ref() != Some(&key)
        {
            let stored = key.clone();
            self.with_store(move |store| store.set_county_key(&stored))
                .await?;
            self.known_county_key = Some(key);
        }
        self.emit(SyncEvent::HeartbeatSent {
            queue_depth: heartbeat.queue_depth,
        });
        Ok(())
    }

    /// Tells the booth's updater how the heartbeat went (see `crate::update::health`). A
    /// report that cannot be written is logged: the booth's work goes on without it.
    fn report_to_updater(&self, result: Result<(), &crate::sync::SyncError>) {
        if let Some(reporter) = &self.config.update_health
            && let Err(err) = reporter.heartbeat_result(result)
        {
            tracing::warn!(%err, "cannot write the heartbeat's outcome for the updater");
        }
    }

    /// Stores the learned offset when it changed, and says so.
    pub(super) async fn persist_offset(&mut self) -> Result<(), EngineError> {
        let offset_ms = self.client.clock().get_ms();
        if self.persisted_offset_ms == Some(offset_ms) {
            return Ok(());
        }
        let first = self.persisted_offset_ms.is_none();
        self.with_store(move |store| store.set_clock_offset_ms(offset_ms))
            .await?;
        self.persisted_offset_ms = Some(offset_ms);
        if !first || clock_warning(offset_ms).is_some() {
            self.emit(SyncEvent::ClockOffset { offset_ms });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::mpsc;

    use super::*;
    use crate::sync::engine::test_support::{Booth, stub_state, wait_for};
    use crate::sync::stub_server::StubServer;

    #[tokio::test]
    async fn a_booth_two_days_behind_signs_with_server_time_and_stores_the_offset() {
        let booth = Booth::new();
        booth.submit(1);
        let state = stub_state();
        state.lock().unwrap().skew_secs = 2 * 86_400;
        let server = StubServer::start(state).await;
        let (events, mut received) = mpsc::unbounded_channel();
        let mut engine = booth.engine(&server.url(), |_| {}).with_events(events);
        let summary = engine.run_once().await.unwrap();
        assert_eq!(summary.uploaded, 1);
        let stored = booth.store.lock().unwrap().clock_offset_ms().unwrap();
        assert!((stored - 2 * 86_400_000).abs() < 5_000, "{stored}");
        assert_eq!(summary.clock_offset_ms, stored);
        let warning = wait_for(&mut received, |e| {
            matches!(e, SyncEvent::ClockOffset { .. })
        })
        .await;
        assert!(
            warning
                .to_string()
                .starts_with("the booth's clock is off by 2 days 0 h (behind"),
            "{warning}"
        );
    }
    #[tokio::test]
    async fn a_booth_enrolled_before_sealing_learns_the_county_key_and_seals_its_queue() {
        let booth = Booth::new();
        let county = sync_protocol::personal::CountySecret::from_seed(&[9; 32]);
        let state = stub_state();
        state.lock().unwrap().county = Some(county.clone());
        let server = StubServer::start(Arc::clone(&state)).await;
        let before = booth.submit(1);
        let queued = booth
            .store
            .lock()
            .unwrap()
            .due_submissions(chrono::Utc::now(), 10)
            .unwrap();
        assert!(queued[0].sealed.is_none(), "no key yet: held in the clear");

        let mut engine = booth.engine(&server.url(), |_| {});
        engine.send_heartbeat().await.unwrap();
        assert_eq!(
            booth.store.lock().unwrap().county_key().unwrap().as_ref(),
            Some(county.public_key())
        );
        let resealed = booth
            .store
            .lock()
            .unwrap()
            .due_submissions(chrono::Utc::now(), 10)
            .unwrap();
        assert!(resealed[0].sealed.is_some() && !resealed[0].has_clear_personal());
        let after = booth.submit(1);

        let summary = engine.run_once().await.unwrap();
        assert_eq!(summary.uploaded, 2);
        let opened = state.lock().unwrap().opened.clone();
        let texts: Vec<(Option<String>, bool)> = opened
            .into_iter()
            .map(|(submission, sealed)| (submission.text, sealed))
            .collect();
        assert_eq!(
            texts,
            [
                (Some("complaint 0".to_owned()), true),
                (Some("complaint 0".to_owned()), true)
            ],
            "both went sealed and opened to what was typed ({before:?}, {after:?})"
        );
    }
}
