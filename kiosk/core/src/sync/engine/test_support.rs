//! The engine tests' fixtures: a booth with a real store in a temporary directory, engines
//! pointed at the stub server, and waiting for events.

use std::sync::Mutex as StdMutex;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use sync_protocol::enroll::Village;
use sync_protocol::submission::SubmissionKind;
use tokio::sync::{mpsc, oneshot};

use super::{Engine, EngineConfig, EngineError, EngineHandle, SyncEvent};
use crate::store::{Identity, NewSubmission, QueueStats, Store, SubmissionState};
use crate::sync::client::{Client, ClientConfig};
use crate::sync::clock::ClockOffset;
use crate::sync::stub_server::{StubServer, StubState};

/// Generous: only a broken engine takes this long.
pub(super) const CEILING: Duration = Duration::from_secs(60);

fn key() -> SigningKey {
    SigningKey::from_bytes(&[5u8; 32])
}

pub(super) fn stub_state() -> Arc<StdMutex<StubState>> {
    Arc::new(StdMutex::new(StubState {
        key: Some(key().verifying_key()),
        ..StubState::default()
    }))
}

pub(super) struct Booth {
    dir: tempfile::TempDir,
    pub(super) store: Arc<Mutex<Store>>,
}

impl Booth {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .set_identity(&Identity {
                kiosk_id: "k-1".into(),
                kiosk_number: 7,
                village: Village {
                    county: "县".into(),
                    township: "乡".into(),
                    village: "村".into(),
                },
                server_url: "http://unused".into(),
                server_id: "s-1".into(),
                enrolled_at: chrono::Utc::now(),
                server_pin: None,
            })
            .unwrap();
        Self {
            dir,
            store: Arc::new(Mutex::new(store)),
        }
    }

    /// The booth's data directory.
    pub(super) fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Submits `count` complaints; returns their receipt numbers, oldest first.
    pub(super) fn submit(&self, count: usize) -> Vec<String> {
        let mut store = self.store.lock().unwrap();
        (0..count)
            .map(|n| {
                let mut new = NewSubmission::new(SubmissionKind::Complaint);
                new.text = Some(format!("complaint {n}"));
                store.submit(new).unwrap().number.to_string()
            })
            .collect()
    }

    pub(super) fn engine(&self, url: &str, tune: impl FnOnce(&mut EngineConfig)) -> Engine {
        let offset = self.store.lock().unwrap().clock_offset_ms().unwrap();
        let client = Client::with_config(
            url,
            None,
            "k-1",
            key(),
            ClockOffset::new(offset),
            ClientConfig {
                connect_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_secs(10),
                probe_timeout: Duration::from_secs(2),
                download_timeout: Duration::from_secs(30),
            },
        )
        .unwrap();
        let mut config = EngineConfig::new(self.dir.path());
        config.rng_seed = Some(42);
        config.resume_spread = Duration::from_millis(10);
        tune(&mut config);
        Engine::new(client, Arc::clone(&self.store), config)
    }

    pub(super) fn state_of(&self, receipt: &str) -> SubmissionState {
        self.store
            .lock()
            .unwrap()
            .queue_item(receipt)
            .unwrap()
            .state
    }

    pub(super) fn stats(&self) -> QueueStats {
        self.store
            .lock()
            .unwrap()
            .queue_stats(chrono::Utc::now())
            .unwrap()
    }
}

/// Runs an engine in the background until the returned sender is dropped or fired.
pub(super) fn spawn(
    engine: Engine,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), EngineError>>,
) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(engine.run(async {
        let _ = stopped.await;
    }));
    (stop, task)
}

/// An engine whose first pass (upload, feeds, heartbeat) is done and whose next poll,
/// feed pull and heartbeat are an hour away: whatever it does next, a handle asked for.
pub(super) async fn start_idle(
    booth: &Booth,
    server: &StubServer,
) -> (
    EngineHandle,
    mpsc::UnboundedReceiver<SyncEvent>,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), EngineError>>,
) {
    let (events, mut received) = mpsc::unbounded_channel();
    let engine = booth
        .engine(&server.url(), |config| {
            config.idle_poll = Duration::from_secs(3_600);
            config.heartbeat_every = Duration::from_secs(3_600);
            config.feeds_every = Duration::from_secs(3_600);
        })
        .with_events(events);
    let handle = engine.handle();
    let (stop, task) = spawn(engine);
    wait_for(&mut received, |e| {
        matches!(e, SyncEvent::HeartbeatSent { .. })
    })
    .await;
    (handle, received, stop, task)
}

pub(super) async fn wait_for(
    events: &mut mpsc::UnboundedReceiver<SyncEvent>,
    what: impl Fn(&SyncEvent) -> bool,
) -> SyncEvent {
    tokio::time::timeout(CEILING, async {
        loop {
            let event = events.recv().await.expect("the engine stopped");
            if what(&event) {
                return event;
            }
        }
    })
    .await
    .expect("the event did not come within the ceiling")
}

pub(super) async fn until(mut done: impl FnMut() -> bool) {
    tokio::time::timeout(CEILING, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("not done within the ceiling");
}
