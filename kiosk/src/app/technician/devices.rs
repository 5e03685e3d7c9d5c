//! The devices page: which port each device is on, the ports found, auto-detect, and a test
//! for each device (read a card, print a test page, scan a code, printer status).
//!
//! A test on the port the running booth uses goes through the booth's own devices (the same
//! path a villager's card or receipt takes); a test on another port opens it afresh
//! ([`kiosk_core::devices::probe`]). Chosen ports are saved into the booth config file and
//! take effect at once: the booth's reader and scanner threads reopen on them, the next
//! receipt prints on the new printer port (`crate::app::devices`). Saved first, so a booth
//! never runs on ports its config would not give it again after a restart.

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use hardware::ports::{PortInfo, PortKind};
use hardware::printer::PaperWidth;
use slint::{ComponentHandle, SharedString, Timer};
use ui::{
    MainWindow, TechnicianAdapter, TechnicianDevice, TechnicianDeviceState, TechnicianPort,
    TechnicianView,
};

use super::{Shared, config_file, showing};
use crate::app::bind::{Bound, Changes, Flow, model};
use crate::app::context::Ctx;
use crate::app::devices::{CardEvent, CardProblem};
use kiosk_core::devices::{PortError, PortSpec, describe_port, probe};

/// A device of the booth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Slot {
    #[default]
    Reader,
    Printer,
    Scanner,
}

impl Slot {
    const ALL: [Slot; 3] = [Slot::Reader, Slot::Printer, Slot::Scanner];

    fn index(self) -> usize {
        match self {
            Slot::Reader => 0,
            Slot::Printer => 1,
            Slot::Scanner => 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Slot::Reader => "ID card reader",
            Slot::Printer => "printer",
            Slot::Scanner => "scanner",
        }
    }
}

impl From<TechnicianDevice> for Slot {
    fn from(device: TechnicianDevice) -> Self {
        match device {
            TechnicianDevice::Reader => Slot::Reader,
            TechnicianDevice::Printer => Slot::Printer,
            TechnicianDevice::Scanner => Slot::Scanner,
        }
    }
}

impl From<Slot> for TechnicianDevice {
    fn from(slot: Slot) -> Self {
        match slot {
            Slot::Reader => TechnicianDevice::Reader,
            Slot::Printer => TechnicianDevice::Printer,
            Slot::Scanner => TechnicianDevice::Scanner,
        }
    }
}

/// A card or scan test waiting on the booth's own reader or scanner; its time-out names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitId(u64);

impl WaitId {
    /// Unique in the process: a time-out of an earlier test (even of a session since ended)
    /// never ends a later one.
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// The test that waits, and what its time-out shows.
#[derive(Debug)]
struct Wait {
    id: WaitId,
    port: String,
    timeout: (TechnicianDeviceState, String),
}

/// A test of one device on one port, to run.
#[derive(Debug)]
struct Test {
    slot: Slot,
    port: String,
    /// The port the running booth uses: tested through the booth's own device.
    in_use: bool,
}

/// An auto-detection to run: the ports to ask, in order.
#[derive(Debug)]
struct Detect {
    slot: Slot,
    candidates: Vec<String>,
}

/// The devices page: the device selected, the ports found and chosen, and what the last test
/// or action said.
#[derive(Debug, Default)]
pub struct Devices {
    /// The ports the booth's config names, which the running booth opened at its start.
    configured: [Option<String>; 3],
    selected: Slot,
    chosen: [Option<String>; 3],
    found: Vec<PortInfo>,
    state: TechnicianDeviceState,
    detail: String,
    waiting: Option<Wait>,
}

/// What the devices page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DevicesPage {
    device: TechnicianDevice,
    device_port: String,
    chosen_port: String,
    ports: Vec<TechnicianPort>,
    state: TechnicianDeviceState,
    detail: String,
}

impl Devices {
    /// The ports of the booth's config, per device.
    pub fn configure(&mut self, configured: [Option<String>; 3]) {
        self.configured = configured;
    }

    pub fn opened(&mut self) {
        self.say(TechnicianDeviceState::Idle, String::new());
    }

    /// The session ended: back to the start, the config's ports kept. A test still waiting is
    /// forgotten (the session's end gives the reader and scanner back).
    pub fn session_ended(&mut self) {
        *self = Self {
            configured: std::mem::take(&mut self.configured),
            ..Self::default()
        };
    }

    /// Ends a test waiting on the booth's reader or scanner: whether one was (they are then
    /// to be given back).
    pub fn stop_waiting(&mut self) -> bool {
        self.waiting.take().is_some()
    }

    pub fn select(&mut self, slot: Slot) {
        self.selected = slot;
        self.say(TechnicianDeviceState::Idle, String::new());
    }

    /// A port tapped in the list, for the selected device.
    pub fn choose(&mut self, port: &str) {
        let slot = self.selected;
        tracing::info!(target: "technician", %port, "port chosen for the {}", slot.name());
        self.chosen[slot.index()] = Some(port.to_owned());
        self.say(TechnicianDeviceState::Idle, String::new());
    }

    pub fn ports_listed(&mut self, listed: Result<Vec<PortInfo>, String>) {
        match listed {
            Ok(ports) => self.found = ports,
            Err(err) => {
                tracing::warn!(target: "technician", %err, "cannot list ports");
                self.say(TechnicianDeviceState::PortsFailed, err);
            }
        }
    }

    /// The port a test of `slot` uses (the one chosen here, else the configured one), and
    /// whether the running booth uses it.
    fn target(&self, slot: Slot) -> Option<(String, bool)> {
        let configured = self.configured[slot.index()].as_deref();
        match &self.chosen[slot.index()] {
            Some(chosen) => Some((chosen.clone(), configured == Some(chosen.as_str()))),
            None => configured.map(|port| (port.to_owned(), true)),
        }
    }

    /// The test of the selected device, or `None` (and "no port") without a port to test.
    fn start_test(&mut self) -> Option<Test> {
        let slot = self.selected;
        let Some((port, in_use)) = self.target(slot) else {
            self.say(TechnicianDeviceState::NoPort, String::new());
            return None;
        };
        tracing::info!(target: "technician", %port, "testing the {}", slot.name());
        let state = match slot {
            Slot::Reader => TechnicianDeviceState::WaitingCard,
            Slot::Printer => TechnicianDeviceState::Working,
            Slot::Scanner => TechnicianDeviceState::WaitingScan,
        };
        self.say(state, port.clone());
        Some(Test { slot, port, in_use })
    }

    /// The reader test waits for a card on the booth's own reader.
    pub fn wait_for_card(&mut self, port: &str) -> WaitId {
        let detail = format!("no card within {} s · {port}", probe::TEST_WAIT.as_secs());
        self.wait(port, TechnicianDeviceState::CardFailed, detail)
    }

    /// The scanner test waits for a code from the booth's own scanner.
    pub fn wait_for_scan(&mut self, port: &str) -> WaitId {
        self.wait(port, TechnicianDeviceState::ScanTimeout, port.to_owned())
    }

    fn wait(&mut self, port: &str, state: TechnicianDeviceState, detail: String) -> WaitId {
        let id = WaitId::next();
        self.waiting = Some(Wait {
            id,
            port: port.to_owned(),
            timeout: (state, detail),
        });
        id
    }

    /// The wait `id` is over: whether it was still waiting (then its time-out shows, if the
    /// page is `showing`, and the devices are to be given back).
    pub fn timed_out(&mut self, id: WaitId, showing: bool) -> bool {
        if self.waiting.as_ref().is_none_or(|wait| wait.id != id) {
            return false;
        }
        let Some(Wait {
            timeout: (state, detail),
            ..
        }) = self.waiting.take()
        else {
            return false;
        };
        tracing::info!(target: "technician", "device test timed out");
        if showing {
            self.say(state, detail);
        }
        true
    }

    /// A card read (its masked number and the port), or why not.
    pub fn reader_tested(&mut self, read: Result<String, String>) {
        let states = (
            TechnicianDeviceState::CardRead,
            TechnicianDeviceState::CardFailed,
        );
        self.tested("reader test", read, states);
    }

    /// The port the test page came out of, or why not.
    pub fn printer_tested(&mut self, printed: Result<String, String>) {
        let states = (
            TechnicianDeviceState::Printed,
            TechnicianDeviceState::PrintFailed,
        );
        self.tested("printer test", printed, states);
    }

    /// A test's outcome: its detail, in the first state if it passed, else the second.
    fn tested(
        &mut self,
        test: &str,
        outcome: Result<String, String>,
        (passed, failed): (TechnicianDeviceState, TechnicianDeviceState),
    ) {
        let (state, detail) = match outcome {
            Ok(detail) => (passed, detail),
            Err(detail) => (failed, detail),
        };
        tracing::info!(target: "technician", "{test}: {state:?}");
        self.say(state, detail);
    }

    /// The code a port opened afresh read (and the port), none within the wait, or why not.
    pub fn scanner_tested(&mut self, scanned: Result<Option<String>, String>) {
        let (state, detail) = match scanned {
            Ok(Some(detail)) => (TechnicianDeviceState::Scanned, detail),
            Ok(None) => (TechnicianDeviceState::ScanTimeout, String::new()),
            Err(detail) => (TechnicianDeviceState::ScanTimeout, detail),
        };
        tracing::info!(target: "technician", "scanner test: {state:?}");
        self.say(state, detail);
    }

    /// A code from the booth's scanner: whether a test waited for it (then the scanner is the
    /// booth's again).
    pub fn code_scanned(&mut self, code: &str) -> bool {
        let Some(wait) = self.waiting.take() else {
            return false;
        };
        // The code is shown to the technician who scanned it, never logged.
        tracing::info!(target: "technician", "scanner test: a code was read");
        self.say(
            TechnicianDeviceState::Scanned,
            format!("{code} · {}", wait.port),
        );
        true
    }

    /// The printer's port to ask for its status, or `None` (and "no port").
    fn ask_printer_status(&mut self) -> Option<String> {
        let Some((port, _)) = self.target(Slot::Printer) else {
            self.say(TechnicianDeviceState::NoPort, String::new());
            return None;
        };
        tracing::info!(target: "technician", %port, "printer status asked");
        self.say(TechnicianDeviceState::Working, port.clone());
        Some(port)
    }

    /// The printer's problems (none: ready) and its port, or why it did not answer.
    pub fn printer_status_read(&mut self, status: Result<(Option<String>, String), String>) {
        let (state, detail) = match status {
            Ok((None, port)) => (TechnicianDeviceState::PrinterReady, port),
            Ok((Some(problems), port)) => (
                TechnicianDeviceState::PrinterProblem,
                format!("{problems} · {port}"),
            ),
            Err(detail) => (TechnicianDeviceState::PrinterProblem, detail),
        };
        tracing::info!(target: "technician", "printer status: {state:?}");
        self.say(state, detail);
    }

    /// The ports to ask for the selected device: readers and printers answer a status
    /// request; a scanner only sends, so it is found by the test (scan a code) instead.
    fn detect(&mut self) -> Option<Detect> {
        let slot = self.selected;
        tracing::info!(target: "technician", "auto-detecting the {}", slot.name());
        if slot == Slot::Scanner {
            self.say(
                TechnicianDeviceState::NotDetected,
                "a scanner only sends codes: choose a port, tap the scan test and scan any code"
                    .to_owned(),
            );
            return None;
        }
        // Never send reader commands to a printer (it would print them), nor the other way round.
        let others: Vec<&String> = Slot::ALL
            .into_iter()
            .filter(|s| *s != slot)
            .filter_map(|s| self.configured[s.index()].as_ref())
            .collect();
        let mut candidates: Vec<String> = self
            .found
            .iter()
            .filter(|p| slot == Slot::Printer || p.kind != PortKind::UsbPrinter)
            .map(|p| p.path.clone())
            .collect();
        if let Some(port) = &self.configured[slot.index()] {
            candidates.insert(0, port.clone());
        }
        candidates.retain(|p| !others.contains(&p));
        candidates.dedup();
        self.say(TechnicianDeviceState::Working, String::new());
        Some(Detect { slot, candidates })
    }

    /// The port where `slot` answered (now chosen for it), or none.
    pub fn detected(&mut self, slot: Slot, found: Option<String>) {
        match found {
            Some(port) => {
                tracing::info!(target: "technician", %port, "{} detected", slot.name());
                self.chosen[slot.index()] = Some(port.clone());
                self.say(TechnicianDeviceState::Detected, port);
            }
            None => {
                tracing::info!(target: "technician", "{} not detected", slot.name());
                self.say(TechnicianDeviceState::NotDetected, String::new());
            }
        }
    }

    /// The chosen ports to save into `config` (the booth's config file), or `None` (and why
    /// not) without a port chosen or a file.
    fn save(&mut self, config: Option<PathBuf>) -> Option<(PathBuf, Vec<(Slot, String)>)> {
        let ports: Vec<(Slot, String)> = Slot::ALL
            .into_iter()
            .filter_map(|slot| self.chosen[slot.index()].clone().map(|port| (slot, port)))
            .collect();
        if ports.is_empty() {
            self.say(TechnicianDeviceState::NoPort, String::new());
            return None;
        }
        let Some(path) = config else {
            tracing::info!(target: "technician", "ports not saved: the booth runs without a config file");
            self.say(
                TechnicianDeviceState::NotSaved,
                "this booth was started without --config: write the ports into [devices] of its config file".to_owned(),
            );
            return None;
        };
        Some((path, ports))
    }

    /// The config file the ports were saved into (and the ports, now in use), or why not.
    pub fn saved(&mut self, saved: Result<(String, Vec<(Slot, String)>), String>) {
        match saved {
            Ok((path, ports)) => {
                tracing::info!(target: "technician", config = %path, "device ports saved and in use");
                for (slot, port) in ports {
                    self.configured[slot.index()] = Some(port);
                    self.chosen[slot.index()] = None;
                }
                self.say(TechnicianDeviceState::Saved, path);
            }
            Err(err) => {
                tracing::warn!(target: "technician", %err, "device ports not saved");
                self.say(TechnicianDeviceState::NotSaved, err);
            }
        }
    }

    fn say(&mut self, state: TechnicianDeviceState, detail: String) {
        self.state = state;
        self.detail = detail;
    }

    /// The ports to choose from for the selected device.
    fn rows(&self) -> Vec<TechnicianPort> {
        let slot = self.selected;
        let configured = self.configured[slot.index()].as_deref();
        let chosen = self.chosen[slot.index()].as_deref();
        // Emulators and by-id links are not listed by the OS: the configured ports always are.
        let mut rows: Vec<TechnicianPort> = Vec::new();
        let mut add = |path: &str, description: String| {
            if rows.iter().any(|r| r.path == path) {
                return;
            }
            rows.push(TechnicianPort {
                in_use: configured == Some(path),
                chosen: chosen == Some(path),
                path: path.into(),
                description: description.into(),
            });
        };
        if let Some(port) = configured {
            add(port, String::new());
        }
        for other in Slot::ALL.into_iter().filter(|s| *s != slot) {
            if let Some(port) = &self.configured[other.index()] {
                add(port, format!("({})", other.name()));
            }
        }
        for port in &self.found {
            add(&port.path, describe_port(&port.kind));
        }
        if let Some(port) = chosen {
            add(port, String::new());
        }
        rows
    }
}

impl Flow for Devices {
    type View = DevicesPage;

    fn view(&self) -> DevicesPage {
        let slot = self.selected;
        DevicesPage {
            device: slot.into(),
            device_port: self.configured[slot.index()].clone().unwrap_or_default(),
            chosen_port: self.chosen[slot.index()].clone().unwrap_or_default(),
            ports: self.rows(),
            state: self.state,
            detail: self.detail.clone(),
        }
    }

    fn render(now: &DevicesPage, before: Option<&DevicesPage>, window: &MainWindow) {
        let adapter = window.global::<TechnicianAdapter>();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.device, |&d| adapter.set_device(d));
        changes.write(|v| &v.device_port, |p| adapter.set_device_port(p.into()));
        changes.write(|v| &v.chosen_port, |p| adapter.set_chosen_port(p.into()));
        changes.write(|v| &v.ports, |p| adapter.set_ports(model(p)));
        changes.write(|v| &v.state, |&s| adapter.set_device_state(s));
        changes.write(|v| &v.detail, |d| adapter.set_device_detail(d.into()));
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>, tech: &Shared) {
    let page = Bound::<Devices>::new(ctx);
    let config = &ctx.services.config().devices;
    let configured = [
        config.id_card.as_ref().map(|d| port_text(&d.port)),
        config.printer.as_ref().map(|d| port_text(&d.port)),
        config.scanner.as_ref().map(|d| port_text(&d.port)),
    ];
    page.update(ctx, |devices| devices.configure(configured));

    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();
    let t = Rc::clone(tech);
    adapter.on_select_device(page.callback1(move |ctx, page, device: TechnicianDevice| {
        if unlocked(ctx, &t) {
            let waited = page.update(ctx, |devices| {
                let waited = devices.stop_waiting();
                devices.select(device.into());
                waited
            });
            give_back(ctx, waited);
        }
    }));
    let t = Rc::clone(tech);
    adapter.on_choose_port(page.callback1(move |ctx, page, path: SharedString| {
        if unlocked(ctx, &t) {
            page.update(ctx, |devices| devices.choose(&path));
        }
    }));
    adapter.on_refresh_ports(when_unlocked(&page, tech, refresh_ports));
    adapter.on_test_device(when_unlocked(&page, tech, test));
    adapter.on_printer_status(when_unlocked(&page, tech, printer_status));
    adapter.on_auto_detect(when_unlocked(&page, tech, auto_detect));
    adapter.on_save_ports(when_unlocked(&page, tech, save_ports));

    ctx.on_session_end(move |ctx| page.update(ctx, Devices::session_ended));
}

/// A button handler that runs `action` only while technician mode is unlocked.
fn when_unlocked(
    page: &Bound<Devices>,
    tech: &Shared,
    action: fn(&Rc<Ctx>, &Bound<Devices>),
) -> impl Fn() + 'static {
    let tech = Rc::clone(tech);
    page.callback(move |ctx, page| {
        if unlocked(ctx, &tech) {
            action(ctx, page);
        }
    })
}

/// A touch; whether technician mode is unlocked (a callback may outlive the unlock).
fn unlocked(ctx: &Ctx, tech: &Shared) -> bool {
    ctx.touched();
    tech.unlocked()
}

pub(super) fn opened(ctx: &Rc<Ctx>) {
    let page = Bound::<Devices>::of(ctx);
    page.update(ctx, Devices::opened);
    refresh_ports(ctx, &page);
}

/// Leaving the page stops a test that waits on the booth's reader or scanner.
pub(super) fn leave(ctx: &Rc<Ctx>) {
    let waited = Bound::<Devices>::of(ctx).update(ctx, Devices::stop_waiting);
    give_back(ctx, waited);
}

/// Gives the booth's reader and scanner back after a test that `waited` on one of them.
fn give_back(ctx: &Ctx, waited: bool) {
    if waited {
        ctx.stop_reading_cards();
        ctx.release_scanner();
    }
}

/// How a config names a port, as the technician would type it.
pub(super) fn port_text(spec: &PortSpec) -> String {
    match spec {
        PortSpec::Path(path) => path.clone(),
        PortSpec::UsbId { vid, pid } => format!("usb:{vid:04x}:{pid:04x}"),
    }
}

fn refresh_ports(ctx: &Rc<Ctx>, page: &Bound<Devices>) {
    page.background(
        ctx,
        |_| hardware::ports::list().map_err(|err| err.to_string()),
        |ctx, page, listed| page.update(ctx, |devices| devices.ports_listed(listed)),
    );
}

/// Gives up the wait `id` on the booth's own device after the test's wait.
fn time_out(page: &Bound<Devices>, id: WaitId) {
    Timer::single_shot(
        probe::TEST_WAIT,
        page.callback(move |ctx, page| {
            let showing = showing(ctx, TechnicianView::Devices);
            let waited = page.update(ctx, |devices| devices.timed_out(id, showing));
            give_back(ctx, waited);
        }),
    );
}

fn test(ctx: &Rc<Ctx>, page: &Bound<Devices>) {
    let (waited, test) = page.update(ctx, |devices| {
        (devices.stop_waiting(), devices.start_test())
    });
    give_back(ctx, waited);
    let Some(Test { slot, port, in_use }) = test else {
        return;
    };
    match slot {
        Slot::Reader => test_reader(ctx, page, port, in_use),
        Slot::Printer => test_printer(ctx, page, port, in_use),
        Slot::Scanner => test_scanner(ctx, page, port, in_use),
    }
}

fn test_reader(ctx: &Rc<Ctx>, page: &Bound<Devices>, port: String, in_use: bool) {
    if in_use && ctx.services.devices().has_reader() {
        let at = port.clone();
        let p = page.clone();
        ctx.read_cards(move |ctx, event| {
            let read = match event {
                // Only the masked number: the card may be anyone's.
                CardEvent::Read(card) => Ok(format!("{} · {at}", card.id_number())),
                CardEvent::Failed(problem) => Err(format!("{} · {at}", problem_text(problem))),
                CardEvent::Removed => return,
            };
            let waited = p.update(ctx, |devices| {
                let waited = devices.stop_waiting();
                devices.reader_tested(read);
                waited
            });
            give_back(ctx, waited);
            ctx.stop_reading_cards();
        });
        let id = page.update(ctx, |devices| devices.wait_for_card(&port));
        time_out(page, id);
        return;
    }
    page.background(
        ctx,
        move |_| {
            let spec: PortSpec = port.parse().map_err(|e: PortError| e.to_string())?;
            probe::read_card(&spec, probe::TEST_WAIT)
                .map(|masked| format!("{masked} · {port}"))
                .map_err(|err| format!("{err} · {port}"))
        },
        |ctx, page, read| page.update(ctx, |devices| devices.reader_tested(read)),
    );
}

fn problem_text(problem: CardProblem) -> &'static str {
    match problem {
        CardProblem::HoldStill => "the read was cut short: place the card flat and hold it still",
        CardProblem::Unreadable => "the card answered but cannot be read",
        CardProblem::ReaderUnavailable => "the reader does not answer: check its cable and port",
    }
}

fn test_printer(ctx: &Rc<Ctx>, page: &Bound<Devices>, port: String, in_use: bool) {
    let paper = ctx
        .services
        .config()
        .devices
        .printer
        .as_ref()
        .map_or(PaperWidth::Mm58, |p| p.paper);
    page.background(
        ctx,
        move |services| {
            let kiosk = services
                .with_store(|store| store.identity().ok().flatten())
                .map(|i| (i.kiosk_id, i.kiosk_number));
            let page =
                probe::test_receipt(kiosk.as_ref().map(|(id, n)| (id.as_str(), *n)), Utc::now());
            let printed = if in_use && services.devices().has_printer() {
                services
                    .devices()
                    .print(&page)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            } else {
                port.parse::<PortSpec>()
                    .map_err(|e| e.to_string())
                    .and_then(|spec| probe::print(&spec, paper, &page).map_err(|e| e.to_string()))
            };
            printed
                .map(|()| port.clone())
                .map_err(|err| format!("{err} · {port}"))
        },
        |ctx, page, printed| page.update(ctx, |devices| devices.printer_tested(printed)),
    );
}

fn test_scanner(ctx: &Rc<Ctx>, page: &Bound<Devices>, port: String, in_use: bool) {
    if in_use && ctx.services.devices().has_scanner() {
        let p = page.clone();
        ctx.capture_scans(move |ctx, code| {
            if p.update(ctx, |devices| devices.code_scanned(&code)) {
                ctx.release_scanner();
            }
        });
        let id = page.update(ctx, |devices| devices.wait_for_scan(&port));
        time_out(page, id);
        return;
    }
    page.background(
        ctx,
        move |_| {
            let spec: PortSpec = port.parse().map_err(|e: PortError| e.to_string())?;
            probe::wait_for_scan(&spec, probe::TEST_WAIT)
                .map(|code| code.map(|code| format!("{code} · {port}")))
                .map_err(|err| format!("{err} · {port}"))
        },
        |ctx, page, scanned| page.update(ctx, |devices| devices.scanner_tested(scanned)),
    );
}

fn printer_status(ctx: &Rc<Ctx>, page: &Bound<Devices>) {
    let Some(port) = page.update(ctx, Devices::ask_printer_status) else {
        return;
    };
    page.background(
        ctx,
        move |_| {
            let spec: PortSpec = port.parse().map_err(|e: PortError| e.to_string())?;
            probe::printer_status(&spec)
                .map(|status| (kiosk_core::devices::printer_problems(&status), port.clone()))
                .map_err(|err| format!("{err} · {port}"))
        },
        |ctx, page, status| page.update(ctx, |devices| devices.printer_status_read(status)),
    );
}

/// Finds the selected device among the ports (see [`Devices::detect`]).
fn auto_detect(ctx: &Rc<Ctx>, page: &Bound<Devices>) {
    let (waited, detect) = page.update(ctx, |devices| (devices.stop_waiting(), devices.detect()));
    give_back(ctx, waited);
    let Some(Detect { slot, candidates }) = detect else {
        return;
    };
    page.background(
        ctx,
        move |_| {
            candidates.into_iter().find(|path| match slot {
                Slot::Reader => probe::is_reader(path),
                _ => probe::is_printer(path),
            })
        },
        move |ctx, page, found| page.update(ctx, |devices| devices.detected(slot, found)),
    );
}

fn save_ports(ctx: &Rc<Ctx>, page: &Bound<Devices>) {
    let config = config_file(ctx);
    let Some((path, ports)) = page.update(ctx, |devices| devices.save(config)) else {
        return;
    };
    page.background(
        ctx,
        move |services| {
            config_file::save(&path, &ports).map_err(|err| err.to_string())?;
            let devices = services.devices();
            for (slot, port) in &ports {
                // The config just accepted this port: it parses.
                let spec: PortSpec = port.parse().map_err(|err: PortError| err.to_string())?;
                match slot {
                    Slot::Reader => devices.use_reader_port(spec),
                    Slot::Printer => devices.use_printer_port(spec),
                    Slot::Scanner => devices.use_scanner_port(spec),
                }
            }
            Ok((path.display().to_string(), ports))
        },
        |ctx, page, saved| page.update(ctx, |devices| devices.saved(saved)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const READER: &str = "/dev/ttyUSB0";
    const PRINTER: &str = "/dev/usb/lp0";
    const SCANNER: &str = "/dev/ttyACM0";

    fn booth() -> Devices {
        let mut devices = Devices::default();
        devices.configure([
            Some(READER.to_owned()),
            Some(PRINTER.to_owned()),
            Some(SCANNER.to_owned()),
        ]);
        devices.opened();
        devices
    }

    fn port(path: &str, kind: PortKind) -> PortInfo {
        PortInfo {
            path: path.to_owned(),
            kind,
        }
    }

    fn paths(view: &DevicesPage) -> Vec<&str> {
        view.ports.iter().map(|p| p.path.as_str()).collect()
    }

    #[test]
    fn selecting_a_device_shows_its_port_first_and_the_others_named() {
        let mut devices = booth();
        devices.ports_listed(Ok(vec![
            port("/dev/ttyS0", PortKind::Pci),
            port(READER, PortKind::Pci),
        ]));
        let view = devices.view();
        assert_eq!(view.device, TechnicianDevice::Reader);
        assert_eq!(view.device_port, READER);
        assert_eq!(paths(&view), [READER, PRINTER, SCANNER, "/dev/ttyS0"]);
        assert!(view.ports[0].in_use && !view.ports[0].chosen);
        assert_eq!(view.ports[1].description, "(printer)");

        devices.select(Slot::Printer);
        let view = devices.view();
        assert_eq!(view.device, TechnicianDevice::Printer);
        assert_eq!(view.device_port, PRINTER);
        assert_eq!(view.state, TechnicianDeviceState::Idle);
        assert_eq!(paths(&view), [PRINTER, READER, SCANNER, "/dev/ttyS0"]);
        assert_eq!(view.ports[1].description, "(ID card reader)");
    }

    #[test]
    fn a_chosen_port_is_tested_apart_from_the_booth_s_own_device() {
        let mut devices = booth();
        devices.choose("/dev/ttyUSB3");
        let view = devices.view();
        assert_eq!(view.chosen_port, "/dev/ttyUSB3");
        let row = view.ports.iter().find(|p| p.path == "/dev/ttyUSB3");
        assert!(
            row.is_some_and(|r| r.chosen && !r.in_use),
            "listed though not found"
        );
        let test = devices.start_test().expect("a port to test");
        assert_eq!(
            (test.slot, test.port.as_str()),
            (Slot::Reader, "/dev/ttyUSB3")
        );
        assert!(!test.in_use, "opened afresh");
        assert_eq!(devices.view().state, TechnicianDeviceState::WaitingCard);
        assert_eq!(devices.view().detail, "/dev/ttyUSB3");

        devices.choose(READER);
        assert!(devices.start_test().is_some_and(|t| t.in_use));
        devices.select(Slot::Printer);
        assert_eq!(devices.view().chosen_port, "", "chosen per device");
    }

    #[test]
    fn without_a_port_there_is_nothing_to_test() {
        let mut devices = Devices::default();
        devices.select(Slot::Scanner);
        assert!(devices.start_test().is_none());
        assert_eq!(devices.view().state, TechnicianDeviceState::NoPort);
        assert!(devices.ask_printer_status().is_none());
        assert_eq!(devices.view().state, TechnicianDeviceState::NoPort);
    }

    #[test]
    fn a_card_test_times_out_once_and_only_its_own_wait() {
        let mut devices = booth();
        devices.start_test();
        let id = devices.wait_for_card(READER);
        let earlier = WaitId(u64::MAX);
        assert!(!devices.timed_out(earlier, true), "another test's time-out");
        assert_eq!(devices.view().state, TechnicianDeviceState::WaitingCard);
        assert!(devices.timed_out(id, true));
        let view = devices.view();
        assert_eq!(view.state, TechnicianDeviceState::CardFailed);
        assert_eq!(view.detail, format!("no card within 20 s · {READER}"));
        assert!(!devices.timed_out(id, true), "over already");
        assert!(!devices.stop_waiting());
    }

    #[test]
    fn a_time_out_off_the_page_gives_the_devices_back_silently() {
        let mut devices = booth();
        devices.select(Slot::Scanner);
        devices.start_test();
        let id = devices.wait_for_scan(SCANNER);
        assert!(devices.timed_out(id, false));
        assert_eq!(devices.view().state, TechnicianDeviceState::WaitingScan);
    }

    #[test]
    fn a_stopped_or_forgotten_wait_ignores_its_time_out() {
        let mut devices = booth();
        let id = devices.wait_for_card(READER);
        assert!(devices.stop_waiting(), "another device selected");
        devices.select(Slot::Printer);
        assert!(!devices.timed_out(id, true));
        assert_eq!(devices.view().state, TechnicianDeviceState::Idle);

        let id = devices.wait_for_card(READER);
        devices.session_ended();
        let later = devices.wait_for_card(READER);
        assert!(!devices.timed_out(id, true), "the last session's time-out");
        assert!(devices.timed_out(later, true));
    }

    #[test]
    fn a_scan_ends_the_scan_test_with_the_code() {
        let mut devices = booth();
        assert!(!devices.code_scanned("TEST-CODE-42"), "no test waits");
        devices.select(Slot::Scanner);
        devices.start_test();
        let id = devices.wait_for_scan(SCANNER);
        assert!(devices.code_scanned("TEST-CODE-42"));
        let view = devices.view();
        assert_eq!(view.state, TechnicianDeviceState::Scanned);
        assert_eq!(view.detail, format!("TEST-CODE-42 · {SCANNER}"));
        assert!(!devices.timed_out(id, true), "the scan ended the wait");
        assert!(!devices.code_scanned("AGAIN"));
    }

    #[test]
    fn test_results_say_what_happened() {
        let mut devices = booth();
        devices.reader_tested(Ok("1101**********1234 · x".into()));
        assert_eq!(devices.view().state, TechnicianDeviceState::CardRead);
        devices.reader_tested(Err("timeout · x".into()));
        assert_eq!(devices.view().state, TechnicianDeviceState::CardFailed);
        devices.printer_tested(Ok(PRINTER.into()));
        assert_eq!(devices.view().state, TechnicianDeviceState::Printed);
        assert_eq!(devices.view().detail, PRINTER);
        devices.printer_tested(Err("paper out".into()));
        assert_eq!(devices.view().state, TechnicianDeviceState::PrintFailed);
        devices.scanner_tested(Ok(None));
        let view = devices.view();
        assert_eq!(view.state, TechnicianDeviceState::ScanTimeout);
        assert!(view.detail.is_empty());
        devices.scanner_tested(Ok(Some("CODE · x".into())));
        assert_eq!(devices.view().state, TechnicianDeviceState::Scanned);
        devices.printer_status_read(Ok((None, PRINTER.into())));
        assert_eq!(devices.view().state, TechnicianDeviceState::PrinterReady);
        devices.printer_status_read(Ok((Some("paper out".into()), PRINTER.into())));
        let view = devices.view();
        assert_eq!(view.state, TechnicianDeviceState::PrinterProblem);
        assert_eq!(view.detail, format!("paper out · {PRINTER}"));
        devices.ports_listed(Err("no /sys".into()));
        assert_eq!(devices.view().state, TechnicianDeviceState::PortsFailed);
    }

    #[test]
    fn auto_detect_asks_no_port_of_another_device() {
        let mut devices = booth();
        devices.ports_listed(Ok(vec![
            port("/dev/ttyUSB1", PortKind::Pci),
            port("/dev/usb/lp1", PortKind::UsbPrinter),
            port(SCANNER, PortKind::Pci),
        ]));
        let detect = devices.detect().expect("a reader is detected");
        assert_eq!(detect.slot, Slot::Reader);
        assert_eq!(detect.candidates, [READER, "/dev/ttyUSB1"], "no printers");
        assert_eq!(devices.view().state, TechnicianDeviceState::Working);

        devices.select(Slot::Printer);
        let detect = devices.detect().expect("a printer is detected");
        assert_eq!(detect.candidates, [PRINTER, "/dev/ttyUSB1", "/dev/usb/lp1"]);
        devices.detected(Slot::Printer, Some("/dev/usb/lp1".into()));
        let view = devices.view();
        assert_eq!(view.state, TechnicianDeviceState::Detected);
        assert_eq!(view.chosen_port, "/dev/usb/lp1");
        devices.detected(Slot::Printer, None);
        assert_eq!(devices.view().state, TechnicianDeviceState::NotDetected);

        devices.select(Slot::Scanner);
        assert!(devices.detect().is_none(), "a scanner only sends");
        assert_eq!(devices.view().state, TechnicianDeviceState::NotDetected);
    }

    #[test]
    fn saving_needs_a_chosen_port_and_a_config_file() {
        let mut devices = booth();
        let file = PathBuf::from("/etc/booth.toml");
        assert!(devices.save(Some(file.clone())).is_none());
        assert_eq!(devices.view().state, TechnicianDeviceState::NoPort);
        devices.select(Slot::Scanner);
        devices.choose("/dev/ttyACM1");
        assert!(devices.save(None).is_none());
        assert_eq!(devices.view().state, TechnicianDeviceState::NotSaved);
        let (path, ports) = devices.save(Some(file.clone())).expect("to save");
        assert_eq!(path, file);
        assert_eq!(ports, [(Slot::Scanner, "/dev/ttyACM1".to_owned())]);
        devices.saved(Ok(("/etc/booth.toml".into(), ports)));
        let view = devices.view();
        assert_eq!(view.state, TechnicianDeviceState::Saved);
        assert_eq!(view.detail, "/etc/booth.toml");
        assert_eq!(
            view.device_port, "/dev/ttyACM1",
            "in use now: the booth's own device from here on"
        );
        assert_eq!(view.chosen_port, "");
        devices.saved(Err("read-only".into()));
        assert_eq!(devices.view().state, TechnicianDeviceState::NotSaved);
    }

    #[test]
    fn the_session_end_forgets_choices_but_not_the_config() {
        let mut devices = booth();
        devices.select(Slot::Printer);
        devices.choose("/dev/usb/lp1");
        devices.printer_tested(Ok("/dev/usb/lp1".into()));
        devices.session_ended();
        let view = devices.view();
        assert_eq!(view.device, TechnicianDevice::Reader);
        assert_eq!(view.device_port, READER);
        assert_eq!(view.chosen_port, "");
        assert_eq!(view.state, TechnicianDeviceState::Idle);
        assert!(view.detail.is_empty());
        devices.select(Slot::Printer);
        assert_eq!(devices.view().chosen_port, "");
    }
}
