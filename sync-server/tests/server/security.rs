//! Every refusal of a kiosk request: a 4xx with its code, and nothing changed in the store
//! (not even the kiosk's last-seen time, which the test settings write on every accepted
//! request, so a refused request that slipped through would show).

use std::future::Future;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use reqwest::{Method, StatusCode};
use sync_protocol::ErrorCode;
use sync_protocol::enroll::{EnrollRequest, EnrollResponse};
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
use sync_protocol::paths;
use sync_protocol::signing::{self, RequestParts, SignatureHeaders};
use sync_protocol::submission::BatchRequest;
use sync_server::settings::DEFAULT_BODY_LIMIT;
use sync_server::store::KioskRef;

use crate::common::{TestKiosk, TestServer, new_key, refusal, snapshot, submission};

/// A server with one kiosk that has already delivered one submission and one heartbeat.
async fn setup() -> (TestServer, TestKiosk) {
    let server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let response = kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![submission(kiosk.number(), 1)],
            },
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = kiosk.post_json(paths::HEARTBEAT, &heartbeat()).await;
    assert_eq!(response.status(), StatusCode::OK);
    (server, kiosk)
}

fn heartbeat() -> Heartbeat {
    Heartbeat {
        queue_depth: 0,
        oldest_pending_age_s: None,
        quarantined: 0,
        devices: DeviceHealth::default(),
        app_version: "0.1.0".into(),
        disk_free_bytes: 1 << 30,
        uptime_s: 60,
        clock_offset_ms: 0,
        update: None,
    }
}

/// A batch that, accepted, would add a submission.
fn new_batch(kiosk: &TestKiosk) -> Vec<u8> {
    serde_json::to_vec(&BatchRequest {
        submissions: vec![submission(kiosk.number(), 2)],
    })
    .unwrap()
}

async fn refused_without_effect(
    server: &TestServer,
    request: impl Future<Output = reqwest::Response>,
    expected_status: StatusCode,
    expected_code: ErrorCode,
) {
    let before = snapshot(server.store()).await;
    let (status, body) = refusal(request.await).await;
    assert_eq!(
        (status, body.code),
        (expected_status, expected_code),
        "message: {}",
        body.message
    );
    assert!(!body.message.is_empty());
    assert_eq!(
        snapshot(server.store()).await,
        before,
        "a refused request changed the store"
    );
}

fn send_raw<'a>(
    kiosk: &'a TestKiosk,
    path: &str,
    body: Vec<u8>,
    headers: Option<SignatureHeaders>,
) -> impl Future<Output = reqwest::Response> + 'a {
    let url = format!("{}{path}", kiosk.base);
    async move {
        let mut request = kiosk.client.post(url).body(body);
        if let Some(headers) = headers {
            request = request
                .header(signing::CONTENT_DIGEST, headers.content_digest)
                .header(signing::SIGNATURE_INPUT, headers.signature_input)
                .header(signing::SIGNATURE, headers.signature);
        }
        request.send().await.expect("request")
    }
}

#[tokio::test]
async fn an_unsigned_request_is_refused() {
    let (server, kiosk) = setup().await;
    let body = new_batch(&kiosk);
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::SUBMISSIONS, body, None),
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unsigned,
    )
    .await;
}

#[tokio::test]
async fn a_malformed_signature_is_refused() {
    let (server, kiosk) = setup().await;
    let body = new_batch(&kiosk);
    let mut headers = kiosk.sign("POST", paths::SUBMISSIONS, "", &body);
    headers.signature = "sig1=:not base64!:".into();
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::SUBMISSIONS, body, Some(headers)),
        StatusCode::UNAUTHORIZED,
        ErrorCode::MalformedSignature,
    )
    .await;
}

#[tokio::test]
async fn an_unknown_kiosk_is_refused() {
    let (server, kiosk) = setup().await;
    let body = new_batch(&kiosk);
    let headers = signing::sign(
        &kiosk.key,
        "no-such-kiosk",
        &RequestParts {
            method: "POST",
            path: paths::SUBMISSIONS,
            query: "",
            body: &body,
        },
        Utc::now().timestamp(),
        &signing::new_nonce(),
    );
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::SUBMISSIONS, body, Some(headers)),
        StatusCode::UNAUTHORIZED,
        ErrorCode::UnknownKiosk,
    )
    .await;
}

#[tokio::test]
async fn a_signature_by_the_wrong_key_is_refused() {
    let (server, kiosk) = setup().await;
    let body = new_batch(&kiosk);
    let headers = kiosk.sign_with(
        &new_key(),
        "POST",
        paths::SUBMISSIONS,
        "",
        &body,
        Utc::now().timestamp(),
        &signing::new_nonce(),
    );
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::SUBMISSIONS, body, Some(headers)),
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadSignature,
    )
    .await;
}

#[tokio::test]
async fn a_signature_for_another_path_or_query_is_refused() {
    let (server, kiosk) = setup().await;
    let body = new_batch(&kiosk);
    let headers = kiosk.sign("POST", paths::HEARTBEAT, "", &body);
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::SUBMISSIONS, body, Some(headers)),
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadSignature,
    )
    .await;
    let feed = "/api/v1/feeds/catalog";
    let headers = kiosk.sign("GET", feed, "limit=5", b"");
    refused_without_effect(
        &server,
        kiosk.send_signed(Method::GET, feed, "limit=500", Vec::new(), &headers),
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadSignature,
    )
    .await;
}

#[tokio::test]
async fn a_body_that_does_not_match_its_digest_is_refused() {
    let (server, kiosk) = setup().await;
    let signed_body = new_batch(&kiosk);
    let headers = kiosk.sign("POST", paths::SUBMISSIONS, "", &signed_body);
    let other_body = new_batch(&kiosk);
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::SUBMISSIONS, other_body, Some(headers)),
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadDigest,
    )
    .await;
}

#[tokio::test]
async fn a_replayed_nonce_is_refused() {
    let (server, kiosk) = setup().await;
    let body = serde_json::to_vec(&Heartbeat {
        queue_depth: 9,
        ..heartbeat()
    })
    .unwrap();
    let headers = kiosk.sign("POST", paths::HEARTBEAT, "", &body);
    let first = send_raw(
        &kiosk,
        paths::HEARTBEAT,
        body.clone(),
        Some(headers.clone()),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::HEARTBEAT, body, Some(headers)),
        StatusCode::UNAUTHORIZED,
        ErrorCode::ReplayedNonce,
    )
    .await;
}

#[tokio::test]
async fn a_stale_or_future_timestamp_is_refused() {
    let (server, kiosk) = setup().await;
    for skew in [-301, 400, -2 * 86_400] {
        let body = new_batch(&kiosk);
        let headers = kiosk.sign_with(
            &kiosk.key,
            "POST",
            paths::SUBMISSIONS,
            "",
            &body,
            Utc::now().timestamp() + skew,
            &signing::new_nonce(),
        );
        refused_without_effect(
            &server,
            send_raw(&kiosk, paths::SUBMISSIONS, body, Some(headers)),
            StatusCode::UNAUTHORIZED,
            ErrorCode::StaleTimestamp,
        )
        .await;
    }
}

#[tokio::test]
async fn a_revoked_kiosk_is_refused() {
    let (server, kiosk) = setup().await;
    server
        .store()
        .revoke_kiosk(&KioskRef::Id(kiosk.id().to_owned()), Utc::now())
        .await
        .unwrap();
    let body = new_batch(&kiosk);
    let headers = kiosk.sign("POST", paths::SUBMISSIONS, "", &body);
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::SUBMISSIONS, body, Some(headers)),
        StatusCode::FORBIDDEN,
        ErrorCode::KioskRevoked,
    )
    .await;
    let feed = "/api/v1/feeds/statuses";
    let headers = kiosk.sign("GET", feed, "", b"");
    refused_without_effect(
        &server,
        kiosk.send_signed(Method::GET, feed, "", Vec::new(), &headers),
        StatusCode::FORBIDDEN,
        ErrorCode::KioskRevoked,
    )
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_anything_else() {
    let (server, kiosk) = setup().await;
    // Valid JSON padded past the limit, correctly signed: only its size is wrong.
    let mut body = br#"{"submissions":[],"padding":""#.to_vec();
    body.resize(DEFAULT_BODY_LIMIT + 1, b' ');
    body.extend_from_slice(br#""}"#);
    let headers = kiosk.sign("POST", paths::SUBMISSIONS, "", &body);
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::SUBMISSIONS, body.clone(), Some(headers)),
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BodyTooLarge,
    )
    .await;
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::SUBMISSIONS, body.clone(), None),
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BodyTooLarge,
    )
    .await;
    refused_without_effect(
        &server,
        send_raw(&kiosk, paths::ENROLL, body, None),
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::BodyTooLarge,
    )
    .await;
}

#[tokio::test]
async fn malformed_json_is_refused() {
    let (server, kiosk) = setup().await;
    for body in [&b"{not json"[..], b"", b"[1, 2"] {
        refused_without_effect(
            &server,
            kiosk.post(paths::SUBMISSIONS, body.to_vec()),
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedJson,
        )
        .await;
    }
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_refused() {
    let (server, kiosk) = setup().await;
    refused_without_effect(
        &server,
        kiosk.post(paths::SUBMISSIONS, br#"{"submissions": "many"}"#.to_vec()),
        StatusCode::BAD_REQUEST,
        ErrorCode::MalformedJson,
    )
    .await;
    let mut wrong = serde_json::to_value(heartbeat()).unwrap();
    wrong["queue_depth"] = "three".into();
    refused_without_effect(
        &server,
        kiosk.post(paths::HEARTBEAT, serde_json::to_vec(&wrong).unwrap()),
        StatusCode::BAD_REQUEST,
        ErrorCode::MalformedJson,
    )
    .await;
    let mut wrong = serde_json::to_value(BatchRequest {
        submissions: vec![submission(kiosk.number(), 2)],
    })
    .unwrap();
    wrong["submissions"][0]["kind"] = "bribe".into();
    refused_without_effect(
        &server,
        kiosk.post(paths::SUBMISSIONS, serde_json::to_vec(&wrong).unwrap()),
        StatusCode::BAD_REQUEST,
        ErrorCode::MalformedJson,
    )
    .await;
}

/// The booth `old` re-enrolls (proving its old key) and is replaced by a new kiosk.
async fn replaced(server: &TestServer, old: &TestKiosk) -> String {
    let code = server.code("石门村").await;
    let request = EnrollRequest::replacing(&code, &new_key(), old.id(), &old.key, "test-0.2");
    let response = reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::ENROLL))
        .json(&request)
        .send()
        .await
        .expect("enroll request");
    assert_eq!(response.status(), StatusCode::OK);
    let successor: EnrollResponse = response.json().await.expect("enroll response");
    successor.kiosk_id
}

#[tokio::test]
async fn nothing_about_a_replaced_kiosk_is_told_before_its_signature_verifies() {
    let (server, old) = setup().await;
    let successor = replaced(&server, &old).await;
    let body = serde_json::to_vec(&heartbeat()).unwrap();
    let now = Utc::now().timestamp();
    let by_someone_else = old.sign_with(
        &new_key(),
        "POST",
        paths::HEARTBEAT,
        "",
        &body,
        now,
        &signing::new_nonce(),
    );
    let mut zero_signature = old.sign("POST", paths::HEARTBEAT, "", &body);
    zero_signature.signature = format!("sig1=:{}:", BASE64.encode([0u8; 64]));
    let wrong_body = old.sign("POST", paths::HEARTBEAT, "", b"{}");
    let stale = old.sign_with(
        &new_key(),
        "POST",
        paths::HEARTBEAT,
        "",
        &body,
        now - 3600,
        &signing::new_nonce(),
    );
    for (headers, status, code) in [
        (
            by_someone_else,
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadSignature,
        ),
        (
            zero_signature,
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadSignature,
        ),
        (wrong_body, StatusCode::UNAUTHORIZED, ErrorCode::BadDigest),
        (stale, StatusCode::UNAUTHORIZED, ErrorCode::StaleTimestamp),
    ] {
        let before = snapshot(server.store()).await;
        let (got, refused) =
            refusal(send_raw(&old, paths::HEARTBEAT, body.clone(), Some(headers)).await).await;
        assert_eq!((got, refused.code), (status, code), "{}", refused.message);
        assert!(
            !refused.message.contains(&successor) && !refused.message.contains("replaced"),
            "told an outsider about the successor: {}",
            refused.message
        );
        assert_eq!(snapshot(server.store()).await, before);
    }
    // The holder of the old key still learns where its booth went.
    let (got, refused) = refusal(old.post_json(paths::HEARTBEAT, &heartbeat()).await).await;
    assert_eq!(
        (got, refused.code),
        (StatusCode::FORBIDDEN, ErrorCode::KioskRevoked)
    );
    assert!(refused.message.contains(&successor), "{}", refused.message);
}

#[tokio::test]
async fn a_created_time_at_the_far_end_of_i64_is_stale_not_accepted() {
    let (server, kiosk) = setup().await;
    let now = Utc::now().timestamp();
    // now − 2⁶³: the skew is exactly i64::MIN, whose absolute value overflows.
    for created in [
        now.wrapping_sub(i64::MAX).wrapping_sub(1),
        i64::MIN,
        i64::MAX,
    ] {
        let body = new_batch(&kiosk);
        let headers = kiosk.sign_with(
            &kiosk.key,
            "POST",
            paths::SUBMISSIONS,
            "",
            &body,
            created,
            &signing::new_nonce(),
        );
        refused_without_effect(
            &server,
            send_raw(&kiosk, paths::SUBMISSIONS, body, Some(headers)),
            StatusCode::UNAUTHORIZED,
            ErrorCode::StaleTimestamp,
        )
        .await;
    }
}
