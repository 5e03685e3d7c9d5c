//! Technician mode on a booth fresh from the box: the long press on the village name opens
//! enrollment straight away (no PIN exists yet); enrolling with the county's code names the
//! village in the header and sets the PIN; from then on the PIN guards the way in (a wrong PIN
//! is refused); the queue page counts what waits and "sync now" sends it; the devices page
//! prints a test page on the printer and reads one code from the scanner.

mod common;

use common::{BoothOptions, Page, TestBooth};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk_core::store::NewSubmission;
use slint::ComponentHandle;
use sync_protocol::submission::SubmissionKind;
use ui::{
    AppState, TechnicianAdapter, TechnicianEnrollState, TechnicianPinState, TechnicianQueueState,
    TechnicianView,
};

fn adapter(booth: &TestBooth) -> TechnicianAdapter<'_> {
    booth.window().global::<TechnicianAdapter>()
}

fn view(booth: &TestBooth) -> TechnicianView {
    adapter(booth).get_view()
}

/// Types `text` into the text field labelled `label`, as the on-screen keyboard would.
fn type_into(booth: &TestBooth, label: &str, text: &str) {
    let fields: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(booth.window(), label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .collect();
    assert_eq!(fields.len(), 1, "one text field labelled {label:?}");
    fields[0].set_accessible_value(text);
    booth.pump();
}

fn enter_pin(booth: &TestBooth, pin: &str) {
    for digit in pin.chars() {
        booth.click(&digit.to_string());
    }
    booth.click("确定");
}

#[test]
fn enrollment_pin_queue_and_test_print() {
    let mut booth = TestBooth::start(BoothOptions {
        enrolled: false,
        ..BoothOptions::default()
    });
    booth.eventually("the header says the booth is not enrolled", |b| {
        b.window()
            .global::<AppState>()
            .get_village_name()
            .contains("未登记")
    });

    // First provisioning: no PIN yet, so the long press opens enrollment directly.
    booth.click("技术人员入口");
    booth.eventually("the enrollment page", |b| {
        b.page() == Page::Technician && view(b) == TechnicianView::Enroll
    });
    // Without a PIN the booth is not enrolled: the first PIN is set here.
    let code = booth.server.issue_code();
    // As typed on the on-screen keyboard, which has no ":" or "/".
    let typed = format!("{} {}", booth.server.addr.ip(), booth.server.addr.port());
    type_into(&booth, "服务器地址", &typed);
    type_into(&booth, "登记码", &code);
    booth.click("登记");
    booth.eventually("a PIN is asked for", |b| {
        adapter(b).get_enroll_state() == TechnicianEnrollState::NeedPin
    });
    type_into(&booth, "技术人员密码（4 到 12 位数字）", "2468");
    booth.click("登记");
    booth.eventually("enrolled", |b| {
        adapter(b).get_enroll_state() == TechnicianEnrollState::Enrolled
    });
    assert_eq!(adapter(&booth).get_server_url(), booth.server.url.as_str());
    assert!(
        adapter(&booth).get_enroll_detail().contains("石桥村"),
        "{}",
        adapter(&booth).get_enroll_detail()
    );
    booth.eventually("the header names the village", |b| {
        b.window()
            .global::<AppState>()
            .get_village_name()
            .contains("石桥村")
    });
    {
        let store = booth.store();
        let store = store.lock().expect("the store");
        assert!(store.identity().expect("identity").is_some());
        assert!(store.technician_pin_is_set().expect("PIN setting"));
        assert!(store.check_technician_pin("2468").expect("PIN check"));
    }

    // Back leads to the menu; Exit leaves technician mode.
    booth.click("返回");
    assert_eq!(view(&booth), TechnicianView::Menu);
    booth.click("退出维护");
    assert_eq!(booth.page(), Page::Home);

    // From now on the PIN is asked for, and a wrong one is refused.
    booth.click("技术人员入口");
    booth.eventually("the PIN page", |b| {
        b.page() == Page::Technician && view(b) == TechnicianView::Pin
    });
    adapter(&booth).invoke_open(TechnicianView::Queue);
    booth.pump();
    assert_eq!(
        view(&booth),
        TechnicianView::Pin,
        "no sub-page before the PIN"
    );
    enter_pin(&booth, "1357");
    booth.eventually("the wrong PIN is refused", |b| {
        adapter(b).get_pin_state() == TechnicianPinState::Wrong
    });
    assert_eq!(adapter(&booth).get_tries_left(), 4);
    assert_eq!(view(&booth), TechnicianView::Pin);
    assert!(booth.shows("密码不正确，还可以再试 4 次。"));
    enter_pin(&booth, "2468");
    booth.eventually("the menu after the right PIN", |b| {
        view(b) == TechnicianView::Menu
    });

    // The queue: one complaint waits while the server is down; "sync now" sends it once back.
    booth.server.stop();
    {
        let store = booth.store();
        let mut store = store.lock().expect("the store");
        let mut complaint = NewSubmission::new(SubmissionKind::Complaint);
        complaint.text = Some("路灯坏了".into());
        store.submit(complaint).expect("submit offline");
    }
    booth.click("上传队列");
    booth.eventually("one submission waiting", |b| {
        adapter(b).get_queue_depth() == 1 && b.shows("等待上传: 1 件")
    });
    assert_eq!(adapter(&booth).get_quarantined_count(), 0);
    booth.server.restart();
    booth.click("立即同步");
    assert_eq!(
        adapter(&booth).get_queue_state(),
        TechnicianQueueState::SyncRequested
    );
    booth.eventually("the queue drained", |b| adapter(b).get_queue_depth() == 0);
    assert_eq!(booth.server.receipt_numbers().len(), 1);

    // Devices: the printer's test page comes out of the printer.
    booth.click("返回");
    booth.click("设备");
    assert_eq!(view(&booth), TechnicianView::Devices);
    booth.click("打印机");
    booth.click("打印测试页");
    let printed = booth.printed(1);
    let text = printed[0].text_lines().join("\n");
    assert!(text.contains("打印测试"), "{text}");
    booth.eventually("the test page is reported printed", |b| {
        b.shows("测试页已打印，请查看出纸口。")
    });

    // The scanner test takes one code; after it the scanner is the booth's again, so the
    // next code scanned (a villager's receipt) opens its progress as it would anywhere.
    booth.click("扫码器");
    booth.click("扫码测试");
    booth.eventually("the test waits for a code", |b| {
        b.shows("请在 20 秒内把二维码或条码放到扫码器下。")
    });
    booth.scan("TEST-CODE-42");
    booth.eventually("the test code is shown", |b| b.shows("扫码成功。"));
    let receipt = booth.server.receipt_numbers()[0].clone();
    booth.scan(&receipt);
    booth.eventually("the receipt's progress, not the technician's test", |b| {
        b.page() == Page::Progress
    });

    // Home locks technician mode again.
    booth.click("首页");
    assert_eq!(booth.page(), Page::Home);
    booth.click("技术人员入口");
    booth.eventually("the PIN page again", |b| view(b) == TechnicianView::Pin);
}
