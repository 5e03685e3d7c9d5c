//! Enrollment over HTTP: one booth per code, expiry, proofs, re-enrollment, and the limit on
//! guessing codes.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use sync_protocol::ErrorCode;
use sync_protocol::enroll::EnrollRequest;
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
use sync_protocol::paths;
use sync_server::api::enroll_codes;
use sync_server::api::rate_limit::EnrollLimits;
use sync_server::store::{KioskRef, NewEnrollCode};

use crate::common::{TestServer, enroll_with_code, new_key, refusal, test_settings, village};

async fn try_enroll(server: &TestServer, request: &EnrollRequest) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::ENROLL))
        .json(request)
        .send()
        .await
        .expect("enroll request")
}

async fn expect_refusal(response: reqwest::Response, status: StatusCode, code: ErrorCode) {
    let (got_status, body) = refusal(response).await;
    assert_eq!((got_status, body.code), (status, code), "{}", body.message);
}

fn heartbeat() -> Heartbeat {
    Heartbeat {
        queue_depth: 0,
        oldest_pending_age_s: None,
        quarantined: 0,
        devices: DeviceHealth::default(),
        app_version: "0.1.0".into(),
        disk_free_bytes: 1,
        uptime_s: 1,
        clock_offset_ms: 0,
        update: None,
    }
}

#[tokio::test]
async fn a_code_enrolls_one_booth_and_is_forgiving_to_type() {
    let server = TestServer::start().await;
    let code = server.code("石门村").await;
    let typed = code.to_lowercase().replace('-', " ").replace('0', "o");
    let kiosk = enroll_with_code(&server.url, &typed).await;
    assert_eq!(kiosk.number(), 1);
    let again = try_enroll(&server, &EnrollRequest::new(&code, &new_key(), "0.1")).await;
    expect_refusal(again, StatusCode::FORBIDDEN, ErrorCode::EnrollCodeUsed).await;
    assert_eq!(server.store().list_kiosks().await.unwrap().len(), 1);
}

#[tokio::test]
async fn expired_unknown_and_misshapen_codes_are_refused() {
    let server = TestServer::start().await;
    let code = enroll_codes::generate().unwrap();
    server
        .store()
        .create_enroll_code(NewEnrollCode {
            code_key: server
                .state
                .code_secret()
                .code_key(&enroll_codes::canonical(&code).unwrap()),
            village: village("石门村"),
            created_at: Utc::now() - chrono::Duration::hours(2),
            expires_at: Utc::now() - chrono::Duration::hours(1),
        })
        .await
        .unwrap();
    let expired = try_enroll(&server, &EnrollRequest::new(&code, &new_key(), "0.1")).await;
    expect_refusal(expired, StatusCode::FORBIDDEN, ErrorCode::EnrollCodeExpired).await;
    let unknown = enroll_codes::generate().unwrap();
    let response = try_enroll(&server, &EnrollRequest::new(&unknown, &new_key(), "0.1")).await;
    expect_refusal(
        response,
        StatusCode::FORBIDDEN,
        ErrorCode::EnrollCodeInvalid,
    )
    .await;
    let response = try_enroll(&server, &EnrollRequest::new("ABC", &new_key(), "0.1")).await;
    expect_refusal(
        response,
        StatusCode::FORBIDDEN,
        ErrorCode::EnrollCodeInvalid,
    )
    .await;
    assert!(server.store().list_kiosks().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_bad_proof_or_body_is_refused_and_the_code_survives() {
    let server = TestServer::start().await;
    let code = server.code("石门村").await;
    let mut forged = EnrollRequest::new(&code, &new_key(), "0.1");
    forged.proof = EnrollRequest::new(&code, &new_key(), "0.1").proof;
    let response = try_enroll(&server, &forged).await;
    expect_refusal(response, StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest).await;
    let response = reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::ENROLL))
        .body(r#"{"code": 12345678}"#)
        .send()
        .await
        .unwrap();
    expect_refusal(response, StatusCode::BAD_REQUEST, ErrorCode::MalformedJson).await;
    assert!(server.store().list_kiosks().await.unwrap().is_empty());
    enroll_with_code(&server.url, &code).await;
}

#[tokio::test]
async fn concurrent_enrollments_with_one_code_make_one_kiosk() {
    let mut settings = test_settings();
    settings.enroll_limits.per_address = 100;
    let server = TestServer::start_with(settings).await;
    let code = server.code("石门村").await;
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let url = format!("{}{}", server.url, paths::ENROLL);
            let request = EnrollRequest::new(&code, &new_key(), "0.1");
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .json(&request)
                    .send()
                    .await
                    .expect("enroll")
            })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        let response = attempt.await.unwrap();
        if response.status() == StatusCode::OK {
            won += 1;
        } else {
            expect_refusal(response, StatusCode::FORBIDDEN, ErrorCode::EnrollCodeUsed).await;
        }
    }
    assert_eq!(won, 1);
    assert_eq!(server.store().list_kiosks().await.unwrap().len(), 1);
}

#[tokio::test]
async fn guessing_codes_is_rate_limited() {
    let server = TestServer::start().await;
    let per_address = test_settings().enroll_limits.per_address;
    for _ in 0..per_address {
        let guess = enroll_codes::generate().unwrap();
        let response = try_enroll(&server, &EnrollRequest::new(&guess, &new_key(), "0.1")).await;
        expect_refusal(
            response,
            StatusCode::FORBIDDEN,
            ErrorCode::EnrollCodeInvalid,
        )
        .await;
    }
    // Now even a good code is not looked at: a limited client learns nothing.
    let code = server.code("石门村").await;
    let response = try_enroll(&server, &EnrollRequest::new(&code, &new_key(), "0.1")).await;
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);
    expect_refusal(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
    )
    .await;
    assert!(server.store().list_kiosks().await.unwrap().is_empty());
}

#[tokio::test]
async fn successful_enrollments_do_not_use_up_the_limit() {
    let mut settings = test_settings();
    settings.enroll_limits = EnrollLimits {
        per_address: 2,
        global: 2,
        window: Duration::from_secs(3600),
    };
    let server = TestServer::start_with(settings).await;
    for expected in 1..=4 {
        assert_eq!(server.enroll("石门村").await.number(), expected);
    }
}

#[tokio::test]
async fn re_enrolling_makes_a_new_identity_and_the_old_stays_until_revoked() {
    let server = TestServer::start().await;
    let old = server.enroll("石门村").await;
    let new = server.enroll("石门村").await;
    assert_ne!(old.id(), new.id());
    assert_eq!(new.number(), old.number() + 1);
    for kiosk in [&old, &new] {
        let response = kiosk.post_json(paths::HEARTBEAT, &heartbeat()).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    server
        .store()
        .revoke_kiosk(&KioskRef::Number(old.number()), Utc::now())
        .await
        .unwrap();
    let response = old.post_json(paths::HEARTBEAT, &heartbeat()).await;
    expect_refusal(response, StatusCode::FORBIDDEN, ErrorCode::KioskRevoked).await;
    let response = new.post_json(paths::HEARTBEAT, &heartbeat()).await;
    assert_eq!(response.status(), StatusCode::OK);
}
