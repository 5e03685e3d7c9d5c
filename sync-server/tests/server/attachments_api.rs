//! Files (photographed pages) over the kiosk API: uploaded in chunks after the submission that
//! lists them, resumed from where the server's copy ends, kept once and sealed at rest; and
//! every refusal (not listed, another booth's, too large, tampered, sealed to another county,
//! not a page) answers its code and keeps nothing.

use crate::common::submission;
use reqwest::{Method, StatusCode};
use sync_protocol::ErrorCode;
use sync_protocol::attachment::{
    AttachmentRef, AttachmentStatus, MAX_CHUNK_BYTES, seal_file, sha256_hex,
};
use sync_protocol::paths;
use sync_protocol::personal::CountySecret;
use sync_protocol::submission::{BatchRequest, BatchResponse, Outcome, Submission};
use sync_server::files::page_place as file_place;

use crate::common::{TestKiosk, TestServer, refusal};

/// A real JPEG (a small picture) grown to `size` bytes with comment segments of noise, so it
/// decodes like a page and does not compress.
pub fn page(size: usize, seed: u8) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(32, 24, |x, y| {
        image::Rgb([(x * 8) as u8 ^ seed, (y * 10) as u8, seed.wrapping_mul(3)])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&picture)
        .expect("encode");
    let mut x = u32::from(seed) + 1;
    let mut out = jpeg[..2].to_vec();
    while out.len() + jpeg.len() - 2 < size {
        let room = size - (out.len() + jpeg.len() - 2);
        let payload = room.saturating_sub(4).clamp(1, 65_000);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((payload + 2) as u16).to_be_bytes());
        for _ in 0..payload {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            out.push((x >> 16) as u8);
        }
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

pub fn listing(bytes: &[u8], material: u16, page: u16, sealed: bool) -> AttachmentRef {
    AttachmentRef {
        sha256: sha256_hex(bytes),
        bytes: bytes.len() as u64,
        material,
        material_name: "居民户口簿".into(),
        page,
        sealed,
    }
}

async fn submit(kiosk: &TestKiosk, sent: &Submission) {
    let response = kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![sent.clone()],
            },
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: BatchResponse = response.json().await.expect("batch response");
    assert_eq!(answer.results[0].outcome, Outcome::Accepted, "{answer:?}");
}

async fn put(kiosk: &TestKiosk, sha256: &str, offset: u64, chunk: &[u8]) -> reqwest::Response {
    let path = paths::attachment(sha256);
    let query = format!("offset={offset}");
    let headers = kiosk.sign("PUT", &path, &query, chunk);
    kiosk
        .send_signed(Method::PUT, &path, &query, chunk.to_vec(), &headers)
        .await
}

async fn status(kiosk: &TestKiosk, sha256: &str) -> AttachmentStatus {
    let response = kiosk.get(&paths::attachment(sha256), "").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("status")
}

/// Uploads `bytes` chunk by chunk from where the server's copy ends; the last status.
pub async fn upload_all(kiosk: &TestKiosk, bytes: &[u8]) -> AttachmentStatus {
    let sha256 = sha256_hex(bytes);
    let mut at = status(kiosk, &sha256).await;
    while !at.complete {
        let start = at.received as usize;
        let end = (start + MAX_CHUNK_BYTES).min(bytes.len());
        let response = put(kiosk, &sha256, at.received, &bytes[start..end]).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{:?}",
            refusal(response).await
        );
        at = response.json().await.expect("status");
    }
    at
}

fn kept_file(server: &TestServer, sha256: &str) -> Option<Vec<u8>> {
    std::fs::read(server.data_dir().join("files/files").join(sha256)).ok()
}

fn county_of(kiosk: &TestKiosk) -> sync_protocol::personal::CountyKey {
    kiosk.enrolled.county_key.clone().expect("the county's key")
}

#[tokio::test]
async fn pages_upload_in_chunks_resume_where_the_server_is_and_are_kept_sealed_once() {
    let server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let mut application = submission(kiosk.number(), 1);
    let first = page(150_000, 1);
    let sealed_first = seal_file(&county_of(&kiosk), application.id, &first);
    let second = page(40_000, 2);
    application.attachments = vec![
        listing(&sealed_first, 0, 1, true),
        listing(&second, 1, 1, false),
    ];
    submit(&kiosk, &application).await;

    let name = sha256_hex(&sealed_first);
    assert_eq!(
        status(&kiosk, &name).await,
        AttachmentStatus {
            sha256: name.clone(),
            bytes: sealed_first.len() as u64,
            received: 0,
            complete: false
        }
    );
    // The first chunk; then the same chunk again, as after an answer lost in a cut.
    let chunk = &sealed_first[..MAX_CHUNK_BYTES];
    let response = put(&kiosk, &name, 0, chunk).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (code, body) = refusal(put(&kiosk, &name, 0, chunk).await).await;
    assert_eq!(
        (code, body.code),
        (StatusCode::CONFLICT, ErrorCode::AttachmentOffset)
    );
    assert!(
        body.message.contains(&MAX_CHUNK_BYTES.to_string()),
        "{}",
        body.message
    );
    assert_eq!(status(&kiosk, &name).await.received, MAX_CHUNK_BYTES as u64);
    assert_eq!(
        kept_file(&server, &name),
        None,
        "nothing kept before the last byte"
    );

    let done = upload_all(&kiosk, &sealed_first).await;
    assert!(done.complete && done.received == sealed_first.len() as u64);
    assert!(upload_all(&kiosk, &second).await.complete);
    // A chunk sent again after completion is answered, not stored again.
    let again = put(&kiosk, &name, 0, chunk).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.json::<AttachmentStatus>().await.unwrap().complete);

    // Kept under its name, sealed at rest: the page's bytes are not in the file, and open
    // with the store's key to the page (the booth's envelope opened).
    let kept = kept_file(&server, &name).expect("kept");
    assert!(
        !kept
            .windows(64)
            .any(|w| first.windows(64).next() == Some(w))
    );
    let keys = server.store().at_rest_keys();
    assert_eq!(keys.open_bytes(file_place(&name), &kept).unwrap(), first);
    let plain_kept = kept_file(&server, &sha256_hex(&second)).expect("kept");
    assert_eq!(
        keys.open_bytes(file_place(&sha256_hex(&second)), &plain_kept)
            .unwrap(),
        second
    );
    let parts = server.data_dir().join("files/parts");
    let left: Vec<_> = walk(&parts);
    assert!(left.is_empty(), "the chunks are dropped: {left:?}");

    let files = server
        .store()
        .submission_files(application.id)
        .await
        .unwrap();
    assert!(files.iter().all(|f| f.complete_at.is_some()), "{files:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[tokio::test]
async fn files_not_listed_too_large_tampered_or_foreign_are_refused_and_nothing_is_kept() {
    let server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let stranger = server.enroll("六合村").await;
    let mut application = submission(kiosk.number(), 1);
    let listed = page(20_000, 3);
    let tampered = {
        let mut bytes = listed.clone();
        bytes[1000] ^= 0xFF;
        bytes
    };
    let other_county = CountySecret::from_seed(&[9; 32]);
    let foreign = seal_file(other_county.public_key(), application.id, &page(10_000, 4));
    let not_a_page = b"GIF89a this is no JPEG".repeat(100);
    application.attachments = vec![
        listing(&listed, 0, 1, false),
        listing(&foreign, 0, 2, true),
        listing(&not_a_page, 1, 1, false),
    ];
    submit(&kiosk, &application).await;

    // A name nobody listed, a malformed name, and another booth's file.
    let unlisted = sha256_hex(b"never listed");
    for (who, name) in [
        (&kiosk, unlisted.as_str()),
        (&kiosk, "..%2F..%2Fetc%2Fpasswd"),
        (&kiosk, &sha256_hex(&listed).to_uppercase()),
        (&stranger, &sha256_hex(&listed)),
    ] {
        let (code, body) = refusal(put(who, name, 0, &listed[..100]).await).await;
        assert_eq!(
            (code, body.code),
            (StatusCode::NOT_FOUND, ErrorCode::AttachmentNotListed),
            "{name}"
        );
    }
    let (code, body) = refusal(
        stranger
            .get(&paths::attachment(&sha256_hex(&listed)), "")
            .await,
    )
    .await;
    assert_eq!(body.code, ErrorCode::AttachmentNotListed, "{code}");

    let name = sha256_hex(&listed);
    // A chunk over the chunk limit; a chunk running past the listed size.
    let (code, body) = refusal(put(&kiosk, &name, 0, &vec![0; MAX_CHUNK_BYTES + 1]).await).await;
    assert_eq!(
        (code, body.code),
        (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::AttachmentTooLarge)
    );
    let (code, body) =
        refusal(put(&kiosk, &name, 0, &[listed.clone(), vec![0; 10]].concat()).await).await;
    assert_eq!(
        (code, body.code),
        (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::AttachmentTooLarge)
    );

    // The listed name with other bytes of the same length: refused at the last byte, and the
    // upload starts over.
    let (code, body) = refusal(put(&kiosk, &name, 0, &tampered).await).await;
    assert_eq!(
        (code, body.code),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::AttachmentHashMismatch
        )
    );
    assert_eq!(status(&kiosk, &name).await.received, 0);
    // Sealed to another county: its hash is right, but it does not open here.
    let foreign_name = sha256_hex(&foreign);
    let (code, body) = refusal(put(&kiosk, &foreign_name, 0, &foreign).await).await;
    assert_eq!(
        (code, body.code),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::AttachmentHashMismatch
        )
    );
    assert!(body.message.contains("county's key"), "{}", body.message);
    // Not a JPEG page.
    let odd = sha256_hex(&not_a_page);
    let (code, body) = refusal(put(&kiosk, &odd, 0, &not_a_page).await).await;
    assert_eq!(
        (code, body.code),
        (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest)
    );

    for refused in [&name, &foreign_name, &odd, &unlisted] {
        assert_eq!(kept_file(&server, refused), None, "{refused} kept");
    }
    assert!(
        walk(&server.data_dir().join("files/parts")).is_empty(),
        "chunks left behind"
    );
    let files = server
        .store()
        .submission_files(application.id)
        .await
        .unwrap();
    assert!(
        files
            .iter()
            .all(|f| f.received == 0 && f.complete_at.is_none()),
        "{files:?}"
    );

    // The real bytes still go in afterwards.
    assert!(upload_all(&kiosk, &listed).await.complete);
}

/// The county's side: the submission page lists each material of the item with its pages,
/// marks the one with none, serves thumbnails and pictures only in scope, and logs each view.
#[tokio::test]
async fn staff_see_each_material_with_its_pages_in_scope_and_every_view_is_logged() {
    use sync_server::domain::access::Role;
    use sync_server::store::staff::AuditFilter;

    use crate::staff_client::{StaffClient, add_account, audit_actions};

    let server = TestServer::with_seed_catalog().await;
    let kiosk = server.enroll("石门村").await;
    add_account(server.store(), "handler", Role::Handler, "示范县/凤岭乡").await;
    add_account(server.store(), "elsewhere", Role::Handler, "示范县/白圩镇").await;
    let mut application = submission(kiosk.number(), 1);
    // 城乡居民基本养老保险参保登记: 居民身份证 and 居民户口簿.
    application.item_code = Some("GX-SB-001".into());
    let id_card = page(60_000, 5);
    let sealed = seal_file(&county_of(&kiosk), application.id, &id_card);
    let arriving = page(30_000, 6);
    application.attachments = vec![
        listing(&sealed, 0, 1, true),
        listing(&arriving, 0, 2, false),
    ];
    submit(&kiosk, &application).await;
    assert!(upload_all(&kiosk, &sealed).await.complete);
    let receipt = &application.receipt_number;
    let name = sha256_hex(&sealed);
    let base = format!("/staff/submissions/{receipt}/pages/{name}");

    let mut staff = StaffClient::logged_in(&server.url, "handler").await;
    staff
        .get(&format!("/staff/submissions/{receipt}"))
        .await
        .assert_ok()
        .assert_contains("申请材料")
        .assert_contains("居民身份证")
        .assert_contains(&format!("{base}/thumbnail"))
        .assert_contains("2 · 上传中")
        .assert_contains("居民户口簿")
        .assert_contains("未提交");
    for (path, action) in [
        (format!("{base}/thumbnail"), "page.thumbnail"),
        (base.clone(), "page.view"),
    ] {
        let served = staff.get(&path).await;
        assert_eq!(served.status, StatusCode::OK, "{path}");
        assert_eq!(served.headers["content-type"], "image/jpeg");
        let actions = audit_actions(server.store(), AuditFilter::default()).await;
        assert_eq!(
            actions.last().map(String::as_str),
            Some(action),
            "{actions:?}"
        );
    }
    staff
        .get(&format!("{base}/view"))
        .await
        .assert_ok()
        .assert_contains(&format!("src=\"{base}\""))
        .assert_contains("turn-90");

    // Another township's handler, a page still arriving, a name that is not a page of this
    // submission: not found, and nothing logged.
    let logged = audit_actions(server.store(), AuditFilter::default())
        .await
        .len();
    let mut elsewhere = StaffClient::logged_in(&server.url, "elsewhere").await;
    for path in [
        format!("{base}/thumbnail"),
        base.clone(),
        format!("{base}/view"),
    ] {
        assert_eq!(
            elsewhere.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let still_arriving = format!(
        "/staff/submissions/{receipt}/pages/{}",
        sha256_hex(&arriving)
    );
    assert_eq!(
        staff.get(&still_arriving).await.status,
        StatusCode::NOT_FOUND
    );
    let not_ours = format!("/staff/submissions/{receipt}/pages/{}", sha256_hex(b"x"));
    assert_eq!(staff.get(&not_ours).await.status, StatusCode::NOT_FOUND);
    let after = audit_actions(server.store(), AuditFilter::default()).await;
    assert_eq!(after.len(), logged + 1, "only the second login: {after:?}");
}
