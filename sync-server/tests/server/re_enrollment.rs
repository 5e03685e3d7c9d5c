//! Re-enrolling a booth over HTTP: with its old key it keeps its kiosk number, submissions and
//! statuses feed; a lost answer is fetched again with the same code and key.

use reqwest::StatusCode;
use sync_protocol::ErrorCode;
use sync_protocol::enroll::{EnrollRequest, EnrollResponse};
use sync_protocol::feed::{Feed, StatusChange, SubmissionStatus};
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
use sync_protocol::paths;
use sync_protocol::submission::{BatchRequest, BatchResponse, Outcome, Submission};
use sync_server::store::{KioskRef, SubmissionRef};

use crate::common::{TestKiosk, TestServer, new_key, refusal, submission};

async fn post_enroll(server: &TestServer, request: &EnrollRequest) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::ENROLL))
        .json(request)
        .send()
        .await
        .expect("enroll request")
}

async fn enrolled(response: reqwest::Response) -> EnrollResponse {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("enroll response")
}

async fn expect_refusal(
    response: reqwest::Response,
    status: StatusCode,
    code: ErrorCode,
) -> String {
    let (got_status, body) = refusal(response).await;
    assert_eq!((got_status, body.code), (status, code), "{}", body.message);
    body.message
}

/// The booth `old` re-enrolls with a fresh code and a new key, proving it was `old`.
async fn re_enroll(server: &TestServer, old: &TestKiosk) -> TestKiosk {
    let code = server.code("石门村").await;
    let key = new_key();
    let request = EnrollRequest::replacing(&code, &key, old.id(), &old.key, "test-0.2");
    let enrolled = enrolled(post_enroll(server, &request).await).await;
    TestKiosk {
        key,
        enrolled,
        base: server.url.clone(),
        client: reqwest::Client::new(),
    }
}

async fn upload(kiosk: &TestKiosk, submissions: Vec<Submission>) -> Vec<Outcome> {
    let response = kiosk
        .post_json(paths::SUBMISSIONS, &BatchRequest { submissions })
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: BatchResponse = response.json().await.expect("batch response");
    answer.results.into_iter().map(|r| r.outcome).collect()
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
async fn re_enrolling_with_the_old_key_keeps_the_number_and_the_booths_submissions() {
    let server = TestServer::start().await;
    let old = server.enroll("石门村").await;
    let neighbour = server.enroll("六合村").await;
    let uploaded = submission(old.number(), 1);
    assert_eq!(
        upload(&old, vec![uploaded.clone()]).await,
        [Outcome::Accepted]
    );
    // Printed before the re-enrollment, still in the booth's queue.
    let queued = submission(old.number(), 2);

    let new = re_enroll(&server, &old).await;
    assert_ne!(new.id(), old.id());
    assert_eq!(new.number(), old.number(), "the kiosk number is kept");
    assert_eq!(new.enrolled.village, old.enrolled.village);

    // The old identity is retired…
    let message = expect_refusal(
        old.post_json(paths::HEARTBEAT, &heartbeat()).await,
        StatusCode::FORBIDDEN,
        ErrorCode::KioskRevoked,
    )
    .await;
    assert!(message.contains(new.id()), "{message}");
    // …and the new one delivers what the booth had queued under the old number.
    assert_eq!(
        upload(&new, vec![queued.clone(), uploaded.clone()]).await,
        [Outcome::Accepted, Outcome::Duplicate]
    );
    let stored = server
        .store()
        .find_submission(&SubmissionRef::Id(queued.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.kiosk_id, new.id());

    // A status set on a submission uploaded by the old identity reaches the new one.
    server
        .store()
        .set_status(
            &SubmissionRef::Receipt(uploaded.receipt_number.clone()),
            SubmissionStatus::Approved,
            Some("已办结".into()),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .expect("found");
    let feed: Vec<StatusChange> = new.feed(Feed::Statuses, None, 50).await.items;
    let seen: Vec<_> = feed.iter().map(|c| (c.submission_id, c.status)).collect();
    assert_eq!(
        seen,
        vec![
            (uploaded.id, SubmissionStatus::Received),
            (queued.id, SubmissionStatus::Received),
            (uploaded.id, SubmissionStatus::Approved),
        ]
    );
    let theirs: Vec<StatusChange> = neighbour.feed(Feed::Statuses, None, 50).await.items;
    assert!(theirs.is_empty());

    // A plain enrollment still gets a number never used before.
    assert_eq!(server.enroll("石门村").await.number(), 3);
}

#[tokio::test]
async fn a_retry_with_the_same_code_and_key_gets_the_original_answer() {
    let server = TestServer::start().await;
    let code = server.code("石门村").await;
    let key = new_key();
    let request = EnrollRequest::new(&code, &key, "test-0.1");
    let first = enrolled(post_enroll(&server, &request).await).await;
    let again = enrolled(post_enroll(&server, &request).await).await;
    assert_eq!(again, first, "the very same answer, server_time included");
    expect_refusal(
        post_enroll(&server, &EnrollRequest::new(&code, &new_key(), "test-0.1")).await,
        StatusCode::FORBIDDEN,
        ErrorCode::EnrollCodeUsed,
    )
    .await;
    assert_eq!(server.store().list_kiosks().await.unwrap().len(), 1);

    // A re-enrollment's retry too: no second hand-over, no second kiosk.
    let old = TestKiosk {
        key,
        enrolled: first,
        base: server.url.clone(),
        client: reqwest::Client::new(),
    };
    let code = server.code("石门村").await;
    let new_key = new_key();
    let replacing = EnrollRequest::replacing(&code, &new_key, old.id(), &old.key, "test-0.2");
    let replaced = enrolled(post_enroll(&server, &replacing).await).await;
    assert_eq!(
        enrolled(post_enroll(&server, &replacing).await).await,
        replaced
    );
    assert_eq!(replaced.kiosk_number, old.number());
    assert_eq!(server.store().list_kiosks().await.unwrap().len(), 2);

    // Once the kiosk it made is revoked, a retry says so.
    server
        .store()
        .revoke_kiosk(&KioskRef::Id(replaced.kiosk_id.clone()), chrono::Utc::now())
        .await
        .unwrap();
    expect_refusal(
        post_enroll(&server, &replacing).await,
        StatusCode::FORBIDDEN,
        ErrorCode::KioskRevoked,
    )
    .await;
}

#[tokio::test]
async fn a_replaces_proof_that_does_not_verify_is_refused_and_the_code_survives() {
    let server = TestServer::start().await;
    let old = server.enroll("石门村").await;
    let code = server.code("石门村").await;
    let forged = EnrollRequest::replacing(&code, &new_key(), old.id(), &new_key(), "test-0.2");
    let message = expect_refusal(
        post_enroll(&server, &forged).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
    )
    .await;
    assert!(message.contains(old.id()), "{message}");
    assert_eq!(server.store().list_kiosks().await.unwrap().len(), 1);
    assert_eq!(
        old.post_json(paths::HEARTBEAT, &heartbeat()).await.status(),
        StatusCode::OK,
        "the old kiosk is untouched"
    );
    let new = re_enroll_with(&server, &code, &old).await;
    assert_eq!(new.kiosk_number, old.number());
}

#[tokio::test]
async fn without_a_good_code_a_forged_replaces_proof_tells_nothing_about_the_kiosk_it_names() {
    let server = TestServer::start().await;
    let old = server.enroll("石门村").await;
    let mut answers = Vec::new();
    for named in [old.id(), "01a00000-0000-7000-8000-000000000000"] {
        let forged =
            EnrollRequest::replacing("ABCD-EFGH", &new_key(), named, &new_key(), "test-0.2");
        let (status, body) = refusal(post_enroll(&server, &forged).await).await;
        assert!(!body.message.contains(old.id()), "{}", body.message);
        answers.push((status, body.code, body.message));
    }
    assert_eq!(
        answers[0], answers[1],
        "an enrolled kiosk and an unknown id get the same answer"
    );
    assert_eq!(
        (answers[0].0, answers[0].1),
        (StatusCode::FORBIDDEN, ErrorCode::EnrollCodeInvalid)
    );
}

async fn re_enroll_with(server: &TestServer, code: &str, old: &TestKiosk) -> EnrollResponse {
    let request = EnrollRequest::replacing(code, &new_key(), old.id(), &old.key, "test-0.2");
    enrolled(post_enroll(server, &request).await).await
}

#[tokio::test]
async fn after_staff_revocation_or_for_an_unknown_kiosk_re_enrolling_gets_a_new_number() {
    let server = TestServer::start().await;
    let old = server.enroll("石门村").await;
    server
        .store()
        .revoke_kiosk(&KioskRef::Id(old.id().to_owned()), chrono::Utc::now())
        .await
        .unwrap();
    let new = re_enroll(&server, &old).await;
    assert_eq!(new.number(), old.number() + 1);
    // What the booth still queued under the old number can no longer be delivered: the booth
    // quarantines it with this reason for the technician.
    let queued = submission(old.number(), 2);
    let response = new
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![queued],
            },
        )
        .await;
    let answer: BatchResponse = response.json().await.unwrap();
    assert_eq!(answer.results[0].outcome, Outcome::Invalid);
    assert!(
        answer.results[0]
            .message
            .as_deref()
            .is_some_and(|m| m.contains("belongs to kiosk #1")),
        "{:?}",
        answer.results[0].message
    );

    // A booth coming from another server install names a kiosk this one never had.
    let elsewhere = TestServer::start().await;
    let stranger = elsewhere.enroll("石门村").await;
    let moved = re_enroll(&server, &stranger).await;
    assert_eq!(moved.number(), 3);
}
