//! The one-time phone upload over HTTP: an application synced with its token's hash, the
//! phone page (its materials, nothing personal), photographs uploaded once under their
//! materials and shown on the staff page marked 手机上传, and every refusal — used, expired,
//! unknown (worded as not yet arrived), a photograph too large, not a picture, too many pages,
//! too many views from one address — with nothing kept; a malformed hash refused at sync with
//! its code.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sync_protocol::ErrorCode;
use sync_protocol::phone_upload::{new_token, token_hash};
use sync_protocol::submission::{Outcome, Submission, SubmissionKind};
use sync_server::api::rate_limit::EnrollLimits;
use sync_server::domain::access::Role;
use sync_server::store::IngestItem;
use sync_server::store::staff::AuditFilter;

use crate::attachments_api::{listing, page};
use crate::common::{TestKiosk, TestServer, submission, test_settings};
use crate::corrections::send;
use crate::staff_client::{StaffClient, add_account, audit_actions};

/// 最低生活保障申请 (GX-MZ-001) lists, in the guide's order: 共同生活家庭成员的居民身份证,
/// 居民户口簿, 家庭经济状况核对授权书, 家庭收入及财产状况声明, 残疾人证或诊断证明.
const HOUSEHOLD_BOOK: &str = "居民户口簿";
const INCOME: &str = "家庭收入及财产状况声明";
const WAITING: &str = "这份申请还没有传到县里";

async fn county() -> (TestServer, TestKiosk) {
    let server = TestServer::with_seed_catalog().await;
    let kiosk = server.enroll("石门村").await;
    add_account(server.store(), "handler", Role::Handler, "示范县/凤岭乡").await;
    (server, kiosk)
}

/// An application of `kiosk` offering a phone upload; its token.
fn offering(kiosk: &TestKiosk, seq: u64) -> (Submission, String) {
    let token = new_token().expect("token");
    let mut application = submission(kiosk.number(), seq);
    application.phone_upload = Some(token_hash(&token));
    (application, token)
}

/// A phone's photograph: a JPEG of `width` × `height` pixels.
fn photo(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x as u8) ^ seed, (y as u8).wrapping_add(seed), seed])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&picture)
        .expect("encode");
    jpeg
}

/// The page's form as a phone's browser posts it: a part per chosen file (field, file name,
/// bytes).
fn form(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "----phone-test-boundary-q8Xc2";
    let mut body = Vec::new();
    for (field, name, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                 Content-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn view(server: &TestServer, token: &str) -> Answer {
    let response = reqwest::get(format!("{}/m/{token}", server.url))
        .await
        .expect("GET");
    answer(response).await
}

async fn post(server: &TestServer, token: &str, parts: &[(&str, &str, &[u8])]) -> Answer {
    let (content_type, body) = form(parts);
    let response = reqwest::Client::new()
        .post(format!("{}/m/{token}", server.url))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("POST");
    answer(response).await
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

/// The part of the staff page about `material`: from its name to the next material.
fn material_block<'a>(html: &'a str, material: &str) -> &'a str {
    let start = html
        .find(&format!("<strong>{material}</strong>"))
        .unwrap_or_else(|| panic!("{material} on the page"));
    let rest = &html[start..];
    &rest[..rest.find("</li>").unwrap_or(rest.len())]
}

/// Whether the file shelf holds any kept page.
fn shelf_is_empty(server: &TestServer) -> bool {
    let files = std::path::Path::new(server.state.files().location()).join("files");
    std::fs::read_dir(files).map_or(true, |mut dir| dir.next().is_none())
}

#[tokio::test]
async fn a_phone_uploads_the_materials_once_and_staff_see_them_under_their_material() {
    let (server, kiosk) = county().await;
    let (application, token) = offering(&kiosk, 1);
    let receipt = application.receipt_number.clone();
    let results = send(&kiosk, vec![application.clone()]).await;
    assert_eq!(results[0].outcome, Outcome::Accepted, "{results:?}");

    let page = view(&server, &token).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "最低生活保障申请",
        receipt.as_str(),
        HOUSEHOLD_BOOK,
        INCOME,
        r#"name="m1""#,
        r#"name="m4""#,
        r#"accept="image/jpeg,image/png" capture="environment" multiple"#,
        "每张不超过 10 MB",
        "最多还能传 40 页",
        "上传</button>",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let deadline = sync_server::domain::county_time::shown(Utc::now() + Duration::days(7));
    assert!(
        page.body.contains(&deadline[..10]),
        "the deadline: {}",
        page.body
    );
    for personal in ["李秀英", "450902", "13800000000"] {
        assert!(
            !page.body.contains(personal),
            "{personal} on the phone page"
        );
    }
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'; style-src 'sha256-")
    );

    let done = post(
        &server,
        &token,
        &[
            ("m1", "IMG_0001.jpg", &photo(1600, 1200, 1)),
            ("m3", "IMG_0002.jpg", &photo(900, 1200, 2)),
            // An input left empty posts an empty part.
            ("m0", "", b""),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("已收到 2 页材料"), "{}", done.body);

    // On the staff page: each under its material, marked and dated; the history says so.
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    let staff_page = handler.get(&format!("/staff/submissions/{receipt}")).await;
    staff_page.assert_ok();
    for material in [HOUSEHOLD_BOOK, INCOME] {
        let block = material_block(&staff_page.body, material);
        assert!(block.contains("手机上传"), "{material}: {block}");
        assert!(block.contains("/thumbnail"), "{material}: {block}");
    }
    let untouched = material_block(&staff_page.body, "家庭经济状况核对授权书");
    assert!(
        !untouched.contains("手机上传") && untouched.contains("未提交"),
        "{untouched}"
    );
    staff_page
        .assert_contains("材料已通过手机上传")
        .assert_contains("（2 页）")
        .assert_lacks(&token)
        .assert_lacks(&token_hash(&token));

    // Served through the case's address, audited first.
    let block = material_block(&staff_page.body, HOUSEHOLD_BOOK);
    let thumbnail = block
        .split('"')
        .find(|part| part.ends_with("/thumbnail"))
        .expect("a thumbnail link");
    let picture = handler.get(&thumbnail.replace("/thumbnail", "")).await;
    assert_eq!(picture.status, StatusCode::OK);
    let picture = handler.get(&thumbnail.replace("/thumbnail", "/view")).await;
    picture.assert_ok();
    let viewed = audit_actions(
        server.store(),
        AuditFilter {
            action: Some("page.view".into()),
            limit: 10,
            ..AuditFilter::default()
        },
    )
    .await;
    assert!(!viewed.is_empty(), "the view is audited");
    let audit = server
        .store()
        .list_audit(&AuditFilter {
            action: Some("page.view".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(
        audit[0].entry.detail.as_deref(),
        Some("material 2 page 1 uploaded from a phone")
    );

    // The stored pages are the server's re-encoding: a JPEG within an A4 page at 200 dpi.
    let files = server
        .store()
        .submission_files(application.id)
        .await
        .expect("files");
    assert_eq!(files.len(), 2);
    assert!(
        files
            .iter()
            .all(|f| f.phone_at.is_some() && f.complete_at.is_some())
    );

    // Once only.
    let again = post(
        &server,
        &token,
        &[("m2", "IMG_0003.jpg", &photo(200, 200, 3))],
    )
    .await;
    assert_eq!(again.status, StatusCode::GONE, "{}", again.body);
    assert!(
        again.body.contains("这个链接已经用过了") && again.body.contains("已收到 2 页材料"),
        "{}",
        again.body
    );
    let reopened = view(&server, &token).await;
    assert_eq!(reopened.status, StatusCode::GONE);
    assert!(
        reopened.body.contains("这个链接已经用过了"),
        "{}",
        reopened.body
    );
    assert_eq!(
        server
            .store()
            .submission_files(application.id)
            .await
            .expect("files")
            .len(),
        2,
        "nothing added by the second upload"
    );
}

#[tokio::test]
async fn an_unknown_token_reads_like_an_application_not_yet_arrived_and_an_old_one_expires() {
    let (server, kiosk) = county().await;
    let (application, token) = offering(&kiosk, 1);
    // Not synced yet (the booth is offline), never issued, not even a token's form: the same
    // answer, so tokens cannot be probed.
    let not_yet = view(&server, &token).await;
    let unknown = view(&server, &new_token().expect("token")).await;
    let malformed = view(&server, "not-a-token").await;
    assert_eq!(not_yet.status, StatusCode::NOT_FOUND);
    assert!(not_yet.body.contains(WAITING), "{}", not_yet.body);
    assert_eq!(
        (unknown.status, &unknown.body),
        (not_yet.status, &not_yet.body)
    );
    assert_eq!(
        (malformed.status, &malformed.body),
        (not_yet.status, &not_yet.body)
    );
    let refused = post(&server, &token, &[("m1", "a.jpg", &photo(64, 64, 1))]).await;
    assert_eq!(
        (refused.status, &refused.body),
        (not_yet.status, &not_yet.body)
    );

    send(&kiosk, vec![application]).await;
    assert_eq!(view(&server, &token).await.status, StatusCode::OK);

    // Made and received eight days ago: past its week.
    let (mut old, old_token) = offering(&kiosk, 2);
    let eight_days_ago = Utc::now() - Duration::days(8);
    old.created_at = eight_days_ago;
    server
        .store()
        .ingest(
            kiosk.id(),
            vec![IngestItem {
                content_digest: old.content_digest(),
                submission: old.clone(),
            }],
            eight_days_ago,
        )
        .await
        .expect("ingest");
    let expired = view(&server, &old_token).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(
        expired.body.contains("这个上传链接已经过期"),
        "{}",
        expired.body
    );
    let refused = post(&server, &old_token, &[("m1", "a.jpg", &photo(64, 64, 1))]).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert!(
        server
            .store()
            .submission_files(old.id)
            .await
            .expect("files")
            .is_empty()
    );
    assert!(shelf_is_empty(&server));
}

#[tokio::test]
async fn a_photo_too_large_not_a_picture_or_too_many_pages_keeps_nothing() {
    let (server, kiosk) = county().await;
    let (application, token) = offering(&kiosk, 1);
    send(&kiosk, vec![application.clone()]).await;
    let good = photo(640, 480, 7);

    let too_large = page(10 * 1024 * 1024 + 1, 9);
    let refused = post(
        &server,
        &token,
        &[("m1", "good.jpg", &good), ("m2", "huge.jpg", &too_large)],
    )
    .await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        refused.body.contains("「huge.jpg」超过 10 MB")
            && refused.body.contains("没有保存任何照片"),
        "{}",
        refused.body
    );

    let refused = post(
        &server,
        &token,
        &[
            ("m1", "good.jpg", &good),
            ("m2", "申请书.pdf", b"%PDF-1.7 not a picture at all"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("「申请书.pdf」不是 JPEG 或 PNG 照片"),
        "{}",
        refused.body
    );
    // The form is shown again, to try once more.
    assert!(refused.body.contains(r#"name="m1""#));

    let nothing = post(&server, &token, &[("m1", "", b"")]).await;
    assert_eq!(nothing.status, StatusCode::BAD_REQUEST);
    assert!(nothing.body.contains("还没有选择照片"), "{}", nothing.body);

    assert!(
        server
            .store()
            .submission_files(application.id)
            .await
            .expect("files")
            .is_empty(),
        "nothing listed"
    );
    assert!(shelf_is_empty(&server), "nothing kept");
    assert!(
        server
            .store()
            .review_actions(application.id)
            .await
            .expect("history")
            .is_empty()
    );

    // 39 pages from the booth: two more from the phone would pass the 40.
    let (mut full, full_token) = offering(&kiosk, 2);
    full.attachments = (0..39u16)
        .map(|n| listing(format!("booth page {n}").as_bytes(), 0, n + 1, false))
        .collect();
    send(&kiosk, vec![full.clone()]).await;
    let refused = post(
        &server,
        &full_token,
        &[("m1", "a.jpg", &good), ("m1", "b.jpg", &photo(320, 240, 8))],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("最多 40 页材料（已有 39 页）"),
        "{}",
        refused.body
    );
    assert_eq!(
        server
            .store()
            .submission_files(full.id)
            .await
            .expect("files")
            .len(),
        39
    );
    assert!(shelf_is_empty(&server));

    // After every refusal the link still works.
    let done = post(&server, &token, &[("m1", "good.jpg", &good)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("已收到 1 页材料"));
}

#[tokio::test]
async fn a_malformed_hash_or_one_on_anything_but_an_application_is_refused_with_its_code() {
    let (server, kiosk) = county().await;
    let mut malformed = submission(kiosk.number(), 1);
    malformed.phone_upload = Some("ABC".into());
    let mut complaint = submission(kiosk.number(), 2);
    complaint.kind = SubmissionKind::Complaint;
    complaint.text = Some("路灯坏了".into());
    complaint.phone_upload = Some(token_hash(&new_token().expect("token")));
    let results = send(&kiosk, vec![malformed, complaint]).await;
    for result in &results {
        assert_eq!(result.outcome, Outcome::Invalid, "{result:?}");
        assert_eq!(
            result.code,
            Some(ErrorCode::InvalidPhoneUpload),
            "{result:?}"
        );
    }
    assert!(
        results[0]
            .message
            .as_deref()
            .is_some_and(|m| m.contains("64 lowercase hex")),
        "{results:?}"
    );
    assert!(
        server
            .store()
            .list_submissions(&Default::default())
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn views_from_one_address_are_limited() {
    let server = TestServer::start_with(sync_server::settings::Settings {
        phone_upload_limits: EnrollLimits {
            per_address: 3,
            global: 1000,
            window: std::time::Duration::from_secs(3600),
        },
        ..test_settings()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            view(&server, "not-a-token").await.status,
            StatusCode::NOT_FOUND
        );
    }
    let limited = view(&server, "not-a-token").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    assert!(limited.body.contains("打开得太频繁了"), "{}", limited.body);
}
