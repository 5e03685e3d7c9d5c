//! `kiosk-demo`: the whole booth on one machine, in one command. It starts the county server
//! (the `sync-server` binary, with its SQLite store and the seed catalogue, on loopback),
//! emulated ID card reader, printer and scanner on pseudo-terminals and a document camera (a
//! folder holding the frame it sees: a printed page on a desk), enrolls the booth with a
//! technician PIN, and opens the booth window. Printed receipts are saved as PNG and text in
//! the folder named at start; the terminal takes commands to place a card, scan a code, lay
//! another page under the camera, and more (`help`, see [`controls`]).
//!
//! `--check` does everything but the window: it waits for the catalogue to reach the booth,
//! prints a sample receipt, makes a page of the camera's still, and exits (for CI and machines without a display). `--no-window`
//! keeps everything but the window running, driven from the terminal, until Ctrl-C or `quit`.
//!
//! A crate of its own so that the booth's firmware binary (`kiosk`) carries neither the demo
//! nor its embedded catalogue.
//!
//! Lifetimes the demo keeps: the emulated devices belong to [`Demo::run`] and live until the
//! window (or the headless wait) ends, whatever the terminal does; every child process is tied
//! to the demo's life ([`county::tied_to_this_process`]), so none outlives it, however it ends.

mod controls;
mod county;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use hardware::camera::DocumentScene;
use hardware::camera::emulator as camera_emulator;
use hardware::id_card::emulator::{self as reader_emulator, EmulatedCard, EmulatorControl};
use hardware::id_card::samples;
use hardware::printer::decode::PrintedLine;
use hardware::printer::emulator::{self as printer_emulator, EmulatorHandle, Fault};
use hardware::printer::{PaperWidth, sample};
use hardware::scanner::emulator::{self as scanner_emulator, ScannerEmulator};
use kiosk::app::{App, AppConfig, Services};
use kiosk::launch;
use kiosk_core::store::Store;
use kiosk_core::store::technician_pin::TechnicianPin;
use slint::ComponentHandle;

use controls::{Control, HELP};
use county::County;

/// The whole booth on this machine: the county server, emulated devices and the booth window.
#[derive(Debug, Parser)]
#[command(name = "kiosk-demo", version, about)]
pub struct Demo {
    /// Where the demo keeps everything: county/ (server), booth/ (booth data), receipts/,
    /// screenshots/, booth.toml, server.log. Emptied first. Default: a new folder in the
    /// temp directory.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Start everything, sync the catalogue, print a sample receipt, and exit without a window.
    #[arg(long)]
    check: bool,
    /// Everything but the window (server, devices, the booth's sync), driven from this terminal
    /// and the kiosk commands until Ctrl-C or `quit`: for machines without a display.
    #[arg(long, conflicts_with = "check")]
    no_window: bool,
    /// The sync-server binary; default: next to this binary, else on PATH.
    #[arg(long, value_name = "PATH", env = "KIOSK_DEMO_SERVER")]
    server: Option<PathBuf>,
    /// The technician PIN of the demo booth (hold the village name for 3 s).
    #[arg(long, default_value = "1234", value_parser = pin_text)]
    technician_pin: String,
    /// The language each session starts in: zh_CN or en.
    #[arg(long, default_value = "zh_CN")]
    language: String,
}

/// The emulated devices; the terminal's commands drive them.
struct Emulators {
    reader: reader_emulator::Emulator,
    printer: EmulatorHandle,
    scanner: ScannerEmulator,
    /// The document camera: a folder holding the frame it sees (`page N` lays another page).
    camera: PathBuf,
}

/// What the emulated document camera sends: 3 megapixels, as a small 高拍仪 does.
const CAMERA_SIZE: (u32, u32) = (2048, 1536);

/// Lays page `number` of the sample document under the emulated camera.
fn lay_page(camera: &Path, number: u32) -> anyhow::Result<()> {
    let scene = DocumentScene::a4_on_desk(CAMERA_SIZE.0, CAMERA_SIZE.1, number);
    camera_emulator::publish(camera, &scene.mjpeg_frame(90))
        .with_context(|| format!("cannot write the camera's frame in {}", camera.display()))?;
    Ok(())
}

fn main() -> ExitCode {
    let demo = Demo::parse();
    match demo.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kiosk-demo: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

fn one_line(err: &anyhow::Error) -> String {
    error_line::one_line(err.as_ref())
}

impl Demo {
    pub fn run(&self) -> anyhow::Result<()> {
        if !self.check && !self.no_window {
            launch::check_backend()?;
            launch::check_display()?;
        }
        let dir = self.prepare_dir()?;
        let server = county::find_server(self.server.as_deref())?;
        println!("kiosk-demo: everything goes under {}", dir.display());

        let county = County::start(&server, &dir.join("county"), &dir.join("server.log"))?;
        println!(
            "  county server  {} (sync-server, log: {})",
            county.url,
            county.log.display()
        );

        self.print_staff_accounts(&county)?;

        let booth_dir = dir.join("booth");
        let code = county.issue_code()?;
        let identity = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(kiosk_core::sync::enroll(&booth_dir, &county.url, &code))
            .context("cannot enroll the demo booth")?;
        Store::open(&booth_dir)?
            .set_technician_pin(&TechnicianPin::parse(&self.technician_pin)?)?;
        println!(
            "  booth          kiosk #{} of {} {} {}, enrolled with code {code} (data: {})",
            identity.kiosk_number,
            identity.village.county,
            identity.village.township,
            identity.village.village,
            booth_dir.display()
        );

        let receipts = dir.join("receipts");
        let devices = Arc::new(spawn_emulators(&receipts, &dir.join("camera"))?);
        let config_path = dir.join("booth.toml");
        std::fs::write(&config_path, self.config_text(&booth_dir, &devices)?)
            .with_context(|| format!("cannot write {}", config_path.display()))?;
        let config = AppConfig::load(&config_path)?;
        println!(
            "  devices        ID card reader {}, printer {}, scanner {}, document camera {} (config: {})",
            devices
                .reader
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            devices.printer.path().display(),
            devices.scanner.path().display(),
            devices.camera.display(),
            config_path.display()
        );
        println!("  receipts       {} (PNG and text)", receipts.display());

        let county = Arc::new(county);
        let result = if self.check {
            check(config, &devices)
        } else {
            self.serve(config, &dir, &devices, &county)
        };
        // Only now, with the window closed, may the devices go: the terminal ending earlier
        // (standard input at its end) must not take them from a booth still on screen.
        county.stop();
        drop(devices);
        result
    }

    /// The demo folder, emptied of an earlier run's parts.
    fn prepare_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = match &self.dir {
            Some(dir) => dir.clone(),
            None => {
                let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
                std::env::temp_dir().join(format!("kiosk-demo-{stamp}"))
            }
        };
        for part in ["county", "booth", "receipts", "screenshots"] {
            let path = dir.join(part);
            if path.exists() {
                std::fs::remove_dir_all(&path)
                    .with_context(|| format!("cannot empty {}", path.display()))?;
            }
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(std::path::absolute(&dir).unwrap_or(dir))
    }

    /// The county's staff for the web pages: one administrator for the county and the three
    /// review levels for the demo booth's township, each with a fresh password.
    fn print_staff_accounts(&self, county: &County) -> anyhow::Result<()> {
        let township = format!("{}/{}", county::COUNTY, county::TOWNSHIP);
        let accounts = [
            (
                "admin",
                "admin",
                county::COUNTY.to_owned(),
                "县管理员",
                "administrator",
            ),
            (
                "handler",
                "handler",
                township.clone(),
                "张承办",
                "承办人 handler",
            ),
            (
                "reviewer",
                "reviewer",
                township.clone(),
                "王审查",
                "审查人 reviewer",
            ),
            (
                "approver",
                "approver",
                township,
                "赵审批",
                "审批人 approver",
            ),
        ];
        println!(
            "  staff pages    {}/staff  (log in as one of these; new passwords every run)",
            county.url
        );
        for (user, role, scope, name, label) in accounts {
            let password = county.add_staff(user, role, &scope, name)?;
            println!("                 {user:<9} {password}  {label}, {scope}");
        }
        Ok(())
    }

    fn config_text(&self, booth_dir: &Path, devices: &Emulators) -> anyhow::Result<String> {
        let text = |path: &Path| -> anyhow::Result<String> {
            let text = path
                .to_str()
                .with_context(|| format!("{} is not UTF-8", path.display()))?;
            Ok(toml::Value::String(text.to_owned()).to_string())
        };
        let reader = devices
            .reader
            .path()
            .context("the reader emulator has no port")?;
        Ok(format!(
            "# Written by `kiosk demo`: the booth's data and its emulated devices.\n\
             data_dir = {}\nlanguage = {}\n\n\
             [devices.id_card]\nport = {}\n\n\
             [devices.printer]\nport = {}\npaper = 58\n\n\
             [devices.scanner]\nport = {}\n\n\
             [devices.camera]\ndevice = {}\n\n\
             # Staff act in the web pages while you watch: pull their news every 5 s.\n\
             [sync]\nfeeds_every_s = 5\n",
            text(booth_dir)?,
            toml::Value::String(self.language.clone()),
            text(reader)?,
            text(devices.printer.path())?,
            text(devices.scanner.path())?,
            text(&devices.camera)?,
        ))
    }

    /// Runs the booth with the terminal's commands until the window closes (or, with
    /// `--no-window`, until Ctrl-C or `quit`).
    fn serve(
        &self,
        config: AppConfig,
        dir: &Path,
        devices: &Arc<Emulators>,
        county: &Arc<County>,
    ) -> anyhow::Result<()> {
        launch::init_logging_to(&dir.join("booth.log"));
        let log = dir.join("booth.log");
        if self.no_window {
            // No window runs the booth's UI work: with the receiver gone, posts are dropped.
            let (ui, _) = kiosk::app::ui_channel();
            let services = Services::start(config, ui)?;
            let (quit, quitting) = mpsc::channel();
            let on_signal = quit.clone();
            ctrlc::set_handler(move || {
                let _ = on_signal.send(());
            })?;
            println!(
                "  booth log      {}\n\nThe booth runs without a window. Type a command and press Enter:\n{HELP}",
                log.display()
            );
            let controller = Controller {
                devices: Arc::clone(devices),
                county: Arc::clone(county),
                services: Arc::clone(&services),
                window: None,
                screenshots: dir.join("screenshots"),
                quit: Box::new(move || {
                    let _ = quit.send(());
                }),
            };
            controller.start_terminal()?;
            let _ = quitting.recv();
        } else {
            let app = App::start(config)?;
            println!(
                "  booth log      {}\n\nThe booth window is open. Technician mode: hold the village name for 3 s, PIN {}.",
                log.display(),
                self.technician_pin
            );
            println!("Type a command and press Enter:\n{HELP}");
            let controller = Controller {
                devices: Arc::clone(devices),
                county: Arc::clone(county),
                services: Arc::clone(&app.ctx().services),
                window: Some(app.window().as_weak()),
                screenshots: dir.join("screenshots"),
                quit: Box::new(quit_event_loop),
            };
            controller.start_terminal()?;
            ctrlc::set_handler(quit_event_loop)?;
            app.run()?;
        }
        println!(
            "kiosk-demo: stopped; receipts and screenshots stay in {}",
            dir.display()
        );
        Ok(())
    }
}

fn quit_event_loop() {
    let _ = slint::invoke_from_event_loop(|| {
        let _ = slint::quit_event_loop();
    });
}

/// A valid PIN, kept as typed: the demo prints its own PIN on purpose.
fn pin_text(text: &str) -> Result<String, String> {
    TechnicianPin::parse(text)
        .map(|_| text.trim().to_owned())
        .map_err(|e| e.to_string())
}

fn spawn_emulators(receipts: &Path, camera: &Path) -> anyhow::Result<Emulators> {
    std::fs::create_dir_all(receipts)
        .with_context(|| format!("cannot create {}", receipts.display()))?;
    let reader = reader_emulator::spawn(reader_emulator::EmulatorConfig::default())
        .context("cannot start the ID card reader emulator")?;
    let printer = printer_emulator::spawn(printer_emulator::EmulatorConfig {
        width: PaperWidth::Mm58,
        output_dir: Some(receipts.to_owned()),
        ..Default::default()
    })
    .context("cannot start the printer emulator")?;
    let scanner = scanner_emulator::spawn(scanner_emulator::EmulatorConfig::default())
        .context("cannot start the scanner emulator")?;
    lay_page(camera, 1)?;
    Ok(Emulators {
        reader,
        printer,
        scanner,
        camera: camera.to_owned(),
    })
}

/// `--check`: the booth's services without a window; the catalogue must arrive by sync and a
/// receipt must come out of the printer as PNG and text.
fn check(config: AppConfig, devices: &Emulators) -> anyhow::Result<()> {
    let (ui, _tasks) = kiosk::app::ui_channel();
    let services = Services::start(config, ui)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let items = loop {
        let items = services.with_store(|store| store.catalog_items())?;
        if !items.is_empty() {
            break items;
        }
        if Instant::now() > deadline {
            bail!("the catalogue did not reach the booth within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    println!(
        "  catalogue      {} services synced to the booth",
        items.len()
    );
    services
        .devices()
        .print(&sample::standard_receipt())
        .context("the sample receipt did not print")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while devices.printer.written_files().len() < 2 {
        if Instant::now() > deadline {
            bail!("the printer emulator saved no receipt files");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for file in devices.printer.written_files() {
        println!("  printed        {}", file.display());
    }
    let page = camera_page(&devices.camera).context("the document camera gave no page")?;
    println!("  camera         {page}");
    println!("kiosk-demo --check: the server, enrollment, sync and the devices work");
    Ok(())
}

/// One still from the camera, made into a page as the booth does: what came out.
fn camera_page(camera: &Path) -> anyhow::Result<String> {
    let mut camera = kiosk_core::devices::camera::open_camera(camera)?;
    let still = camera.capture()?.to_rgb()?;
    let page = hardware::camera::page::process(&still, &Default::default())?;
    Ok(format!(
        "a page of {}×{} px in {} KB (page edges {})",
        page.jpeg.width,
        page.jpeg.height,
        page.jpeg.bytes.len() / 1000,
        if page.outline.is_some() {
            "found"
        } else {
            "not found"
        }
    ))
}

/// Carries out the terminal's commands. It holds the devices only to drive them: their
/// owner is [`Demo::run`].
struct Controller {
    devices: Arc<Emulators>,
    county: Arc<County>,
    services: Arc<Services>,
    /// `None` with `--no-window`.
    window: Option<slint::Weak<ui::MainWindow>>,
    screenshots: PathBuf,
    /// Ends the demo (`quit`).
    quit: Box<dyn Fn() + Send>,
}

impl Controller {
    /// Reads commands from standard input on a thread of their own.
    fn start_terminal(self) -> anyhow::Result<()> {
        std::thread::Builder::new()
            .name("demo-terminal".into())
            .spawn(move || self.read(std::io::stdin().lock()))
            .context("cannot start the terminal thread")?;
        Ok(())
    }

    fn read(&self, input: impl BufRead) {
        for line in input.lines().map_while(Result::ok) {
            match controls::parse(&line) {
                Ok(None) => {}
                Ok(Some(Control::Quit)) => return (self.quit)(),
                Ok(Some(control)) => match self.apply(control) {
                    Ok(said) => println!("ok: {said}"),
                    Err(err) => println!("error: {}", one_line(&err)),
                },
                Err(message) => println!("error: {message}"),
            }
        }
        // Started with no terminal (`./demo &`, a desktop launcher): the booth goes on.
        println!("kiosk-demo: end of input; the booth runs on until its window closes (or Ctrl-C)");
    }

    fn reader(&self) -> EmulatorControl {
        self.devices.reader.control()
    }

    fn apply(&self, control: Control) -> anyhow::Result<String> {
        match control {
            Control::Place(name) => {
                let card = EmulatedCard::new(samples::by_name(&name)?)?;
                self.reader().place(card);
                Ok(format!("the {name} card is on the reader"))
            }
            Control::Remove => {
                self.reader().remove();
                Ok("the reader is empty".to_owned())
            }
            Control::Scan(code) => {
                let code = match code {
                    Some(code) => code,
                    None => last_receipt_code(&self.devices.printer)
                        .context("no receipt with a QR code was printed yet: say `scan CODE`")?,
                };
                self.devices.scanner.scan(&code)?;
                Ok(format!("scanned {code}"))
            }
            Control::PaperOut(out) => {
                self.devices
                    .printer
                    .set_fault(if out { Fault::PaperEnd } else { Fault::None });
                Ok(if out {
                    "the printer is out of paper"
                } else {
                    "the printer has paper"
                }
                .to_owned())
            }
            Control::Page(number) => {
                lay_page(&self.devices.camera, number)?;
                Ok(format!("page {number} lies under the document camera"))
            }
            Control::Status {
                receipt,
                status,
                note,
            } => {
                let said = self.county.set_status(&receipt, &status, note.as_deref())?;
                self.services.wake_sync();
                Ok(format!("{said} (the booth pulls statuses every minute)"))
            }
            Control::Shot(file) => {
                let path = match file {
                    Some(file) => file,
                    None => {
                        std::fs::create_dir_all(&self.screenshots)?;
                        let stamp = chrono::Utc::now().format("%H%M%S%3f");
                        self.screenshots.join(format!("booth-{stamp}.png"))
                    }
                };
                let window = self
                    .window
                    .clone()
                    .context("no window to take a picture of (--no-window)")?;
                let target = path.clone();
                slint::invoke_from_event_loop(move || {
                    let Some(window) = window.upgrade() else {
                        return;
                    };
                    match save_screenshot(&window, &target) {
                        Ok(()) => println!("saved {}", target.display()),
                        Err(err) => println!("error: {}", one_line(&err)),
                    }
                })?;
                Ok(format!("taking a screenshot to {}", path.display()))
            }
            Control::Help => Ok(format!("commands:\n{HELP}")),
            Control::Quit => Ok(String::new()),
        }
    }
}

/// The QR payload (the receipt number) of the last receipt printed.
fn last_receipt_code(printer: &EmulatorHandle) -> Option<String> {
    printer.receipts().iter().rev().find_map(|receipt| {
        receipt.lines.iter().find_map(|line| match line {
            PrintedLine::Qr(qr) => Some(String::from_utf8_lossy(&qr.payload).into_owned()),
            _ => None,
        })
    })
}

fn save_screenshot(window: &ui::MainWindow, path: &Path) -> anyhow::Result<()> {
    let snap = window
        .window()
        .take_snapshot()
        .context("this renderer cannot take screenshots (try SLINT_BACKEND=winit-software)")?;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), snap.width(), snap.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(snap.as_bytes())?;
    writer.finish()?;
    Ok(())
}
