//! The releases page over HTTP with the cookie-keeping client: a county-wide administrator
//! uploads a bundle (refusals on one line, the store unchanged), starts a rollout and pauses,
//! widens, resumes and stops it, each audited; the form token on every action; every other
//! role, and an administrator of one township, refused on every page and action with nothing
//! changed; the fleet page's update columns and the alert of an automatic pause.

use reqwest::StatusCode;
use sync_server::domain::access::Role;
use sync_server::domain::releases::RolloutState;
use sync_server::store::staff::AuditFilter;

use crate::common::TestServer;
use crate::release_fixtures::{
    bundle, bundle_signed_by, roll_out, settings_with_keys, shelf_files, stranger_key, take_in,
    villages,
};
use crate::staff_client::{StaffClient, add_account, audit_actions};

async fn county_admin(server: &TestServer) -> StaffClient {
    add_account(server.store(), "county", Role::Admin, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "county").await;
    client.get("/staff/releases").await.assert_ok();
    client
}

async fn actions(server: &TestServer, prefix: &str) -> Vec<String> {
    audit_actions(
        server.store(),
        AuditFilter {
            action: Some(prefix.into()),
            ..AuditFilter::default()
        },
    )
    .await
}

#[tokio::test]
async fn a_county_administrator_uploads_and_rolls_out_a_release() {
    let server = TestServer::start_with(settings_with_keys()).await;
    let booth = server.enroll("石门村").await;
    let mut admin = county_admin(&server).await;
    let csrf = admin.csrf.clone().unwrap();
    let bytes = bundle("1.2.0", 40_000);
    let uploaded = admin.post_bundle("/staff/releases", &csrf, &bytes).await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let page = admin.get("/staff/releases?done=uploaded").await;
    page.assert_ok()
        .assert_contains("1.2.0")
        .assert_contains("测试版本");
    let release = server.store().list_releases().await.unwrap().remove(0);
    assert_eq!(release.uploaded_by, "county");

    // The same bundle again: refused on one line, nothing new.
    let again = admin.post_bundle("/staff/releases", &csrf, &bytes).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    again.assert_contains("release 1.2.0 exists already");
    // A stranger's signature: refused, nothing kept.
    let foreign = admin
        .post_bundle(
            "/staff/releases",
            &csrf,
            &bundle_signed_by("1.3.0", 100, &stranger_key()),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);
    foreign.assert_contains("which this booth does not trust");
    assert_eq!(server.store().list_releases().await.unwrap().len(), 1);
    assert_eq!(shelf_files(&server), [format!("{}.bundle", release.bundle)]);

    let created = admin
        .post(
            "/staff/rollouts",
            &[
                ("version", "1.2.0"),
                ("villages", "示范县/凤岭乡/石门村"),
                ("threshold", "25"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let rollout = server.store().list_rollouts().await.unwrap().remove(0);
    assert_eq!(rollout.failure_threshold, 25);
    let id = rollout.id;
    admin
        .get("/staff/releases")
        .await
        .assert_contains(&format!("id=\"rollout-{id}\""));
    let response = booth
        .post_json(
            sync_protocol::paths::HEARTBEAT,
            &crate::releases_api_heartbeat(),
        )
        .await;
    let answer: sync_protocol::heartbeat::HeartbeatResponse = response.json().await.unwrap();
    assert_eq!(answer.release.unwrap().bundle, release.bundle);

    for (action, state) in [
        ("pause", RolloutState::Paused),
        ("resume", RolloutState::Active),
    ] {
        let page = admin
            .post(&format!("/staff/rollouts/{id}/{action}"), &[])
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            page.body
        );
        assert_eq!(
            server
                .store()
                .find_rollout(id)
                .await
                .unwrap()
                .unwrap()
                .state,
            state
        );
    }
    let widened = admin
        .post(&format!("/staff/rollouts/{id}/widen"), &[("percent", "30")])
        .await;
    assert_eq!(widened.status, StatusCode::SEE_OTHER);
    assert_eq!(
        server
            .store()
            .find_rollout(id)
            .await
            .unwrap()
            .unwrap()
            .targets
            .percent,
        30
    );
    let narrower = admin
        .post(&format!("/staff/rollouts/{id}/widen"), &[("percent", "10")])
        .await;
    assert_eq!(narrower.status, StatusCode::CONFLICT);
    narrower.assert_contains("adds no booth");
    let stopped = admin.post(&format!("/staff/rollouts/{id}/stop"), &[]).await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER);
    let twice = admin.post(&format!("/staff/rollouts/{id}/stop"), &[]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(
        actions(&server, "r").await,
        [
            "release.upload",
            "rollout.create",
            "rollout.pause",
            "rollout.resume",
            "rollout.widen",
            "rollout.stop"
        ]
    );
}

#[tokio::test]
async fn every_release_action_wants_the_form_token() {
    let server = TestServer::start_with(settings_with_keys()).await;
    take_in(&server, &bundle("1.0.0", 100)).await.unwrap();
    let id = roll_out(&server, "1.0.0", villages(&["示范县/凤岭乡/石门村"])).await;
    let mut admin = county_admin(&server).await;
    let forged = admin
        .post_bundle("/staff/releases", "not-the-token", &bundle("1.1.0", 100))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    for path in [
        "/staff/rollouts".to_owned(),
        format!("/staff/rollouts/{id}/pause"),
        format!("/staff/rollouts/{id}/stop"),
        format!("/staff/rollouts/{id}/widen"),
    ] {
        let page = admin
            .post_raw(
                &path,
                &[("csrf", "wrong"), ("version", "1.0.0"), ("percent", "50")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(server.store().list_releases().await.unwrap().len(), 1);
    assert_eq!(server.store().list_rollouts().await.unwrap().len(), 1);
    assert_eq!(
        server
            .store()
            .find_rollout(id)
            .await
            .unwrap()
            .unwrap()
            .state,
        RolloutState::Active
    );
}

#[tokio::test]
async fn only_county_wide_administrators_reach_releases() {
    let server = TestServer::start_with(settings_with_keys()).await;
    take_in(&server, &bundle("1.0.0", 100)).await.unwrap();
    let id = roll_out(&server, "1.0.0", villages(&["示范县/凤岭乡/石门村"])).await;
    let audited = actions(&server, "r").await;
    let mut accounts = vec![("township.admin".to_owned(), Role::Admin, "示范县/凤岭乡")];
    for role in [Role::Handler, Role::Reviewer, Role::Approver, Role::Viewer] {
        accounts.push((format!("county.{role}"), role, "示范县"));
    }
    for (name, role, scope) in &accounts {
        add_account(server.store(), name, *role, scope).await;
        let mut client = StaffClient::logged_in(&server.url, name).await;
        client.get("/staff/password").await.assert_ok();
        let csrf = client.csrf.clone().unwrap();
        let page = client.get("/staff/releases").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{name}");
        page.assert_lacks("1.0.0");
        let upload = client
            .post_bundle("/staff/releases", &csrf, &bundle("1.1.0", 100))
            .await;
        assert_eq!(upload.status, StatusCode::FORBIDDEN, "{name} upload");
        let create = client
            .post(
                "/staff/rollouts",
                &[("version", "1.0.0"), ("percent", "100")],
            )
            .await;
        assert_eq!(create.status, StatusCode::FORBIDDEN, "{name} create");
        for action in ["pause", "resume", "stop", "widen"] {
            let page = client
                .post(
                    &format!("/staff/rollouts/{id}/{action}"),
                    &[("percent", "100")],
                )
                .await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{name} {action}");
        }
    }
    assert_eq!(server.store().list_releases().await.unwrap().len(), 1);
    let rollout = server.store().find_rollout(id).await.unwrap().unwrap();
    assert_eq!(rollout.state, RolloutState::Active);
    assert_eq!(rollout.targets.percent, 0);
    assert_eq!(server.store().list_rollouts().await.unwrap().len(), 1);
    assert_eq!(
        actions(&server, "r").await,
        audited,
        "no line for a refusal"
    );
}

#[tokio::test]
async fn the_fleet_page_shows_each_booths_release_and_an_automatic_pause() {
    let server = TestServer::start_with(settings_with_keys()).await;
    let mut booths = Vec::new();
    for _ in 0..3 {
        booths.push(server.enroll("石门村").await);
    }
    take_in(&server, &bundle("2.1.0", 100)).await.unwrap();
    roll_out(&server, "2.1.0", villages(&["示范县/凤岭乡/石门村"])).await;
    for booth in &booths {
        let mut heartbeat = crate::releases_api_heartbeat();
        heartbeat.update = Some(sync_protocol::release::UpdateReport {
            running: "2.0.0".parse().unwrap(),
            highest_installed: "2.0.0".parse().unwrap(),
            target: Some("2.1.0".parse().unwrap()),
            state: sync_protocol::release::UpdateState::RolledBack,
            downloaded_bytes: Some(100),
            last_failure: Some(sync_protocol::release::UpdateFailure {
                version: "2.1.0".parse().unwrap(),
                stage: sync_protocol::release::FailureStage::Start,
                reason: "<b>did not start</b>".into(),
            }),
        });
        let response = booth
            .post_json(sync_protocol::paths::HEARTBEAT, &heartbeat)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let mut admin = county_admin(&server).await;
    let fleet = admin.get("/staff/fleet").await;
    fleet
        .assert_ok()
        .assert_contains("2.0.0 / 2.1.0")
        .assert_contains("2.1.0 start: &#60;b&#62;did not start&#60;/b&#62;")
        .assert_lacks("<b>did not start")
        .assert_contains("已自动暂停")
        .assert_contains("href=\"/staff/releases\"");
    admin
        .get("/staff/releases")
        .await
        .assert_contains("3 of the 3 booths that started 2.1.0 failed");
    // A township's administrator sees its booths' state, not the county's counts.
    add_account(server.store(), "fengling", Role::Admin, "示范县/凤岭乡").await;
    let mut township = StaffClient::logged_in(&server.url, "fengling").await;
    township
        .get("/staff/fleet")
        .await
        .assert_ok()
        .assert_contains("2.0.0 / 2.1.0")
        .assert_lacks("已自动暂停")
        .assert_lacks("href=\"/staff/releases\"");
}
