//! Releases over the kiosk API: the target in the heartbeat's answer for the booths a rollout
//! includes only; the bundle download (whole, resumed with Range, 416, 404 for a booth it is
//! not meant for, 401 unsigned, 503 past the cap); uploads refused without a trace; the
//! automatic pause when failure reports cross the threshold.

use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat, HeartbeatResponse};
use sync_protocol::paths;
use sync_protocol::release::{FailureStage, UpdateFailure, UpdateReport, UpdateState};
use sync_server::domain::releases::RolloutState;
use sync_server::release_shelf::ShelfError;
use sync_server::release_upload::UploadError;
use sync_server::store::releases::ReleaseRefusal;

use crate::common::{TestKiosk, TestServer, refusal};
use crate::release_fixtures::{
    bundle, bundle_signed_by, roll_out, settings_with_keys, shelf_files, stranger_key, take_in, v,
    villages,
};

fn heartbeat(update: Option<UpdateReport>) -> Heartbeat {
    Heartbeat {
        queue_depth: 0,
        oldest_pending_age_s: None,
        quarantined: 0,
        devices: DeviceHealth::default(),
        app_version: "1.0.0".into(),
        disk_free_bytes: 1 << 30,
        uptime_s: 60,
        clock_offset_ms: 0,
        update,
    }
}

async fn beat(kiosk: &TestKiosk, update: Option<UpdateReport>) -> HeartbeatResponse {
    let response = kiosk.post_json(paths::HEARTBEAT, &heartbeat(update)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("heartbeat answer")
}

async fn download(kiosk: &TestKiosk, bundle: &str, range: Option<&str>) -> reqwest::Response {
    let path = paths::release(bundle);
    let headers = kiosk.sign("GET", &path, "", b"");
    let mut request = kiosk
        .client
        .request(Method::GET, format!("{}{path}", kiosk.base))
        .header(
            sync_protocol::signing::CONTENT_DIGEST,
            &headers.content_digest,
        )
        .header(
            sync_protocol::signing::SIGNATURE_INPUT,
            &headers.signature_input,
        )
        .header(sync_protocol::signing::SIGNATURE, &headers.signature);
    if let Some(range) = range {
        request = request.header("range", range);
    }
    request.send().await.expect("download")
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn the_target_reaches_the_booths_a_rollout_includes_and_no_other() {
    let server = TestServer::start_with(settings_with_keys()).await;
    let inside = server.enroll("石门村").await;
    let outside = server.enroll("义江村").await;
    assert_eq!(beat(&inside, None).await.release, None, "no rollout yet");
    let bytes = bundle("1.2.0", 50_000);
    let release = take_in(&server, &bytes).await.expect("taken in");
    assert_eq!(release.bundle, hex(&bytes));
    assert_eq!(release.size, bytes.len() as u64);
    roll_out(&server, "1.2.0", villages(&["示范县/凤岭乡/石门村"])).await;
    let target = beat(&inside, None).await.release.expect("a target");
    assert_eq!(target.version, v("1.2.0"));
    assert_eq!(target.bundle, release.bundle);
    assert_eq!(target.size, release.size);
    assert_eq!(beat(&outside, None).await.release, None);
}

#[tokio::test]
async fn a_download_resumed_with_range_gives_the_same_bytes() {
    let server = TestServer::start_with(settings_with_keys()).await;
    let kiosk = server.enroll("石门村").await;
    let bytes = bundle("1.3.0", 300_000);
    let release = take_in(&server, &bytes).await.unwrap();
    roll_out(&server, "1.3.0", villages(&["示范县/凤岭乡/石门村"])).await;

    let whole = download(&kiosk, &release.bundle, None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(
        whole.headers()["etag"].to_str().unwrap(),
        format!("\"{}\"", release.bundle)
    );
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let whole = whole.bytes().await.unwrap();
    assert_eq!(whole.as_ref(), bytes.as_slice());

    // Cut after 123 457 bytes: the booth asks for the rest.
    let cut = 123_457;
    let rest = download(&kiosk, &release.bundle, Some(&format!("bytes={cut}-"))).await;
    assert_eq!(rest.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        rest.headers()["content-range"].to_str().unwrap(),
        format!("bytes {cut}-{}/{}", bytes.len() - 1, bytes.len())
    );
    let rest = rest.bytes().await.unwrap();
    let mut joined = bytes[..cut].to_vec();
    joined.extend_from_slice(&rest);
    assert_eq!(hex(&joined), release.bundle);

    let past = download(
        &kiosk,
        &release.bundle,
        Some(&format!("bytes={}-", bytes.len())),
    )
    .await;
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        past.headers()["content-range"].to_str().unwrap(),
        format!("bytes */{}", bytes.len())
    );
    let (_, body) = refusal(past).await;
    assert_eq!(body.code, sync_protocol::ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn a_bundle_is_only_for_the_booths_it_targets_and_only_signed() {
    let server = TestServer::start_with(settings_with_keys()).await;
    let inside = server.enroll("石门村").await;
    let outside = server.enroll("义江村").await;
    let release = take_in(&server, &bundle("1.4.0", 10_000)).await.unwrap();
    let untargeted = take_in(&server, &bundle("1.5.0", 10_000)).await.unwrap();
    roll_out(&server, "1.4.0", villages(&["示范县/凤岭乡/石门村"])).await;

    let (status, not_for_it) = refusal(download(&outside, &release.bundle, None).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A release that exists but targets nobody, and a name no release has: the same answer.
    let (_, no_rollout) = refusal(download(&inside, &untargeted.bundle, None).await).await;
    let (_, unknown) = refusal(download(&inside, &"0".repeat(64), None).await).await;
    let (_, not_a_name) = refusal(download(&inside, "..%2Fserver.sqlite3", None).await).await;
    assert_eq!(not_for_it, no_rollout);
    assert_eq!(no_rollout, unknown);
    assert_eq!(unknown, not_a_name);

    let unsigned = reqwest::get(format!("{}{}", server.url, paths::release(&release.bundle)))
        .await
        .unwrap();
    let (status, body) = refusal(unsigned).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body.code, sync_protocol::ErrorCode::Unsigned);
    assert_eq!(
        download(&inside, &release.bundle, None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn downloads_past_the_cap_are_told_to_come_back() {
    let mut settings = settings_with_keys();
    settings.releases.max_downloads = 1;
    // Slow enough that the first download is still going when the second asks.
    settings.releases.download_rate = 16 * 1024;
    let server = TestServer::start_with(settings).await;
    let first = server.enroll("石门村").await;
    let second = server.enroll("石门村").await;
    let release = take_in(&server, &bundle("2.0.0", 200_000)).await.unwrap();
    roll_out(&server, "2.0.0", villages(&["示范县/凤岭乡/石门村"])).await;

    let going = download(&first, &release.bundle, None).await;
    assert_eq!(going.status(), StatusCode::OK);
    let refused = download(&second, &release.bundle, None).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "60");
    let (_, body) = refusal(refused).await;
    assert_eq!(body.code, sync_protocol::ErrorCode::RateLimited);
    // Heartbeats are answered all the while.
    assert!(beat(&second, None).await.release.is_some());
    // The first booth goes away; its place is free again.
    drop(going);
    let mut freed = false;
    for _ in 0..50 {
        if download(&second, &release.bundle, Some("bytes=-10"))
            .await
            .status()
            == StatusCode::PARTIAL_CONTENT
        {
            freed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(freed, "the cut download's place was given back");
}

#[tokio::test]
async fn refused_uploads_leave_no_release_and_no_file() {
    let mut settings = settings_with_keys();
    settings.releases.max_bundle_bytes = 200_000;
    let server = TestServer::start_with(settings).await;
    let kept = take_in(&server, &bundle("1.0.0", 1000)).await.unwrap();
    let before = (
        server.store().list_releases().await.unwrap(),
        shelf_files(&server),
    );
    assert_eq!(before.1, [format!("{}.bundle", kept.bundle)]);

    // A byte of the file changed after signing.
    let mut tampered = bundle("1.1.0", 5000);
    let at = tampered.len() - 2048;
    tampered[at] ^= 1;
    let error = take_in(&server, &tampered).await.unwrap_err();
    assert!(
        matches!(error, UploadError::Shelf(ShelfError::Refused(_))),
        "{error}"
    );
    assert!(error.to_string().contains("altered"), "{error}");
    // Signed by a key the county does not trust.
    let error = take_in(&server, &bundle_signed_by("1.1.0", 5000, &stranger_key()))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not"), "{error}");
    assert!(matches!(error, UploadError::Shelf(ShelfError::Refused(_))));
    // The same version again, even as another bundle.
    let error = take_in(&server, &bundle("1.0.0", 2000)).await.unwrap_err();
    assert!(matches!(
        error,
        UploadError::Refused(ReleaseRefusal::VersionExists(_))
    ));
    // Over the cap.
    let error = take_in(&server, &bundle("1.2.0", 300_000))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        UploadError::Shelf(ShelfError::TooLarge { max: 200_000 })
    ));
    assert!(error.is_refusal());
    let after = (
        server.store().list_releases().await.unwrap(),
        shelf_files(&server),
    );
    assert_eq!(after, before, "no row, no file, no leftover upload");
    let lines = crate::staff_client::audit_actions(
        server.store(),
        sync_server::store::staff::AuditFilter {
            action: Some("release".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(lines, ["release.upload"], "only the kept one is audited");
}

#[tokio::test]
async fn an_upload_without_release_keys_is_refused_naming_the_file() {
    let server = TestServer::start().await;
    let error = take_in(&server, &bundle("1.0.0", 100)).await.unwrap_err();
    assert!(matches!(
        error,
        UploadError::Shelf(ShelfError::NoKeys { .. })
    ));
    assert!(
        error.to_string().contains("/etc/sync-server/release-keys"),
        "{error}"
    );
    assert!(server.store().list_releases().await.unwrap().is_empty());
}

fn rolled_back(version: &str) -> UpdateReport {
    UpdateReport {
        running: v("1.0.0"),
        highest_installed: v("1.0.0"),
        target: Some(v(version)),
        state: UpdateState::RolledBack,
        downloaded_bytes: None,
        last_failure: Some(UpdateFailure {
            version: v(version),
            stage: FailureStage::Ready,
            // Longer than a booth may send: cut, and the heartbeat still recorded.
            reason: "超时".repeat(300),
        }),
    }
}

#[tokio::test]
async fn failure_reports_past_the_threshold_pause_the_rollout() {
    let server = TestServer::start_with(settings_with_keys()).await;
    let mut booths = Vec::new();
    for _ in 0..6 {
        booths.push(server.enroll("石门村").await);
    }
    take_in(&server, &bundle("3.0.0", 1000)).await.unwrap();
    let id = roll_out(&server, "3.0.0", villages(&["示范县/凤岭乡/石门村"])).await;
    for booth in &booths[..2] {
        assert!(
            beat(booth, Some(rolled_back("3.0.0")))
                .await
                .release
                .is_some()
        );
    }
    assert_eq!(
        server
            .store()
            .find_rollout(id)
            .await
            .unwrap()
            .unwrap()
            .state,
        RolloutState::Active,
        "two failures are not enough"
    );
    // The third failure pauses it: the booth that sent it keeps its target (it started), a
    // booth that never started gets none.
    assert!(
        beat(&booths[2], Some(rolled_back("3.0.0")))
            .await
            .release
            .is_some()
    );
    let paused = server.store().find_rollout(id).await.unwrap().unwrap();
    assert_eq!(paused.state, RolloutState::Paused);
    assert!(paused.paused_automatically());
    assert_eq!(beat(&booths[5], None).await.release, None);
    let kept = server
        .store()
        .find_kiosk(&sync_server::store::KioskRef::Id(booths[0].id().into()))
        .await
        .unwrap()
        .unwrap();
    let reason = kept
        .last_heartbeat
        .unwrap()
        .heartbeat
        .update
        .unwrap()
        .last_failure
        .unwrap()
        .reason;
    assert!(reason.chars().count() <= 200 + sync_server::domain::limits::CLIP_MARK);
    let lines = crate::staff_client::audit_actions(
        server.store(),
        sync_server::store::staff::AuditFilter {
            action: Some("rollout.auto_pause".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(lines.len(), 1);
}
