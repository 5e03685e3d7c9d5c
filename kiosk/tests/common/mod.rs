//! A whole booth in one test process, for the app's flow tests: the real sync server on
//! loopback (with the seed catalogue), the booth enrolled with it, the ID card reader, printer
//! and scanner emulators on pseudo-terminals, and the app on Slint's testing backend with
//! mocked time. The flows are driven by accessible labels, as a villager reads them.
//!
//! Slint's integration-test platform can be installed once per process: one `#[test]` per file.
//! On failure, [`TestBooth::eventually`] prints what the screen shows.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hardware::id_card::emulator::{self as card_emulator, EmulatedCard};
use hardware::id_card::samples;
use hardware::printer::PaperWidth;
use hardware::printer::emulator as printer_emulator;
use hardware::scanner::emulator as scanner_emulator;
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use kiosk::app::config::{PrinterDevice, SerialDevice};
use kiosk::app::{App, AppConfig};
use kiosk_core::devices::PortSpec;
use slint::ComponentHandle;
use sync_protocol::enroll::Village;
use sync_server::key_file::ServerKeys;
use sync_server::server;
use sync_server::settings::Settings;
use sync_server::state::AppState as ServerState;
use tokio::sync::oneshot;

pub use ui::{AppState, MainWindow, Page};

/// The real server in this process, on its own Tokio runtime.
pub struct TestServer {
    pub url: String,
    pub addr: std::net::SocketAddr,
    dir: PathBuf,
    /// The keys its store is sealed with, the same across restarts.
    keys: ServerKeys,
    runtime: tokio::runtime::Runtime,
    running: Option<(
        ServerState,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl TestServer {
    pub fn start(dir: &Path) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let mut server = Self {
            url: format!("http://{addr}"),
            addr,
            dir: dir.to_owned(),
            keys: ServerKeys::generate(),
            runtime,
            running: None,
        };
        server.serve(listener);
        let catalog = sync_server::domain::catalog::read_file(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../sync-server/seed/catalog.json"),
        )
        .expect("the seed catalogue");
        server
            .runtime
            .block_on(server.state().store().import_catalog(catalog, Utc::now()))
            .expect("import the seed catalogue");
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let state = self
            .runtime
            .block_on(server::open_state(
                &self.dir,
                self.keys.clone(),
                Settings::default(),
            ))
            .expect("open the server's store");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = self
            .runtime
            .spawn(server::serve(listener, state.clone(), async move {
                let _ = stopped.await;
            }));
        let task = self.runtime.spawn(async move {
            let _ = task.await;
        });
        self.running = Some((state, stop, task));
    }

    pub fn state(&self) -> &ServerState {
        &self.running.as_ref().expect("the server is running").0
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The network goes down: the port stops answering.
    pub fn stop(&mut self) {
        if let Some((state, stop, task)) = self.running.take() {
            drop(state);
            let _ = stop.send(());
            let _ = self.runtime.block_on(task);
        }
    }

    /// The network returns, same address.
    pub fn restart(&mut self) {
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind(self.addr))
            .expect("rebind the server's port");
        self.serve(listener);
    }

    pub fn issue_code(&self) -> String {
        let village = Village {
            county: "田东县".into(),
            township: "平马镇".into(),
            village: "石桥村".into(),
        };
        self.block_on(sync_server::api::enroll_codes::issue(
            self.state().store(),
            self.state().code_secret(),
            village,
            Duration::from_secs(3600),
            Utc::now(),
        ))
        .expect("issue an enrollment code")
        .code
    }

    /// Submissions the server holds, by receipt number.
    pub fn receipt_numbers(&self) -> Vec<String> {
        let filter = sync_server::store::SubmissionFilter::default();
        let records = self
            .block_on(self.state().store().list_submissions(&filter))
            .expect("list submissions");
        records
            .into_iter()
            .map(|r| r.submission.receipt_number)
            .collect()
    }
}

/// What a test booth starts with.
#[derive(Debug, Clone, Copy)]
pub struct BoothOptions {
    pub enrolled: bool,
    pub reader: bool,
    pub printer: bool,
    pub scanner: bool,
    /// A document camera: a folder of recorded frames of a page on a desk.
    pub camera: bool,
    /// Started with a config file (`--config`), so the technician can save ports into it.
    pub config_file: bool,
}

impl Default for BoothOptions {
    fn default() -> Self {
        Self {
            enrolled: true,
            reader: true,
            printer: true,
            scanner: true,
            camera: false,
            config_file: false,
        }
    }
}

pub struct TestBooth {
    pub dir: tempfile::TempDir,
    pub server: TestServer,
    pub reader: Option<card_emulator::Emulator>,
    pub printer: Option<printer_emulator::EmulatorHandle>,
    pub scanner: Option<scanner_emulator::ScannerEmulator>,
    pub app: App,
}

impl TestBooth {
    pub fn start(options: BoothOptions) -> Self {
        i_slint_backend_testing::init_integration_test_with_mock_time();
        let dir = tempfile::tempdir().expect("temp dir");
        let server = TestServer::start(&dir.path().join("server"));
        let booth_dir = dir.path().join("booth");
        if options.enrolled {
            let code = server.issue_code();
            server
                .block_on(kiosk_core::sync::enroll(&booth_dir, &server.url, &code))
                .expect("enroll the booth");
        }
        let reader = options.reader.then(|| {
            card_emulator::spawn(card_emulator::EmulatorConfig::default())
                .expect("start the ID card reader emulator")
        });
        let printer = options.printer.then(|| {
            printer_emulator::spawn(printer_emulator::EmulatorConfig {
                width: PaperWidth::Mm58,
                output_dir: Some(dir.path().join("receipts")),
                ..Default::default()
            })
            .expect("start the printer emulator")
        });
        let scanner = options.scanner.then(|| {
            scanner_emulator::spawn(scanner_emulator::EmulatorConfig::default())
                .expect("start the scanner emulator")
        });
        let mut config = AppConfig::with_data_dir(&booth_dir);
        // News from the server within a second, so tests need not wait a village minute.
        config.sync.feeds_every_s = 1;
        config.devices.id_card = reader.as_ref().map(|r| SerialDevice {
            port: PortSpec::Path(path_text(r.path().expect("a pty path"))),
            baud: None,
            usb_ids: Vec::new(),
        });
        config.devices.printer = printer.as_ref().map(|p| PrinterDevice {
            port: PortSpec::Path(path_text(p.path())),
            baud: None,
            paper: PaperWidth::Mm58,
            usb_ids: Vec::new(),
        });
        config.devices.scanner = scanner.as_ref().map(|s| SerialDevice {
            port: PortSpec::Path(path_text(s.path())),
            baud: None,
            usb_ids: Vec::new(),
        });
        if options.camera {
            let folder = dir.path().join("camera");
            std::fs::create_dir_all(&folder).expect("the camera's folder");
            let scene = hardware::camera::DocumentScene::a4_on_desk(1600, 1200, 1);
            hardware::camera::emulator::publish(&folder, &scene.mjpeg_frame(90))
                .expect("record the camera's frame");
            config.devices.camera = Some(kiosk::app::config::CameraDevice {
                device: folder,
                usb_ids: Vec::new(),
            });
        }
        if options.config_file {
            let path = dir.path().join("booth.toml");
            std::fs::write(&path, "# The test booth's config: ports are saved here.\n")
                .expect("write the booth config");
            config.source = Some(path);
        }
        let app = App::start(config).expect("start the booth app");
        app.window()
            .window()
            .set_size(slint::PhysicalSize::new(1080, 1920));
        app.window().show().expect("show the window");
        let booth = Self {
            dir,
            server,
            reader,
            printer,
            scanner,
            app,
        };
        booth.pump();
        booth
    }

    pub fn window(&self) -> &MainWindow {
        self.app.window()
    }

    pub fn page(&self) -> Page {
        self.window().global::<AppState>().get_current_page()
    }

    /// Runs what background work has posted. Mocked time stands still: only
    /// [`Self::idle_for`] moves it, so waiting for a device never counts as the villager idling.
    pub fn pump(&self) {
        self.app.pump();
    }

    /// Pumps until `check` holds (10 s at most), then panics with what the screen shows.
    pub fn eventually(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.pump();
            if check(self) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for: {what}\npage: {:?}\nscreen texts:\n{}",
                    self.page(),
                    self.screen_texts().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `seconds` of nobody touching the booth, a second at a time (the idle timer's tick).
    pub fn idle_for(&self, seconds: u64) {
        for _ in 0..seconds {
            i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(1));
            self.app.pump();
        }
    }

    /// Every element with this accessible label (buttons by what they say).
    pub fn find(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(self.window(), label).collect()
    }

    /// Presses the one visible button labelled `label`.
    pub fn click(&self, label: &str) {
        let found = self.find(label);
        let Some(button) = found.first() else {
            panic!(
                "no button {label:?} on page {:?}; screen texts:\n{}",
                self.page(),
                self.screen_texts().join("\n")
            );
        };
        button.invoke_accessible_default_action();
        self.pump();
    }

    /// Whether any text element shows exactly `text`, or any label contains it.
    pub fn shows(&self, text: &str) -> bool {
        self.screen_texts().iter().any(|t| t.contains(text))
    }

    /// Every accessible label and value on screen, for assertions and failure messages.
    pub fn screen_texts(&self) -> Vec<String> {
        ElementQuery::from_root(self.window())
            .match_descendants()
            .find_all()
            .into_iter()
            .filter_map(|e| {
                let label = e
                    .accessible_label()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                let value = e
                    .accessible_value()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                let text = [label, value]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" = ");
                (!text.is_empty()).then_some(text)
            })
            .collect()
    }

    /// Places the sample resident card (or `card`) on the emulated reader.
    pub fn place_card(&self, card: Option<EmulatedCard>) {
        let card = card.unwrap_or_else(|| {
            EmulatedCard::new(samples::resident()).expect("the sample card encodes")
        });
        self.reader.as_ref().expect("a reader").place(card);
    }

    pub fn remove_card(&self) {
        self.reader.as_ref().expect("a reader").remove();
    }

    /// The scanner reads `code` (as if a receipt's QR code were held under it).
    pub fn scan(&self, code: &str) {
        self.scanner
            .as_ref()
            .expect("a scanner")
            .sender()
            .scan(code)
            .expect("the scanner emulator runs");
    }

    /// The receipts the printer has cut so far (waits up to 10 s for `count`).
    pub fn printed(&self, count: usize) -> Vec<hardware::printer::decode::DecodedReceipt> {
        self.printer
            .as_ref()
            .expect("a printer")
            .wait_for_receipts(count, Duration::from_secs(10))
    }

    /// The booth's store, opened beside the app (SQLite allows it), for assertions.
    pub fn store(&self) -> Arc<std::sync::Mutex<kiosk_core::store::Store>> {
        Arc::clone(self.app.ctx().services.store())
    }
}

fn path_text(path: &Path) -> String {
    path.to_str().expect("pty paths are UTF-8").to_owned()
}

/// All elements of one role, e.g. every button on screen.
pub fn with_role(window: &MainWindow, role: AccessibleRole) -> Vec<ElementHandle> {
    ElementQuery::from_root(window)
        .match_descendants()
        .match_accessible_role(role)
        .find_all()
}
