//! An anonymous complaint typed on the on-screen keyboard in pinyin: the category is chosen,
//! the text is typed key by key and picked from the candidate bar, a wrong phone number is
//! refused in plain words and erased; the complaint is saved with a receipt number, printed,
//! and reaches the server with the typed Chinese text and nothing identifying.

mod common;

use common::{BoothOptions, Page, TestBooth};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::platform::PointerEventButton;
use slint::{ComponentHandle, Model};
use sync_protocol::submission::SubmissionKind;
use ui::{AppState, ComplaintStep, ComplaintsAdapter, KeyboardAdapter, KeyboardMode};

/// Touches the text field labelled `label`, as a finger would (the keyboard opens).
fn touch_field(booth: &TestBooth, label: &str) {
    let field = booth
        .find(label)
        .into_iter()
        .find(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .unwrap_or_else(|| panic!("no text field {label:?}"));
    field.mock_single_click(PointerEventButton::Left);
    booth.pump();
}

fn visible_button(booth: &TestBooth, label: &str) -> Option<ElementHandle> {
    booth
        .find(label)
        .into_iter()
        .find(|e| e.accessible_role() == Some(AccessibleRole::Button))
}

/// Types `pinyin` key by key, then pages the candidate bar to `word` and taps it.
fn type_word(booth: &TestBooth, pinyin: &str, word: &str) {
    for letter in pinyin.chars() {
        booth.click(&letter.to_string());
    }
    assert_eq!(
        booth.window().global::<KeyboardAdapter>().get_preedit(),
        pinyin
    );
    let candidate = format!("候选 {word}");
    for _ in 0..12 {
        if let Some(button) = visible_button(booth, &candidate) {
            button.invoke_accessible_default_action();
            booth.pump();
            return;
        }
        booth.click("下一页候选字");
    }
    panic!("{word} is not among the candidates for {pinyin}");
}

#[test]
fn an_anonymous_complaint_typed_in_pinyin_reaches_the_server() {
    let booth = TestBooth::start(BoothOptions {
        reader: false,
        scanner: false,
        ..BoothOptions::default()
    });
    booth.eventually("the village name from enrollment", |b| {
        b.window()
            .global::<AppState>()
            .get_village_name()
            .contains("石桥村")
    });
    booth.click("投诉建议");
    assert_eq!(booth.page(), Page::Complaints);
    let complaints = booth.window().global::<ComplaintsAdapter>();
    assert!(!complaints.get_card_available(), "no card was read");

    // Sending an empty form says what is missing first.
    booth.click("提交");
    assert!(booth.shows("请先选择一个类别（第 1 步）。"));
    booth.click("办事效率");

    touch_field(&booth, "2. 请写下您的意见");
    let keyboard = booth.window().global::<KeyboardAdapter>();
    assert_eq!(keyboard.get_mode(), KeyboardMode::Pinyin);
    type_word(&booth, "banshi", "办事");
    type_word(&booth, "tai", "太");
    type_word(&booth, "man", "慢");
    booth.click("。");
    assert_eq!(complaints.get_text(), "办事太慢。");
    assert_eq!(keyboard.get_preedit(), "", "nothing left half-typed");
    // With nothing being composed, backspace edits the field; space takes the best candidate.
    booth.click("退格");
    assert_eq!(complaints.get_text(), "办事太慢");
    for letter in ["l", "e"] {
        booth.click(letter);
    }
    let best = keyboard
        .get_candidates()
        .row_data(0)
        .expect("candidates for le");
    booth.click("空格");
    assert_eq!(complaints.get_text(), format!("办事太慢{best}"));
    booth.click("退格");
    booth.click("。");
    assert_eq!(complaints.get_text(), "办事太慢。");

    // A phone number that is neither a mobile nor a landline is refused, then erased.
    touch_field(&booth, "3. 联系电话（可不填）");
    assert_eq!(keyboard.get_mode(), KeyboardMode::Digits);
    for digit in ["1", "2", "3", "4", "5"] {
        booth.click(digit);
    }
    assert_eq!(complaints.get_phone(), "12345");
    booth.click("提交");
    assert!(booth.shows("电话号码不对"));
    assert_eq!(complaints.get_step(), ComplaintStep::Form);
    for _ in 0..5 {
        booth.click("退格");
    }
    assert_eq!(complaints.get_phone(), "");
    booth.click("提交");

    // Saved: the receipt number on screen and on paper.
    booth.eventually("the thank-you with the receipt number", |b| {
        let complaints = b.window().global::<ComplaintsAdapter>();
        complaints.get_step() == ComplaintStep::Thanks
            && !complaints.get_receipt_number().is_empty()
    });
    let number = complaints.get_receipt_number().to_string();
    assert!(booth.shows(&number));
    assert!(
        visible_button(&booth, "收起键盘").is_none(),
        "the keyboard closed with the form"
    );
    let printed = booth.printed(1);
    let paper = printed[0].text_lines().join("\n");
    assert!(paper.contains(&number), "{paper}");
    assert!(paper.contains("投诉"), "{paper}");
    booth.eventually("the printed message", |b| b.shows("回执已打印"));

    // Sync was woken: the complaint reaches the server, anonymous, with the typed text.
    booth.eventually("the complaint on the server", |b| {
        b.server.receipt_numbers().contains(&number)
    });
    let filter = sync_server::store::SubmissionFilter::default();
    let records = booth
        .server
        .block_on(booth.server.state().store().list_submissions(&filter))
        .expect("list submissions");
    let record = records
        .iter()
        .find(|r| r.submission.receipt_number == number)
        .expect("our complaint");
    let submission = &record.submission;
    assert_eq!(submission.kind, SubmissionKind::Complaint);
    assert_eq!(submission.text.as_deref(), Some("办事太慢。"));
    assert_eq!(
        submission.fields.get("category").map(String::as_str),
        Some("办事效率")
    );
    assert!(submission.applicant.is_none(), "anonymous");
    assert!(submission.contact_phone.is_none());

    // "Another comment" starts from an empty form; Home leaves nothing behind.
    booth.click("再提一条");
    assert_eq!(complaints.get_step(), ComplaintStep::Form);
    assert_eq!(complaints.get_text(), "");
    booth.click("首页");
    assert_eq!(complaints.get_receipt_number(), "");
}
