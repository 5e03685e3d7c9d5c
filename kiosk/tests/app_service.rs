//! The booth app as a systemd notify service, over a real notify socket, on Slint's testing
//! backend with a real event loop and real time: READY only once the window is shown, its
//! event loop runs and the devices were asked (the STATUS line names the absent reader), WATCHDOG pings from
//! the UI thread that stop while it is blocked though other threads run on, STOPPING at the end.
//!
//! One `#[test]`: Slint's platform is installed once per process.

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use kiosk::app::config::SerialDevice;
use kiosk::app::{App, AppConfig, ServiceNotify};
use kiosk_core::devices::PortSpec;
use slint::ComponentHandle as _;
use systemd_notify::Notifier;

/// How often the test's watchdog is fed: fast, so the test is short.
const PING_EVERY: Duration = Duration::from_millis(50);
/// Long enough for a slow machine to deliver anything that was sent.
const PATIENCE: Duration = Duration::from_secs(30);

fn receive(socket: &UnixDatagram, wait: Duration) -> Option<String> {
    socket.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    match socket.recv(&mut buf) {
        Ok(n) => Some(String::from_utf8(buf[..n].to_vec()).expect("text")),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => panic!("reading the notify socket: {e}"),
    }
}

/// Ends the event loop when dropped, so a failed assertion in the driving thread fails the
/// test instead of leaving the loop running for ever.
struct QuitOnDrop;

impl Drop for QuitOnDrop {
    fn drop(&mut self) {
        let _ = slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        });
    }
}

/// Everything already sent, without waiting for more.
fn drain(socket: &UnixDatagram) -> Vec<String> {
    socket.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    while let Ok(n) = socket.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    socket.set_nonblocking(false).unwrap();
    got
}

#[test]
fn the_booth_tells_systemd_when_it_is_ready_and_feeds_the_watchdog_from_the_ui_thread() {
    i_slint_backend_testing::init_integration_test_with_system_time();
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let systemd = UnixDatagram::bind(&socket_path).unwrap();
    let absent_reader = dir.path().join("id-reader").to_str().unwrap().to_owned();

    let mut config = AppConfig::with_data_dir(dir.path().join("booth"));
    config.devices.id_card = Some(SerialDevice {
        port: PortSpec::Path(absent_reader.clone()),
        baud: None,
        usb_ids: Vec::new(),
    });
    let app = App::start(config).expect("start the booth app");
    let service = ServiceNotify::new(
        Notifier::connect(socket_path.as_os_str()).unwrap(),
        Some(PING_EVERY),
    );
    // The store is open and the device threads run, but no window is up: nothing yet.
    assert_eq!(
        receive(&systemd, Duration::from_millis(500)),
        None,
        "notified before the event loop ran"
    );

    // The event loop's first task, queued before the service's own: it holds the UI thread, so
    // READY must wait, though the store is open and the device threads run.
    let (loop_runs, first_task) = mpsc::channel();
    let (let_go, held) = mpsc::channel::<()>();
    let window = app.window().as_weak();
    slint::invoke_from_event_loop(move || {
        let shown = window.upgrade().is_some_and(|w| w.window().is_visible());
        loop_runs.send(shown).unwrap();
        let _ = held.recv();
    })
    .unwrap();

    let services = Arc::clone(&app.ctx().services);
    let systemd = Arc::new(systemd);
    let socket = Arc::clone(&systemd);
    let driver = std::thread::spawn(move || {
        let _quit = QuitOnDrop;
        assert!(
            first_task
                .recv_timeout(PATIENCE)
                .expect("the event loop runs"),
            "the window is shown once the event loop runs"
        );
        assert_eq!(
            receive(&socket, Duration::from_millis(500)),
            None,
            "notified before the event loop ran"
        );
        let_go.send(()).unwrap();
        let ready = receive(&socket, PATIENCE).expect("READY");
        assert_eq!(
            ready,
            format!("READY=1\nSTATUS=ready; reader {absent_reader} absent"),
            "READY comes first, after the devices were asked: the reader is absent"
        );
        for _ in 0..2 {
            assert_eq!(receive(&socket, PATIENCE).as_deref(), Some("WATCHDOG=1"));
        }

        // The UI thread hangs: no more pings, though the booth's other threads run on.
        let (blocked, is_blocked) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        slint::invoke_from_event_loop(move || {
            blocked.send(()).unwrap();
            let _ = released.recv();
        })
        .unwrap();
        is_blocked.recv().unwrap();
        // Pings sent before the block are in the socket already: the UI thread sent them.
        drain(&socket);
        let background = services
            .runtime()
            .spawn(async { "background work still runs" });
        assert_eq!(
            services.runtime().block_on(background).unwrap(),
            "background work still runs"
        );
        assert_eq!(
            receive(&socket, PING_EVERY * 10),
            None,
            "a ping while the UI thread was blocked"
        );
        release.send(()).unwrap();
        assert_eq!(
            receive(&socket, PATIENCE).as_deref(),
            Some("WATCHDOG=1"),
            "the pings resume with the UI thread"
        );
    });

    app.run_as_service(&service).expect("the event loop ran");
    driver.join().expect("the notifications were as expected");
    let last = drain(&systemd);
    assert_eq!(
        last.last().map(String::as_str),
        Some("STOPPING=1\nSTATUS=stopping"),
        "{last:?}"
    );
}
