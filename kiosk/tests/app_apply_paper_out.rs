//! The printer is out of paper when the villager submits: the application is still saved,
//! the screen shows the receipt with a large QR code and says to photograph it; once paper is
//! loaded, "print the receipt again" prints it.

mod app_apply_common;
mod common;

use app_apply_common::{
    assert_number_then_phone_page, fill_old_age_form, identify_by_card, open_item, print_state,
    qr_and_text, submit,
};
use common::{BoothOptions, TestBooth};
use hardware::printer::emulator::Fault;
use i_slint_backend_testing::ElementHandle;
use ui::PrintState;

#[test]
fn paper_out_shows_the_receipt_to_photograph_and_reprints_later() {
    let booth = TestBooth::start(BoothOptions::default());
    let printer = booth.printer.as_ref().expect("a printer");
    printer.set_fault(Fault::PaperEnd);

    open_item(&booth, "高龄津贴申领");
    identify_by_card(&booth);
    fill_old_age_form(&booth);
    let number = submit(&booth);

    booth.eventually("the paper-out message", |b| {
        print_state(b) == PrintState::PaperOut
            && b.shows("打印机缺纸，回执没有打印出来。您的申请已保存，不会丢失。请用手机拍下本页的二维码和回执编号")
    });
    assert!(
        printer.receipts().is_empty(),
        "nothing came out of the printer"
    );
    assert!(
        booth.shows(&number),
        "the number is on screen to photograph"
    );
    let qr: Vec<ElementHandle> = booth.find("回执编号二维码");
    assert_eq!(qr.len(), 1, "one QR code on screen");
    let size = qr[0].size();
    assert!(
        size.width >= 500.0 && size.height >= 500.0,
        "the QR code is large when it is the only copy: {size:?}"
    );

    // Saved all the same.
    {
        let store = booth.store();
        let store = store.lock().expect("the store");
        assert!(
            store.receipt(&number).expect("read the store").is_some(),
            "the application is saved"
        );
    }

    // Paper loaded: reprint from the receipt screen.
    printer.set_fault(Fault::None);
    booth.click("重新打印回执");
    let printed = booth.printed(1);
    assert_eq!(printed.len(), 1, "the receipt printed on the second try");
    let (payloads, text) = qr_and_text(&printed[0]);
    assert_number_then_phone_page(&payloads, &number, &booth.server.url);
    assert!(text.contains(&number), "{text}");
    booth.eventually("the printed message", |b| {
        print_state(b) == PrintState::Printed && b.shows("回执已打印")
    });
}
