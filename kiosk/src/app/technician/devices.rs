//! The devices page: which port each device is on, the ports found, auto-detect, and a test
//! for each device (read a card, print a test page, scan a code, printer status).
//!
//! A test on the port the running booth uses goes through the booth's own devices (the same
//! path a villager's card or receipt takes); a test on another port opens it afresh
//! ([`kiosk_core::devices::probe`]). Chosen ports are saved into the booth config file and apply after a
//! restart: the booth opens its devices from the config at start.

use std::rc::Rc;
use std::time::Duration;

use chrono::Utc;
use hardware::ports::{PortInfo, PortKind};
use hardware::printer::PaperWidth;
use slint::{ComponentHandle, ModelRc, SharedString, Timer, VecModel};
use ui::{
    TechnicianAdapter, TechnicianDevice, TechnicianDeviceState, TechnicianPort, TechnicianView,
};

use super::{Shared, config_file, showing};
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

/// The devices page's state on the UI thread.
#[derive(Default)]
pub(super) struct DevicesState {
    selected: Slot,
    chosen: [Option<String>; 3],
    found: Vec<PortInfo>,
    /// Ends a card or scan test that waits on the booth's own device.
    test_timeout: Option<Timer>,
}

impl std::fmt::Debug for DevicesState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevicesState")
            .field("selected", &self.selected)
            .field("chosen", &self.chosen)
            .field("found", &self.found.len())
            .field("testing", &self.test_timeout.is_some())
            .finish()
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>, tech: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();

    let t = Rc::clone(tech);
    adapter.on_select_device(ctx.callback1(move |ctx, device: TechnicianDevice| {
        if unlocked(ctx, &t) {
            stop_waiting(ctx, &t);
            t.devices.borrow_mut().selected = device.into();
            set_state(ctx, TechnicianDeviceState::Idle, String::new());
            show(ctx, &t);
        }
    }));
    let t = Rc::clone(tech);
    adapter.on_choose_port(ctx.callback1(move |ctx, path: SharedString| {
        if unlocked(ctx, &t) {
            let slot = t.devices.borrow().selected;
            tracing::info!(target: "technician", port = %path, "port chosen for the {}", slot.name());
            t.devices.borrow_mut().chosen[slot.index()] = Some(path.to_string());
            set_state(ctx, TechnicianDeviceState::Idle, String::new());
            show(ctx, &t);
        }
    }));
    adapter.on_refresh_ports(when_unlocked(ctx, tech, refresh_ports));
    adapter.on_test_device(when_unlocked(ctx, tech, test));
    adapter.on_printer_status(when_unlocked(ctx, tech, printer_status));
    adapter.on_auto_detect(when_unlocked(ctx, tech, auto_detect));
    adapter.on_save_ports(when_unlocked(ctx, tech, save_ports));
}

/// A button handler that runs `action` only while technician mode is unlocked.
fn when_unlocked(
    ctx: &Rc<Ctx>,
    tech: &Shared,
    action: fn(&Rc<Ctx>, &Shared),
) -> impl Fn() + 'static {
    let tech = Rc::clone(tech);
    ctx.callback(move |ctx| {
        if unlocked(ctx, &tech) {
            action(ctx, &tech);
        }
    })
}

/// A touch; whether technician mode is unlocked (a callback may outlive the unlock).
fn unlocked(ctx: &Ctx, tech: &Shared) -> bool {
    ctx.touched();
    tech.unlocked()
}

pub(super) fn opened(ctx: &Rc<Ctx>, tech: &Shared) {
    set_state(ctx, TechnicianDeviceState::Idle, String::new());
    show(ctx, tech);
    refresh_ports(ctx, tech);
}

/// Leaving the page stops a test that waits on the booth's reader or scanner.
pub(super) fn leave(ctx: &Rc<Ctx>, tech: &Shared) {
    stop_waiting(ctx, tech);
}

pub(super) fn clear(ctx: &Rc<Ctx>, tech: &Shared) {
    *tech.devices.borrow_mut() = DevicesState::default();
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();
    adapter.set_device(TechnicianDevice::Reader);
    adapter.set_chosen_port("".into());
    adapter.set_ports(ModelRc::default());
    adapter.set_device_state(TechnicianDeviceState::Idle);
    adapter.set_device_detail("".into());
}

fn set_state(ctx: &Ctx, state: TechnicianDeviceState, detail: String) {
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();
    adapter.set_device_state(state);
    adapter.set_device_detail(detail.into());
}

/// How a config names a port, as the technician would type it.
pub(super) fn port_text(spec: &PortSpec) -> String {
    match spec {
        PortSpec::Path(path) => path.clone(),
        PortSpec::UsbId { vid, pid } => format!("usb:{vid:04x}:{pid:04x}"),
    }
}

/// The port the running booth uses for `slot`, if any.
fn configured(ctx: &Ctx, slot: Slot) -> Option<String> {
    let devices = ctx.services.config().devices.clone();
    match slot {
        Slot::Reader => devices.id_card.map(|d| port_text(&d.port)),
        Slot::Printer => devices.printer.map(|d| port_text(&d.port)),
        Slot::Scanner => devices.scanner.map(|d| port_text(&d.port)),
    }
}

/// The port a test of `slot` uses: the one chosen here, else the configured one.
fn target(ctx: &Ctx, tech: &Shared, slot: Slot) -> Option<(String, bool)> {
    let configured = configured(ctx, slot);
    let chosen = tech.devices.borrow().chosen[slot.index()].clone();
    match chosen {
        Some(chosen) => {
            let in_use = configured.as_deref() == Some(chosen.as_str());
            Some((chosen, in_use))
        }
        None => configured.map(|port| (port, true)),
    }
}

/// Shows the selected device, its ports and the list.
fn show(ctx: &Ctx, tech: &Shared) {
    let slot = tech.devices.borrow().selected;
    let configured = configured(ctx, slot);
    let chosen = tech.devices.borrow().chosen[slot.index()].clone();
    // Emulators and by-id links are not listed by the OS: the configured ports always are.
    let mut rows: Vec<TechnicianPort> = Vec::new();
    let mut add = |path: String, description: String| {
        if rows.iter().any(|r| r.path == path.as_str()) {
            return;
        }
        rows.push(TechnicianPort {
            in_use: configured.as_deref() == Some(path.as_str()),
            chosen: chosen.as_deref() == Some(path.as_str()),
            path: path.into(),
            description: description.into(),
        });
    };
    if let Some(port) = &configured {
        add(port.clone(), String::new());
    }
    for other in Slot::ALL.into_iter().filter(|s| *s != slot) {
        if let Some(port) = configured_of(ctx, other) {
            add(port, format!("({})", other.name()));
        }
    }
    for port in &tech.devices.borrow().found {
        add(port.path.clone(), describe_port(&port.kind));
    }
    if let Some(port) = &chosen {
        add(port.clone(), String::new());
    }
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();
    adapter.set_device(slot.into());
    adapter.set_device_port(configured.unwrap_or_default().into());
    adapter.set_chosen_port(chosen.unwrap_or_default().into());
    adapter.set_ports(ModelRc::new(VecModel::from(rows)));
}

fn configured_of(ctx: &Ctx, slot: Slot) -> Option<String> {
    configured(ctx, slot)
}

fn refresh_ports(ctx: &Rc<Ctx>, tech: &Shared) {
    let t = Rc::clone(tech);
    ctx.background(
        |_| hardware::ports::list(),
        move |ctx, listed| match listed {
            Ok(ports) => {
                t.devices.borrow_mut().found = ports;
                show(ctx, &t);
            }
            Err(err) => {
                tracing::warn!(target: "technician", %err, "cannot list ports");
                set_state(ctx, TechnicianDeviceState::PortsFailed, err.to_string());
            }
        },
    );
}

fn stop_waiting(ctx: &Rc<Ctx>, tech: &Shared) {
    if tech.devices.borrow_mut().test_timeout.take().is_some() {
        ctx.stop_reading_cards();
        ctx.release_scanner();
    }
}

/// Gives up a test on the booth's own device after `wait`.
fn time_out_after(
    ctx: &Rc<Ctx>,
    tech: &Shared,
    wait: Duration,
    state: TechnicianDeviceState,
    detail: String,
) {
    let timer = Timer::default();
    let t = Rc::clone(tech);
    timer.start(
        slint::TimerMode::SingleShot,
        wait,
        ctx.callback(move |ctx| {
            stop_waiting(ctx, &t);
            tracing::info!(target: "technician", "device test timed out");
            if showing(ctx, TechnicianView::Devices) {
                set_state(ctx, state, detail.clone());
            }
        }),
    );
    tech.devices.borrow_mut().test_timeout = Some(timer);
}

fn test(ctx: &Rc<Ctx>, tech: &Shared) {
    stop_waiting(ctx, tech);
    let slot = tech.devices.borrow().selected;
    let Some((port, in_use)) = target(ctx, tech, slot) else {
        set_state(ctx, TechnicianDeviceState::NoPort, String::new());
        return;
    };
    tracing::info!(target: "technician", %port, "testing the {}", slot.name());
    match slot {
        Slot::Reader => test_reader(ctx, tech, port, in_use),
        Slot::Printer => test_printer(ctx, port, in_use),
        Slot::Scanner => test_scanner(ctx, tech, port, in_use),
    }
}

fn test_reader(ctx: &Rc<Ctx>, tech: &Shared, port: String, in_use: bool) {
    set_state(ctx, TechnicianDeviceState::WaitingCard, port.clone());
    if in_use && ctx.services.devices().has_reader() {
        let t = Rc::clone(tech);
        let at = port.clone();
        ctx.read_cards(move |ctx, event| {
            let (state, detail) = match event {
                CardEvent::Read(card) => (
                    TechnicianDeviceState::CardRead,
                    // Only the masked number: the card may be anyone's.
                    format!("{} · {at}", card.id_number()),
                ),
                CardEvent::Failed(problem) => (
                    TechnicianDeviceState::CardFailed,
                    format!("{} · {at}", problem_text(problem)),
                ),
                CardEvent::Removed => return,
            };
            tracing::info!(target: "technician", "reader test: {state:?}");
            stop_waiting(ctx, &t);
            ctx.stop_reading_cards();
            set_state(ctx, state, detail);
        });
        time_out_after(
            ctx,
            tech,
            probe::TEST_WAIT,
            TechnicianDeviceState::CardFailed,
            format!("no card within {} s · {port}", probe::TEST_WAIT.as_secs()),
        );
        return;
    }
    ctx.background(
        move |_| {
            let spec: PortSpec = port.parse().map_err(|e: PortError| e.to_string())?;
            probe::read_card(&spec, probe::TEST_WAIT)
                .map(|masked| format!("{masked} · {port}"))
                .map_err(|err| format!("{err} · {port}"))
        },
        |ctx, result| {
            let (state, detail) = match result {
                Ok(detail) => (TechnicianDeviceState::CardRead, detail),
                Err(detail) => (TechnicianDeviceState::CardFailed, detail),
            };
            tracing::info!(target: "technician", "reader test: {state:?}");
            set_state(ctx, state, detail);
        },
    );
}

fn problem_text(problem: CardProblem) -> &'static str {
    match problem {
        CardProblem::HoldStill => "the read was cut short: place the card flat and hold it still",
        CardProblem::Unreadable => "the card answered but cannot be read",
        CardProblem::ReaderUnavailable => "the reader does not answer: check its cable and port",
    }
}

fn test_printer(ctx: &Rc<Ctx>, port: String, in_use: bool) {
    set_state(ctx, TechnicianDeviceState::Working, port.clone());
    let paper = ctx
        .services
        .config()
        .devices
        .printer
        .as_ref()
        .map_or(PaperWidth::Mm58, |p| p.paper);
    ctx.background(
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
        |ctx, result| {
            let (state, detail) = match result {
                Ok(port) => (TechnicianDeviceState::Printed, port),
                Err(detail) => (TechnicianDeviceState::PrintFailed, detail),
            };
            tracing::info!(target: "technician", "printer test: {state:?}");
            set_state(ctx, state, detail);
        },
    );
}

fn test_scanner(ctx: &Rc<Ctx>, tech: &Shared, port: String, in_use: bool) {
    set_state(ctx, TechnicianDeviceState::WaitingScan, port.clone());
    if in_use && ctx.services.config().devices.scanner.is_some() {
        let t = Rc::clone(tech);
        let at = port.clone();
        ctx.capture_scans(move |ctx, code| {
            if t.devices.borrow_mut().test_timeout.take().is_none() {
                return;
            }
            ctx.release_scanner();
            // The code is shown to the technician who scanned it, never logged.
            tracing::info!(target: "technician", "scanner test: a code was read");
            set_state(
                ctx,
                TechnicianDeviceState::Scanned,
                format!("{code} · {at}"),
            );
        });
        time_out_after(
            ctx,
            tech,
            probe::TEST_WAIT,
            TechnicianDeviceState::ScanTimeout,
            port,
        );
        return;
    }
    ctx.background(
        move |_| {
            let spec: PortSpec = port.parse().map_err(|e: PortError| e.to_string())?;
            probe::wait_for_scan(&spec, probe::TEST_WAIT)
                .map(|code| code.map(|code| format!("{code} · {port}")))
                .map_err(|err| format!("{err} · {port}"))
        },
        |ctx, result| {
            let (state, detail) = match result {
                Ok(Some(detail)) => (TechnicianDeviceState::Scanned, detail),
                Ok(None) => (TechnicianDeviceState::ScanTimeout, String::new()),
                Err(detail) => (TechnicianDeviceState::ScanTimeout, detail),
            };
            tracing::info!(target: "technician", "scanner test: {state:?}");
            set_state(ctx, state, detail);
        },
    );
}

fn printer_status(ctx: &Rc<Ctx>, tech: &Shared) {
    let Some((port, _)) = target(ctx, tech, Slot::Printer) else {
        set_state(ctx, TechnicianDeviceState::NoPort, String::new());
        return;
    };
    tracing::info!(target: "technician", %port, "printer status asked");
    set_state(ctx, TechnicianDeviceState::Working, port.clone());
    ctx.background(
        move |_| {
            let spec: PortSpec = port.parse().map_err(|e: PortError| e.to_string())?;
            probe::printer_status(&spec)
                .map(|status| (kiosk_core::devices::printer_problems(&status), port.clone()))
                .map_err(|err| format!("{err} · {port}"))
        },
        |ctx, result| {
            let (state, detail) = match result {
                Ok((None, port)) => (TechnicianDeviceState::PrinterReady, port),
                Ok((Some(problems), port)) => (
                    TechnicianDeviceState::PrinterProblem,
                    format!("{problems} · {port}"),
                ),
                Err(detail) => (TechnicianDeviceState::PrinterProblem, detail),
            };
            tracing::info!(target: "technician", "printer status: {state:?}");
            set_state(ctx, state, detail);
        },
    );
}

/// Finds the selected device among the ports: readers and printers answer a status request;
/// a scanner only sends, so it is found by the test (scan a code) instead.
fn auto_detect(ctx: &Rc<Ctx>, tech: &Shared) {
    stop_waiting(ctx, tech);
    let slot = tech.devices.borrow().selected;
    tracing::info!(target: "technician", "auto-detecting the {}", slot.name());
    if slot == Slot::Scanner {
        set_state(
            ctx,
            TechnicianDeviceState::NotDetected,
            "a scanner only sends codes: choose a port, tap the scan test and scan any code"
                .to_owned(),
        );
        return;
    }
    // Never send reader commands to a printer (it would print them), nor the other way round.
    let others: Vec<String> = Slot::ALL
        .into_iter()
        .filter(|s| *s != slot)
        .filter_map(|s| configured(ctx, s))
        .collect();
    let mut candidates: Vec<String> = tech
        .devices
        .borrow()
        .found
        .iter()
        .filter(|p| slot == Slot::Printer || p.kind != PortKind::UsbPrinter)
        .map(|p| p.path.clone())
        .collect();
    if let Some(port) = configured(ctx, slot) {
        candidates.insert(0, port);
    }
    candidates.retain(|p| !others.contains(p));
    candidates.dedup();
    set_state(ctx, TechnicianDeviceState::Working, String::new());
    let t = Rc::clone(tech);
    ctx.background(
        move |_| {
            candidates.into_iter().find(|path| match slot {
                Slot::Reader => probe::is_reader(path),
                _ => probe::is_printer(path),
            })
        },
        move |ctx, found| match found {
            Some(port) => {
                tracing::info!(target: "technician", %port, "{} detected", slot.name());
                t.devices.borrow_mut().chosen[slot.index()] = Some(port.clone());
                show(ctx, &t);
                set_state(ctx, TechnicianDeviceState::Detected, port);
            }
            None => {
                tracing::info!(target: "technician", "{} not detected", slot.name());
                set_state(ctx, TechnicianDeviceState::NotDetected, String::new());
            }
        },
    );
}

fn save_ports(ctx: &Rc<Ctx>, tech: &Shared) {
    let ports: Vec<(Slot, String)> = Slot::ALL
        .into_iter()
        .filter_map(|slot| {
            tech.devices.borrow().chosen[slot.index()]
                .clone()
                .map(|port| (slot, port))
        })
        .collect();
    if ports.is_empty() {
        set_state(ctx, TechnicianDeviceState::NoPort, String::new());
        return;
    }
    let Some(path) = super::config_file(ctx) else {
        tracing::info!(target: "technician", "ports not saved: the booth runs without a config file");
        set_state(
            ctx,
            TechnicianDeviceState::NotSaved,
            "this booth was started without --config: write the ports into [devices] of its config file".to_owned(),
        );
        return;
    };
    ctx.background(
        move |_| config_file::save(&path, &ports).map(|()| path.display().to_string()),
        |ctx, saved| match saved {
            Ok(path) => {
                tracing::info!(target: "technician", config = %path, "device ports saved");
                set_state(ctx, TechnicianDeviceState::Saved, path);
            }
            Err(err) => {
                tracing::warn!(target: "technician", %err, "device ports not saved");
                set_state(ctx, TechnicianDeviceState::NotSaved, err.to_string());
            }
        },
    );
}
