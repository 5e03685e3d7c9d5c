//! Technician mode driven headlessly: the long press on the village name, the PIN keypad, the
//! menu and each sub-page's controls. The test stands in for `kiosk::app::technician`: it
//! records the callbacks and sets the adapter as the booth would.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::platform::{PointerEventButton, WindowEvent};
use slint::{ComponentHandle, LogicalPosition, ModelRc, VecModel};
use ui::{
    AppState, MainWindow, Page, TechnicianAdapter, TechnicianDevice, TechnicianDeviceState,
    TechnicianEnrollState, TechnicianPinState, TechnicianPort, TechnicianQueueItem,
    TechnicianQueueState, TechnicianView,
};

fn app() -> MainWindow {
    i_slint_backend_testing::init_no_event_loop();
    let app = MainWindow::new().expect("create MainWindow");
    app.window()
        .set_size(slint::LogicalSize::new(1080.0, 1920.0));
    app.global::<AppState>()
        .set_village_name("石桥村便民服务亭".into());
    app
}

/// The booth on technician mode's `view`.
fn on(view: TechnicianView) -> MainWindow {
    let app = app();
    app.global::<AppState>().set_current_page(Page::Technician);
    app.global::<TechnicianAdapter>().set_view(view);
    app
}

fn buttons(app: &MainWindow, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(app, label)
        .filter(|element| element.accessible_role() == Some(AccessibleRole::Button))
        .collect()
}

fn button(app: &MainWindow, label: &str) -> ElementHandle {
    let found = buttons(app, label);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one button labelled {label:?}"
    );
    found.into_iter().next().expect("checked above")
}

fn press(app: &MainWindow, label: &str) {
    button(app, label).invoke_accessible_default_action();
}

fn shows(app: &MainWindow, text: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, text)
        .next()
        .is_some()
}

fn field(app: &MainWindow, label: &str) -> ElementHandle {
    let found: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(app, label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .collect();
    assert_eq!(found.len(), 1, "one text field labelled {label:?}");
    found.into_iter().next().expect("checked above")
}

/// Records every call of a callback.
fn recorder<T: 'static>() -> (Rc<RefCell<Vec<T>>>, impl Fn(T) + 'static) {
    let calls = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&calls);
    (calls, move |value| sink.borrow_mut().push(value))
}

/// Every button on screen is at least 90 px each way; returns how many there are.
fn every_button_is_large(app: &MainWindow, what: &str) -> usize {
    let all: Vec<ElementHandle> = i_slint_backend_testing::ElementQuery::from_root(app)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
        .into_iter()
        // The village name is a title first; its long press is not a villager's button.
        .filter(|e| e.accessible_label().unwrap_or_default() != "技术人员入口")
        .collect();
    for element in &all {
        let size = element.size();
        let label = element.accessible_label().unwrap_or_default();
        assert!(
            size.width >= 90.0 && size.height >= 90.0,
            "{what}: {label:?} is {}×{} px",
            size.width,
            size.height
        );
    }
    all.len()
}

#[test]
fn a_three_second_press_on_the_village_name_asks_for_technician_mode() {
    let app = app();
    let (asked, record) = recorder::<()>();
    app.global::<TechnicianAdapter>()
        .on_enter_requested(move || record(()));
    let name = button(&app, "技术人员入口");
    let (origin, size) = (name.absolute_position(), name.size());
    let position = LogicalPosition::new(origin.x + size.width / 2.0, origin.y + size.height / 2.0);
    let window = app.window();
    window.dispatch_event(WindowEvent::PointerMoved { position });
    window.dispatch_event(WindowEvent::PointerPressed {
        position,
        button: PointerEventButton::Left,
    });
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(2900));
    assert!(asked.borrow().is_empty(), "not before 3 s");
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(200));
    assert_eq!(asked.borrow().len(), 1, "once at 3 s");
    window.dispatch_event(WindowEvent::PointerReleased {
        position,
        button: PointerEventButton::Left,
    });
    // A short tap does nothing.
    window.dispatch_event(WindowEvent::PointerPressed {
        position,
        button: PointerEventButton::Left,
    });
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(500));
    window.dispatch_event(WindowEvent::PointerReleased {
        position,
        button: PointerEventButton::Left,
    });
    i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(5));
    assert_eq!(asked.borrow().len(), 1, "a tap is not a long press");
    // The accessible action is the same way in.
    name.invoke_accessible_default_action();
    assert_eq!(asked.borrow().len(), 2);
}

#[test]
fn the_keypad_types_a_pin_shown_as_dots_and_submits_it() {
    let app = on(TechnicianView::Pin);
    let adapter = app.global::<TechnicianAdapter>();
    let (submitted, record) = recorder::<String>();
    adapter.on_submit_pin(move |pin| record(pin.to_string()));

    for digit in ["2", "4", "6"] {
        press(&app, digit);
    }
    assert_eq!(adapter.get_pin_entry(), "246");
    assert!(shows(&app, "已输入 3 位"));
    assert!(!shows(&app, "246"), "the digits are never shown");
    press(&app, "清除");
    assert_eq!(adapter.get_pin_entry(), "");
    for digit in ["1", "3", "5", "7"] {
        press(&app, digit);
    }
    press(&app, "确定");
    assert_eq!(*submitted.borrow(), ["1357"]);
    assert_eq!(adapter.get_pin_entry(), "", "cleared after each try");

    adapter.set_pin_state(TechnicianPinState::Wrong);
    adapter.set_tries_left(2);
    assert!(shows(&app, "密码不正确，还可以再试 2 次。"));
    adapter.set_pin_state(TechnicianPinState::Locked);
    adapter.set_locked_minutes(5);
    assert!(shows(&app, "密码错误次数过多，请 5 分钟后再试。"));
    adapter.set_pin_state(TechnicianPinState::NotSet);
    assert!(shows(
        &app,
        "本机已登记，但没有设置技术人员密码。请用命令 kiosk technician-pin 设置。"
    ));
    // Twelve digits at most.
    for _ in 0..15 {
        press(&app, "9");
    }
    assert_eq!(adapter.get_pin_entry(), "999999999999");
}

#[test]
fn the_menu_opens_each_page_and_back_leaves() {
    let app = on(TechnicianView::Menu);
    let adapter = app.global::<TechnicianAdapter>();
    let (opened, record) = recorder::<TechnicianView>();
    adapter.on_open(record);
    let (exits, record) = recorder::<()>();
    adapter.on_exit(move || record(()));

    assert!(shows(&app, "本机尚未登记：请先登记本机。"));
    adapter.set_enrolled(true);
    assert!(!shows(&app, "本机尚未登记：请先登记本机。"));
    for (label, view) in [
        ("登记本机", TechnicianView::Enroll),
        ("设备", TechnicianView::Devices),
        ("上传队列", TechnicianView::Queue),
        ("本机信息", TechnicianView::Info),
    ] {
        press(&app, label);
        assert_eq!(opened.borrow().last(), Some(&view), "{label}");
    }
    press(&app, "退出维护");
    press(&app, "返回");
    assert_eq!(
        exits.borrow().len(),
        2,
        "Exit and Back both leave from the menu"
    );

    // Back on a sub-page returns to the menu.
    adapter.set_view(TechnicianView::Queue);
    press(&app, "返回");
    assert_eq!(opened.borrow().last(), Some(&TechnicianView::Menu));
}

#[test]
fn enrollment_takes_the_server_code_and_pin_and_says_what_happened() {
    let app = on(TechnicianView::Enroll);
    let adapter = app.global::<TechnicianAdapter>();
    let (asked, record) = recorder::<()>();
    adapter.on_enroll(move || record(()));

    field(&app, "服务器地址").set_accessible_value("http://10.0.0.5:8080");
    field(&app, "登记码").set_accessible_value("ABCD-EFGH");
    field(&app, "技术人员密码（4 到 12 位数字）").set_accessible_value("2468");
    field(&app, "服务器证书指纹（https 服务器，至少前 16 位）")
        .set_accessible_value("3f2a 9c01 77be 0d4e");
    assert_eq!(adapter.get_server_pin(), "3f2a 9c01 77be 0d4e");
    assert_eq!(adapter.get_server_url(), "http://10.0.0.5:8080");
    assert_eq!(adapter.get_enroll_code(), "ABCD-EFGH");
    assert_eq!(adapter.get_new_pin(), "2468");
    press(&app, "登记");
    assert_eq!(asked.borrow().len(), 1);

    adapter.set_pin_set(true);
    field(&app, "新的技术人员密码（不改请留空）");
    for (state, text) in [
        (TechnicianEnrollState::Enrolling, "正在登记，请稍候……"),
        (
            TechnicianEnrollState::CodeUsed,
            "这个登记码已经用过，请向县里工作人员要一个新的。",
        ),
        (
            TechnicianEnrollState::Unreachable,
            "连不上服务器：请检查网络和服务器地址，然后再试。",
        ),
        (
            TechnicianEnrollState::Enrolled,
            "登记成功，本机开始与服务器同步。",
        ),
        (
            TechnicianEnrollState::CertificateMismatch,
            "服务器的证书与县里给的指纹不符，没有登记：请向县信息中心核对指纹。",
        ),
        (
            TechnicianEnrollState::BadFingerprint,
            "证书指纹不正确：请至少输入县里给的指纹的前 16 位（0-9、a-f），https 服务器才有指纹。",
        ),
    ] {
        adapter.set_enroll_state(state);
        adapter.set_enroll_detail("detail line".into());
        assert!(shows(&app, &format!("{text} detail line")), "{state:?}");
    }
}

fn port(path: &str, description: &str, in_use: bool, chosen: bool) -> TechnicianPort {
    TechnicianPort {
        path: path.into(),
        description: description.into(),
        in_use,
        chosen,
    }
}

#[test]
fn the_devices_page_selects_tests_and_chooses_ports() {
    let app = on(TechnicianView::Devices);
    let adapter = app.global::<TechnicianAdapter>();
    let (selected, record) = recorder::<TechnicianDevice>();
    adapter.on_select_device(record);
    let (chosen, record) = recorder::<String>();
    adapter.on_choose_port(move |path| record(path.to_string()));
    let (actions, record) = recorder::<&'static str>();
    let record = Rc::new(record);
    let r = Rc::clone(&record);
    adapter.on_test_device(move || r("test"));
    let r = Rc::clone(&record);
    adapter.on_printer_status(move || r("status"));
    let r = Rc::clone(&record);
    adapter.on_auto_detect(move || r("detect"));
    let r = Rc::clone(&record);
    adapter.on_save_ports(move || r("save"));
    let r = Rc::clone(&record);
    adapter.on_refresh_ports(move || r("refresh"));

    adapter.set_device_port("/dev/ttyUSB0".into());
    adapter.set_ports(ModelRc::new(VecModel::from(vec![
        port("/dev/ttyUSB0", "USB 1a86:7523", true, false),
        port("/dev/ttyUSB1", "USB 0483:5740", false, true),
    ])));
    adapter.set_chosen_port("/dev/ttyUSB1".into());
    assert!(shows(&app, "正在使用的端口: /dev/ttyUSB0"));
    assert!(shows(
        &app,
        "已选择 /dev/ttyUSB1：测试用这个端口，保存并重启后生效。"
    ));
    press(&app, "/dev/ttyUSB0");
    assert_eq!(*chosen.borrow(), ["/dev/ttyUSB0"]);

    press(&app, "读卡测试");
    assert!(
        buttons(&app, "打印机状态").is_empty(),
        "status is the printer's"
    );
    press(&app, "打印机");
    adapter.set_device(TechnicianDevice::Printer);
    press(&app, "打印测试页");
    press(&app, "打印机状态");
    press(&app, "扫码器");
    adapter.set_device(TechnicianDevice::Scanner);
    press(&app, "扫码测试");
    press(&app, "自动检测");
    press(&app, "刷新");
    press(&app, "保存端口");
    assert_eq!(
        *selected.borrow(),
        [TechnicianDevice::Printer, TechnicianDevice::Scanner]
    );
    assert_eq!(
        *actions.borrow(),
        [
            "test", "test", "status", "test", "detect", "refresh", "save"
        ]
    );

    adapter.set_device_state(TechnicianDeviceState::CardRead);
    adapter.set_device_detail("450902********0028 · /dev/ttyUSB0".into());
    assert!(shows(&app, "读卡成功。 450902********0028 · /dev/ttyUSB0"));
    adapter.set_ports(ModelRc::default());
    assert!(shows(
        &app,
        "没有找到串口或 USB 打印机：请检查设备的线是否插好。"
    ));
}

#[test]
fn the_queue_page_counts_lists_refusals_and_requeues() {
    let app = on(TechnicianView::Queue);
    let adapter = app.global::<TechnicianAdapter>();
    let (requeued, record) = recorder::<String>();
    adapter.on_requeue(move |receipt| record(receipt.to_string()));
    let (synced, record) = recorder::<()>();
    adapter.on_sync_now(move || record(()));

    adapter.set_queue_depth(3);
    adapter.set_oldest_pending_minutes(125);
    adapter.set_quarantined_count(1);
    adapter.set_quarantined(ModelRc::new(VecModel::from(vec![TechnicianQueueItem {
        receipt_number: "R-0003-000042-X".into(),
        kind: "application".into(),
        reason: "item GX-MZ-003 needs field phone".into(),
        attempts: 2,
    }])));
    assert!(shows(&app, "等待上传: 3 件"));
    assert!(shows(&app, "最早一件已等待: 2 小时 5 分钟"));
    assert!(shows(&app, "被服务器退回（隔离）: 1 件"));
    assert!(shows(
        &app,
        "原因：item GX-MZ-003 needs field phone（已尝试 2 次）。点此重新排队。"
    ));
    press(&app, "重新排队 R-0003-000042-X");
    assert_eq!(*requeued.borrow(), ["R-0003-000042-X"]);
    press(&app, "立即同步");
    assert_eq!(synced.borrow().len(), 1);
    adapter.set_queue_state(TechnicianQueueState::SyncRequested);
    assert!(shows(&app, "已开始同步。"));
    adapter.set_oldest_pending_minutes(-1);
    assert!(shows(&app, "最早一件已等待: 没有等待的"));

    // What holds the queue up, in the sync client's own line.
    assert!(!shows(&app, "上次上传没有成功："));
    adapter.set_queue_last_error("the county server at https://h showed certificate …".into());
    assert!(shows(
        &app,
        "上次上传没有成功： the county server at https://h showed certificate …"
    ));
}

#[test]
fn the_info_page_shows_the_booth() {
    let app = on(TechnicianView::Info);
    let adapter = app.global::<TechnicianAdapter>();
    assert!(shows(&app, "本机编号: 未登记"));
    adapter.set_info_kiosk_id("k-0193".into());
    adapter.set_info_kiosk_number("#3".into());
    adapter.set_info_village("田东县 平马镇 石桥村".into());
    adapter.set_info_version("0.1.0".into());
    adapter.set_info_clock_offset("+2 days 0 h".into());
    adapter.set_info_clock_ok(false);
    assert!(shows(&app, "本机编号: k-0193（#3）"));
    assert!(shows(&app, "所属村: 田东县 平马镇 石桥村"));
    assert!(shows(&app, "软件版本: 0.1.0"));
    assert!(shows(
        &app,
        "时钟偏差（服务器减本机）: +2 days 0 h：偏差过大，请校准本机时钟"
    ));
    assert!(shows(&app, "配置文件: 无（使用默认设置）"));
}

#[test]
fn every_technician_button_is_a_large_touch_target() {
    let app = on(TechnicianView::Pin);
    let adapter = app.global::<TechnicianAdapter>();
    adapter.set_ports(ModelRc::new(VecModel::from(vec![port(
        "/dev/ttyUSB0",
        "",
        true,
        false,
    )])));
    adapter.set_quarantined(ModelRc::new(VecModel::from(vec![TechnicianQueueItem {
        receipt_number: "R-1".into(),
        kind: "complaint".into(),
        reason: "refused".into(),
        attempts: 1,
    }])));
    adapter.set_device(TechnicianDevice::Printer);
    for large_text in [false, true] {
        app.global::<AppState>().set_large_text(large_text);
        for (view, at_least) in [
            (TechnicianView::Pin, 14),
            (TechnicianView::Menu, 7),
            (TechnicianView::Enroll, 3),
            (TechnicianView::Devices, 11),
            (TechnicianView::Queue, 4),
            (TechnicianView::Info, 2),
        ] {
            adapter.set_view(view);
            let counted = every_button_is_large(&app, &format!("{view:?}"));
            assert!(counted >= at_least, "{view:?}: {counted} buttons");
        }
    }
}

#[test]
fn english_labels_technician_mode() {
    let app = on(TechnicianView::Menu);
    ui::select_language(&app, "en").expect("English is bundled");
    for label in [
        "Enroll this booth",
        "Devices",
        "Upload queue",
        "Booth info",
        "Exit",
        "Back",
        "Home",
        "Technician entry",
    ] {
        button(&app, label);
    }
    app.global::<TechnicianAdapter>()
        .set_view(TechnicianView::Pin);
    assert!(shows(&app, "Enter the technician PIN"));
    button(&app, "OK");
    button(&app, "Clear");
}
