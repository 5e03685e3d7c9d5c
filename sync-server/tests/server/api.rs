//! The kiosk API over real HTTP: what a booth sends and what it gets back.

use axum::body::Body;
use chrono::Utc;
use reqwest::StatusCode;
use sync_protocol::ErrorCode;
use sync_protocol::feed::{CatalogItem, Feed, FeedPage, Notice, StatusChange, SubmissionStatus};
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat, HeartbeatResponse, PrinterHealth};
use sync_protocol::paths;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{BatchRequest, BatchResponse, MAX_BATCH, Outcome, SubmissionKind};
use sync_server::api::scraper::ScraperToken;
use sync_server::settings::Settings;
use sync_server::store::{KioskRef, NewNotice, SubmissionFilter, SubmissionRef};
use tower::ServiceExt as _;

use crate::common::{TestServer, refusal, submission, test_settings};

async fn send_batch(
    kiosk: &crate::common::TestKiosk,
    submissions: Vec<sync_protocol::submission::Submission>,
) -> BatchResponse {
    let response = kiosk
        .post_json(paths::SUBMISSIONS, &BatchRequest { submissions })
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("batch response")
}

#[tokio::test]
async fn enrollment_gives_numbered_identities_in_the_codes_village() {
    let server = TestServer::start().await;
    let first = server.enroll("石门村").await;
    let second = server.enroll("六合村").await;
    assert_eq!((first.number(), second.number()), (1, 2));
    assert_eq!(first.enrolled.village.village, "石门村");
    assert_eq!(first.enrolled.village.township, "凤岭乡");
    assert_eq!(first.enrolled.server_id, server.state.server_id());
    assert!(
        (Utc::now() - first.enrolled.server_time)
            .num_seconds()
            .abs()
            < 3600
    );
    let stored = server
        .store()
        .find_kiosk(&KioskRef::Id(first.id().to_owned()))
        .await
        .unwrap()
        .expect("kiosk stored");
    assert_eq!(stored.public_key, first.key.verifying_key().to_bytes());
    assert_eq!(stored.app_version, "test-0.1");
}

#[tokio::test]
async fn a_batch_is_accepted_once_and_acknowledged_as_duplicates_after() {
    let server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let sent = vec![submission(kiosk.number(), 1), submission(kiosk.number(), 2)];

    let first = send_batch(&kiosk, sent.clone()).await;
    assert_eq!(first.results.len(), 2);
    for (result, submission) in first.results.iter().zip(&sent) {
        assert_eq!(result.id, submission.id);
        assert_eq!(result.outcome, Outcome::Accepted);
        assert!(result.received_at.is_some());
    }

    let again = send_batch(&kiosk, sent.clone()).await;
    for (retry, original) in again.results.iter().zip(&first.results) {
        assert_eq!(retry.outcome, Outcome::Duplicate);
        assert_eq!(
            retry.received_at, original.received_at,
            "the original result stands"
        );
    }

    let stored = server
        .store()
        .list_submissions(&SubmissionFilter::default())
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    let record = server
        .store()
        .find_submission(&SubmissionRef::Id(sent[0].id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.submission, sent[0],
        "stored whole, personal data included"
    );
    assert_eq!(record.kiosk_id, kiosk.id());

    let statuses: FeedPage<StatusChange> = kiosk.feed(Feed::Statuses, None, 100).await;
    assert_eq!(statuses.items.len(), 2);
    assert!(
        statuses
            .items
            .iter()
            .all(|c| c.status == SubmissionStatus::Received)
    );
}

#[tokio::test]
async fn conflicts_and_invalid_items_are_answered_per_item() {
    let server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let other = server.enroll("六合村").await;
    let stored = submission(kiosk.number(), 1);
    send_batch(&kiosk, vec![stored.clone()]).await;

    let good = submission(kiosk.number(), 2);
    let mut changed = stored.clone();
    changed.contact_phone = Some("13900000000".into());
    let foreign = submission(other.number(), 3);
    let mut unrated = submission(kiosk.number(), 4);
    unrated.kind = SubmissionKind::Evaluation;
    let mut undashed = submission(kiosk.number(), 5);
    undashed.receipt_number = undashed.receipt_number.replace('-', "");
    let mut typo = submission(kiosk.number(), 6);
    typo.receipt_number = ReceiptNumber::new(kiosk.number(), 7).to_string();

    let response = send_batch(
        &kiosk,
        vec![good.clone(), changed, foreign, unrated, undashed, typo],
    )
    .await;
    let outcomes: Vec<Outcome> = response.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Accepted,
            Outcome::Conflict,
            Outcome::Invalid,
            Outcome::Invalid,
            Outcome::Invalid,
            Outcome::Invalid,
        ]
    );
    for result in &response.results[1..] {
        let message = result.message.as_deref().unwrap_or_default();
        assert!(!message.is_empty(), "a refusal says why");
        assert!(result.received_at.is_none());
    }
    assert!(
        response.results[2]
            .message
            .as_deref()
            .unwrap()
            .contains(&format!("kiosk #{}", other.number()))
    );
    let all = server
        .store()
        .list_submissions(&SubmissionFilter::default())
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|r| r.submission.id).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&good.id) && ids.contains(&stored.id));
    let original = server
        .store()
        .find_submission(&SubmissionRef::Id(stored.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        original.submission, stored,
        "a conflict leaves the original alone"
    );
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_whole() {
    let server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let too_many: Vec<_> = (1..=MAX_BATCH as u64 + 1)
        .map(|seq| submission(kiosk.number(), seq))
        .collect();
    let response = kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: too_many,
            },
        )
        .await;
    let (status, body) = refusal(response).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest)
    );
    assert!(
        server
            .store()
            .list_submissions(&SubmissionFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    let empty = send_batch(&kiosk, Vec::new()).await;
    assert!(empty.results.is_empty());
}

#[tokio::test]
async fn the_catalogue_feed_pages_with_an_opaque_cursor() {
    let server = TestServer::start().await;
    let items = sync_server::domain::catalog::read_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/catalog.json"),
    )
    .unwrap();
    let total = items.len();
    server
        .store()
        .import_catalog(items, Utc::now())
        .await
        .unwrap();
    let kiosk = server.enroll("石门村").await;

    let mut seen: Vec<CatalogItem> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page: FeedPage<CatalogItem> = kiosk.feed(Feed::Catalog, cursor.as_deref(), 3).await;
        assert!(page.items.len() <= 3);
        seen.extend(page.items);
        cursor = Some(page.cursor);
        if !page.more {
            break;
        }
    }
    assert_eq!(seen.len(), total);
    assert!(seen.iter().all(|item| item.version == 1));
    let end: FeedPage<CatalogItem> = kiosk.feed(Feed::Catalog, cursor.as_deref(), 3).await;
    assert!(end.items.is_empty());
    assert_eq!(Some(end.cursor), cursor);

    let response = kiosk
        .get(&paths::feed(Feed::Catalog), "after=not-a-cursor")
        .await;
    let (status, body) = refusal(response).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest)
    );
    let response = kiosk.get(&paths::feed(Feed::Catalog), "limit=lots").await;
    let (status, body) = refusal(response).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest)
    );
    let response = kiosk.get("/api/v1/feeds/weather", "").await;
    let (status, body) = refusal(response).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::NOT_FOUND, ErrorCode::NotFound)
    );
}

#[tokio::test]
async fn notices_and_statuses_reach_only_their_kiosk() {
    let server = TestServer::start().await;
    let mine = server.enroll("石门村").await;
    let theirs = server.enroll("六合村").await;
    let notice = |title: &str, villages: Vec<String>| NewNotice {
        title: title.into(),
        body: "正文".into(),
        published_on: Utc::now().date_naive(),
        expires_on: None,
        villages,
    };
    server
        .store()
        .add_notice(notice("全县", Vec::new()), Utc::now())
        .await
        .unwrap();
    server
        .store()
        .add_notice(notice("六合村停水", vec!["六合村".into()]), Utc::now())
        .await
        .unwrap();
    let page: FeedPage<Notice> = mine.feed(Feed::Notices, None, 100).await;
    let titles: Vec<_> = page.items.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, vec!["全县"]);
    let page: FeedPage<Notice> = theirs.feed(Feed::Notices, None, 100).await;
    assert_eq!(page.items.len(), 2);

    let sent = submission(mine.number(), 1);
    send_batch(&mine, vec![sent.clone()]).await;
    let first: FeedPage<StatusChange> = mine.feed(Feed::Statuses, None, 100).await;
    assert_eq!(first.items.len(), 1);
    server
        .store()
        .set_status(
            &SubmissionRef::Receipt(sent.receipt_number.clone()),
            SubmissionStatus::NeedsCorrection,
            Some("请补交户口簿复印件".into()),
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    let next: FeedPage<StatusChange> = mine.feed(Feed::Statuses, Some(&first.cursor), 100).await;
    assert_eq!(next.items.len(), 1);
    assert_eq!(next.items[0].status, SubmissionStatus::NeedsCorrection);
    assert_eq!(next.items[0].receipt_number, sent.receipt_number);
    assert_eq!(next.items[0].note.as_deref(), Some("请补交户口簿复印件"));
    let others: FeedPage<StatusChange> = theirs.feed(Feed::Statuses, None, 100).await;
    assert!(
        others.items.is_empty(),
        "a kiosk sees only its own submissions' changes"
    );
}

#[tokio::test]
async fn heartbeats_are_kept_and_answered_with_server_time() {
    let server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let heartbeat = Heartbeat {
        queue_depth: 4,
        oldest_pending_age_s: Some(600),
        quarantined: 1,
        devices: DeviceHealth {
            printer: Some(PrinterHealth {
                online: true,
                paper_near_end: true,
                ..PrinterHealth::default()
            }),
            reader_present: true,
            scanner_present: false,
        },
        app_version: "0.3.1".into(),
        disk_free_bytes: 5 << 30,
        uptime_s: 86_400,
        clock_offset_ms: 172_800_000,
        update: None,
    };
    let response = kiosk.post_json(paths::HEARTBEAT, &heartbeat).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("date"));
    let answer: HeartbeatResponse = response.json().await.unwrap();
    assert!((Utc::now() - answer.server_time).num_seconds().abs() < 3600);
    let stored = server
        .store()
        .find_kiosk(&KioskRef::Number(kiosk.number()))
        .await
        .unwrap()
        .unwrap();
    let record = stored.last_heartbeat.expect("heartbeat kept");
    assert_eq!(record.heartbeat, heartbeat);
    assert!(stored.last_seen_at.is_some());
}

#[tokio::test]
async fn health_metrics_and_framework_errors_speak_json_with_a_date() {
    let server = TestServer::start_with(Settings {
        metrics_token: Some(ScraperToken::new(SCRAPER_TOKEN).unwrap()),
        ..test_settings()
    })
    .await;
    let kiosk = server.enroll("石门村").await;
    send_batch(&kiosk, vec![submission(kiosk.number(), 1)]).await;
    let client = reqwest::Client::new();

    let health = client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().contains_key("date"));
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok" }));

    let metrics = client
        .get(format!("{}/metrics", server.url))
        .bearer_auth(SCRAPER_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "sync_http_requests_total{route=\"/api/v1/submissions\",method=\"POST\",status=\"200\"} 1",
        "sync_submissions_total{outcome=\"accepted\"} 1",
        "sync_submissions_stored{status=\"received\"} 1",
        "sync_kiosks{state=\"active\"} 1",
        "sync_kiosk_last_seen_age_seconds{kiosk_id=\"",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }
    assert!(!metrics.contains("李秀英") && !metrics.contains("450902196208150028"));

    let missing = client
        .get(format!("{}/nowhere", server.url))
        .send()
        .await
        .unwrap();
    let (status, body) = refusal(missing).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::NOT_FOUND, ErrorCode::NotFound)
    );
    let wrong_method = client
        .get(format!("{}{}", server.url, paths::SUBMISSIONS))
        .send()
        .await
        .unwrap();
    let (status, body) = refusal(wrong_method).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::InvalidRequest)
    );
}

#[tokio::test]
async fn the_router_answers_in_process_without_a_socket() {
    let server = TestServer::start().await;
    let router = sync_server::app::app(server.state.clone());
    let response = router
        .oneshot(
            axum::http::Request::get(paths::HEALTH)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().contains_key("date"),
        "Date without hyper too"
    );
}

#[tokio::test]
async fn a_request_past_the_timeout_gets_a_json_408() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let mut settings = crate::common::test_settings();
    settings.request_timeout = std::time::Duration::from_millis(200);
    let server = TestServer::start_with(settings).await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // A body announced and never sent.
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 100\r\n\r\n",
        paths::SUBMISSIONS
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&response).contains("}") {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "closed before answering: {response:?}");
        response.extend_from_slice(&chunk[..read]);
    }
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("\r\ndate: "),
        "{response}"
    );
    assert!(response.contains(r#""code":"internal""#), "{response}");
}

const SCRAPER_TOKEN: &str = "scraper-token-0123456789abcdef";

#[tokio::test]
async fn metrics_answer_only_the_scrapers_token() {
    let configured = TestServer::start_with(Settings {
        metrics_token: Some(ScraperToken::new(SCRAPER_TOKEN).unwrap()),
        ..test_settings()
    })
    .await;
    let unconfigured = TestServer::start().await;
    for server in [&configured, &unconfigured] {
        let kiosk = server.enroll("石门村").await;
        send_batch(&kiosk, vec![submission(kiosk.number(), 1)]).await;
    }
    let client = reqwest::Client::new();
    let get = |server: &TestServer, token: Option<&str>| {
        let mut request = client.get(format!("{}/metrics", server.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for (server, token) in [
        (&configured, None),
        (&configured, Some("scraper-token-0123456789abcdeX")),
        (&configured, Some("")),
        (&unconfigured, None),
        (&unconfigured, Some(SCRAPER_TOKEN)),
    ] {
        let response = get(server, token).await.unwrap();
        assert!(response.headers().contains_key("www-authenticate"));
        let (status, body) = refusal(response).await;
        assert_eq!(
            (status, body.code),
            (StatusCode::UNAUTHORIZED, ErrorCode::Unsigned),
            "{token:?}: {}",
            body.message
        );
        assert!(!body.message.contains("石门村"));
    }
    let allowed = get(&configured, Some(SCRAPER_TOKEN)).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    let text = allowed.text().await.unwrap();
    assert!(text.contains("village=\"石门村\""), "{text}");
}
