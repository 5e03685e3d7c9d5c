//! 我要办理 on a booth with a document camera (a recording of a page on a desk): after the form,
//! the item's materials from its guide; the villager photographs one material in one page and
//! another in two (the first of them taken again), leaves one to hand in at the office, and
//! submits. The pages are in the booth's store under their materials, the review says what
//! was given, and the server ends up holding every page once. Then the county asks for the
//! household register again (补正 naming it): scanning the receipt shows which material, and
//! the page photographed again reaches the server as a supplement of the same application.

mod app_apply_common;
mod common;

use app_apply_common::{adapter, identify_by_card, open_item, step, submit, type_into};
use common::{BoothOptions, TestBooth};
use slint::Model;
use sync_protocol::feed::{CorrectionMaterial, Feed, FeedPage, StatusChange, SubmissionStatus};
use sync_server::store::SubmissionRef;
use ui::{ApplyPhotoState, ApplyStep};

fn photo_state(booth: &TestBooth) -> ApplyPhotoState {
    adapter(booth).get_photo_state()
}

/// On the camera step: waits for the live picture with the page found, takes it, and waits
/// for the page to check.
fn take_page(booth: &TestBooth) {
    booth.eventually("the live picture, with the page found", |b| {
        photo_state(b) == ApplyPhotoState::Preview && adapter(b).get_photo_page_found()
    });
    assert!(booth.shows("看到整页了"), "the villager is told to take it");
    assert!(
        adapter(booth).get_photo_preview().size().width > 0,
        "the live picture is drawn"
    );
    booth.click("拍照");
    booth.eventually("the page to check", |b| {
        photo_state(b) == ApplyPhotoState::Check
    });
    let page = adapter(booth).get_photo_taken().size();
    assert!(
        page.height > page.width,
        "the page is shown upright and flattened: {page:?}"
    );
}

#[test]
fn materials_are_photographed_page_by_page_and_reach_the_county_with_the_application() {
    let booth = TestBooth::start(BoothOptions {
        camera: true,
        ..BoothOptions::default()
    });
    open_item(&booth, "高龄津贴申领");
    identify_by_card(&booth);
    booth.click("子女");
    type_into(&booth, "联系电话（必填）", "13800000000");
    booth.click("下一步");
    assert_eq!(step(&booth), ApplyStep::Materials);
    assert!(
        booth.shows("第 4 步（共 6 步）"),
        "the step count grew by one"
    );
    for listed in [
        "老年人居民身份证",
        "居民户口簿",
        "惠农补贴“一卡通”存折或银行卡",
        "代办人居民身份证",
    ] {
        assert!(
            booth.shows(listed),
            "the guide's material {listed:?} is listed"
        );
    }

    // The ID card: one page.
    booth.click("给“老年人居民身份证”拍照");
    assert_eq!(step(&booth), ApplyStep::Photo);
    assert!(booth.shows("拍第 1 页"));
    take_page(&booth);
    booth.click("这页可以，这份拍完了");
    assert_eq!(step(&booth), ApplyStep::Materials);
    assert!(booth.shows("✔ 已拍 1 页"));

    // The household register: the first page retaken, then a second page.
    booth.click("给“居民户口簿”拍照");
    take_page(&booth);
    booth.click("重拍");
    take_page(&booth);
    booth.click("这页可以，拍下一页");
    assert_eq!(step(&booth), ApplyStep::Photo);
    assert!(booth.shows("拍第 2 页"));
    take_page(&booth);
    booth.click("这页可以，这份拍完了");
    assert!(booth.shows("✔ 已拍 2 页"));

    // The bank book is handed in later; the agent's card is not needed (applying in person).
    booth.click("“惠农补贴“一卡通”存折或银行卡”以后交到窗口");
    assert!(booth.shows("○ 以后交到窗口"));
    booth.click("下一步");
    assert_eq!(step(&booth), ApplyStep::Review);
    for shown in [
        "已拍 1 页",
        "已拍 2 页",
        "以后交到窗口",
        "没有拍照，请以后交到窗口",
    ] {
        assert!(booth.shows(shown), "the review says {shown:?}");
    }
    let number = submit(&booth);
    assert!(booth.shows("第 6 步（共 6 步）"));

    // Durably in the booth's store with the application; the server then holds each page.
    let store = booth.store();
    let (pending, held, refused) = store.lock().unwrap().file_counts().unwrap();
    assert_eq!(pending + held, 3, "three pages listed");
    assert_eq!(refused, 0);
    booth.eventually("the server has the application", |b| {
        b.server.receipt_numbers().contains(&number)
    });
    booth.eventually("the server holds every page", |b| {
        let store = b.store();
        let counts = store.lock().unwrap().file_counts().unwrap();
        counts == (0, 3, 0)
    });

    // Home ends the session: the screen keeps no picture of the villager's papers.
    booth.click("首页");
    let apply = adapter(&booth);
    assert_eq!(apply.get_photo_taken().size().width, 0);
    assert_eq!(apply.get_photo_preview().size().width, 0);
    assert_eq!(apply.get_materials().row_count(), 0);

    // The county asks for the household register again. (The staff pages' side, ticking
    // the material, is the server's test `corrections`; here the change arrives as its feed
    // brings it, after the server's own 已接收.)
    booth.eventually("the server's receipt of it", |b| {
        let store = b.store();
        let receipt = store.lock().unwrap().receipt(&number).unwrap().unwrap();
        receipt.status == Some(SubmissionStatus::Received)
    });
    {
        let mut store = store.lock().unwrap();
        let receipt = store.receipt(&number).unwrap().unwrap();
        let cursor = store
            .feed_cursor(Feed::Statuses)
            .unwrap()
            .unwrap_or_default();
        store
            .apply_status_page(&FeedPage {
                items: vec![StatusChange {
                    submission_id: receipt.submission_id,
                    receipt_number: number.clone(),
                    status: SubmissionStatus::NeedsCorrection,
                    note: Some("请补正以下材料：居民户口簿。原因：第二页看不清".into()),
                    changed_at: chrono::Utc::now(),
                    materials: vec![CorrectionMaterial {
                        index: 1,
                        name: "居民户口簿".into(),
                    }],
                }],
                cursor,
                more: false,
            })
            .unwrap();
    }
    booth.scan(&number);
    booth.eventually("the receipt's correction", |b| {
        b.shows("需要重新拍照的材料")
    });
    assert!(booth.shows("· 居民户口簿"));
    booth.click("现在拍照补正");
    assert_eq!(step(&booth), ApplyStep::Materials);
    assert!(booth.shows("第 1 步（共 3 步）"));
    assert!(booth.shows(&number), "the application it joins is named");
    assert!(
        !booth.shows("老年人居民身份证"),
        "only the material asked for"
    );
    booth.click("下一步");
    assert_eq!(step(&booth), ApplyStep::Materials, "nothing to send yet");
    booth.click("给“居民户口簿”拍照");
    take_page(&booth);
    booth.click("这页可以，这份拍完了");
    booth.click("下一步");
    assert_eq!(step(&booth), ApplyStep::Review);
    let supplement = submit(&booth);
    assert_ne!(supplement, number, "a receipt of its own");
    assert!(booth.shows("补正材料已提交"));

    // At the county it joins the same application, its page filed under the register.
    booth.eventually("the supplement's page held", |b| {
        let store = b.store();
        let counts = store.lock().unwrap().file_counts().unwrap();
        counts == (0, 4, 0)
    });
    let server = &booth.server;
    let original = server
        .block_on(
            server
                .state()
                .store()
                .find_submission(&SubmissionRef::Receipt(number)),
        )
        .unwrap()
        .expect("the original");
    let joined = server
        .block_on(
            server
                .state()
                .store()
                .supplements(original.submission.id, 10),
        )
        .unwrap();
    assert_eq!(joined.len(), 1, "one supplement joined the case");
    let pages = &joined[0].submission.attachments;
    assert_eq!(pages.len(), 1);
    assert_eq!(
        (pages[0].material, pages[0].material_name.as_str()),
        (1, "居民户口簿")
    );
}
