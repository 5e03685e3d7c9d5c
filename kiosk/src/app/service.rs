//! `kiosk run` as a systemd `Type=notify` service (sd_notify(3)):
//!
//! - `READY=1` once the booth can serve a villager: the store open (the app started), the
//!   window shown with its event loop running (a task ran inside it), and each configured
//!   device asked once ([`kiosk_core::devices::self_test`]). A missing or silent device does
//!   not hold READY back: a villager can type an ID number or a receipt number. It is named
//!   in the `STATUS=` line sent with READY instead.
//! - `WATCHDOG=1` every half `WatchdogSec=`, from a timer on the UI thread: a hung UI thread
//!   stops the pings while the device and sync threads run on, and systemd restarts the booth.
//! - `STOPPING=1` when the event loop ends cleanly (SIGTERM from `systemctl stop`, or the
//!   window closed).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiosk_core::devices::self_test::{self, Check, Outcome};
use kiosk_core::update::HealthReporter;
use slint::{Timer, TimerMode};
use systemd_notify::{Notifier, NotifyError, State};

use super::config::DevicesConfig;
use super::hid_scanner;

/// Where the booth is in its life, as systemd has been told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Starting,
    Ready,
    Stopping,
}

/// The booth's link to systemd, when it runs as a `Type=notify` service.
#[derive(Debug)]
pub struct ServiceNotify {
    notifier: Arc<Notifier>,
    watchdog: Option<Duration>,
    /// Held while a notification is sent, so READY never follows STOPPING.
    phase: Arc<Mutex<Phase>>,
}

/// Keeps the watchdog's timer running; drop it when the event loop ends.
pub struct Running {
    _watchdog: Option<Timer>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").finish_non_exhaustive()
    }
}

impl ServiceNotify {
    /// From `$NOTIFY_SOCKET` and `$WATCHDOG_USEC`; `None` when systemd did not start the booth
    /// as a `Type=notify` service (started by hand, or by the demo).
    pub fn from_env() -> Result<Option<Self>, NotifyError> {
        let Some(notifier) = Notifier::from_env()? else {
            return Ok(None);
        };
        Ok(Some(Self::new(
            notifier,
            systemd_notify::watchdog_interval()?,
        )))
    }

    /// Notifies through `notifier`, feeding the watchdog every `watchdog` once ready.
    pub fn new(notifier: Notifier, watchdog: Option<Duration>) -> Self {
        Self {
            notifier: Arc::new(notifier),
            watchdog,
            phase: Arc::new(Mutex::new(Phase::Starting)),
        }
    }

    /// Sets up, on the UI thread before its event loop runs, the start-up check that ends in
    /// READY and the watchdog's timer. Keep what it returns while the event loop runs. READY
    /// is also told to the booth's updater (`update_health`), which confirms a new release
    /// once it is READY and a heartbeat went through.
    pub(super) fn start(
        &self,
        devices: &DevicesConfig,
        update_health: Option<Arc<HealthReporter>>,
    ) -> Running {
        let watchdog = self.watchdog.map(|every| {
            let timer = Timer::default();
            let notifier = Arc::clone(&self.notifier);
            let phase = Arc::clone(&self.phase);
            // On the UI thread on purpose: the pings are the UI thread saying it still runs.
            timer.start(TimerMode::Repeated, every, move || {
                let phase = lock(&phase);
                // systemd counts the watchdog from READY; pings before it would be ignored.
                if *phase == Phase::Ready {
                    send(&notifier, &[State::Watchdog]);
                }
            });
            timer
        });
        let notifier = Arc::clone(&self.notifier);
        let phase = Arc::clone(&self.phase);
        let devices = devices.clone();
        // Runs only inside the running event loop, which `Window::run` enters after showing
        // the window: from there on the window is up.
        let queued = slint::invoke_from_event_loop(move || {
            // The devices answer slowly or not at all: never on the UI thread.
            let checked = std::thread::Builder::new()
                .name("self-test".into())
                .spawn(move || {
                    let status = self_test::status_line(&check_devices(&devices));
                    let mut phase = lock(&phase);
                    if *phase == Phase::Starting {
                        tracing::info!(%status, "booth ready");
                        send(&notifier, &[State::Ready, State::Status(&status)]);
                        *phase = Phase::Ready;
                        if let Some(reporter) = &update_health
                            && let Err(err) = reporter.ready()
                        {
                            tracing::warn!(%err, "cannot tell the updater the booth is ready");
                        }
                    }
                });
            if let Err(err) = checked {
                // Without READY systemd ends the start after TimeoutStartSec= and restarts it.
                tracing::error!(%err, "cannot start the devices' start-up check: not ready");
            }
        });
        if let Err(err) = queued {
            tracing::error!(%err, "no event loop to wait for: systemd is not told the booth is ready");
        }
        Running {
            _watchdog: watchdog,
        }
    }

    /// The event loop ended cleanly: tell systemd the stop has begun.
    pub(super) fn stopping(&self) {
        let mut phase = lock(&self.phase);
        *phase = Phase::Stopping;
        send(
            &self.notifier,
            &[State::Stopping, State::Status("stopping")],
        );
    }
}

/// Each configured device asked once, in the order the booth's config lists them.
fn check_devices(devices: &DevicesConfig) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(reader) = &devices.id_card {
        checks.push(Check {
            device: "reader",
            port: reader.port.to_string(),
            outcome: self_test::check_reader(&reader.port, reader.baud),
        });
    }
    if let Some(printer) = &devices.printer {
        checks.push(Check {
            device: "printer",
            port: printer.port.to_string(),
            outcome: self_test::check_printer(&printer.port, printer.baud),
        });
    }
    if let Some(scanner) = &devices.scanner {
        checks.push(Check {
            device: "scanner",
            port: scanner.port.to_string(),
            outcome: match scanner.port.resolve().map(|p| hid_scanner::scanner_node(&p)) {
                Ok(Err(_)) => Outcome::Problem(
                    "is a keyboard-mode (HID) scanner, which this build cannot read (--features evdev)"
                        .to_owned(),
                ),
                _ => self_test::check_scanner(&scanner.port),
            },
        });
    }
    checks
}

fn lock(phase: &Mutex<Phase>) -> std::sync::MutexGuard<'_, Phase> {
    phase
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A notification that cannot be sent is logged: the booth serves villagers all the same, and
/// systemd acts on the silence (a start timeout, a watchdog restart).
fn send(notifier: &Notifier, states: &[State<'_>]) {
    if let Err(err) = notifier.notify(states) {
        tracing::warn!(%err, "systemd not notified");
    }
}
