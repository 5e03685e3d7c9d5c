//! Nothing that comes from outside is stored unbounded: every field of every staff form, the
//! login (whose failures go into the audit log, which refuses DELETE), and what booths send.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use sync_protocol::ErrorCode;
use sync_protocol::enroll::EnrollRequest;
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
use sync_protocol::paths;
use sync_protocol::submission::{BatchRequest, BatchResponse, Outcome};
use sync_server::domain::access::Role;
use sync_server::domain::limits;
use sync_server::store::KioskRef;
use sync_server::store::staff::{AuditFilter, AuditRecord};

use crate::common::{TestServer, new_key, refusal, snapshot, submission};
use crate::staff_client::{PASSWORD, StaffClient, add_account};

/// Every form of the staff pages, by route as `routes()` writes it, with its fields.
const FORMS: &[(&str, &[&str])] = &[
    ("/logout", &[]),
    ("/password", &["current", "new", "repeat"]),
    ("/accounts", &["username", "display_name", "role", "scope"]),
    ("/accounts/{username}/disable", &[]),
    ("/accounts/{username}/enable", &[]),
    ("/accounts/{username}/reset", &[]),
    ("/calendar", &["day", "kind", "name"]),
    ("/calendar/remove", &["day"]),
    (
        "/fleet/enroll-code",
        &["county", "township", "village", "ttl"],
    ),
    ("/fleet/{kiosk_id}/revoke", &["confirm"]),
    ("/follow-ups/{receipt}/call", &["called_at", "call_note"]),
    ("/follow-ups/{receipt}/fix", &["fix_note"]),
    ("/follow-ups/{receipt}/close", &[]),
    ("/guides", &["code", "name_zh"]),
    (
        "/guides/{code}/draft",
        &[
            "base_version",
            "name_zh",
            "name_en",
            "category",
            "legal_basis",
            "conditions",
            "materials",
            "steps",
            "time_limit",
            "days",
            "fees",
            "office_name",
            "office_address",
            "office_phone",
            "complaint_phone",
            "identity",
            "form_fields",
            "review_levels",
        ],
    ),
    ("/guides/{code}/publish", &["draft_saved_at"]),
    ("/guides/{code}/discard", &[]),
    ("/guides/{code}/withdraw", &[]),
    ("/guides/{code}/restore", &[]),
    (
        "/notices",
        &[
            "title",
            "body",
            "audience",
            "village",
            "published_on",
            "expires_on",
        ],
    ),
    ("/notices/{id}/withdraw", &[]),
    ("/notices/{id}/republish", &[]),
    ("/inbox/by-id", &["id_number"]),
    ("/submissions/{receipt}", &["action", "comment", "version"]),
    ("/submissions/{receipt}/identity", &[]),
    (
        "/rollouts",
        &[
            "version",
            "percent",
            "townships",
            "villages",
            "booths",
            "threshold",
        ],
    ),
    ("/rollouts/{id}/pause", &[]),
    ("/rollouts/{id}/resume", &[]),
    ("/rollouts/{id}/stop", &[]),
    (
        "/rollouts/{id}/widen",
        &["percent", "townships", "villages", "booths"],
    ),
];

/// The POST routes of the staff route table: a new form must join [`FORMS`] or this test fails.
fn declared_post_routes() -> BTreeSet<String> {
    sync_server::staff::web::access::table()
        .into_iter()
        .filter(|route| route.method == axum::http::Method::POST)
        .map(|route| route.path.to_owned())
        .collect()
}

#[test]
fn the_walk_below_covers_every_staff_form() {
    let walked: BTreeSet<String> = FORMS.iter().map(|(path, _)| (*path).to_owned()).collect();
    let mut declared = declared_post_routes();
    declared.remove("/login"); // its own test below
    // Multipart, no text field but the token: the bundle's cap is the upload's own
    // (`staff_releases`, `releases_api`).
    declared.remove("/releases");
    assert_eq!(walked, declared);
}

async fn audit_lines(server: &TestServer) -> Vec<AuditRecord> {
    server
        .store()
        .list_audit(&AuditFilter {
            limit: 10_000,
            ..AuditFilter::default()
        })
        .await
        .expect("audit")
}

#[tokio::test]
async fn every_staff_form_field_over_its_cap_is_refused_and_nothing_is_stored() {
    let server = TestServer::start().await;
    add_account(server.store(), "admin", Role::Admin, "*").await;
    let mut admin = StaffClient::logged_in(&server.url, "admin").await;
    admin.get("/staff/password").await.assert_ok();
    // Review actions are a reviewer's: the route guard turns an administrator away before the
    // form is read.
    add_account(server.store(), "handler", Role::Handler, "*").await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    handler.get("/staff/inbox").await.assert_ok();
    let users = server.store().list_users().await.expect("users");
    let before = audit_lines(&server).await.len();
    let data = snapshot(server.store()).await;

    // Each field alone, and an extra field on the forms that take none.
    let mut cases: Vec<(String, &str)> = Vec::new();
    for (route, fields) in FORMS {
        let path = format!("/staff{route}")
            .replace("{username}", "admin")
            .replace("{code}", "GX-MZ-001")
            .replace("{receipt}", "001-00001-X")
            .replace("{kiosk_id}", "k")
            .replace("{id}", "0");
        if fields.is_empty() {
            cases.push((path.clone(), "extra"));
        }
        for field in *fields {
            cases.push((path.clone(), field));
        }
    }
    for (path, field) in &cases {
        // Well past the cap: what an attacker sends, up to the body limit.
        let long = "长".repeat(limits::form_field(field).max(100_000) + 1);
        let client = if path.starts_with("/staff/submissions/") {
            &mut handler
        } else {
            &mut admin
        };
        let page = client.post(path, &[(field, long.as_str())]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path} {field}");
        page.assert_contains(&format!("the field `{field}` has"));
        assert!(
            page.body.len() < 20_000,
            "{path} {field}: the value is not echoed"
        );
    }
    // And just over the cap is refused too; at the cap a field gets through to its page.
    let over = "a".repeat(limits::DISPLAY_NAME + 1);
    let page = admin.post("/staff/accounts", &new_account(&over)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);

    assert_eq!(audit_lines(&server).await.len(), before, "nothing was done");
    assert_eq!(server.store().list_users().await.expect("users"), users);
    assert_eq!(snapshot(server.store()).await, data);

    let at_cap = "a".repeat(limits::DISPLAY_NAME);
    admin
        .post("/staff/accounts", &new_account(&at_cap))
        .await
        .assert_ok();
    let added = server
        .store()
        .find_user("new.member")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(added.display_name, at_cap);
}

fn new_account(display_name: &str) -> [(&'static str, &str); 4] {
    [
        ("username", "new.member"),
        ("role", "viewer"),
        ("scope", "示范县"),
        ("display_name", display_name),
    ]
}

#[tokio::test]
async fn an_over_long_login_name_is_refused_early_and_audited_clipped() {
    let server = TestServer::start().await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let mut client = StaffClient::new(&server.url);
    // 1.9 MiB, as in the attack.
    let name = "n".repeat(1_900_000);
    let runs = server.state.password_gate().runs();
    for _ in 0..3 {
        let page = client.login(&name, "whatever guess").await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        page.assert_contains("用户名或密码太长");
        assert!(page.body.len() < 20_000, "the name is not echoed");
    }
    assert_eq!(
        server.state.password_gate().runs(),
        runs,
        "no argon2 run for a name no account can have"
    );
    let lines = audit_lines(&server).await;
    let failed: Vec<&AuditRecord> = lines
        .iter()
        .filter(|l| l.entry.action == "login.failed")
        .collect();
    assert_eq!(failed.len(), 3, "each attempt is audited");
    for line in failed {
        let entry = &line.entry;
        assert!(entry.actor.starts_with(&"n".repeat(limits::LOGIN_NAME)));
        assert!(entry.actor.contains("1900000 bytes"), "{}", entry.actor);
        let stored = entry.actor.len()
            + entry.detail.as_deref().map_or(0, str::len)
            + entry.target.as_deref().map_or(0, str::len);
        assert!(stored < 500, "{stored} bytes");
    }
    // The right name and password from that machine still get in.
    let page = client.login("li", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn audit_lines_are_clipped_whoever_writes_them() {
    let server = TestServer::start().await;
    let long = "长".repeat(1_000_000);
    server
        .store()
        .append_audit(
            sync_server::store::staff::AuditEntry::new(chrono::Utc::now(), &long, &long)
                .target(long.clone())
                .detail(long.clone())
                .remote(Some(long.clone())),
        )
        .await
        .expect("append");
    let lines = audit_lines(&server).await;
    let entry = &lines[0].entry;
    for (what, value, max) in [
        ("actor", entry.actor.as_str(), limits::AUDIT_ACTOR),
        ("action", entry.action.as_str(), limits::AUDIT_ACTION),
        (
            "target",
            entry.target.as_deref().unwrap(),
            limits::AUDIT_TARGET,
        ),
        (
            "detail",
            entry.detail.as_deref().unwrap(),
            limits::AUDIT_DETAIL,
        ),
        (
            "remote",
            entry.remote.as_deref().unwrap(),
            limits::AUDIT_REMOTE,
        ),
    ] {
        assert!(
            value.chars().count() <= max + limits::CLIP_MARK,
            "{what}: {}",
            value.len()
        );
    }
}

#[tokio::test]
async fn what_booths_send_is_capped_before_it_is_stored() {
    let server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let long = "9".repeat(100_000);

    let heartbeat = Heartbeat {
        queue_depth: 0,
        oldest_pending_age_s: None,
        quarantined: 0,
        devices: DeviceHealth::default(),
        app_version: long.clone(),
        disk_free_bytes: 1 << 30,
        uptime_s: 60,
        clock_offset_ms: 0,
        update: None,
    };
    let (status, body) = refusal(kiosk.post_json(paths::HEARTBEAT, &heartbeat).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.code, ErrorCode::InvalidRequest);
    assert!(body.message.contains("app_version"), "{}", body.message);
    let stored = server
        .store()
        .find_kiosk(&KioskRef::Id(kiosk.id().to_owned()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.app_version, "test-0.1");

    let code = server.code("六合村").await;
    let key = new_key();
    let response = reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::ENROLL))
        .json(&EnrollRequest::new(&code, &key, &long))
        .send()
        .await
        .unwrap();
    let (status, body) = refusal(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.message.contains("app_version"), "{}", body.message);
    // The code is still good.
    crate::common::enroll_with_code(&server.url, &code).await;

    let mut named = submission(kiosk.number(), 1);
    named.applicant.get_or_insert_default().name = Some(long.clone());
    let mut keyed = submission(kiosk.number(), 2);
    keyed.fields.insert(long.clone(), "4".into());
    let mut phoned = submission(kiosk.number(), 3);
    phoned.contact_phone = Some(long.clone());
    let batch = BatchRequest {
        submissions: vec![named, keyed, phoned],
    };
    let response = kiosk.post_json(paths::SUBMISSIONS, &batch).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: BatchResponse = response.json().await.unwrap();
    for result in &answer.results {
        assert_eq!(result.outcome, Outcome::Invalid);
        assert!(
            result
                .message
                .as_deref()
                .is_some_and(|m| m.contains("too long")),
            "{:?}",
            result.message
        );
    }
    let data = snapshot(server.store()).await;
    assert!(data.submissions.is_empty() && data.statuses.iter().all(Vec::is_empty));
}
