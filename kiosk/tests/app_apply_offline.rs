//! Applying while the network is down, with a typed ID number (an item that allows it): the
//! number is checked as typed, the receipt prints at once, the header says offline with one
//! waiting; when the network returns the server gets it and nothing waits any more.

mod app_apply_common;
mod common;

use app_apply_common::{
    assert_number_then_phone_page, open_item, qr_and_text, step, submit, type_into,
};
use common::{BoothOptions, TestBooth};
use kiosk_core::store::SubmissionState;
use slint::ComponentHandle;
use ui::{AppState, ApplyAdapter, ApplyIdError, ApplyStep};

/// A made-up number with a correct GB 11643 check character.
const TYPED_ID: &str = "11010519491231002X";

#[test]
fn offline_submit_is_kept_and_sent_when_the_network_returns() {
    let mut booth = TestBooth::start(BoothOptions::default());
    // The catalogue arrives while online; then the network goes down.
    open_item(&booth, "城乡居民基本医疗保险参保登记");
    booth.server.stop();

    assert_eq!(step(&booth), ApplyStep::ReadCard);
    booth.click("手动输入身份证号码");
    assert_eq!(step(&booth), ApplyStep::TypeId);
    let apply = booth.window().global::<ApplyAdapter>();
    // Checked while typed: a wrong check character is named as soon as all 18 are in.
    type_into(&booth, "身份证号码", "110105194912310021");
    assert_eq!(apply.get_typed_id_error(), ApplyIdError::Wrong);
    assert!(booth.shows("号码有误，请对照身份证逐位核对。"));
    booth.click("下一步");
    assert_eq!(
        step(&booth),
        ApplyStep::TypeId,
        "a wrong number goes no further"
    );
    type_into(&booth, "身份证号码", &TYPED_ID.to_lowercase());
    assert_eq!(apply.get_typed_id_error(), ApplyIdError::None);
    booth.click("下一步");
    assert!(booth.shows("请输入姓名。"), "the name is asked for");
    type_into(&booth, "姓名", "李四");
    booth.click("下一步");
    assert_eq!(step(&booth), ApplyStep::Confirm);
    assert!(booth.shows("110105********002X"));
    booth.click("是我本人，下一步");

    type_into(&booth, "本户参保人数（必填）", "3");
    booth.click("否");
    type_into(&booth, "联系电话（必填）", "0775-5550123");
    booth.click("下一步");
    assert_eq!(step(&booth), ApplyStep::Review);
    let number = submit(&booth);

    let printed = booth.printed(1);
    let (payloads, _) = qr_and_text(&printed[0]);
    // Printed offline at once, the phone page's code too: the link works once it arrives.
    assert_number_then_phone_page(&payloads, &number, &booth.server.url);
    booth.eventually("the header says offline with one waiting", |b| {
        let state = b.window().global::<AppState>();
        !state.get_online() && state.get_waiting_count() == 1 && b.shows("1 件等待")
    });
    assert!(
        booth.shows("本服务亭目前没有联网"),
        "the receipt says it is kept"
    );
    {
        let store = booth.store();
        let store = store.lock().expect("the store");
        let item = store.queue_item(&number).expect("queued on the booth");
        assert_ne!(item.state, SubmissionState::Acknowledged, "not sent yet");
    }

    booth.server.restart();
    booth.app.ctx().services.wake_sync();
    booth.eventually("the server has it once the network is back", |b| {
        b.server.receipt_numbers().contains(&number)
    });
    booth.eventually("online and nothing waiting", |b| {
        let state = b.window().global::<AppState>();
        state.get_online() && state.get_waiting_count() == 0
    });
}
