//! A booth and its world for the VM tests and the VM demo: the county server on the host's
//! loopback (behind a fault proxy the test can turn on), the three device emulators on host
//! pseudo-terminals plugged into the guest as USB serial adapters, the booth's disk, and the
//! walk-throughs a technician and a villager do on the touch screen.
//!
//! Touch positions are on the 800×1280 portrait panel ([`super::DISPLAY`]); each one names the
//! control it hits. A walk-through checks what the taps did by their effects (the booth's log,
//! the printer's paper, the county's database), so a tap that misses fails the test with the
//! screens it saw saved next to the VM's logs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hardware::id_card::emulator::{self as reader_emulator, EmulatedCard};
use hardware::id_card::samples;
use hardware::printer::PaperWidth;
use hardware::printer::emulator as printer_emulator;
use hardware::scanner::emulator as scanner_emulator;

use super::{Boot, BoothImage, BoothVm, Disk, UsbSerial, tools_disk};
use crate::booth::{County, Server, enroll_code_in, import_catalog};
use crate::fault_proxy::{FaultMix, FaultProxy};

/// Where the booth stands; its township's staff (scope `示范县/凤岭乡`) handle what it sends.
pub const COUNTY: &str = "示范县";
pub const TOWNSHIP: &str = "凤岭乡";
pub const VILLAGE: &str = "石门村";

/// The technician PIN the walk-throughs set.
pub const TECHNICIAN_PIN: &str = "2468";

/// Controls on the 800×1280 panel.
pub mod at {
    /// Enrollment: the technician PIN field (keyboard closed).
    pub const ENROLL_PIN_FIELD: (u32, u32) = (400, 943);
    /// Enrollment: 登记 (keyboard open).
    pub const ENROLL_BUTTON_KEYBOARD_OPEN: (u32, u32) = (147, 776);
    /// Enrollment: 首页 (keyboard open).
    pub const ENROLL_HOME_KEYBOARD_OPEN: (u32, u32) = (653, 776);
    /// Home: 我要办理.
    pub const HOME_APPLY: (u32, u32) = (590, 430);
    /// Apply, step 1: the second service in the seed catalogue, 户籍证明开具 (即办).
    pub const APPLY_HOUSEHOLD_CERTIFICATE: (u32, u32) = (400, 530);
    /// Apply, step 2: 是我本人，下一步.
    pub const APPLY_THIS_IS_ME: (u32, u32) = (400, 960);
    /// Apply, step 3: purpose 就业.
    pub const APPLY_PURPOSE_WORK: (u32, u32) = (588, 443);
    /// Apply, step 3: the phone field.
    pub const APPLY_PHONE_FIELD: (u32, u32) = (400, 985);
    /// Apply, step 3: 下一步 (keyboard open).
    pub const APPLY_NEXT_KEYBOARD_OPEN: (u32, u32) = (400, 655);
    /// Apply, review: 确认提交.
    pub const APPLY_SUBMIT: (u32, u32) = (400, 1080);
    /// Apply, materials (a booth with a camera): the first material's 拍照 (its row keeps its
    /// place whatever the rows below hold).
    pub const MATERIALS_FIRST_PHOTOGRAPH: (u32, u32) = (222, 628);
    /// Apply, materials: the column of each row's 拍照, and the rows of the panel the list of
    /// materials takes (between the header and 下一步). Where a row's buttons are depends on
    /// the rows above it and on where the list opens (on the next material to do): a
    /// walk-through finds them there by their colour.
    pub const MATERIALS_PHOTOGRAPH_COLUMN: u32 = 222;
    pub const MATERIALS_LIST_ROWS: (u32, u32) = (200, 1020);
    /// Apply, materials: the first material's 以后交到窗口.
    pub const MATERIALS_FIRST_LATER: (u32, u32) = (578, 628);
    /// Apply, materials: the second material's 以后交到窗口 (the first row keeps its height
    /// when it is to be brought later).
    pub const MATERIALS_SECOND_LATER: (u32, u32) = (578, 919);
    /// Apply, materials: 下一步.
    pub const MATERIALS_NEXT: (u32, u32) = (400, 1080);
    /// Apply, the camera's live picture: 拍照.
    pub const PHOTO_TAKE: (u32, u32) = (400, 1085);
    /// Apply, the page to check: 这页可以，这份拍完了.
    pub const PHOTO_KEEP_DONE: (u32, u32) = (400, 972);
    /// Apply, step 5 (receipt): 首页.
    pub const RECEIPT_HOME: (u32, u32) = (653, 1200);
    /// Progress (a receipt scanned): 现在拍照补正, in the middle of the panel under the
    /// correction's words (found by its colour: its height depends on them), clear of the
    /// bottom bar's buttons (补打回执, 评价此项服务), which leave this column's middle bare.
    pub const PROGRESS_CORRECT_COLUMN: u32 = 400;
    pub const PROGRESS_CORRECT_ROWS: (u32, u32) = (400, 1020);

    /// The on-screen keyboard's digit keys.
    pub fn digit(d: char) -> (u32, u32) {
        match d {
            '1' => (159, 912),
            '2' => (320, 912),
            '3' => (480, 912),
            '4' => (159, 1016),
            '5' => (320, 1016),
            '6' => (480, 1016),
            '7' => (159, 1120),
            '8' => (320, 1120),
            '9' => (480, 1120),
            '0' => (640, 1120),
            other => panic!("no key for {other:?} on the digits keyboard"),
        }
    }
}

/// The USB serial numbers the VM's three FTDI adapters carry: they share one USB id
/// (0403:6001), as identical bridge chips in a real booth do, so the booth config tells them
/// apart by serial.
pub const READER_SERIAL: &str = "BOOTH-READER";
pub const PRINTER_SERIAL: &str = "BOOTH-PRINTER";
pub const SCANNER_SERIAL: &str = "BOOTH-SCANNER";
/// QEMU's USB keyboard (0627:0001), standing in for a keyboard-mode scanner.
pub const HID_SCANNER_ID: &str = "0627:0001:BOOTH-HID";

/// The host side of one booth.
pub struct Rig {
    pub dir: PathBuf,
    pub county: County,
    pub server: Server,
    pub proxy: FaultProxy,
    pub reader: reader_emulator::Emulator,
    pub printer: printer_emulator::EmulatorHandle,
    pub scanner: scanner_emulator::ScannerEmulator,
    pub image: BoothImage,
    pub disk: Disk,
    tools: PathBuf,
    boots: u32,
    /// Show the booth's display in a window (`./demo vm` on a desktop).
    pub window: bool,
}

impl std::fmt::Debug for Rig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rig")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Rig {
    /// A county server with the seed catalogue, the three emulators and a fresh booth disk,
    /// in `dir`.
    pub fn new(image: BoothImage, dir: &Path) -> Self {
        Self::new_with(image, dir, &[], &[])
    }

    /// [`Self::new`] with more `sync-server serve` options and more files on the tools disk.
    pub fn new_with(
        image: BoothImage,
        dir: &Path,
        serve_args: &[&str],
        tool_files: &[PathBuf],
    ) -> Self {
        std::fs::create_dir_all(dir).expect("rig directory");
        let county = County::new();
        import_catalog(county.path());
        let server = Server::start_with(county.path(), 0, serve_args);
        let upstream: SocketAddr = format!("127.0.0.1:{}", server.port())
            .parse()
            .expect("address");
        let proxy = FaultProxy::start(upstream, FaultMix::NONE, 13).expect("fault proxy");
        let reader = reader_emulator::spawn(reader_emulator::EmulatorConfig::default())
            .expect("reader emulator");
        let printer = printer_emulator::spawn(printer_emulator::EmulatorConfig {
            width: PaperWidth::Mm80,
            output_dir: Some(dir.join("receipts")),
            ..Default::default()
        })
        .expect("printer emulator");
        let scanner = scanner_emulator::spawn(scanner_emulator::EmulatorConfig::default())
            .expect("scanner emulator");
        let disk = Disk::fresh(&image, dir);
        let mut files = packages(dir);
        files.extend_from_slice(tool_files);
        let tools = tools_disk(dir, &files);
        Self {
            dir: dir.to_owned(),
            county,
            server,
            proxy,
            reader,
            printer,
            scanner,
            image,
            disk,
            tools,
            boots: 0,
            window: false,
        }
    }

    /// The three adapters as plugged in.
    pub fn usb_serials(&self) -> Vec<UsbSerial> {
        vec![
            UsbSerial {
                id: "reader".into(),
                serial: READER_SERIAL.into(),
                pty: self.reader.path().expect("reader pty").to_owned(),
            },
            UsbSerial {
                id: "printer".into(),
                serial: PRINTER_SERIAL.into(),
                pty: self.printer.path().to_owned(),
            },
            UsbSerial {
                id: "scanner".into(),
                serial: SCANNER_SERIAL.into(),
                pty: self.scanner.path().to_owned(),
            },
        ]
    }

    /// Powers the booth on (again), its logs in `boot-N/`; returns once the app has drawn.
    pub fn power_on(&mut self, hid_keyboard: bool) -> BoothVm {
        self.boot(hid_keyboard, true)
    }

    /// Powers the booth on (again) and returns once its console answers, whether or not the
    /// app draws: an install that started at boot may hold the app stopped.
    pub fn power_on_to_console(&mut self) -> BoothVm {
        self.boot(false, false)
    }

    fn boot(&mut self, hid_keyboard: bool, wait_for_ui: bool) -> BoothVm {
        self.boots += 1;
        let port = self
            .proxy
            .url()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("proxy port");
        BoothVm::boot(
            &self.image,
            &self.disk,
            &self.dir.join(format!("boot-{}", self.boots)),
            &Boot {
                usb_serials: self.usb_serials(),
                county_port: port,
                hid_keyboard,
                window: self.window,
                tools_disk: Some(self.tools.clone()),
                wait_for_ui,
            },
        )
    }

    /// A one-time enrollment code and its QR payload, for the booth at 10.0.2.100:8080.
    pub fn enrollment(&self) -> (String, String) {
        let code = enroll_code_in(self.county.path(), COUNTY, TOWNSHIP, VILLAGE);
        let qr = sync_protocol::enroll::EnrollQr {
            server: format!("http://{}", super::COUNTY_IN_GUEST),
            code: code.clone(),
            // Plain HTTP to the county on the host's loopback: nothing to pin.
            pin: None,
        }
        .payload();
        (code, qr)
    }

    /// Puts the sample resident's card on the reader.
    pub fn place_card(&self) {
        self.reader
            .place(EmulatedCard::new(samples::resident()).expect("sample card"));
    }
}

/// Our packages from `BOOTH_DEBS` (`./test` sets it), and an upgrade of booth-kiosk: the same
/// package with a higher version, as the next release would come.
fn packages(dir: &Path) -> Vec<PathBuf> {
    let Some(debs) = std::env::var_os("BOOTH_DEBS").map(PathBuf::from) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(&debs)
        .unwrap_or_else(|e| panic!("BOOTH_DEBS {}: {e}", debs.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (name.starts_with("booth-kiosk_") || name.starts_with("booth-sync-server_"))
                && name.ends_with(".deb")
        })
        .collect();
    let kiosk = found
        .iter()
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("booth-kiosk_"))
        })
        .cloned()
        .unwrap_or_else(|| panic!("no booth-kiosk .deb in {}", debs.display()));
    let unpacked = dir.join("upgrade-tree");
    let _ = std::fs::remove_dir_all(&unpacked);
    run(
        "dpkg-deb",
        &["-R".as_ref(), kiosk.as_os_str(), unpacked.as_os_str()],
    );
    let control = unpacked.join("DEBIAN/control");
    let text = std::fs::read_to_string(&control).expect("control");
    let upgraded: String = text
        .lines()
        .map(|line| match line.strip_prefix("Version: ") {
            Some(version) => format!("Version: {version}+upgrade1\n"),
            None => format!("{line}\n"),
        })
        .collect();
    std::fs::write(&control, upgraded).expect("control");
    let upgrade = dir.join("booth-kiosk-upgrade.deb");
    run(
        "dpkg-deb",
        &[
            "--root-owner-group".as_ref(),
            "-Zgzip".as_ref(),
            "-b".as_ref(),
            unpacked.as_os_str(),
            upgrade.as_os_str(),
        ],
    );
    found.push(upgrade);
    found
}

fn run(program: &str, args: &[&std::ffi::OsStr]) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a technician does first on a new booth: tells it which USB adapters are which (the
/// VM's three share one USB id, so by serial number; `extra_scanner` adds another scanner id),
/// then has udev name them again. Waits for the names.
pub fn technician_names_the_devices(vm: &mut BoothVm, scanner_id: &str) {
    let script = format!(
        r#"awk '/^\[devices\./ {{ s = $0 }}
/^usb_ids = \[/ {{
  if (s ~ /id_card/) id = "0403:6001:{READER_SERIAL}";
  else if (s ~ /printer/) id = "0403:6001:{PRINTER_SERIAL}";
  else id = "{scanner_id}";
  sub(/\[/, "[\"" id "\", ")
}}
{{ print }}' /etc/booth/booth.toml > /tmp/booth.toml && cat /tmp/booth.toml > /etc/booth/booth.toml && rm /tmp/booth.toml
udevadm control --reload && udevadm trigger --action=change --subsystem-match=tty --subsystem-match=input && udevadm settle"#
    );
    vm.sh(&script);
    vm.wait_for_sh(
        "ls /dev/booth/ 2>/dev/null | sort | tr '\\n' ' '",
        Duration::from_secs(60),
        "udev names the booth's three devices",
        |out| out.contains("id-reader printer scanner"),
    );
    // A code scanned before the app opened the scanner is lost, as with a real one.
    vm.wait_for_log("scanner ready", Duration::from_secs(60));
}

/// Waits until the booth has pulled the county's catalogue (its log says `catalog +N`): a booth
/// without it offers nothing to apply for.
pub fn wait_for_catalogue(vm: &mut BoothVm) {
    vm.wait_for_sh(
        "journalctl -b -u booth-kiosk -o cat --no-pager | grep -cE 'catalog \\+[1-9]' || true",
        Duration::from_secs(180),
        "the county's catalogue reaches the booth",
        |out| out.trim().parse::<u32>().unwrap_or(0) > 0,
    );
}

/// Types `digits` on the on-screen digits keyboard.
pub fn type_digits(vm: &mut BoothVm, digits: &str) {
    for d in digits.chars() {
        vm.tap(at::digit(d));
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Taps, then gives the booth a moment to draw (the VM runs without hardware acceleration).
pub fn tap(vm: &mut BoothVm, at: (u32, u32), name: &str) {
    vm.tap(at);
    std::thread::sleep(Duration::from_millis(900));
    vm.screen(name);
}

/// On the enrollment page, after the server and code came from a scanned QR code: the PIN
/// typed on the touch screen, then 登记. Waits for the booth to say it is enrolled.
pub fn technician_sets_the_pin_and_enrolls(vm: &mut BoothVm) {
    tap(vm, at::ENROLL_PIN_FIELD, "enroll-pin-field");
    type_digits(vm, TECHNICIAN_PIN);
    tap(vm, at::ENROLL_BUTTON_KEYBOARD_OPEN, "enroll-tapped");
    vm.wait_for_log("booth enrolled", Duration::from_secs(120));
    tap(vm, at::ENROLL_HOME_KEYBOARD_OPEN, "home");
}

/// A villager applies for a household certificate with the card on the reader, by touch, up
/// to the receipt. Returns the receipt as printed.
/// What the villager does with the item's materials (户籍证明开具 lists two: 居民身份证 and
/// 居民户口簿).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Materials {
    /// The booth has no camera: the form goes straight to the review.
    NoCamera,
    /// Each material photographed under the camera, one page each.
    Photographed,
    /// The booth has a camera, but both are to be handed in at the office later.
    BroughtLater,
}

/// A villager applies for 户籍证明开具 with the ID card; returns the printed receipt's lines.
pub fn villager_applies(
    rig: &Rig,
    vm: &mut BoothVm,
    receipts_before: usize,
    materials: Materials,
) -> Vec<String> {
    tap(vm, at::HOME_APPLY, "apply-list");
    tap(vm, at::APPLY_HOUSEHOLD_CERTIFICATE, "apply-card");
    rig.place_card();
    // The card is read in the background; the confirm page follows.
    let deadline = Instant::now() + Duration::from_secs(60);
    while rig.reader.commands().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(4));
    vm.screen("apply-confirm");
    tap(vm, at::APPLY_THIS_IS_ME, "apply-form");
    tap(vm, at::APPLY_PURPOSE_WORK, "apply-purpose");
    tap(vm, at::APPLY_PHONE_FIELD, "apply-phone");
    type_digits(vm, "13800138000");
    match materials {
        Materials::NoCamera => tap(vm, at::APPLY_NEXT_KEYBOARD_OPEN, "apply-review"),
        Materials::Photographed => {
            tap(vm, at::APPLY_NEXT_KEYBOARD_OPEN, "apply-materials");
            photograph_one_page(vm, at::MATERIALS_FIRST_PHOTOGRAPH, "id-card");
            // Back on the list, it opens on the next material to do: the register, the last
            // row (below the fold without that, under the ID card's thumbnail).
            let register = last_primary_button(
                vm,
                at::MATERIALS_PHOTOGRAPH_COLUMN,
                at::MATERIALS_LIST_ROWS,
                "the register's 拍照 on the list",
            );
            photograph_one_page(vm, register, "register");
            tap(vm, at::MATERIALS_NEXT, "apply-review");
        }
        Materials::BroughtLater => {
            tap(vm, at::APPLY_NEXT_KEYBOARD_OPEN, "apply-materials");
            tap(vm, at::MATERIALS_FIRST_LATER, "apply-materials-first-later");
            tap(vm, at::MATERIALS_SECOND_LATER, "apply-materials-both-later");
            tap(vm, at::MATERIALS_NEXT, "apply-review");
        }
    }
    tap(vm, at::APPLY_SUBMIT, "apply-submitted");
    receipt_printed(rig, vm, receipts_before, "apply-receipt")
}

/// The receipt printed after `receipts_before` others, as lines, once it comes out; the screen
/// then is kept as `screen`.
fn receipt_printed(
    rig: &Rig,
    vm: &mut BoothVm,
    receipts_before: usize,
    screen: &str,
) -> Vec<String> {
    let receipts = rig
        .printer
        .wait_for_receipts(receipts_before + 1, Duration::from_secs(90));
    assert!(
        receipts.len() > receipts_before,
        "no receipt printed after 确认提交 ({screen}); screens and logs in {}",
        vm.dir.display()
    );
    vm.screen(screen);
    receipts[receipts_before].text_lines()
}

/// The middle of the lowest primary button in column `x` wholly within `rows` (top, bottom),
/// once the display shows one.
pub fn last_primary_button(vm: &mut BoothVm, x: u32, rows: (u32, u32), what: &str) -> (u32, u32) {
    let within = |screen: &super::screen::Screen| {
        screen
            .primary_buttons_in_column(x)
            .into_iter()
            .rfind(|&(top, bottom)| top >= rows.0 && bottom <= rows.1)
    };
    let screen = vm.wait_for_screen(what, Duration::from_secs(60), |s| within(s).is_some());
    let (top, bottom) = within(&screen).expect("checked");
    (x, u32::midpoint(top, bottom))
}

/// The villager back at the booth after the county asked for a material again: the booth has
/// the request (its next feed pull), the receipt is scanned, the progress page says which
/// material and offers 现在拍照补正; its page is taken under the camera and submitted. Returns
/// the supplement's printed receipt.
pub fn villager_photographs_again(
    rig: &Rig,
    vm: &mut BoothVm,
    receipt: &str,
    receipts_before: usize,
) -> Vec<String> {
    vm.wait_for_sh(
        &format!(
            "runuser -u booth -- kiosk --data-dir /var/lib/booth receipt show {receipt} --json"
        ),
        Duration::from_secs(240),
        "the county's request for a correction reaches the booth",
        |out| out.contains("\"needs_correction\""),
    );
    rig.scanner.scan(receipt).expect("scan the receipt");
    let correct = last_primary_button(
        vm,
        at::PROGRESS_CORRECT_COLUMN,
        at::PROGRESS_CORRECT_ROWS,
        "the progress page with 现在拍照补正",
    );
    vm.screen("progress-correction");
    tap(vm, correct, "correction-materials");
    let photograph = last_primary_button(
        vm,
        at::MATERIALS_PHOTOGRAPH_COLUMN,
        at::MATERIALS_LIST_ROWS,
        "the material asked for, to photograph",
    );
    photograph_one_page(vm, photograph, "register-again");
    tap(vm, at::MATERIALS_NEXT, "correction-review");
    tap(vm, at::APPLY_SUBMIT, "correction-submitted");
    receipt_printed(rig, vm, receipts_before, "correction-receipt")
}

/// How many times the booth app logged `text` since boot.
fn log_count(vm: &mut BoothVm, text: &str) -> usize {
    vm.sh(&format!(
        "journalctl -b -u booth-kiosk -o cat --no-pager | grep -cF '{text}' || true"
    ))
    .trim()
    .parse()
    .unwrap_or(0)
}

/// On the materials step: 拍照 at `photograph`, the live picture, 拍照, then the page checked
/// and kept with 这页可以，这份拍完了. Screens named after `material`.
fn photograph_one_page(vm: &mut BoothVm, photograph: (u32, u32), material: &str) {
    let (opened, taken) = (
        log_count(vm, "document camera opened"),
        log_count(vm, "document camera took a page"),
    );
    tap(vm, photograph, &format!("apply-camera-{material}"));
    vm.wait_for_sh(
        "journalctl -b -u booth-kiosk -o cat --no-pager | grep -cF 'document camera opened' || true",
        Duration::from_secs(60),
        "the booth opens the camera for the live picture",
        |out| out.trim().parse::<usize>().unwrap_or(0) > opened,
    );
    // Live frames on screen before the villager presses 拍照 (vivid's 3840×2160 frames take
    // seconds each to scale under emulation).
    std::thread::sleep(Duration::from_secs(10));
    vm.screen(&format!("apply-photo-{material}"));
    tap(
        vm,
        at::PHOTO_TAKE,
        &format!("apply-photo-taking-{material}"),
    );
    // The still is made into a page on the booth's CPU (slow under emulation).
    vm.wait_for_sh(
        "journalctl -b -u booth-kiosk -o cat --no-pager | grep -cF 'document camera took a page' || true",
        Duration::from_secs(180),
        "the booth makes the still into a page",
        |out| out.trim().parse::<usize>().unwrap_or(0) > taken,
    );
    // Then the UI thread shows it to check: 这页可以，这份拍完了 drawn.
    vm.wait_for_screen(
        "the page to check on screen",
        Duration::from_secs(120),
        |screen| screen.is_primary_button_at(at::PHOTO_KEEP_DONE),
    );
    vm.screen(&format!("apply-photo-check-{material}"));
    vm.tap(at::PHOTO_KEEP_DONE);
    vm.wait_for_screen(
        "back on the list of materials",
        Duration::from_secs(60),
        |screen| !screen.is_primary_button_at(at::PHOTO_KEEP_DONE),
    );
    std::thread::sleep(Duration::from_secs(1));
    vm.screen(&format!("apply-materials-after-{material}"));
}

/// The receipt number on printed lines (`回执编号：001-00001-8`).
pub fn receipt_number(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|line| {
            line.split_once("回执编号：")
                .map(|(_, n)| n.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no receipt number on the receipt:\n{}", lines.join("\n")))
}

/// A technician's settings for a booth where updates are shown: heartbeats and feeds every
/// 10 s, a release installed once the home page was untouched for 30 s, a session cleared
/// after 50 s without a touch. Restarts the app to read them and waits until it is back.
pub fn technician_quickens_updates(vm: &mut BoothVm) {
    vm.sh(r#"sed -i 's/^feeds_every_s = .*/feeds_every_s = 10/; s/^heartbeat_every_s = .*/heartbeat_every_s = 10/; s/^idle_prompt_after_s = .*/idle_prompt_after_s = 40/; s/^reset_after_s = .*/reset_after_s = 50/' /etc/booth/booth.toml && printf '\n[update]\nquiet_after_s = 30\n' >> /etc/booth/booth.toml"#);
    let pid = vm.kiosk_pid();
    vm.sh("systemctl restart booth-kiosk");
    vm.wait_until_kiosk_back(pid, Duration::from_secs(180));
}
