//! The booth app: binds the `ui` crate's globals to the store, the devices and sync, one
//! controller per page, all on the UI thread; every wait (disk, device, network) happens on a
//! background thread (see [`context`]).
//!
//! - [`config`]: the booth's TOML config (`kiosk run --config`).
//! - [`services`]: store, devices, runtime and sync, shared with background work.
//! - [`devices`]: reader, scanner and printer workers; [`hid_scanner`]: keyboard-mode scanners.
//! - [`service`]: `kiosk run` as a systemd notify service (READY, watchdog, STOPPING).
//! - [`context`]: what the controllers share on the UI thread ([`Ctx`]), and [`UiSender`].
//! - [`bind`]: how a page's callbacks reach it, and how its flow state is rendered.
//! - [`session`]: one villager's session and what is dropped at its end.
//! - Page controllers, one file each, each with a `bind`: [`header`], [`home`], [`guides`],
//!   [`apply`], [`progress`], [`notices`], [`complaints`], [`rating`], [`keyboard`],
//!   [`technician`].

pub mod apply;
pub mod bind;
pub mod complaints;
pub mod config;
pub mod context;
pub mod devices;
pub mod guides;
pub mod header;
pub mod hid_scanner;
pub mod home;
pub mod keyboard;
pub mod notices;
pub mod printed;
pub mod progress;
pub mod rating;
#[cfg(test)]
mod samples;
pub mod service;
pub mod services;
pub mod session;
mod swappable;
pub mod technician;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use slint::{ComponentHandle, Timer, TimerMode};
use ui::MainWindow;

pub use config::{AppConfig, ConfigError};
pub use context::{Ctx, UiReceiver, UiSender, ui_channel};
pub use service::ServiceNotify;
pub use services::{Services, ServicesError};

/// How often posted background results are shown. Short enough to feel immediate.
const PUMP_INTERVAL: Duration = Duration::from_millis(30);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Services(#[from] ServicesError),
    #[error("cannot open the booth window: {0}")]
    Window(#[from] slint::PlatformError),
    #[error("the booth's language {0:?} is not bundled: use \"zh_CN\" or \"en\"")]
    Language(String),
}

/// The booth window with every page bound.
pub struct App {
    window: MainWindow,
    ctx: Rc<Ctx>,
    tasks: Rc<UiReceiver>,
    _timers: Vec<Timer>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl App {
    /// Starts the services for `config` and builds the window. A Slint platform must be set
    /// (the default backend, or the testing backend in tests).
    pub fn start(config: AppConfig) -> Result<Self, AppError> {
        let (ui, tasks) = ui_channel();
        let services = Services::start(config, ui.clone())?;
        Self::new(services, ui, tasks)
    }

    /// Builds the window over services that are already running.
    pub fn new(services: Arc<Services>, ui: UiSender, tasks: UiReceiver) -> Result<Self, AppError> {
        let window = MainWindow::new()?;
        let language = services.config().language.clone();
        ui::select_language(&window, &language).map_err(|_| AppError::Language(language))?;
        let ctx = Ctx::new(&window, services, ui);
        header::bind(&ctx);
        home::bind(&ctx);
        guides::bind(&ctx);
        apply::bind(&ctx);
        progress::bind(&ctx);
        notices::bind(&ctx);
        complaints::bind(&ctx);
        rating::bind(&ctx);
        keyboard::bind(&ctx);
        technician::bind(&ctx);

        let tasks = Rc::new(tasks);
        let pump = Timer::default();
        let queue = Rc::clone(&tasks);
        pump.start(
            TimerMode::Repeated,
            PUMP_INTERVAL,
            ctx.callback(move |ctx| run_posted(ctx, &queue)),
        );
        let clock = Timer::default();
        clock.start(
            TimerMode::Repeated,
            Duration::from_secs(1),
            ctx.callback(|ctx| {
                header::refresh_clock(ctx);
                ctx.idle_tick();
            }),
        );
        Ok(Self {
            window,
            ctx,
            tasks,
            _timers: vec![pump, clock],
        })
    }

    pub fn window(&self) -> &MainWindow {
        &self.window
    }

    pub fn ctx(&self) -> &Rc<Ctx> {
        &self.ctx
    }

    /// Shows, on this thread, every result background work has posted so far (the pump timer
    /// does this every 30 ms; tests with mocked time call it directly).
    pub fn pump(&self) {
        run_posted(&self.ctx, &self.tasks);
    }

    /// Shows the window and runs until it is closed.
    pub fn run(&self) -> Result<(), AppError> {
        self.window.run()?;
        Ok(())
    }

    /// [`run`](Self::run) as a systemd notify service: READY once the window is up and the
    /// devices were asked, the watchdog fed from this thread, STOPPING when the loop ends.
    pub fn run_as_service(&self, service: &ServiceNotify) -> Result<(), AppError> {
        let services = &self.ctx.services;
        let running = service.start(
            &services.config().devices,
            services.update_health().cloned(),
        );
        self.window.run()?;
        drop(running);
        service.stopping();
        Ok(())
    }
}

fn run_posted(ctx: &Rc<Ctx>, tasks: &UiReceiver) {
    while let Ok(task) = tasks.rx.try_recv() {
        task(ctx);
    }
}
