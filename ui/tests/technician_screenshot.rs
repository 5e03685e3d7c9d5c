//! Renders every technician page with the software renderer to PNG files a person can look at
//! (Chinese, English, and large text), then checks that landscape 1920×1080 and 800×1280
//! windows keep every fixed button on screen.
//!
//! One test per file: the rendering platform can be installed once per process.

mod common;

use common::{button_pixels, portrait_window, render, save_png, snapshot};
use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use slint::{ComponentHandle, ModelRc, VecModel};
use ui::{
    AppState, MainWindow, Page, TechnicianAdapter, TechnicianDevice, TechnicianDeviceState,
    TechnicianEnrollState, TechnicianPinState, TechnicianPort, TechnicianQueueItem,
    TechnicianQueueState, TechnicianView,
};

const VIEWS: [(TechnicianView, &str); 6] = [
    (TechnicianView::Pin, "pin"),
    (TechnicianView::Menu, "menu"),
    (TechnicianView::Enroll, "enroll"),
    (TechnicianView::Devices, "devices"),
    (TechnicianView::Queue, "queue"),
    (TechnicianView::Info, "info"),
];

fn fill(app: &MainWindow) {
    let adapter = app.global::<TechnicianAdapter>();
    adapter.set_enrolled(true);
    adapter.set_pin_entry("2468".into());
    adapter.set_pin_state(TechnicianPinState::Wrong);
    adapter.set_tries_left(3);

    adapter.set_server_url("http://192.168.10.2:8080".into());
    adapter.set_enroll_code("QK7P-M2XD".into());
    adapter.set_pin_set(true);
    adapter.set_enroll_state(TechnicianEnrollState::Enrolled);
    adapter.set_enroll_detail("田东县平马镇石桥村 · #3 · k-01936c1e".into());

    adapter.set_device(TechnicianDevice::Printer);
    adapter.set_device_port("/dev/usb/lp0".into());
    adapter.set_chosen_port("/dev/ttyUSB1".into());
    let port = |path: &str, description: &str, in_use: bool, chosen: bool| TechnicianPort {
        path: path.into(),
        description: description.into(),
        in_use,
        chosen,
    };
    adapter.set_ports(ModelRc::new(VecModel::from(vec![
        port("/dev/usb/lp0", "USB printer (usblp)", true, false),
        port("/dev/ttyUSB0", "USB 1a86:7523 QinHeng CH340", false, false),
        port(
            "/dev/ttyUSB1",
            "USB 0483:5740 STMicro Virtual COM",
            false,
            true,
        ),
        port("/dev/ttyS0", "on-board serial", false, false),
    ])));
    adapter.set_device_state(TechnicianDeviceState::PrinterProblem);
    adapter.set_device_detail("paper near end: bring a new roll soon · /dev/usb/lp0".into());

    adapter.set_queue_depth(12);
    adapter.set_oldest_pending_minutes(135);
    adapter.set_quarantined_count(2);
    adapter.set_quarantined(ModelRc::new(VecModel::from(vec![
        TechnicianQueueItem {
            receipt_number: "0003-000041-K".into(),
            kind: "application".into(),
            reason: "the county server refused the request (invalid_submission: field phone is required)".into(),
            attempts: 3,
        },
        TechnicianQueueItem {
            receipt_number: "0003-000057-2".into(),
            kind: "complaint".into(),
            reason: "conflict: a different submission already has this id".into(),
            attempts: 1,
        },
    ])));
    adapter.set_queue_state(TechnicianQueueState::SyncRequested);

    adapter.set_info_kiosk_id("k-01936c1e-7a2b-7c3d".into());
    adapter.set_info_kiosk_number("#3".into());
    adapter.set_info_village("田东县 平马镇 石桥村".into());
    adapter.set_info_server("http://192.168.10.2:8080".into());
    adapter.set_info_version("0.1.0".into());
    adapter.set_info_disk_free("41.2 GB / 62.7 GB".into());
    adapter.set_info_clock_offset("+3 s".into());
    adapter.set_info_config("/etc/kiosk/booth.toml".into());
}

/// The buttons of `view` that must be on screen without scrolling; `None`: every button.
fn fixed_labels(view: TechnicianView) -> Option<&'static [&'static str]> {
    match view {
        TechnicianView::Pin | TechnicianView::Menu => None,
        TechnicianView::Enroll => Some(&["登记", "返回", "首页"]),
        TechnicianView::Devices => {
            Some(&["读卡器", "打印机", "扫码器", "保存端口", "返回", "首页"])
        }
        TechnicianView::Queue => Some(&["立即同步", "返回", "首页"]),
        TechnicianView::Info => Some(&["返回", "首页"]),
    }
}

fn fixed_buttons_on_screen(
    app: &MainWindow,
    view: TechnicianView,
    width: f32,
    height: f32,
    what: &str,
) {
    let buttons = ElementQuery::from_root(app)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all();
    let mut checked = 0;
    for button in buttons {
        let label = button.accessible_label().unwrap_or_default();
        if label == "技术人员入口"
            || fixed_labels(view).is_some_and(|fixed| !fixed.contains(&label.as_str()))
        {
            continue;
        }
        let (origin, size) = (button.absolute_position(), button.size());
        assert!(
            origin.x >= 0.0
                && origin.y >= 0.0
                && origin.x + size.width <= width + 0.5
                && origin.y + size.height <= height + 0.5,
            "{what}: {label:?} at {origin:?} size {size:?} is off a {width}×{height} window"
        );
        assert!(
            size.width >= 90.0 && size.height >= 90.0,
            "{what}: {label:?} is {size:?}"
        );
        checked += 1;
    }
    let expected = fixed_labels(view).map_or(3, <[&str]>::len);
    assert!(checked >= expected, "{what}: only {checked} buttons found");
}

#[test]
fn technician_pages_render_in_chinese_english_and_large_text() {
    let app = portrait_window();
    let state = app.global::<AppState>();
    state.set_current_page(Page::Technician);
    fill(&app);
    app.show().expect("show the window");
    let adapter = app.global::<TechnicianAdapter>();

    let mut first = None;
    for language in ["zh_CN", "en"] {
        ui::select_language(&app, language).expect("bundled");
        for (view, name) in VIEWS {
            adapter.set_view(view);
            let snap = snapshot(&app);
            let path = save_png(&snap, &format!("technician-{name}-{language}.png"));
            if view == TechnicianView::Devices && language == "zh_CN" {
                // Missing glyphs would draw the same boxes on both tiles.
                assert_ne!(
                    button_pixels(&app, &snap, "读卡器"),
                    button_pixels(&app, &snap, "扫码器"),
                    "two device names render the same: glyphs missing?"
                );
            }
            first.get_or_insert(path);
        }
    }
    ui::select_language(&app, "zh_CN").expect("bundled");
    state.set_large_text(true);
    for (view, name) in VIEWS {
        adapter.set_view(view);
        save_png(
            &snapshot(&app),
            &format!("technician-{name}-zh_CN-large-text.png"),
        );
    }
    eprintln!(
        "technician screenshots written next to {}",
        first.expect("some were written").display()
    );

    for (width, height) in [(1920.0, 1080.0), (800.0, 1280.0)] {
        app.window()
            .set_size(slint::LogicalSize::new(width, height));
        for large_text in [false, true] {
            state.set_large_text(large_text);
            for (view, name) in VIEWS {
                adapter.set_view(view);
                if width > height
                    && !large_text
                    && matches!(view, TechnicianView::Pin | TechnicianView::Devices)
                {
                    // Side by side in landscape: worth a look.
                    let snap = render(&app);
                    save_png(&snap, &format!("technician-{name}-zh_CN-1920x1080.png"));
                }
                fixed_buttons_on_screen(
                    &app,
                    view,
                    width,
                    height,
                    &format!("{name} at {width}×{height}, large text {large_text}"),
                );
            }
        }
    }
}
