//! The review pages over HTTP: a booth's submission taken through its chain by three people,
//! each step reaching the booth's statuses feed; who may see and do what; escaping; the
//! logged full-ID view; the CSV export.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use sync_protocol::enroll::Village;
use sync_protocol::feed::{Feed, StatusChange, SubmissionStatus};
use sync_protocol::paths;
use sync_protocol::submission::{BatchRequest, Submission, SubmissionKind};
use sync_server::api::enroll_codes;
use sync_server::domain::access::Role;
use sync_server::domain::catalog;
use sync_server::store::staff::AuditFilter;

use crate::common::{TestKiosk, TestServer, enroll_with_code, submission};
use crate::staff_client::{Page, StaffClient, add_account};

const TOWNSHIP: &str = "示范县/凤岭乡";

/// A server with the seed catalogue, a booth in 石门村 (凤岭乡) and the three reviewers.
async fn county() -> (TestServer, TestKiosk) {
    let server = TestServer::start().await;
    let seed = catalog::read_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/catalog.json"),
    )
    .expect("seed catalogue");
    server
        .store()
        .import_catalog(seed, Utc::now())
        .await
        .expect("import");
    let kiosk = server.enroll("石门村").await;
    for (name, role) in [
        ("handler", Role::Handler),
        ("reviewer", Role::Reviewer),
        ("approver", Role::Approver),
        ("viewer", Role::Viewer),
    ] {
        add_account(server.store(), name, role, TOWNSHIP).await;
    }
    (server, kiosk)
}

async fn upload(kiosk: &TestKiosk, submissions: Vec<Submission>) {
    let response = kiosk
        .post_json(paths::SUBMISSIONS, &BatchRequest { submissions })
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// A booth in another township of the county.
async fn other_township_kiosk(server: &TestServer) -> TestKiosk {
    let code = enroll_codes::issue(
        server.store(),
        server.state.code_secret(),
        Village {
            county: "示范县".into(),
            township: "白圩镇".into(),
            village: "六合村".into(),
        },
        Duration::from_secs(3600),
        Utc::now(),
    )
    .await
    .expect("code")
    .code;
    enroll_with_code(&server.url, &code).await
}

async fn statuses(kiosk: &TestKiosk) -> Vec<StatusChange> {
    kiosk
        .feed::<StatusChange>(Feed::Statuses, None, 100)
        .await
        .items
}

/// Opens the submission page, then posts `action` from it.
async fn act(client: &mut StaffClient, receipt: &str, action: &str, comment: &str) -> Page {
    let page = client.get(&format!("/staff/submissions/{receipt}")).await;
    page.assert_ok();
    let version = crate::staff_client::hidden_value(&page.body, "version").unwrap_or_default();
    client
        .post(
            &format!("/staff/submissions/{receipt}"),
            &[
                ("action", action),
                ("comment", comment),
                ("version", &version),
            ],
        )
        .await
}

#[tokio::test]
async fn three_levels_take_a_booth_submission_to_approved_and_the_booth_hears_each_step() {
    let (server, kiosk) = county().await;
    let application = submission(kiosk.number(), 1);
    let receipt = application.receipt_number.clone();
    upload(&kiosk, vec![application]).await;

    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    handler
        .get("/staff/inbox")
        .await
        .assert_ok()
        .assert_contains(&receipt)
        .assert_contains("最低生活保障申请");
    let accepted = act(&mut handler, &receipt, "accept", "材料齐全").await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    let forwarded = act(&mut handler, &receipt, "forward", "").await;
    assert_eq!(
        forwarded.status,
        StatusCode::SEE_OTHER,
        "{}",
        forwarded.body
    );
    handler.get("/staff/inbox").await.assert_lacks(&receipt);

    let mut reviewer = StaffClient::logged_in(&server.url, "reviewer").await;
    reviewer.get("/staff/inbox").await.assert_contains(&receipt);
    assert_eq!(
        act(&mut reviewer, &receipt, "forward", "同意").await.status,
        StatusCode::SEE_OTHER
    );
    let mut approver = StaffClient::logged_in(&server.url, "approver").await;
    approver.get("/staff/inbox").await.assert_contains(&receipt);
    assert_eq!(
        act(&mut approver, &receipt, "approve", "准予").await.status,
        StatusCode::SEE_OTHER
    );
    approver
        .get(&format!("/staff/submissions/{receipt}"))
        .await
        .assert_contains("已办结，不能再操作");

    let feed = statuses(&kiosk).await;
    let steps: Vec<(SubmissionStatus, String)> = feed
        .iter()
        .map(|c| (c.status, c.note.clone().unwrap_or_default()))
        .collect();
    assert_eq!(steps.len(), 5, "{steps:?}");
    assert_eq!(steps[0].0, SubmissionStatus::Received);
    assert_eq!(steps[1].0, SubmissionStatus::Accepted);
    assert!(steps[1].1.starts_with("已受理，承诺"), "{}", steps[1].1);
    assert!(steps[1].1.ends_with("：材料齐全"), "{}", steps[1].1);
    assert_eq!(steps[2], (SubmissionStatus::InReview, "已转审查".into()));
    assert_eq!(
        steps[3],
        (SubmissionStatus::InReview, "已转审批：同意".into())
    );
    assert_eq!(
        steps[4],
        (SubmissionStatus::Approved, "已办结：准予".into())
    );

    let audit = server
        .store()
        .list_audit(&AuditFilter {
            action: Some("review".into()),
            limit: 50,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let trail: Vec<(String, String)> = audit
        .iter()
        .rev()
        .map(|r| (r.entry.actor.clone(), r.entry.action.clone()))
        .collect();
    assert_eq!(
        trail,
        [
            ("handler".to_owned(), "review.accept".to_owned()),
            ("handler".into(), "review.forward".into()),
            ("reviewer".into(), "review.forward".into()),
            ("approver".into(), "review.approve".into()),
        ]
    );
    assert!(
        audit
            .iter()
            .all(|r| r.entry.target.as_deref() == Some(receipt.as_str()))
    );
}

#[tokio::test]
async fn staff_of_another_township_neither_see_nor_act() {
    let (server, kiosk) = county().await;
    let application = submission(kiosk.number(), 1);
    let receipt = application.receipt_number.clone();
    upload(&kiosk, vec![application]).await;
    add_account(server.store(), "baixu", Role::Handler, "示范县/白圩镇").await;
    let mut outsider = StaffClient::logged_in(&server.url, "baixu").await;
    outsider
        .get("/staff/inbox?mine=0&status=all")
        .await
        .assert_ok()
        .assert_lacks(&receipt);
    let page = outsider.get(&format!("/staff/submissions/{receipt}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let export = outsider.get("/staff/export.csv?status=all&mine=0").await;
    assert!(!export.body.contains(&receipt));
    let post = outsider
        .post(
            &format!("/staff/submissions/{receipt}"),
            &[("action", "accept"), ("comment", ""), ("version", "0")],
        )
        .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    assert_eq!(statuses(&kiosk).await.len(), 1, "nothing happened");

    // And their own township's work is theirs.
    let theirs = other_township_kiosk(&server).await;
    let own = submission(theirs.number(), 1);
    upload(&theirs, vec![own.clone()]).await;
    outsider
        .get("/staff/inbox")
        .await
        .assert_contains(&own.receipt_number);
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    handler
        .get("/staff/inbox")
        .await
        .assert_lacks(&own.receipt_number);
}

#[tokio::test]
async fn viewers_and_other_levels_cannot_act() {
    let (server, kiosk) = county().await;
    let application = submission(kiosk.number(), 1);
    let receipt = application.receipt_number.clone();
    upload(&kiosk, vec![application]).await;
    let mut viewer = StaffClient::logged_in(&server.url, "viewer").await;
    viewer
        .get(&format!("/staff/submissions/{receipt}"))
        .await
        .assert_ok()
        .assert_contains("这一环节不由您办理")
        .assert_lacks("name=\"action\"");
    assert_eq!(
        act(&mut viewer, &receipt, "accept", "").await.status,
        StatusCode::FORBIDDEN
    );
    let mut reviewer = StaffClient::logged_in(&server.url, "reviewer").await;
    assert_eq!(
        act(&mut reviewer, &receipt, "accept", "").await.status,
        StatusCode::FORBIDDEN,
        "level 1 is the handler's"
    );
    assert_eq!(statuses(&kiosk).await.len(), 1);
}

#[tokio::test]
async fn an_action_without_the_form_token_or_from_a_stale_page_changes_nothing() {
    let (server, kiosk) = county().await;
    let application = submission(kiosk.number(), 1);
    let receipt = application.receipt_number.clone();
    upload(&kiosk, vec![application]).await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    let page = handler.get(&format!("/staff/submissions/{receipt}")).await;
    let version = crate::staff_client::hidden_value(&page.body, "version").unwrap();
    let forged = handler
        .post_raw(
            &format!("/staff/submissions/{receipt}"),
            &[("action", "accept"), ("comment", ""), ("version", &version)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(statuses(&kiosk).await.len(), 1);

    // Two tabs: the second acts on what the first already changed.
    let accepted = act(&mut handler, &receipt, "accept", "").await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    let stale = handler
        .post(
            &format!("/staff/submissions/{receipt}"),
            &[
                ("action", "reject"),
                ("comment", "重复"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    stale.assert_contains("刚被别人处理过");
    assert_eq!(statuses(&kiosk).await.len(), 2);
}

#[tokio::test]
async fn a_rejection_or_correction_needs_words_for_the_villager() {
    let (server, kiosk) = county().await;
    let application = submission(kiosk.number(), 1);
    let receipt = application.receipt_number.clone();
    upload(&kiosk, vec![application]).await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    let refused = act(&mut handler, &receipt, "reject", "   ").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused.assert_contains("不能办理");
    assert_eq!(statuses(&kiosk).await.len(), 1);
    let asked = act(
        &mut handler,
        &receipt,
        "request_correction",
        "户口簿原件、收入证明",
    )
    .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let last = statuses(&kiosk).await.pop().unwrap();
    assert_eq!(last.status, SubmissionStatus::NeedsCorrection);
    assert_eq!(
        last.note.as_deref(),
        Some("请补正材料：户口簿原件、收入证明")
    );
}

#[tokio::test]
async fn complaints_go_through_the_same_chain() {
    let (server, kiosk) = county().await;
    let mut complaint = submission(kiosk.number(), 1);
    complaint.kind = SubmissionKind::Complaint;
    complaint.item_code = None;
    complaint.applicant = None;
    complaint.fields.clear();
    complaint.text = Some("窗口人员态度差".into());
    let receipt = complaint.receipt_number.clone();
    upload(&kiosk, vec![complaint]).await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    handler
        .get("/staff/inbox?kind=complaint")
        .await
        .assert_contains(&receipt);
    act(&mut handler, &receipt, "accept", "").await;
    act(&mut handler, &receipt, "forward", "已核实").await;
    let mut approver = StaffClient::logged_in(&server.url, "approver").await;
    approver.get("/staff/inbox").await.assert_contains(&receipt);
    let done = act(&mut approver, &receipt, "approve", "已约谈当事人").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let last = statuses(&kiosk).await.pop().unwrap();
    assert_eq!(last.status, SubmissionStatus::Approved);
}

#[tokio::test]
async fn text_from_a_booth_is_shown_as_text_everywhere() {
    let (server, kiosk) = county().await;
    let mut hostile = submission(kiosk.number(), 1);
    hostile.text = Some("<script>alert(1)</script>".into());
    hostile.fields.insert(
        "household_size".into(),
        "<img src=x onerror=alert(2)>".into(),
    );
    hostile.applicant = Some(sync_protocol::submission::Applicant {
        name: Some("\"><b>1</b>".into()),
        ..hostile.applicant.clone().unwrap_or_default()
    });
    let receipt = hostile.receipt_number.clone();
    upload(&kiosk, vec![hostile]).await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    let page = handler.get(&format!("/staff/submissions/{receipt}")).await;
    page.assert_ok()
        .assert_contains("&#60;script&#62;alert(1)&#60;/script&#62;")
        .assert_contains("&#60;img src=x onerror=alert(2)&#62;")
        .assert_lacks("<script>")
        .assert_lacks("<img src=x")
        .assert_lacks("<b>1</b>");
    let csp = page
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
}

#[tokio::test]
async fn a_full_id_number_is_shown_only_on_request_and_every_view_is_logged() {
    let (server, kiosk) = county().await;
    let application = submission(kiosk.number(), 1);
    let receipt = application.receipt_number.clone();
    upload(&kiosk, vec![application]).await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    handler
        .get(&format!("/staff/submissions/{receipt}"))
        .await
        .assert_contains("450902********0028")
        .assert_lacks("450902196208150028");
    handler
        .post(&format!("/staff/submissions/{receipt}/identity"), &[])
        .await
        .assert_ok()
        .assert_contains("450902196208150028")
        .assert_contains("已记入审计日志");
    let views = server
        .store()
        .list_audit(&AuditFilter {
            action: Some("identity.view".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].entry.actor, "handler");
    assert_eq!(views[0].entry.target.as_deref(), Some(receipt.as_str()));
    let mut viewer = StaffClient::logged_in(&server.url, "viewer").await;
    viewer.get(&format!("/staff/submissions/{receipt}")).await;
    assert_eq!(
        viewer
            .post(&format!("/staff/submissions/{receipt}/identity"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_export_is_excel_ready_masked_and_logged() {
    let (server, kiosk) = county().await;
    let application = submission(kiosk.number(), 1);
    let receipt = application.receipt_number.clone();
    upload(&kiosk, vec![application]).await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    let export = handler.get("/staff/export.csv").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        export
            .headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        export.body.starts_with('\u{feff}'),
        "a byte-order mark for Excel"
    );
    let lines: Vec<&str> = export
        .body
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .collect();
    assert!(lines[0].starts_with("回执号,类别,事项"), "{}", lines[0]);
    assert!(lines[1].starts_with(&receipt), "{}", lines[1]);
    assert!(lines[1].contains("450902********0028"));
    assert!(!export.body.contains("450902196208150028"));
    let exports = server
        .store()
        .list_audit(&AuditFilter {
            action: Some("export".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(exports.len(), 1);
    assert!(
        exports[0]
            .entry
            .detail
            .as_deref()
            .unwrap()
            .starts_with("1 rows")
    );
}

#[tokio::test]
async fn a_holiday_on_the_calendar_moves_the_promised_date() {
    use sync_server::domain::calendar::{CalendarDay, DayKind, WorkingCalendar, china_date};
    let (server, kiosk) = county().await;
    let today = china_date(Utc::now());
    let plain_due = WorkingCalendar::default().add_working_days(today, 30);
    let holiday = CalendarDay {
        day: WorkingCalendar::default().add_working_days(today, 1),
        kind: DayKind::Holiday,
        name: "测试假日".into(),
    };
    server
        .store()
        .set_calendar_day(
            holiday.clone(),
            sync_server::store::staff::AuditEntry::new(Utc::now(), "test", "calendar.set"),
        )
        .await
        .unwrap();
    let application = submission(kiosk.number(), 1);
    let receipt = application.receipt_number.clone();
    upload(&kiosk, vec![application]).await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    act(&mut handler, &receipt, "accept", "").await;
    let expected = WorkingCalendar::new(&[holiday]).add_working_days(today, 30);
    assert_ne!(expected, plain_due);
    handler
        .get(&format!("/staff/submissions/{receipt}"))
        .await
        .assert_contains(&expected.to_string());
}
