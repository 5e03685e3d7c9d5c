//! The 好差评 dashboard and the follow-ups of bad ratings over HTTP: a booth uploads ratings the
//! way it does in the field, staff read the counts and record call-backs, fixes and closes,
//! each within their scope and role, with every record in the audit log.

use std::time::Duration;

use chrono::{Datelike as _, Utc, Weekday};
use reqwest::StatusCode;
use sync_protocol::paths;
use sync_protocol::submission::{BatchRequest, BatchResponse, Outcome, Submission};
use sync_server::api::enroll_codes;
use sync_server::domain::access::Role;
use sync_server::domain::calendar::{CalendarDay, DayKind, WorkingCalendar, china_date};
use sync_server::settings::Settings;
use sync_server::store::IngestItem;
use sync_server::store::conformance::ratings::{catalog_item, evaluation};
use sync_server::store::staff::{AuditEntry, AuditFilter};

use crate::common::{TestKiosk, TestServer, enroll_with_code, test_settings};
use crate::staff_client::{StaffClient, add_account};

/// A booth in `village` of `township` (示范县).
async fn booth_in(server: &TestServer, township: &str, village: &str) -> TestKiosk {
    let issued = enroll_codes::issue(
        server.store(),
        server.state.code_secret(),
        sync_protocol::enroll::Village {
            county: "示范县".into(),
            township: township.into(),
            village: village.into(),
        },
        Duration::from_secs(3600),
        Utc::now(),
    )
    .await
    .expect("issue a code");
    enroll_with_code(&server.url, &issued.code).await
}

/// Uploads evaluations of item `GX-MZ-001` with these ratings, from sequence number `first_seq`.
async fn rate(kiosk: &TestKiosk, first_seq: u64, ratings: &[u8]) -> Vec<Submission> {
    let submissions: Vec<Submission> = ratings
        .iter()
        .zip(first_seq..)
        .map(|(rating, seq)| evaluation(kiosk.number(), seq, *rating, Some("GX-MZ-001")))
        .collect();
    let response = kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: submissions.clone(),
            },
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: BatchResponse = response.json().await.expect("batch response");
    assert!(
        answer
            .results
            .iter()
            .all(|r| r.outcome == Outcome::Accepted),
        "{answer:?}"
    );
    submissions
}

async fn server_with_catalogue(settings: Settings) -> TestServer {
    let server = TestServer::start_with(settings).await;
    server
        .store()
        .import_catalog(vec![catalog_item("GX-MZ-001", "临时救助")], Utc::now())
        .await
        .expect("catalogue");
    server
}

/// The `<tr>` of a table that holds `label`.
fn row_of<'a>(body: &'a str, label: &str) -> &'a str {
    let at = body
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in:\n{body}"));
    let start = body[..at].rfind("<tr").expect("row start");
    let end = at + body[at..].find("</tr>").expect("row end");
    &body[start..end]
}

async fn followup_actions(server: &TestServer) -> Vec<(String, String, String)> {
    server
        .store()
        .list_audit(&AuditFilter {
            action: Some("followup".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("audit")
        .into_iter()
        .rev()
        .map(|r| {
            (
                r.entry.actor,
                r.entry.action,
                r.entry.target.unwrap_or_default(),
            )
        })
        .collect()
}

async fn follow_up_of(
    server: &TestServer,
    receipt: &str,
) -> Option<sync_server::domain::ratings::FollowUp> {
    server
        .store()
        .follow_up_task(receipt, &sync_server::domain::access::Scope::All)
        .await
        .expect("store")
        .expect("a task")
        .follow_up
}

#[tokio::test]
async fn the_dashboard_counts_a_booths_ratings_by_item_and_by_village() {
    let server = server_with_catalogue(test_settings()).await;
    let booth = server.enroll("义江村").await;
    rate(&booth, 1, &[5, 4, 2, 1]).await;
    add_account(server.store(), "zhao", Role::Viewer, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "zhao").await;

    let by_item = client.get("/staff/ratings").await;
    by_item.assert_ok().assert_contains("好差评统计");
    let row = row_of(&by_item.body, "临时救助");
    assert_eq!(row.matches("(25.0%)").count(), 4, "{row}");
    assert_eq!(row.matches("(0.0%)").count(), 1, "基本满意: {row}");
    assert!(row.contains("<td data-label=\"评价数\">4</td>"), "{row}");
    assert!(row.contains("<strong>50.0%</strong>"), "satisfied: {row}");
    for slice in ["l5 u5", "l4 u5", "l2 u5", "l1 u5"] {
        assert!(row.contains(slice), "bar slice {slice}: {row}");
    }
    assert!(
        !by_item.body.contains("style="),
        "the CSP forbids inline styles"
    );

    let by_village = client.get("/staff/ratings?by=village").await;
    by_village.assert_ok();
    let row = row_of(&by_village.body, "凤岭乡 义江村");
    assert_eq!(row.matches("(25.0%)").count(), 4, "{row}");
    assert!(row.contains("<strong>50.0%</strong>"), "{row}");

    let today = china_date(Utc::now());
    let by_month = client.get("/staff/ratings?by=month").await;
    let month = format!("{}-{:02}", today.year(), today.month());
    let month_row = row_of(&by_month.body, &format!(">{month}</th>"));
    assert!(month_row.contains(">4</td>"), "{month_row}");

    let elsewhere = client
        .get("/staff/ratings?from=2020-01-01&until=2020-01-31")
        .await;
    elsewhere.assert_ok().assert_contains("所选时间内没有评价");
    client
        .get("/staff/ratings?from=yesterday")
        .await
        .assert_ok()
        .assert_contains("日期应写成 2026-03-01 这样");

    client.get("/staff/lang?to=en&back=/staff/ratings").await;
    let english = client.get("/staff/ratings").await;
    english
        .assert_contains("Very satisfied")
        .assert_contains("Temporary assistance")
        .assert_lacks("临时救助");
}

#[tokio::test]
async fn bad_ratings_become_follow_ups_due_in_working_days_after_a_holiday_overdue_first() {
    let settings = Settings {
        follow_up_days: 3,
        ..test_settings()
    };
    let server = server_with_catalogue(settings).await;
    let today = china_date(Utc::now());
    // The first weekday after today is a holiday: the due date moves a working day on.
    let mut holiday = today + chrono::Duration::days(1);
    while matches!(holiday.weekday(), Weekday::Sat | Weekday::Sun) {
        holiday += chrono::Duration::days(1);
    }
    let days = [CalendarDay {
        day: holiday,
        kind: DayKind::Holiday,
        name: "测试假日".into(),
    }];
    server
        .store()
        .set_calendar_day(
            days[0].clone(),
            AuditEntry::new(Utc::now(), "test", "calendar.set"),
        )
        .await
        .expect("calendar");
    let due = WorkingCalendar::new(&days).add_working_days(today, 3);
    let without_holiday = WorkingCalendar::default().add_working_days(today, 3);
    assert!(
        due > without_holiday,
        "the holiday is within the three days"
    );

    let booth = server.enroll("义江村").await;
    let sent = rate(&booth, 1, &[5, 4, 2, 1]).await;
    // A bad rating that arrived a month ago and was never followed up.
    let old = evaluation(booth.number(), 5, 1, Some("GX-MZ-001"));
    server
        .store()
        .ingest(
            booth.id(),
            vec![IngestItem {
                content_digest: old.content_digest(),
                submission: old.clone(),
            }],
            Utc::now() - chrono::Duration::days(30),
        )
        .await
        .expect("ingest");
    add_account(server.store(), "li", Role::Handler, "示范县/凤岭乡").await;
    let mut client = StaffClient::logged_in(&server.url, "li").await;

    let open = client.get("/staff/follow-ups").await;
    open.assert_ok();
    for good in &sent[..2] {
        open.assert_lacks(&good.receipt_number);
    }
    let positions: Vec<usize> = [&old, &sent[2], &sent[3]]
        .iter()
        .map(|s| {
            open.body
                .find(&format!(">{}</a>", s.receipt_number))
                .unwrap_or_else(|| panic!("{} listed:\n{}", s.receipt_number, open.body))
        })
        .collect();
    assert!(
        positions[0] < positions[1] && positions[1] < positions[2],
        "overdue first, then by due date and arrival"
    );
    let old_row = row_of(&open.body, &format!(">{}</a>", old.receipt_number));
    assert!(old_row.contains("<tr class=\"overdue\">"), "{old_row}");
    let new_row = row_of(&open.body, &format!(">{}</a>", sent[2].receipt_number));
    if china_date(Utc::now()) == today {
        assert!(new_row.contains(&due.to_string()), "due {due}: {new_row}");
    }
    assert!(!new_row.contains("overdue"), "{new_row}");
    assert!(new_row.contains("不满意"), "{new_row}");
    assert!(new_row.contains("临时救助"), "{new_row}");
    assert!(new_row.contains("凤岭乡 义江村"), "{new_row}");

    let overdue = client.get("/staff/follow-ups?show=overdue").await;
    overdue
        .assert_ok()
        .assert_contains(&old.receipt_number)
        .assert_lacks(&sent[2].receipt_number);
    client
        .get("/staff/follow-ups?show=closed")
        .await
        .assert_ok()
        .assert_contains("没有这类回访任务");
}

#[tokio::test]
async fn a_township_handler_sees_neither_ratings_nor_tasks_of_another_township() {
    let server = server_with_catalogue(test_settings()).await;
    let here = booth_in(&server, "凤岭乡", "义江村").await;
    let there = booth_in(&server, "白圩镇", "那坡村").await;
    let ours = rate(&here, 1, &[2]).await;
    let theirs = rate(&there, 1, &[1, 5]).await;
    add_account(server.store(), "li", Role::Handler, "示范县/凤岭乡").await;
    let mut client = StaffClient::logged_in(&server.url, "li").await;

    let dashboard = client.get("/staff/ratings?by=village").await;
    dashboard
        .assert_ok()
        .assert_contains("义江村")
        .assert_lacks("那坡村");
    let total = row_of(&dashboard.body, "合计");
    assert!(
        total.contains("<td data-label=\"评价数\">1</td>"),
        "{total}"
    );
    client
        .get("/staff/follow-ups")
        .await
        .assert_contains(&ours[0].receipt_number)
        .assert_lacks(&theirs[0].receipt_number);

    let other = format!("/staff/follow-ups/{}", theirs[0].receipt_number);
    assert_eq!(client.get(&other).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        client
            .get(&format!("/staff/follow-ups/{}", theirs[1].receipt_number))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "a good rating is no task"
    );
    let posted = client
        .post(
            &format!("{other}/fix"),
            &[("fix_note", "不该写进别的乡的任务")],
        )
        .await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    assert_eq!(follow_up_of(&server, &theirs[0].receipt_number).await, None);
    assert!(followup_actions(&server).await.is_empty());
}

#[tokio::test]
async fn a_viewer_reads_a_task_but_cannot_record_on_it() {
    let server = server_with_catalogue(test_settings()).await;
    let booth = server.enroll("义江村").await;
    let sent = rate(&booth, 1, &[1]).await;
    add_account(server.store(), "zhao", Role::Viewer, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "zhao").await;
    let path = format!("/staff/follow-ups/{}", sent[0].receipt_number);

    client
        .get(&path)
        .await
        .assert_ok()
        .assert_contains("排队一上午")
        .assert_contains("您的角色只能查看")
        .assert_lacks("/fix\"");
    for (step, field, value) in [
        ("call", "call_note", "好"),
        ("fix", "fix_note", "好"),
        ("close", "x", "y"),
    ] {
        let posted = client
            .post(&format!("{path}/{step}"), &[(field, value)])
            .await;
        assert_eq!(posted.status, StatusCode::FORBIDDEN, "{step}");
    }
    assert_eq!(follow_up_of(&server, &sent[0].receipt_number).await, None);
    assert!(followup_actions(&server).await.is_empty());
}

#[tokio::test]
async fn a_handler_records_the_call_the_fix_and_the_close_and_each_is_audited() {
    let server = server_with_catalogue(test_settings()).await;
    let booth = server.enroll("义江村").await;
    let sent = rate(&booth, 1, &[2]).await;
    let receipt = sent[0].receipt_number.clone();
    add_account(server.store(), "li", Role::Handler, "示范县/凤岭乡").await;
    let mut client = StaffClient::logged_in(&server.url, "li").await;
    let path = format!("/staff/follow-ups/{receipt}");
    client
        .get(&path)
        .await
        .assert_ok()
        .assert_contains("待回访")
        .assert_contains("等待时间长")
        .assert_contains("临时救助");

    let early = client.post(&format!("{path}/close"), &[]).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    let alert: Vec<&str> = early
        .body
        .lines()
        .filter(|line| line.contains("role=\"alert\""))
        .collect();
    assert_eq!(alert.len(), 1, "{}", early.body);
    assert!(
        alert[0].contains("尚未记录整改情况，不能办结"),
        "{}",
        alert[0]
    );
    assert_eq!(
        follow_up_of(&server, &receipt).await,
        None,
        "nothing recorded"
    );

    let future = client
        .post(
            &format!("{path}/call"),
            &[
                ("called_at", "2099-01-01T10:00"),
                ("call_note", "未来的回访"),
            ],
        )
        .await;
    assert_eq!(future.status, StatusCode::BAD_REQUEST);
    future
        .assert_contains("回访时间晚于现在")
        .assert_contains(">未来的回访</textarea>");
    let called = client
        .post(
            &format!("{path}/call"),
            &[("called_at", ""), ("call_note", "群众说排队太久")],
        )
        .await;
    assert_eq!(called.status, StatusCode::SEE_OTHER, "{}", called.body);
    assert_eq!(
        called.location.as_deref(),
        Some(format!("{path}?saved=call").as_str())
    );
    client
        .get(&format!("{path}?saved=call"))
        .await
        .assert_contains("回访记录已保存")
        .assert_contains("群众说排队太久")
        .assert_contains("已回访");
    let empty = client
        .post(&format!("{path}/fix"), &[("fix_note", "  ")])
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    empty.assert_contains("内容为空");
    let fixed = client
        .post(&format!("{path}/fix"), &[("fix_note", "周二加开一个窗口")])
        .await;
    assert_eq!(fixed.status, StatusCode::SEE_OTHER, "{}", fixed.body);
    let closed = client.post(&format!("{path}/close"), &[]).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);

    let done = client.get(&path).await;
    done.assert_ok()
        .assert_contains("周二加开一个窗口")
        .assert_contains("已办结")
        .assert_lacks(&format!("{path}/call"));
    let record = follow_up_of(&server, &receipt).await.expect("recorded");
    assert_eq!(record.closed_by.as_deref(), Some("li"));
    assert_eq!(record.call_note.as_deref(), Some("群众说排队太久"));
    let again = client
        .post(&format!("{path}/fix"), &[("fix_note", "改口")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        followup_actions(&server).await,
        [
            ("li".to_owned(), "followup.call".to_owned(), receipt.clone()),
            ("li".to_owned(), "followup.fix".to_owned(), receipt.clone()),
            (
                "li".to_owned(),
                "followup.close".to_owned(),
                receipt.clone()
            ),
        ]
    );
    client
        .get("/staff/follow-ups?show=closed")
        .await
        .assert_contains(&receipt);
    client.get("/staff/follow-ups").await.assert_lacks(&receipt);
}

#[tokio::test]
async fn the_villagers_words_are_shown_escaped() {
    let server = server_with_catalogue(test_settings()).await;
    let booth = server.enroll("义江村").await;
    let mut sent = evaluation(booth.number(), 1, 1, Some("GX-MZ-001"));
    sent.text = Some("<script>alert(1)</script> 办事\"难\"".into());
    let response = booth
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![sent.clone()],
            },
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "li").await;
    let page = client
        .get(&format!("/staff/follow-ups/{}", sent.receipt_number))
        .await;
    page.assert_ok().assert_lacks("<script>");
    // Named or numbered entities are both escapes (askama writes `&#60;`).
    let escaped = [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
    ];
    assert!(
        escaped.iter().any(|text| page.body.contains(text)),
        "the text shows escaped:\n{}",
        page.body
    );
}

#[tokio::test]
async fn a_form_without_its_token_is_refused_and_changes_nothing() {
    let server = server_with_catalogue(test_settings()).await;
    let booth = server.enroll("义江村").await;
    let sent = rate(&booth, 1, &[1]).await;
    add_account(server.store(), "li", Role::Handler, "示范县").await;
    let mut client = StaffClient::logged_in(&server.url, "li").await;
    let path = format!("/staff/follow-ups/{}", sent[0].receipt_number);
    client.get(&path).await.assert_ok();

    let forged = client
        .post_raw(&format!("{path}/fix"), &[("fix_note", "伪造的整改")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let wrong = client
        .post_raw(
            &format!("{path}/call"),
            &[("csrf", "not-the-token"), ("call_note", "伪造的回访")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(follow_up_of(&server, &sent[0].receipt_number).await, None);
    assert!(followup_actions(&server).await.is_empty());
}
