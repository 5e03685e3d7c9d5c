//! 服务评价 end to end: choose 高龄津贴申领 from the catalogue, rate it 不满意 with the reason
//! 等待时间长 and a remark; the evaluation is queued in the booth's store with its own receipt
//! number (shown in the thank-you) and reaches the server with rating 2 and the reason.

mod common;

use common::{BoothOptions, Page, TestBooth};
use i_slint_backend_testing::AccessibleRole;
use kiosk::app::rating::{REASON_FIELD, RECEIPT_FIELD};
use slint::ComponentHandle;
use sync_protocol::submission::SubmissionKind;
use sync_server::store::SubmissionFilter;
use ui::{RatingAdapter, RatingView};

const ITEM: &str = "GX-MZ-003";

/// Buttons labelled `label` (a tile's text is labelled too).
fn buttons(booth: &TestBooth, label: &str) -> usize {
    booth
        .find(label)
        .iter()
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .count()
}

fn view(booth: &TestBooth) -> RatingView {
    booth.window().global::<RatingAdapter>().get_view()
}

#[test]
fn rate_a_service_as_dissatisfied_with_a_reason() {
    let booth = TestBooth::start(BoothOptions::default());
    booth.click("服务评价");
    assert_eq!(booth.page(), Page::Rating);
    assert!(booth.shows("评价完全自愿"));
    booth.eventually("the catalogue's services to choose from", |b| {
        !b.find("高龄津贴申领").is_empty()
    });
    booth.click("高龄津贴申领");
    assert_eq!(view(&booth), RatingView::Levels);
    assert!(booth.shows("评价事项：高龄津贴申领"));
    for level in ["非常满意", "满意", "基本满意", "不满意", "非常不满意"] {
        assert_eq!(buttons(&booth, level), 1, "{level} is one tile");
    }
    assert_eq!(
        buttons(&booth, "等待时间长"),
        0,
        "no reasons before a level"
    );

    // Nothing chosen yet: nothing is sent, the screen says what to do.
    booth.click("提交评价");
    assert!(booth.shows("请先在上面选择满意程度"));
    assert_eq!(view(&booth), RatingView::Levels);

    booth.click("不满意");
    booth.click("等待时间长");
    let remark = booth.find("其他意见");
    assert_eq!(remark.len(), 1, "one labelled remark field");
    remark[0].set_accessible_value("排队一个多小时");
    booth.click("提交评价");
    booth.eventually("the thank-you", |b| view(b) == RatingView::Done);
    assert!(booth.shows("感谢您的评价"));
    let number = booth
        .window()
        .global::<RatingAdapter>()
        .get_thanks_number()
        .to_string();
    assert!(
        booth.shows(&format!("评价回执编号：{number}")),
        "{:#?}",
        booth.screen_texts()
    );

    // Queued in the booth's store under that number.
    let local = booth
        .store()
        .lock()
        .expect("the store")
        .receipt(&number)
        .expect("read the receipt")
        .expect("the evaluation has a local receipt");
    assert_eq!(local.kind, SubmissionKind::Evaluation);
    assert_eq!(local.item_code.as_deref(), Some(ITEM));
    assert_eq!(local.masked_id, None, "no identity taken");

    // And on the server, with rating 2 and the reason in the county's words.
    booth.eventually("the evaluation reaches the server", |b| {
        b.server.receipt_numbers().contains(&number)
    });
    let records = booth
        .server
        .block_on(
            booth
                .server
                .state()
                .store()
                .list_submissions(&SubmissionFilter::default()),
        )
        .expect("list submissions");
    let record = records
        .iter()
        .find(|r| r.submission.receipt_number == number)
        .expect("the evaluation on the server");
    let submission = &record.submission;
    assert_eq!(submission.kind, SubmissionKind::Evaluation);
    assert_eq!(submission.rating, Some(2));
    assert_eq!(submission.item_code.as_deref(), Some(ITEM));
    assert_eq!(
        submission.fields.get(REASON_FIELD).map(String::as_str),
        Some("等待时间长")
    );
    assert_eq!(
        submission.fields.get(RECEIPT_FIELD),
        None,
        "not rated by receipt"
    );
    assert_eq!(submission.text.as_deref(), Some("排队一个多小时"));
    assert_eq!(submission.applicant, None);

    // Home clears the page for the next villager.
    booth.click("首页");
    let rating = booth.window().global::<RatingAdapter>();
    assert_eq!(rating.get_view(), RatingView::Choose);
    assert_eq!(rating.get_level(), 0);
    assert_eq!(rating.get_comment(), "");
    assert_eq!(rating.get_thanks_number(), "");
}
