//! The booth's devices as the app uses them: a reader thread that reads cards only while a page
//! asks for one, a scanner thread that re-opens its port after an unplug (serial, or a
//! keyboard-mode scanner's input node: [`hid_scanner`]), and a printer opened per receipt.
//! Threads report to the UI thread through a [`UiSender`]; nothing here blocks it.
//!
//! Each device's port is [`Swappable`]: the technician's devices page sets a new one and the
//! reader and scanner threads, woken, drop the old port and open the new one (the printer is
//! opened afresh for every receipt anyway), so a chosen port takes effect at once.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use hardware::id_card::{Card, PollEvent, Reader, ReaderError};
use hardware::printer::{PaperWidth, PrintReport, PrinterError, Receipt};
use hardware::scanner::{ReconnectConfig, ReconnectingScanner, ScannerEvent};
use hardware::transport::Transport;

use super::config::{DevicesConfig, PrinterDevice, SerialDevice};
use super::context::UiSender;
use super::hid_scanner;
use super::swappable::Swappable;
use kiosk_core::devices::camera::{CameraEvent, CameraWorker};
use kiosk_core::devices::{self, CARD_POLL_INTERVAL, PortError, PortSpec, SCANNER_BAUD};
const REOPEN_INTERVAL: Duration = Duration::from_secs(2);
/// How long the scanner thread listens before it looks whether its port was changed.
const SCAN_LISTEN: Duration = Duration::from_millis(500);
/// How often an idle reader thread looks whether a page armed it.
const READER_IDLE: Duration = Duration::from_millis(50);

/// What the reader saw while a page was waiting for a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardEvent {
    /// A card was placed and read. The photo is not kept.
    Read(Box<Card>),
    Failed(CardProblem),
    /// The card was lifted.
    Removed,
}

/// Why no card could be read, in the terms a villager can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardProblem {
    /// The read was cut short (card moved, weak field): place it flat and hold it still.
    HoldStill,
    /// The card answered but what it holds cannot be used (damaged, not an ID card).
    Unreadable,
    /// No reader answers: the booth needs a technician, or the number can be typed.
    ReaderUnavailable,
}

/// Why a receipt did not print.
#[derive(Debug, thiserror::Error)]
pub enum PrintFailure {
    #[error("this booth has no printer configured: set [devices.printer] in the booth config")]
    NoPrinter,
    #[error(transparent)]
    Open(#[from] PortError),
    #[error(transparent)]
    Printer(#[from] PrinterError),
}

impl PrintFailure {
    /// The printer said it is out of paper (the receipt must be shown on screen instead).
    pub fn is_paper_out(&self) -> bool {
        match self {
            Self::Printer(err) => err.status().is_some_and(|s| s.paper_end),
            _ => false,
        }
    }
}

/// The devices of one booth.
#[derive(Debug)]
pub struct Devices {
    reader_armed: Arc<AtomicBool>,
    /// Bumped on every arming, so the reader thread starts afresh (a card already lying on
    /// the reader is read, not taken as "still present").
    reader_arming: Arc<AtomicU64>,
    reader: Arc<Swappable<SerialDevice>>,
    scanner: Arc<Swappable<SerialDevice>>,
    printer: Swappable<PrinterDevice>,
    printer_lock: Mutex<()>,
    /// Prints under way, for the updater's quiet moment.
    printing: AtomicUsize,
    /// The document camera's thread, on a booth that has one.
    camera: Option<CameraWorker>,
}

impl Devices {
    /// Starts the reader and scanner threads; one without a configured device waits for a
    /// port to be chosen.
    pub fn start(config: &DevicesConfig, ui: &UiSender) -> Self {
        let reader_armed = Arc::new(AtomicBool::new(false));
        let reader_arming = Arc::new(AtomicU64::new(0));
        let reader = Arc::new(Swappable::new(config.id_card.clone()));
        let scanner = Arc::new(Swappable::new(config.scanner.clone()));
        {
            let (reader, armed, arming) = (
                Arc::clone(&reader),
                Arc::clone(&reader_armed),
                Arc::clone(&reader_arming),
            );
            let ui = ui.clone();
            thread::Builder::new()
                .name("id-card-reader".into())
                .spawn(move || {
                    reader_loop(&reader, &armed, &arming, &|event| post_card(&ui, event))
                })
                .expect("start the reader thread");
        }
        {
            let scanner = Arc::clone(&scanner);
            let ui = ui.clone();
            thread::Builder::new()
                .name("scanner".into())
                .spawn(move || scanner_loop(&scanner, &ui))
                .expect("start the scanner thread");
        }
        let camera = config.camera.as_ref().and_then(|camera| {
            let report = camera_reporter(ui.clone());
            CameraWorker::start(camera.device.clone(), report)
                .inspect_err(|err| tracing::error!(%err, "cannot start the camera thread"))
                .ok()
        });
        Self {
            reader_armed,
            reader_arming,
            reader,
            scanner,
            printer: Swappable::new(config.printer.clone()),
            printer_lock: Mutex::new(()),
            printing: AtomicUsize::new(0),
            camera,
        }
    }

    /// A camera is configured and plugged in (checked as a flow starts).
    pub fn has_camera(&self) -> bool {
        self.camera
            .as_ref()
            .is_some_and(CameraWorker::is_plugged_in)
    }

    /// The camera's live picture, until a still is taken or it is stopped.
    pub fn start_camera(&self) {
        if let Some(camera) = &self.camera {
            camera.preview();
        }
    }

    pub fn take_photo(&self) {
        if let Some(camera) = &self.camera {
            camera.take();
        }
    }

    pub fn stop_camera(&self) {
        if let Some(camera) = &self.camera {
            camera.stop();
        }
    }

    pub fn has_reader(&self) -> bool {
        self.reader.is_set()
    }

    pub fn has_printer(&self) -> bool {
        self.printer.is_set()
    }

    pub fn has_scanner(&self) -> bool {
        self.scanner.is_set()
    }

    /// The reader is on `port` from now on (at its configured baud rate, if any).
    pub fn use_reader_port(&self, port: PortSpec) {
        tracing::info!(?port, "ID card reader port changed");
        self.reader.update(|old| match old {
            Some(old) => SerialDevice { port, ..old },
            None => SerialDevice {
                port,
                baud: None,
                usb_ids: Vec::new(),
            },
        });
    }

    /// The scanner is on `port` from now on: the scanner thread reopens on it.
    pub fn use_scanner_port(&self, port: PortSpec) {
        tracing::info!(?port, "scanner port changed");
        self.scanner.update(|old| match old {
            Some(old) => SerialDevice { port, ..old },
            None => SerialDevice {
                port,
                baud: None,
                usb_ids: Vec::new(),
            },
        });
    }

    /// The next receipt prints on `port` (at the configured baud rate and paper width).
    pub fn use_printer_port(&self, port: PortSpec) {
        tracing::info!(?port, "printer port changed");
        self.printer.update(|old| match old {
            Some(old) => PrinterDevice { port, ..old },
            None => PrinterDevice {
                port,
                baud: None,
                paper: PaperWidth::Mm58,
                usb_ids: Vec::new(),
            },
        });
    }

    /// Reads cards while `armed`; a booth keeps no card data nobody asked for.
    pub fn arm_reader(&self, armed: bool) {
        if armed {
            self.reader_arming.fetch_add(1, Ordering::SeqCst);
        }
        self.reader_armed.store(armed, Ordering::SeqCst);
    }

    pub fn reader_armed(&self) -> bool {
        self.reader_armed.load(Ordering::SeqCst)
    }

    /// Prints `receipt`, refusing before sending anything if the printer reports a fault.
    /// Blocks for the length of the print: call it from background work.
    pub fn print(&self, receipt: &Receipt) -> Result<PrintReport, PrintFailure> {
        self.printing.fetch_add(1, Ordering::SeqCst);
        let _done = Printing(&self.printing);
        let _one_at_a_time = self
            .printer_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let printer = self.printer.get().0.ok_or(PrintFailure::NoPrinter)?;
        let mut opened = devices::open_printer(&printer.port, printer.baud, printer.paper)?;
        Ok(opened.print(receipt)?)
    }

    /// A receipt is being printed (or waits for the printer): no install may start now.
    pub fn is_printing(&self) -> bool {
        self.printing.load(Ordering::SeqCst) > 0
    }
}

/// Counts a print as over however it ends.
struct Printing<'a>(&'a AtomicUsize);

impl Drop for Printing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads cards while armed, posting what it sees. The port is opened by its configured name
/// each time (a `/dev/booth/id-reader` link, re-pointed by udev when the reader is plugged in
/// again), so an unplugged reader is found again without a restart; a port the technician
/// chose replaces it at once.
fn reader_loop(
    port: &Swappable<SerialDevice>,
    armed: &AtomicBool,
    arming: &AtomicU64,
    post: &dyn Fn(CardEvent),
) {
    let mut reader: Option<Reader<Box<dyn Transport>>> = None;
    let mut seen_arming = 0;
    let (mut device, mut seen_port) = port.get();
    let mut reported_unavailable = false;
    loop {
        if !armed.load(Ordering::SeqCst) {
            thread::sleep(READER_IDLE);
            continue;
        }
        let now_arming = arming.load(Ordering::SeqCst);
        if now_arming != seen_arming {
            seen_arming = now_arming;
            reader = None;
            reported_unavailable = false;
        }
        if port.generation() != seen_port {
            // A new port: the old one is closed (dropped) before the new one opens.
            (device, seen_port) = port.get();
            reader = None;
            reported_unavailable = false;
        }
        let Some(device) = &device else {
            // No reader yet: pages do not arm one (`has_reader`), until a port is chosen.
            thread::sleep(READER_IDLE);
            continue;
        };
        let active = match reader.as_mut() {
            Some(active) => active,
            None => match devices::open_reader(&device.port, device.baud) {
                Ok(opened) => reader.insert(opened),
                Err(err) => {
                    tracing::warn!(%err, "ID card reader unavailable");
                    if !reported_unavailable {
                        reported_unavailable = true;
                        post(CardEvent::Failed(CardProblem::ReaderUnavailable));
                    }
                    port.wait_for_change(seen_port, REOPEN_INTERVAL);
                    continue;
                }
            },
        };
        match active.poll() {
            Ok(PollEvent::Placed(read)) => {
                reported_unavailable = false;
                post(CardEvent::Read(Box::new(read.card)));
            }
            Ok(PollEvent::Removed) => post(CardEvent::Removed),
            Ok(PollEvent::Present | PollEvent::Empty) => {}
            Err(err) => {
                // The error names the port and the advice; it carries no card data.
                tracing::warn!(%err, "ID card read failed");
                let problem = classify(&err);
                if err.is_link_failure() {
                    reader = None;
                    if reported_unavailable {
                        port.wait_for_change(seen_port, REOPEN_INTERVAL);
                        continue;
                    }
                    reported_unavailable = true;
                }
                post(CardEvent::Failed(problem));
            }
        }
        thread::sleep(CARD_POLL_INTERVAL);
    }
}

fn classify(err: &ReaderError) -> CardProblem {
    match err {
        ReaderError::UnreadableCard { .. } | ReaderError::InvalidIdNumber { .. } => {
            CardProblem::Unreadable
        }
        _ if err.is_link_failure() => CardProblem::ReaderUnavailable,
        _ => CardProblem::HoldStill,
    }
}

fn post_card(ui: &UiSender, event: CardEvent) {
    ui.post(move |ctx| ctx.card_event(event));
}

fn scanner_loop(port: &Swappable<SerialDevice>, ui: &UiSender) {
    loop {
        let (device, seen) = port.get();
        let Some(device) = device else {
            // No scanner: wait for one to be chosen (receipt numbers can still be typed).
            port.wait_for_change(seen, Duration::from_secs(3_600));
            continue;
        };
        match device.port.resolve() {
            // Which driver depends on the node the port leads to, known once it exists.
            Ok(path) => match hid_scanner::scanner_node(&path) {
                Ok(None) => {
                    port.wait_for_change(seen, REOPEN_INTERVAL);
                }
                Ok(Some(hid_scanner::ScannerNode::Keyboard)) => {
                    // Only a build with `evdev` gets here: without it `scanner_node` says it
                    // cannot.
                    #[cfg(feature = "evdev")]
                    hid_scanner::read_until(&path, &|| port.generation() != seen, &|code| {
                        ui.post(move |ctx| ctx.scanned(code))
                    });
                    tracing::info!("scanner port changed: reopening");
                }
                Ok(Some(hid_scanner::ScannerNode::Serial)) => {
                    let config = ReconnectConfig::new(path, device.baud.unwrap_or(SCANNER_BAUD));
                    let mut scanner = ReconnectingScanner::new(config);
                    while port.generation() == seen {
                        scanner_event(scanner.next_event(SCAN_LISTEN), ui);
                    }
                    // Dropped here: the old port is closed before the new one opens.
                    tracing::info!("scanner port changed: reopening");
                }
                Err(err) => {
                    tracing::error!(%err, "scanner unavailable: receipt numbers can still be typed");
                    port.wait_for_change(seen, Duration::from_secs(3_600));
                }
            },
            Err(err) => {
                tracing::warn!(%err, "scanner unavailable: receipt numbers can still be typed");
                // A USB scanner plugged in later resolves then; a new port sooner.
                port.wait_for_change(seen, REOPEN_INTERVAL * 15);
            }
        }
    }
}

fn scanner_event(event: Option<ScannerEvent>, ui: &UiSender) {
    match event {
        Some(ScannerEvent::Scan(scan)) => {
            let code = scan.text;
            ui.post(move |ctx| ctx.scanned(code));
        }
        Some(ScannerEvent::Rejected(err)) => tracing::warn!(%err, "scan dropped"),
        Some(ScannerEvent::Disconnected { port, cause }) => {
            tracing::warn!(%port, %cause, "scanner lost");
        }
        Some(ScannerEvent::Connected { port } | ScannerEvent::Reconnected { port }) => {
            tracing::info!(%port, "scanner ready");
        }
        None => {}
    }
}

/// Hands the camera's events to the UI thread. Live frames go through a one-frame slot: a new
/// frame replaces one the UI thread has not drawn yet, so a UI slower than the camera (a slow
/// booth CPU) shows the latest picture late by one frame at most, and a still taken is never
/// queued behind a backlog of old frames.
fn camera_reporter(ui: UiSender) -> impl Fn(CameraEvent) + Send + 'static {
    let latest: Arc<Mutex<Option<CameraEvent>>> = Arc::default();
    move |event: CameraEvent| {
        if !matches!(event, CameraEvent::Preview { .. }) {
            ui.post(move |ctx| ctx.camera_event(event));
            return;
        }
        let waiting = latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .replace(event)
            .is_some();
        if !waiting {
            let latest = Arc::clone(&latest);
            ui.post(move |ctx| {
                let frame = latest
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                if let Some(frame) = frame {
                    ctx.camera_event(frame);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use hardware::id_card::emulator::{self as card_emulator, EmulatedCard, EmulatorConfig};
    use hardware::id_card::samples;
    use hardware::transport::Pty;

    use super::*;

    /// Long enough for a slow machine; the reader is retried every 2 s.
    const PATIENCE: Duration = Duration::from_secs(30);

    fn reader_with_card(link: &std::path::Path) -> card_emulator::Emulator {
        let pty = Pty::open().unwrap().with_link(link).unwrap();
        card_emulator::spawn_on_pty(
            pty,
            EmulatorConfig {
                card: Some(EmulatedCard::new(samples::resident()).unwrap()),
                ..EmulatorConfig::default()
            },
        )
        .unwrap()
    }

    fn next_read(events: &mpsc::Receiver<CardEvent>) -> Vec<CardEvent> {
        let mut seen = Vec::new();
        loop {
            let event = events.recv_timeout(PATIENCE).expect("a card event");
            let read = matches!(event, CardEvent::Read(_));
            seen.push(event);
            if read {
                return seen;
            }
        }
    }

    #[test]
    fn an_unplugged_reader_is_found_again_behind_its_link() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("id-reader");
        let first = reader_with_card(&link);
        let device = Swappable::new(Some(SerialDevice {
            port: PortSpec::Path(link.to_str().unwrap().to_owned()),
            baud: None,
            usb_ids: Vec::new(),
        }));
        let (sender, events) = mpsc::channel();
        std::thread::spawn(move || {
            let armed = AtomicBool::new(true);
            let arming = AtomicU64::new(1);
            reader_loop(&device, &armed, &arming, &move |event| {
                let _ = sender.send(event);
            });
        });
        next_read(&events);

        // Unplugged: the node and its link go away (the emulator's pty closes).
        drop(first);
        assert!(!link.exists(), "the link went with the reader");
        let lost = events.recv_timeout(PATIENCE).expect("the loss is reported");
        assert_eq!(lost, CardEvent::Failed(CardProblem::ReaderUnavailable));

        // Plugged in again: a new node behind the same link (the old node's number is taken,
        // as ttyUSB0 comes back as ttyUSB1), and the app was not restarted.
        let _taken = Pty::open().unwrap();
        let _second = reader_with_card(&link);
        let seen = next_read(&events);
        assert!(
            seen.iter().all(|e| matches!(
                e,
                CardEvent::Read(_) | CardEvent::Failed(CardProblem::ReaderUnavailable)
            )),
            "{seen:?}"
        );
    }
}
