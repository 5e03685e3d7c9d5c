//! Ports chosen on the technician's devices page take effect at once: the booth is moved to a
//! second reader, printer and scanner (emulators on pseudo-terminals of their own), the ports
//! are saved, and without a restart a card placed on the new reader is read, a code scanned on
//! the new scanner arrives, and a receipt comes out of the new printer; the old devices get
//! nothing.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use chrono::Utc;
use common::{BoothOptions, Page, TestBooth};
use hardware::id_card::emulator::{self as card_emulator, EmulatedCard};
use hardware::id_card::samples;
use hardware::printer::PaperWidth;
use hardware::printer::emulator as printer_emulator;
use hardware::scanner::emulator as scanner_emulator;
use kiosk::app::devices::CardEvent;
use kiosk_core::devices::probe;
use kiosk_core::store::technician_pin::TechnicianPin;
use slint::ComponentHandle;
use ui::{TechnicianAdapter, TechnicianDeviceState, TechnicianView};

fn adapter(booth: &TestBooth) -> TechnicianAdapter<'_> {
    booth.window().global::<TechnicianAdapter>()
}

fn text(path: &std::path::Path) -> String {
    path.to_str().expect("pty paths are UTF-8").to_owned()
}

#[test]
fn ports_chosen_in_technician_mode_take_effect_without_a_restart() {
    let booth = TestBooth::start(BoothOptions {
        config_file: true,
        ..BoothOptions::default()
    });
    booth
        .store()
        .lock()
        .expect("the store")
        .set_technician_pin(&TechnicianPin::parse("2468").expect("a PIN"))
        .expect("set the PIN");

    // The devices the booth moves to, each on a pseudo-terminal of its own.
    let new_reader = card_emulator::spawn(card_emulator::EmulatorConfig::default())
        .expect("start the second reader");
    let new_printer = printer_emulator::spawn(printer_emulator::EmulatorConfig {
        width: PaperWidth::Mm58,
        ..Default::default()
    })
    .expect("start the second printer");
    let new_scanner = scanner_emulator::spawn(scanner_emulator::EmulatorConfig::default())
        .expect("start the second scanner");
    let ports = [
        ("读卡器", text(new_reader.path().expect("a pty path"))),
        ("打印机", text(new_printer.path())),
        ("扫码器", text(new_scanner.path())),
    ];

    booth.click("技术人员入口");
    booth.eventually("the PIN page", |b| {
        b.page() == Page::Technician && adapter(b).get_view() == TechnicianView::Pin
    });
    for digit in ["2", "4", "6", "8", "确定"] {
        booth.click(digit);
    }
    booth.eventually("the menu", |b| {
        adapter(b).get_view() == TechnicianView::Menu
    });
    booth.click("设备");
    for (device, port) in &ports {
        booth.click(device);
        adapter(&booth).invoke_choose_port(port.as_str().into());
        booth.pump();
    }
    booth.click("保存端口");
    booth.eventually("the ports saved", |b| {
        adapter(b).get_device_state() == TechnicianDeviceState::Saved
    });
    let config = std::fs::read_to_string(booth.dir.path().join("booth.toml")).expect("config");
    for (_, port) in &ports {
        assert!(config.contains(port.as_str()), "{port} saved: {config}");
    }
    booth.click("返回");
    booth.click("退出维护");
    assert_eq!(booth.page(), Page::Home);

    // The new reader reads the card: the booth's own reader thread moved to its port.
    let ctx = booth.app.ctx();
    let cards = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&cards);
    ctx.read_cards(move |_, event| seen.borrow_mut().push(event));
    new_reader.place(EmulatedCard::new(samples::resident()).expect("the sample card encodes"));
    booth.eventually("a card read on the new reader", |_| {
        cards
            .borrow()
            .iter()
            .any(|event| matches!(event, CardEvent::Read(_)))
    });
    ctx.stop_reading_cards();

    // The new scanner's code reaches the booth.
    let scans = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&scans);
    ctx.capture_scans(move |_, code| seen.borrow_mut().push(code));
    new_scanner
        .sender()
        .scan("NEW-PORT-42")
        .expect("the scanner emulator runs");
    booth.eventually("a scan from the new scanner", |_| {
        scans.borrow().iter().any(|code| code == "NEW-PORT-42")
    });
    ctx.release_scanner();

    // The next receipt comes out of the new printer, not the old one.
    ctx.services
        .devices()
        .print(&probe::test_receipt(None, Utc::now()))
        .expect("printed on the new port");
    let printed = new_printer.wait_for_receipts(1, Duration::from_secs(10));
    assert_eq!(printed.len(), 1, "one receipt on the new printer");
    assert!(
        printed[0].text_lines().join("\n").contains("打印测试"),
        "the test page"
    );
    let old = booth.printer.as_ref().expect("the old printer");
    assert!(old.receipts().is_empty(), "nothing on the old printer");
}
