//! The heartbeat (queue, devices, disk, uptime, clock offset), and persisting the clock offset
//! the client learns from every answer.

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
        let (disk_free_bytes, uptime_s) = tokio::task::spawn_blocking(move || {
            (health::disk_free_bytes(&data_dir), health::uptime_secs())
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
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            disk_free_bytes,
            uptime_s,
            clock_offset_ms: self.client.clock().get_ms(),
        };
        let answer = self.client.heartbeat(&heartbeat).await;
        self.persist_offset().await?;
        answer?;
        self.emit(SyncEvent::HeartbeatSent {
            queue_depth: heartbeat.queue_depth,
        });
        Ok(())
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
}
