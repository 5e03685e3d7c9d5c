//! What the 我要办理 flow tests share: reading the apply adapter, typing into a labelled box,
//! and walking the flow's steps the way a villager does.

#![allow(dead_code)] // each test file uses a different part

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::ComponentHandle;
use ui::{ApplyAdapter, ApplyStep, PrintState};

use super::common::TestBooth;

/// The sample resident card's number, which must never appear on screen in full.
pub const SAMPLE_ID: &str = "110105198001010016";
pub const SAMPLE_MASKED: &str = "110105********0016";

pub fn adapter(booth: &TestBooth) -> ApplyAdapter<'_> {
    booth.window().global::<ApplyAdapter>()
}

pub fn step(booth: &TestBooth) -> ApplyStep {
    adapter(booth).get_step()
}

pub fn print_state(booth: &TestBooth) -> PrintState {
    adapter(booth).get_print_state()
}

/// Types `text` into the text box labelled `label`, as the on-screen keyboard would.
pub fn type_into(booth: &TestBooth, label: &str, text: &str) {
    let boxes: Vec<ElementHandle> = booth
        .find(label)
        .into_iter()
        .filter(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .collect();
    assert_eq!(
        boxes.len(),
        1,
        "one text box labelled {label:?}; screen:\n{}",
        booth.screen_texts().join("\n")
    );
    boxes[0].set_accessible_value(text);
    booth.pump();
}

/// Opens 我要办理 from Home and waits for `item` in the list (the catalogue comes by sync).
pub fn open_item(booth: &TestBooth, item: &str) {
    booth.click("我要办理");
    booth.eventually(&format!("{item} in the list of items"), |b| {
        b.find(item)
            .iter()
            .any(|e| e.accessible_role() == Some(AccessibleRole::Button))
    });
    booth.click(item);
}

/// Places the sample card and confirms the identity shown masked.
pub fn identify_by_card(booth: &TestBooth) {
    assert_eq!(step(booth), ApplyStep::ReadCard);
    assert!(booth.shows("请把身份证平放在读卡器上，保持不动。正在等待读卡……"));
    booth.place_card(None);
    booth.eventually("the card is read and shown for confirmation", |b| {
        step(b) == ApplyStep::Confirm
    });
    assert!(booth.shows(SAMPLE_MASKED), "the masked number is shown");
    assert!(booth.shows("张三"), "the name is shown to its owner");
    assert_no_full_id(booth);
    booth.click("是我本人，下一步");
    assert_eq!(step(booth), ApplyStep::Form);
}

/// 高龄津贴申领's form: an optional relation and a required phone, with one wrong try.
pub fn fill_old_age_form(booth: &TestBooth) {
    booth.click("子女");
    type_into(booth, "联系电话（必填）", "13800");
    booth.click("下一步");
    assert_eq!(
        step(booth),
        ApplyStep::Form,
        "a short phone number is refused"
    );
    assert!(booth.shows("请填写正确的电话号码，如 13800000000。"));
    type_into(booth, "联系电话（必填）", "13800000000");
    booth.click("下一步");
    assert_eq!(step(booth), ApplyStep::Review);
    for shown in ["高龄津贴申领", "子女", "13800000000", SAMPLE_MASKED] {
        assert!(booth.shows(shown), "the review shows {shown:?}");
    }
}

/// Submits from the review and returns the receipt number the screen shows.
pub fn submit(booth: &TestBooth) -> String {
    booth.click("确认提交");
    booth.eventually("the receipt step", |b| step(b) == ApplyStep::Receipt);
    let number = adapter(booth).get_receipt_number().to_string();
    assert!(!number.is_empty(), "a receipt number");
    assert!(booth.shows(&number), "the screen shows the receipt number");
    assert!(
        adapter(booth).get_receipt_qr().size().width >= 200,
        "the QR code is drawn for the screen"
    );
    number
}

pub fn assert_no_full_id(booth: &TestBooth) {
    let texts = booth.screen_texts();
    assert!(
        !texts.iter().any(|t| t.contains(SAMPLE_ID)),
        "the full ID number is on screen: {texts:?}"
    );
}

/// Every QR payload and text line of a printed receipt.
pub fn qr_and_text(receipt: &hardware::printer::decode::DecodedReceipt) -> (Vec<String>, String) {
    let payloads = receipt
        .qr_payloads()
        .into_iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    (payloads, receipt.text_lines().join("\n"))
}

/// A receipt's QR codes on a booth without a camera, for an item with materials: the receipt
/// number, then the county's one-time page where a phone uploads them.
pub fn assert_number_then_phone_page(payloads: &[String], number: &str, server_url: &str) {
    assert_eq!(payloads.len(), 2, "two codes: {payloads:?}");
    assert_eq!(payloads[0], number, "the first holds the receipt number");
    assert!(
        payloads[1].starts_with(&format!("{server_url}/m/")),
        "the second the phone upload page: {payloads:?}"
    );
}
