//! The engine with an update agent, against the stub server on loopback: a targeted booth
//! downloads a bundle made with `booth_release::pack`, resumes a cut download with `Range`,
//! refuses a tampered bundle before the updater sees it, and reports all of it in its
//! heartbeat.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use booth_release::{PublicKey, ReleaseSpec, SchemaRange, SigningKey, StoreSchemas};
use sha2::{Digest, Sha256};
use sync_protocol::release::{self as wire, ReleaseTarget};

use super::test_support::{Booth, spawn, stub_state, until};
use crate::sync::stub_server::StubServer;
use crate::update::{InstallRequest, UpdateAgent, UpdateDirs, UpdateState};

const RUNNING: &str = env!("CARGO_PKG_VERSION");
const TARGET: &str = "99.1.0";

fn release_key() -> SigningKey {
    SigningKey::from_bytes(&[21u8; 32])
}

/// A signed bundle of release `TARGET` whose `bin/kiosk` is `size` bytes.
fn bundle(key: &SigningKey, size: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bin")).unwrap();
    let kiosk: Vec<u8> = (0..size).map(|n| (n % 251) as u8).collect();
    std::fs::write(dir.path().join("bin/kiosk"), kiosk).unwrap();
    let spec = ReleaseSpec {
        version: TARGET.parse().unwrap(),
        min_version: "0.0.1".parse().unwrap(),
        supersedes_highest: None,
        store: StoreSchemas {
            reads: SchemaRange::new(1, 99).unwrap(),
            writes: 1,
        },
        introduces_keys: vec![],
        retires_keys: vec![],
        notes: None,
    };
    let mut out = Vec::new();
    booth_release::pack(dir.path(), &spec, &[key], &mut out).unwrap();
    out
}

fn target_of(bytes: &[u8]) -> ReleaseTarget {
    ReleaseTarget {
        version: TARGET.parse().unwrap(),
        bundle: format!("{:x}", Sha256::digest(bytes)),
        size: bytes.len() as u64,
    }
}

/// The booth's updater directories, and the image's pinned key (the release key).
fn agent(booth: &Booth) -> Arc<UpdateAgent> {
    let data = booth.data_dir();
    let dirs = UpdateDirs::new(data);
    std::fs::create_dir_all(&dirs.inbox).unwrap();
    std::fs::create_dir_all(&dirs.health).unwrap();
    let pinned = data.join("release-keys");
    std::fs::write(
        &pinned,
        format!("# the release key\n{}\n", PublicKey::of(&release_key())),
    )
    .unwrap();
    Arc::new(UpdateAgent::new(dirs, pinned, RUNNING).with_retry_every(Duration::from_millis(100)))
}

async fn serving(bytes: &[u8], target: &ReleaseTarget) -> StubServer {
    let state = stub_state();
    {
        let mut state = state.lock().unwrap();
        state.releases.insert(target.bundle.clone(), bytes.to_vec());
        state.release_target = Some(target.clone());
    }
    StubServer::start(state).await
}

fn engine_with(booth: &Booth, server: &StubServer, agent: &Arc<UpdateAgent>) -> super::Engine {
    booth.engine(&server.url(), |config| {
        config.heartbeat_every = Duration::from_millis(100);
        config.updates = Some(Arc::clone(agent));
    })
}

fn last_update(server: &StubServer) -> Option<wire::UpdateReport> {
    server
        .state
        .lock()
        .unwrap()
        .heartbeats
        .last()
        .and_then(|heartbeat| heartbeat.update.clone())
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_targeted_booth_downloads_verifies_and_asks_for_the_install_when_quiet() {
    let booth = Booth::new();
    let agent = agent(&booth);
    let bytes = bundle(&release_key(), 200 * 1024);
    let target = target_of(&bytes);
    let server = serving(&bytes, &target).await;
    let (stop, task) = spawn(engine_with(&booth, &server, &agent));

    until(|| agent.report().state == UpdateState::WaitingQuiet).await;
    let dirs = agent.dirs();
    assert_eq!(
        names_in(&dirs.inbox),
        [UpdateDirs::bundle_name(&target.bundle)]
    );
    assert_eq!(std::fs::read(dirs.bundle(&target.bundle)).unwrap(), bytes);
    until(|| {
        last_update(&server).is_some_and(|update| {
            update.state == wire::UpdateState::WaitingQuiet
                && update.target == Some(TARGET.parse().unwrap())
        })
    })
    .await;
    assert!(
        !dirs.install_request().exists(),
        "not before a quiet moment"
    );

    agent.quiet().set(true);
    until(|| dirs.install_request().exists()).await;
    let request =
        InstallRequest::from_json(&std::fs::read(dirs.install_request()).unwrap()).unwrap();
    assert_eq!(
        request,
        InstallRequest::new(
            TARGET,
            &target.bundle,
            &UpdateDirs::bundle_name(&target.bundle)
        )
        .unwrap()
    );
    assert_eq!(request.bundle_path(dirs), dirs.bundle(&target.bundle));
    until(|| last_update(&server).is_some_and(|update| update.state == wire::UpdateState::Staged))
        .await;
    assert_eq!(
        server.state.lock().unwrap().release_ranges,
        [None],
        "fetched once"
    );

    let _ = stop.send(());
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test]
async fn a_download_cut_after_half_resumes_with_range_and_its_overhead_is_counted() {
    let booth = Booth::new();
    let agent = agent(&booth);
    let bytes = bundle(&release_key(), 400 * 1024);
    let target = target_of(&bytes);
    let server = serving(&bytes, &target).await;
    let half = target.size / 2;
    server
        .state
        .lock()
        .unwrap()
        .cut_releases_after
        .push_back(half);
    let (stop, task) = spawn(engine_with(&booth, &server, &agent));

    until(|| agent.report().state == UpdateState::WaitingQuiet).await;
    let (ranges, sent) = {
        let state = server.state.lock().unwrap();
        (state.release_ranges.clone(), state.release_bytes_sent)
    };
    assert_eq!(
        ranges,
        [None, Some(format!("bytes={half}-"))],
        "the second request asks for the rest only"
    );
    let done = agent.last_download().unwrap();
    assert_eq!(
        (done.resumed_from, done.received),
        (half, target.size - half)
    );
    // "Download resume overhead": bytes that crossed the wire twice.
    let overhead = agent.bytes_received() - target.size;
    println!(
        "download resume overhead: {overhead} bytes of {} (server sent {})",
        target.size, sent
    );
    assert_eq!(overhead, 0);
    assert_eq!(sent, target.size);
    assert_eq!(
        std::fs::read(agent.dirs().bundle(&target.bundle)).unwrap(),
        bytes
    );

    let _ = stop.send(());
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test]
async fn a_tampered_or_unknown_key_bundle_is_reported_failed_verify_and_deleted() {
    let mut tampered = bundle(&release_key(), 100 * 1024);
    // A byte of `bin/kiosk`, well after the signed manifest: the file's hash no longer holds.
    let at = tampered.len() - 4096;
    tampered[at] ^= 0xff;
    let stranger = bundle(&SigningKey::from_bytes(&[77u8; 32]), 1024);
    for (bytes, why) in [(tampered, "SHA-256"), (stranger, "")] {
        let booth = Booth::new();
        let agent = agent(&booth);
        agent.quiet().set(true);
        // The server's announcement matches what it sends: only the signature can tell.
        let target = target_of(&bytes);
        let server = serving(&bytes, &target).await;
        let (stop, task) = spawn(engine_with(&booth, &server, &agent));

        until(|| agent.report().state == UpdateState::Failed).await;
        let report = agent.report();
        let failure = report.last_failure.unwrap();
        assert_eq!(failure.stage, crate::update::FailureStage::Verify);
        assert_eq!(failure.version, TARGET);
        assert!(failure.reason.contains(why), "{}", failure.reason);
        assert!(
            names_in(&agent.dirs().inbox).is_empty(),
            "deleted, no request"
        );
        until(|| {
            last_update(&server).is_some_and(|update| {
                update.state == wire::UpdateState::Failed
                    && update.last_failure.as_ref().map(|f| f.stage)
                        == Some(wire::FailureStage::Verify)
            })
        })
        .await;
        // Not fetched again while the county keeps announcing it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(server.state.lock().unwrap().release_ranges, [None]);

        let _ = stop.send(());
        assert!(task.await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn the_heartbeat_reports_the_updaters_state_and_skips_releases_it_finished_with() {
    let booth = Booth::new();
    let agent = agent(&booth);
    let bytes = bundle(&release_key(), 1024);
    let target = target_of(&bytes);
    let server = serving(&bytes, &target).await;
    server.state.lock().unwrap().release_target = None;

    // No state file: the app that runs, idle.
    let mut engine = engine_with(&booth, &server, &agent);
    engine.send_heartbeat().await.unwrap();
    let update = last_update(&server).unwrap();
    assert_eq!(update.running.to_string(), RUNNING);
    assert_eq!(update.highest_installed.to_string(), RUNNING);
    assert_eq!(
        (update.state, update.target),
        (wire::UpdateState::Idle, None)
    );

    // The updater rolled the target back on this booth: reported, and not fetched again.
    std::fs::write(
        agent.dirs().state(),
        format!(
            r#"{{"format":1,"highest_installed":"{RUNNING}","install":null,
                "last":{{"version":"{TARGET}","ending":"rolled_back","stage":"ready",
                         "reason":"no READY in 120 s","store_restored":false}},
                "rolled_back":["{TARGET}"]}}"#
        ),
    )
    .unwrap();
    server.state.lock().unwrap().release_target = Some(target);
    let (stop, task) = spawn(engine);
    until(|| server.state.lock().unwrap().heartbeats.len() >= 4).await;
    let update = last_update(&server).unwrap();
    assert_eq!(update.state, wire::UpdateState::RolledBack);
    let failure = update.last_failure.unwrap();
    assert_eq!(
        (failure.stage, failure.reason.as_str()),
        (wire::FailureStage::Ready, "no READY in 120 s")
    );
    assert!(server.state.lock().unwrap().release_ranges.is_empty());
    assert!(agent.last_download().is_none());

    let _ = stop.send(());
    assert!(task.await.unwrap().is_ok());
}
