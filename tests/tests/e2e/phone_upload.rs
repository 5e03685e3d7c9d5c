//! The one-time phone upload page in a real browser: headless Chromium at a phone's size
//! opens `/m/<token>` of the real `sync-server` for an application a booth synced with the
//! token's hash (signed here as a booth signs, since the booth's side is built apart), a
//! photograph is chosen in a material's file input, the form is sent, and the villager reads
//! the success line; the page then says the link is used.
//!
//! With `UPDATE_SCREENSHOTS=1` the two pages are saved to `docs/screenshots/phone-upload.png`
//! and `phone-upload-done.png`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use booth_tests::booth::{County, Server, enroll_code, free_port, import_catalog};
use booth_tests::browser::{Driver, screenshot};
use ed25519_dalek::SigningKey;
use fantoccini::{Client, Locator};
use sync_protocol::enroll::{EnrollRequest, EnrollResponse};
use sync_protocol::paths;
use sync_protocol::phone_upload::{new_token, token_hash};
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::signing::{self, RequestParts};
use sync_protocol::submission::{BatchRequest, BatchResponse, Outcome, Submission, SubmissionKind};

/// One HTTP/1.1 request to the server on loopback; its status and body.
fn http(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(body).expect("send body");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read answer");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let status = String::from_utf8_lossy(&answer[..split])
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status");
    (status, answer[split + 4..].to_vec())
}

/// Enrolls a booth key and sends one application offering a phone upload, signed as a booth
/// signs; the receipt number and the token.
fn apply_as_a_booth(server: &Server, code: &str) -> (String, String) {
    let key = SigningKey::from_bytes(&[42; 32]);
    let request = serde_json::to_vec(&EnrollRequest::new(code, &key, "0.1.0")).expect("JSON");
    let (status, body) = http(server.port(), paths::ENROLL, &[], &request);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let enrolled: EnrollResponse = serde_json::from_slice(&body).expect("enrollment");

    let token = new_token().expect("token");
    let receipt = ReceiptNumber::new(enrolled.kiosk_number, 1).to_string();
    let application = Submission {
        id: uuid::Uuid::now_v7(),
        kiosk_seq: 1,
        receipt_number: receipt.clone(),
        kind: SubmissionKind::Application,
        item_code: Some("GX-MZ-001".into()),
        catalog_version: Some(1),
        fields: Default::default(),
        text: None,
        rating: None,
        applicant: None,
        contact_phone: None,
        created_at: chrono::Utc::now(),
        sealed: None,
        attachments: Vec::new(),
        supplement_to: None,
        phone_upload: Some(token_hash(&token)),
    };
    let body = serde_json::to_vec(&BatchRequest {
        submissions: vec![application],
    })
    .expect("JSON");
    let signed = signing::sign(
        &key,
        &enrolled.kiosk_id,
        &RequestParts {
            method: "POST",
            path: paths::SUBMISSIONS,
            query: "",
            body: &body,
        },
        chrono::Utc::now().timestamp(),
        &signing::new_nonce(),
    );
    let (status, answer) = http(
        server.port(),
        paths::SUBMISSIONS,
        &[
            (signing::CONTENT_DIGEST, &signed.content_digest),
            (signing::SIGNATURE_INPUT, &signed.signature_input),
            (signing::SIGNATURE, &signed.signature),
        ],
        &body,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let results: BatchResponse = serde_json::from_slice(&answer).expect("results");
    assert_eq!(results.results[0].outcome, Outcome::Accepted, "{results:?}");
    (receipt, token)
}

async fn wait_for_text(client: &Client, text: &str) {
    for _ in 0..100 {
        let html = client.source().await.expect("page source");
        if html.contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let html = client.source().await.unwrap_or_default();
    panic!("`{text}` never appeared:\n{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_villager_uploads_a_material_from_a_phone() {
    let county = County::new();
    import_catalog(county.path());
    let server = Server::start(county.path(), free_port());
    let code = enroll_code(county.path(), "石门村");
    let (receipt, token) = apply_as_a_booth(&server, &code);

    // A photograph on the phone: a real JPEG.
    let photos = tempfile::tempdir().expect("photo dir");
    let photo = photos.path().join("IMG_0001.jpg");
    let picture_of_a_page = image::RgbImage::from_fn(1200, 1600, |x, y| {
        let ink = (x / 40 + y / 40) % 7 == 0;
        if ink {
            image::Rgb([30, 30, 30])
        } else {
            image::Rgb([245, 243, 236])
        }
    });
    picture_of_a_page
        .save(&photo)
        .expect("write the photograph");

    let driver = Driver::start();
    let client = driver.phone(390, 844).await;
    client
        .goto(&format!("{}/m/{token}", server.url))
        .await
        .expect("open the phone page");
    wait_for_text(&client, "上传申请材料").await;
    let html = client.source().await.expect("page source");
    for shown in [
        "最低生活保障申请",
        receipt.as_str(),
        "居民户口簿",
        "链接有效期至",
    ] {
        assert!(html.contains(shown), "{shown}:\n{html}");
    }
    let width: serde_json::Value = client
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .expect("page width");
    assert!(
        width.as_u64().is_some_and(|w| w <= 390),
        "the page is wider than the phone: {width}"
    );
    screenshot(&client, "phone-upload").await;

    client
        .find(Locator::Css("input[name=m1]"))
        .await
        .expect("the household book's file input")
        .send_keys(photo.to_str().expect("a UTF-8 path"))
        .await
        .expect("choose the photograph");
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("the upload button")
        .click()
        .await
        .expect("upload");
    wait_for_text(&client, "已收到 1 页材料").await;
    screenshot(&client, "phone-upload-done").await;

    // Once only: opened again, the page says so.
    client
        .goto(&format!("{}/m/{token}", server.url))
        .await
        .expect("open again");
    wait_for_text(&client, "这个链接已经用过了").await;
    client.close().await.expect("close the browser");
    drop(server);
}
