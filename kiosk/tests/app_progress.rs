//! 进度查询 end to end: two applications handed in on this booth (by two different cards)
//! reach the server; scanning one on Home shows it received, and when the county asks for a
//! correction the open page shows the history and what to bring; a typed number with a wrong
//! check character is refused in plain words; placing the ID card lists that card's receipts
//! only. The receipt is printed again, and its service rated from its page.

mod common;

use std::collections::BTreeMap;

use chrono::Utc;
use common::{BoothOptions, Page, TestBooth};
use hardware::id_card::samples;
use kiosk_core::store::NewSubmission;
use slint::ComponentHandle;
use sync_protocol::feed::SubmissionStatus;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{Applicant, SubmissionKind};
use sync_server::store::SubmissionRef;
use ui::{ProgressAdapter, ProgressView, RatingAdapter, RatingView};

const ITEM: &str = "GX-MZ-003";
const NOTE: &str = "请带户口本原件到乡镇民政办补正";

/// An application for 高龄津贴申领 by the holder of `id_number`, as the apply flow builds it.
fn application(name: &str, id_number: &str) -> NewSubmission {
    NewSubmission {
        item_code: Some(ITEM.into()),
        fields: BTreeMap::from([("phone".to_owned(), "13912345678".to_owned())]),
        applicant: Some(Applicant {
            name: Some(name.into()),
            id_number: Some(id_number.into()),
            address: Some("示范县凤岭乡".into()),
        }),
        contact_phone: Some("13912345678".into()),
        holder_id_number: Some(id_number.into()),
        ..NewSubmission::new(SubmissionKind::Application)
    }
}

fn adapter_view(booth: &TestBooth) -> ProgressView {
    booth.window().global::<ProgressAdapter>().get_view()
}

#[test]
fn progress_by_scan_typed_number_and_card() {
    let booth = TestBooth::start(BoothOptions::default());
    let store = booth.store();
    booth.eventually("the catalogue synced", |_| {
        store
            .lock()
            .expect("the store")
            .catalog_item(ITEM)
            .ok()
            .flatten()
            .is_some()
    });

    let resident = samples::resident();
    let permit = samples::permit();
    let (mine, theirs) = {
        let mut store = store.lock().expect("the store");
        let mine = store
            .submit(application("张三", resident.id_number().expose()))
            .expect("submit mine");
        let theirs = store
            .submit(application("李四", permit.id_number().expose()))
            .expect("submit theirs");
        (mine.number.to_string(), theirs.number.to_string())
    };
    booth.app.ctx().services.wake_sync();
    booth.eventually("both applications reach the server", |b| {
        let on_server = b.server.receipt_numbers();
        on_server.contains(&mine) && on_server.contains(&theirs)
    });

    // 1. Scanning the receipt on Home opens its progress: received, nothing to do yet.
    assert_eq!(booth.page(), Page::Home);
    booth.scan(&mine);
    booth.eventually("the scanned receipt's progress", |b| {
        b.page() == Page::Progress
            && adapter_view(b) == ProgressView::Detail
            && b.shows("当前状态：已接收")
    });
    assert!(!booth.shows("需要补正"));

    // The county asks for a correction; the booth pulls it and the open page shows it.
    let changed = booth
        .server
        .block_on(booth.server.state().store().set_status(
            &SubmissionRef::Receipt(mine.clone()),
            SubmissionStatus::NeedsCorrection,
            Some(NOTE.into()),
            Utc::now(),
        ))
        .expect("set the status");
    assert!(changed.is_some(), "the server knows {mine}");
    booth.eventually("the correction on the open page", |b| {
        b.shows("当前状态：需补正")
    });
    for expected in [
        format!("回执编号：{mine}"),
        "高龄津贴申领".to_owned(),
        "当前状态：需补正".to_owned(),
        "需要补正：请带上以下材料".to_owned(),
        NOTE.to_owned(),
        "在本机提交".to_owned(),
        "已接收".to_owned(),
        "咨询电话：0775-5550103".to_owned(),
    ] {
        assert!(
            booth.shows(&expected),
            "{expected:?} missing: {:#?}",
            booth.screen_texts()
        );
    }
    // The history lists each step once: handed in, received, correction.
    let history = booth.window().global::<ProgressAdapter>().get_history();
    assert_eq!(slint::Model::row_count(&history), 3);

    // Its receipt prints again (the printer may have been out of paper at the time).
    booth.click("补打回执");
    let printed = booth.printed(1);
    let text = printed[0].text_lines().join("\n");
    assert!(
        text.contains(&mine) && text.contains("高龄津贴申领"),
        "{text}"
    );
    assert!(!text.contains(resident.id_number().expose()), "{text}");
    booth.eventually("the reprinted message", |b| b.shows("回执已重新打印"));

    // 2. A typed number with a wrong check character is refused, saying why.
    booth.click("返回");
    assert_eq!(adapter_view(&booth), ProgressView::Start);
    let parsed: ReceiptNumber = mine.parse().expect("a receipt number");
    let check = mine.chars().last().expect("a check character");
    let wrong = if check == 'A' { 'B' } else { 'A' };
    let mistyped = format!("{}{wrong}", &mine[..mine.len() - 1]);
    assert!(mistyped.parse::<ReceiptNumber>().is_err());
    let input = booth.find("输入回执编号");
    assert_eq!(input.len(), 1, "one labelled number field");
    input[0].set_accessible_value(mistyped);
    booth.click("查询");
    booth.eventually("the plain message for the check character", |b| {
        b.shows("最后一位校验码对不上")
    });
    assert_eq!(adapter_view(&booth), ProgressView::Start, "nothing opened");
    // The right number, typed in lower case without dashes, is found.
    let typed = mine.replace('-', "").to_lowercase();
    assert_eq!(typed.parse::<ReceiptNumber>(), Ok(parsed));
    booth.find("输入回执编号")[0].set_accessible_value(typed);
    booth.click("查询");
    booth.eventually("the typed receipt's progress", |b| {
        adapter_view(b) == ProgressView::Detail && b.shows(&format!("回执编号：{mine}"))
    });

    // 3. The ID card lists that card's receipts, and only those.
    booth.click("返回");
    booth.click("刷身份证，查看我在本机办理的事项");
    assert_eq!(adapter_view(&booth), ProgressView::Card);
    assert!(booth.shows("请把身份证平放在读卡器上"));
    booth.place_card(None);
    let masked = resident.id_number().masked();
    booth.eventually("the card's receipts", |b| {
        b.shows(&format!("身份证 {masked}：在本机办理的事项共 1 项"))
    });
    assert!(!booth.find(&mine).is_empty(), "{:#?}", booth.screen_texts());
    assert!(
        booth.find(&theirs).is_empty(),
        "another card's receipt listed"
    );
    assert!(
        !booth
            .screen_texts()
            .iter()
            .any(|t| t.contains(resident.id_number().expose())),
        "the full ID number is on screen"
    );
    booth.remove_card();
    booth.click(&mine);
    booth.eventually("the listed receipt opens", |b| {
        adapter_view(b) == ProgressView::Detail && b.shows(NOTE)
    });
    // Back returns to the list, not the start.
    booth.click("返回");
    assert_eq!(adapter_view(&booth), ProgressView::Card);

    // "Rate this" from the receipt's page rates its service, naming the receipt.
    booth.click(&mine);
    booth.eventually("the receipt again", |b| {
        adapter_view(b) == ProgressView::Detail
    });
    booth.click("评价此项服务");
    assert_eq!(booth.page(), Page::Rating);
    booth.eventually("the levels for this receipt", |b| {
        b.window().global::<RatingAdapter>().get_view() == RatingView::Levels
    });
    assert!(
        booth.shows(&format!("评价事项：高龄津贴申领（回执 {mine}）")),
        "{:#?}",
        booth.screen_texts()
    );
    booth.click("满意");
    booth.click("提交评价");
    booth.eventually("the thank-you", |b| {
        b.window().global::<RatingAdapter>().get_view() == RatingView::Done
    });
    let thanks = booth
        .window()
        .global::<RatingAdapter>()
        .get_thanks_number()
        .to_string();
    let rated = store
        .lock()
        .expect("the store")
        .receipt(&thanks)
        .expect("read")
        .expect("the evaluation is queued");
    assert_eq!(rated.kind, SubmissionKind::Evaluation);
    assert_eq!(rated.item_code.as_deref(), Some(ITEM));

    // Home forgets it all.
    booth.click("首页");
    assert_eq!(booth.page(), Page::Home);
    let progress = booth.window().global::<ProgressAdapter>();
    assert_eq!(progress.get_view(), ProgressView::Start);
    assert_eq!(progress.get_masked_id(), "");
    assert_eq!(slint::Model::row_count(&progress.get_receipts()), 0);
    assert_eq!(progress.get_typed_number(), "");
}
