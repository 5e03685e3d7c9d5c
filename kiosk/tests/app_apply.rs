//! 我要办理 end to end with the ID card: choose 高龄津贴申领, place the sample card, confirm the
//! masked identity, fill the form (one wrong phone first), review, submit; the receipt prints
//! with the receipt number as its QR code, shows on screen, is queued in the booth's store
//! (findable by the same card) and reaches the server. Home then clears it all.

mod app_apply_common;
mod common;

use app_apply_common::{
    SAMPLE_ID, SAMPLE_MASKED, adapter, assert_no_full_id, assert_number_then_phone_page,
    fill_old_age_form, identify_by_card, open_item, print_state, qr_and_text, step, submit,
};
use common::{BoothOptions, Page, TestBooth};
use kiosk_core::store::SubmissionState;
use slint::ComponentHandle;
use ui::{AppState, ApplyStep, PrintState};

#[test]
fn apply_with_the_id_card_prints_queues_and_syncs() {
    let booth = TestBooth::start(BoothOptions::default());
    open_item(&booth, "高龄津贴申领");
    assert_eq!(booth.page(), Page::Apply);
    // The item needs the address from the card: no typing the number instead.
    assert!(booth.find("手动输入身份证号码").is_empty());
    identify_by_card(&booth);
    fill_old_age_form(&booth);
    let number = submit(&booth);

    // The paper receipt: the number as text and as the QR payload, item, masked ID, limit.
    let printed = booth.printed(1);
    assert_eq!(printed.len(), 1, "one receipt printed");
    let (payloads, text) = qr_and_text(&printed[0]);
    assert_number_then_phone_page(&payloads, &number, &booth.server.url);
    for expected in [
        number.as_str(),
        "高龄津贴申领",
        SAMPLE_MASKED,
        "15个工作日",
        "咨询电话",
    ] {
        assert!(
            text.contains(expected),
            "receipt lacks {expected:?}:\n{text}"
        );
    }
    assert!(!text.contains(SAMPLE_ID), "full ID number printed:\n{text}");
    booth.eventually("the printed message", |b| {
        print_state(b) == PrintState::Printed && b.shows("回执已打印")
    });
    assert!(booth.shows(&number) && booth.shows(SAMPLE_MASKED));
    assert_no_full_id(&booth);

    // Durably queued in the booth's store, with a masked copy for the progress page, and
    // listed for the same card.
    let store = booth.store();
    {
        let store = store.lock().expect("the store");
        let local = store
            .receipt(&number)
            .expect("read the receipt")
            .expect("the receipt is stored");
        assert_eq!(local.masked_id.as_deref(), Some(SAMPLE_MASKED));
        assert_eq!(local.item_code.as_deref(), Some("GX-MZ-003"));
        let mine = store
            .receipts_for_holder(SAMPLE_ID)
            .expect("receipts for the card");
        assert!(
            mine.iter().any(|r| r.number == number),
            "the card lists its receipt"
        );
    }

    // Sync uploads it: the server has it, the booth's queue says so, the header count is 0.
    booth.eventually("the server has the submission", |b| {
        b.server.receipt_numbers().contains(&number)
    });
    booth.eventually("the booth saw the upload acknowledged", |b| {
        let store = b.store();
        let store = store.lock().expect("the store");
        store
            .queue_item(&number)
            .is_ok_and(|item| item.state == SubmissionState::Acknowledged)
    });
    booth.eventually("nothing waiting", |b| {
        b.window().global::<AppState>().get_waiting_count() == 0
    });

    // Back offers another item; Home ends the session and nothing of theirs stays.
    booth.click("返回");
    assert_eq!(step(&booth), ApplyStep::ChooseItem);
    booth.click("首页");
    assert_eq!(booth.page(), Page::Home);
    let apply = adapter(&booth);
    assert_eq!(apply.get_receipt_number(), "");
    assert_eq!(apply.get_holder_name(), "");
    assert_eq!(apply.get_masked_id(), "");
    assert_eq!(apply.get_step(), ApplyStep::ChooseItem);
    assert!(booth.app.ctx().holder().is_none(), "the card is dropped");
}
