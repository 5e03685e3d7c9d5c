//! What the server logs: ids, receipt numbers, outcomes, never personal data.
//!
//! Its own test binary: tracing caches per-callsite interest process-wide, and a capturing
//! subscriber racing other tests' threads could miss lines.

#[allow(dead_code)]
#[path = "server/common.rs"]
mod common;

use reqwest::StatusCode;
use sync_protocol::paths;
use sync_protocol::submission::{BatchRequest, BatchResponse, Outcome};

use common::{TestServer, submission};

/// Collects log output in memory.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Current-thread runtime: the server's tasks run on this thread, under this subscriber.
#[tokio::test(flavor = "current_thread")]
async fn logs_name_ids_and_outcomes_but_no_personal_data() {
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let mut sent = submission(kiosk.number(), 1);
    sent.text = Some("村口路灯坏了三个月".into());
    sent.applicant.as_mut().unwrap().address = Some("石门村三组12号".into());
    let answer: BatchResponse = kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![sent.clone()],
            },
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer.results[0].outcome, Outcome::Accepted);
    let mut broken = serde_json::to_value(BatchRequest {
        submissions: vec![sent.clone()],
    })
    .unwrap();
    broken["submissions"][0]["rating"] = "李秀英".into();
    let response = kiosk
        .post(paths::SUBMISSIONS, serde_json::to_vec(&broken).unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The phone upload's token, and its hash, are credentials: in no log line.
    let token = sync_protocol::phone_upload::new_token().unwrap();
    let hash = sync_protocol::phone_upload::token_hash(&token);
    let mut offered = submission(kiosk.number(), 2);
    offered.phone_upload = Some(hash.clone());
    kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![offered],
            },
        )
        .await;
    let page = reqwest::get(format!("{}/m/{token}", server.url))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let mut photo = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut photo)
        .encode_image(&image::RgbImage::new(64, 48))
        .unwrap();
    let mut body =
        b"--b\r\nContent-Disposition: form-data; name=\"m0\"; filename=\"a.jpg\"\r\n\r\n".to_vec();
    body.extend_from_slice(&photo);
    body.extend_from_slice(b"\r\n--b--\r\n");
    let uploaded = reqwest::Client::new()
        .post(format!("{}/m/{token}", server.url))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::OK);

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("phone upload recorded"), "{logs}");
    assert!(logs.contains("/m/{token}"), "the route's template: {logs}");
    for secret in [token.as_str(), hash.as_str(), &hash[..16]] {
        assert!(
            !logs.contains(secret),
            "logs contain the token or its hash:\n{logs}"
        );
    }
    for expected in [
        sent.id.to_string(),
        sent.receipt_number.clone(),
        kiosk.id().to_owned(),
        "Accepted".to_owned(),
        "malformed_json".to_owned(),
        "/api/v1/submissions".to_owned(),
    ] {
        assert!(logs.contains(&expected), "logs lack {expected}:\n{logs}");
    }
    for personal in [
        "李秀英",
        "450902196208150028",
        "13800000000",
        "石门村三组12号",
        "村口路灯",
    ] {
        assert!(!logs.contains(personal), "logs contain {personal}:\n{logs}");
    }
}
