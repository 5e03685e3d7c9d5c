//! 补正 over HTTP: the handler ticks the materials to bring again and the booth's statuses
//! feed carries them with the note; a supplement from any booth of the county joins its
//! original's case (its pages on the case's page, in the case's scope, its arrival in the
//! case's history), never a case of its own; a supplement of an unknown original is refused
//! with its code and nothing is kept.

use reqwest::StatusCode;
use sync_protocol::attachment::{seal_file, sha256_hex};
use sync_protocol::feed::{CorrectionMaterial, Feed, StatusChange, SubmissionStatus};
use sync_protocol::submission::{BatchRequest, BatchResponse, ItemResult, Outcome, Submission};
use sync_protocol::{ErrorCode, paths};
use sync_server::domain::access::Role;
use sync_server::store::SubmissionRef;
use sync_server::store::staff::AuditFilter;
use uuid::Uuid;

use crate::attachments_api::{listing, page, upload_all};
use crate::common::{TestKiosk, TestServer, snapshot, submission};
use crate::staff_client::{StaffClient, add_account, hidden_value};

/// 最低生活保障申请 (GX-MZ-001) lists, in the guide's order: 共同生活家庭成员的居民身份证,
/// 居民户口簿, 家庭经济状况核对授权书, 家庭收入及财产状况声明, 残疾人证或诊断证明.
const HOUSEHOLD_BOOK: &str = "居民户口簿";
const INCOME: &str = "家庭收入及财产状况声明";

/// A server with the seed catalogue, a booth in 石门村, and a handler of 凤岭乡 and one of
/// another township.
async fn county() -> (TestServer, TestKiosk) {
    let server = TestServer::with_seed_catalog().await;
    let kiosk = server.enroll("石门村").await;
    add_account(server.store(), "handler", Role::Handler, "示范县/凤岭乡").await;
    add_account(server.store(), "elsewhere", Role::Handler, "示范县/白圩镇").await;
    (server, kiosk)
}

pub(crate) async fn send(kiosk: &TestKiosk, submissions: Vec<Submission>) -> Vec<ItemResult> {
    let response = kiosk
        .post_json(paths::SUBMISSIONS, &BatchRequest { submissions })
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response
        .json::<BatchResponse>()
        .await
        .expect("batch response")
        .results
}

async fn statuses(kiosk: &TestKiosk) -> Vec<StatusChange> {
    kiosk
        .feed::<StatusChange>(Feed::Statuses, None, 100)
        .await
        .items
}

/// Posts `action` from the submission page as it is now, with `fields` besides.
async fn act(
    client: &mut StaffClient,
    receipt: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> crate::staff_client::Page {
    let page = client.get(&format!("/staff/submissions/{receipt}")).await;
    page.assert_ok();
    let version = hidden_value(&page.body, "version").unwrap_or_default();
    let mut form = vec![("action", action), ("version", version.as_str())];
    form.extend_from_slice(fields);
    client
        .post(&format!("/staff/submissions/{receipt}"), &form)
        .await
}

#[tokio::test]
async fn the_materials_a_handler_ticks_reach_the_booth_with_the_note() {
    let (server, kiosk) = county().await;
    let application = submission(kiosk.number(), 1);
    let receipt = application.receipt_number.clone();
    send(&kiosk, vec![application]).await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    handler
        .get(&format!("/staff/submissions/{receipt}"))
        .await
        .assert_ok()
        .assert_contains("需补正的材料")
        .assert_contains(r#"name="material" value="1""#)
        .assert_contains(HOUSEHOLD_BOOK)
        .assert_contains(r#"name="material" value="4""#);

    // A number the item lacks, too many, materials with another action: refused, nothing
    // reaches the booth.
    let before = statuses(&kiosk).await;
    let unknown = act(
        &mut handler,
        &receipt,
        "request_correction",
        &[("comment", "看不清"), ("material", "5")],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    unknown.assert_contains("no material number 6");
    let many: Vec<(&str, &str)> = std::iter::repeat_n(("material", "1"), 41).collect();
    let too_many = act(&mut handler, &receipt, "request_correction", &many).await;
    assert_eq!(
        too_many.status,
        StatusCode::BAD_REQUEST,
        "{}",
        too_many.body
    );
    let rejected = act(
        &mut handler,
        &receipt,
        "reject",
        &[("comment", "不符合条件"), ("material", "1")],
    )
    .await;
    assert_eq!(
        rejected.status,
        StatusCode::BAD_REQUEST,
        "{}",
        rejected.body
    );
    rejected.assert_contains("only a correction request names materials");
    assert_eq!(statuses(&kiosk).await, before);

    // Ticked out of order, one twice, and a name the form has no say over.
    let asked = act(
        &mut handler,
        &receipt,
        "request_correction",
        &[
            ("material", "3"),
            ("material", "1"),
            ("material", "3"),
            ("material_name", "伪造的材料"),
            ("comment", "户口簿照片模糊，收入声明未签字"),
        ],
    )
    .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);

    let feed = statuses(&kiosk).await;
    let change = feed.last().expect("a change");
    assert_eq!(change.status, SubmissionStatus::NeedsCorrection);
    assert_eq!(
        change.materials,
        [
            CorrectionMaterial {
                index: 1,
                name: HOUSEHOLD_BOOK.into()
            },
            CorrectionMaterial {
                index: 3,
                name: INCOME.into()
            },
        ]
    );
    assert_eq!(
        change.note.as_deref(),
        Some(
            "请补正以下材料：居民户口簿、家庭收入及财产状况声明。原因：户口簿照片模糊，收入声明未签字"
        )
    );
    // The wire carries them as documented.
    let raw: serde_json::Value = kiosk
        .get(&format!("{}/statuses", paths::FEEDS), "limit=100")
        .await
        .json()
        .await
        .expect("feed JSON");
    let items = raw["items"].as_array().expect("items");
    assert_eq!(
        items.last().expect("a change")["materials"],
        serde_json::json!([
            { "index": 1, "name": HOUSEHOLD_BOOK },
            { "index": 3, "name": INCOME },
        ])
    );
    assert!(items[0].get("materials").is_none(), "absent when none");

    let page = handler.get(&format!("/staff/submissions/{receipt}")).await;
    page.assert_ok()
        .assert_contains("需补正")
        .assert_contains("材料：居民户口簿、家庭收入及财产状况声明")
        .assert_lacks("伪造的材料");
    let audit = server
        .store()
        .list_audit(&AuditFilter {
            action: Some("review.request_correction".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    let detail = audit[0].entry.detail.clone().unwrap_or_default();
    assert!(detail.ends_with("; materials 2,4"), "{detail}");

    // The materials arrived: the clock goes on and the booth hears it without materials.
    let received = act(&mut handler, &receipt, "correction_received", &[]).await;
    assert_eq!(received.status, StatusCode::SEE_OTHER, "{}", received.body);
    let last = statuses(&kiosk).await.pop().expect("a change");
    assert_eq!(last.status, SubmissionStatus::Received);
    assert!(last.materials.is_empty());
}

#[tokio::test]
async fn a_supplement_from_another_booth_joins_its_case_and_is_no_case_of_its_own() {
    let (server, here) = county().await;
    let there = server.enroll("龙洞村").await;
    let mut original = submission(here.number(), 1);
    let first = page(30_000, 1);
    original.attachments = vec![listing(&first, 0, 1, false)];
    let receipt = original.receipt_number.clone();
    send(&here, vec![original.clone()]).await;
    assert!(upload_all(&here, &first).await.complete);
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    let asked = act(
        &mut handler,
        &receipt,
        "request_correction",
        &[("material", "1"), ("comment", "户口簿照片模糊")],
    )
    .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);

    // The villager takes the receipt to 龙洞村's booth and photographs the book again.
    let mut supplement = submission(there.number(), 1);
    supplement.applicant = None;
    supplement.contact_phone = None;
    supplement.fields.clear();
    supplement.supplement_to = Some(original.id);
    let again = page(30_000, 2);
    let county = there.enrolled.county_key.clone().expect("the county's key");
    let sealed = seal_file(&county, supplement.id, &again);
    supplement.attachments = vec![listing(&sealed, 1, 1, true)];
    let results = send(&there, vec![supplement.clone()]).await;
    assert_eq!(results[0].outcome, Outcome::Accepted, "{results:?}");
    assert_eq!(results[0].code, None);
    // Its page is the booth's that sent it to upload, not the original's booth's.
    let name = sha256_hex(&sealed);
    let foreign = here.get(&paths::attachment(&name), "").await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert!(upload_all(&there, &sealed).await.complete);

    // Not a case: neither in the inbox, its counts, nor the export.
    let inbox = handler.get("/staff/inbox?status=all&mine=0").await;
    inbox
        .assert_ok()
        .assert_contains(&receipt)
        .assert_lacks(&supplement.receipt_number)
        .assert_contains("共 1 件");
    let export = handler.get("/staff/export.csv?status=all&mine=0").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.body.contains(&receipt));
    assert!(!export.body.contains(&supplement.receipt_number));

    // On the case's page: the pages under their material, marked and dated, and its arrival.
    let base = format!("/staff/submissions/{receipt}/pages/{name}");
    let page = handler.get(&format!("/staff/submissions/{receipt}")).await;
    page.assert_ok()
        .assert_contains("补正</span>")
        .assert_contains(&supplement.receipt_number)
        .assert_contains(&format!("{base}/thumbnail"))
        .assert_contains("补正材料已通过服务亭提交")
        .assert_contains(&format!("服务亭 #{}", there.number()));
    let served = handler.get(&format!("{base}/thumbnail")).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.headers["content-type"], "image/jpeg");
    let views = server
        .store()
        .list_audit(&AuditFilter {
            action: Some("page.thumbnail".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        views[0].entry.detail.as_deref(),
        Some(
            format!(
                "material 2 page 1 of supplement {}",
                supplement.receipt_number
            )
            .as_str()
        )
    );
    let case = server
        .store()
        .review_item(
            &SubmissionRef::Receipt(receipt.clone()),
            &"示范县".parse().unwrap(),
        )
        .await
        .unwrap()
        .expect("the case");
    assert_eq!(
        case.state.status,
        SubmissionStatus::NeedsCorrection,
        "the handler says when the materials are in"
    );

    // Its own receipt leads to the case; it cannot be acted on.
    let followed = handler
        .get(&format!("/staff/submissions/{}", supplement.receipt_number))
        .await;
    assert_eq!(followed.status, StatusCode::SEE_OTHER, "{}", followed.body);
    assert_eq!(
        followed.location.as_deref(),
        Some(format!("/staff/submissions/{receipt}").as_str())
    );
    let acted = handler
        .post(
            &format!("/staff/submissions/{}", supplement.receipt_number),
            &[("action", "accept"), ("comment", ""), ("version", "0")],
        )
        .await;
    assert_eq!(acted.status, StatusCode::NOT_FOUND);

    // Another township sees neither the case, its pages nor where the receipt leads.
    let mut elsewhere = StaffClient::logged_in(&server.url, "elsewhere").await;
    for path in [
        format!("/staff/submissions/{receipt}"),
        format!("/staff/submissions/{}", supplement.receipt_number),
        format!("{base}/thumbnail"),
        base.clone(),
        format!("{base}/view"),
    ] {
        let refused = elsewhere.get(&path).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
        refused.assert_lacks(&receipt);
    }

    // The handler looks, and says the materials are in, as before supplements existed.
    let done = act(&mut handler, &receipt, "correction_received", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}

#[tokio::test]
async fn a_supplement_of_an_unknown_original_is_refused_with_its_code_and_nothing_is_kept() {
    let (server, kiosk) = county().await;
    let before = snapshot(server.store()).await;
    let mut stray = submission(kiosk.number(), 1);
    stray.applicant = None;
    stray.supplement_to = Some(Uuid::now_v7());
    let lost = page(20_000, 3);
    stray.attachments = vec![listing(&lost, 1, 1, false)];
    let fine = submission(kiosk.number(), 2);
    let results = send(&kiosk, vec![stray.clone(), fine.clone()]).await;
    assert_eq!(results[0].outcome, Outcome::Invalid, "{results:?}");
    assert_eq!(results[0].code, Some(ErrorCode::UnknownOriginal));
    assert!(
        results[0]
            .message
            .as_deref()
            .is_some_and(|m| m.contains("does not hold")),
        "{results:?}"
    );
    assert_eq!(
        results[1].outcome,
        Outcome::Accepted,
        "a bad item never fails its batch"
    );

    for named in [
        SubmissionRef::Id(stray.id),
        SubmissionRef::Receipt(stray.receipt_number.clone()),
    ] {
        assert_eq!(server.store().find_submission(&named).await.unwrap(), None);
    }
    let mut after = snapshot(server.store()).await;
    after.submissions.retain(|r| r.submission.id != fine.id);
    for feed in &mut after.statuses {
        feed.retain(|c| c.submission_id != fine.id);
    }
    // Only the accepted item was kept (a signed request also marks the booth as seen).
    assert_eq!(
        (after.submissions, after.statuses),
        (before.submissions, before.statuses)
    );
    let response = kiosk.get(&paths::attachment(&sha256_hex(&lost)), "").await;
    let (status, body) = crate::common::refusal(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body.code, ErrorCode::AttachmentNotListed);
    // Sent again, the same answer: the booth keeps it for a technician.
    let again = send(&kiosk, vec![stray]).await;
    assert_eq!(again[0].code, Some(ErrorCode::UnknownOriginal));
}
