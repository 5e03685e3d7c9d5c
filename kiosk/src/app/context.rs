//! What every page controller shares on the UI thread: the window, the services, the session,
//! and the way back from background work.
//!
//! Background threads (device workers, sync, store writes) never touch Slint: they post a
//! [`UiTask`] through a [`UiSender`], and [`super::App`] runs the posted tasks on the UI thread
//! (a 30 ms timer in production; tests call `App::pump`).

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, mpsc};

use hardware::id_card::Card;
use slint::ComponentHandle;
use ui::{Activity, AppState, MainWindow, Page};

use super::devices::CardEvent;
use super::services::Services;
use super::session::Session;
use kiosk_core::devices::camera::CameraEvent;
use kiosk_core::sync::SyncEvent;

/// Work for the UI thread, posted from anywhere.
pub type UiTask = Box<dyn FnOnce(&Rc<Ctx>) + Send>;

type CardHandler = Box<dyn Fn(&Rc<Ctx>, CardEvent)>;
type CameraHandler = Box<dyn Fn(&Rc<Ctx>, CameraEvent)>;
type ScanHandler = Box<dyn Fn(&Rc<Ctx>, String)>;
type SessionHook = Box<dyn Fn(&Rc<Ctx>)>;
type PageHook = (Page, Box<dyn Fn(&Rc<Ctx>)>);
type SyncHook = Box<dyn Fn(&Rc<Ctx>, &SyncEvent)>;
type JobDone = Box<dyn FnOnce(&Rc<Ctx>, Box<dyn Any + Send>)>;

/// A `Send` handle for posting work to the UI thread.
#[derive(Clone)]
pub struct UiSender {
    tx: mpsc::Sender<UiTask>,
}

impl std::fmt::Debug for UiSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UiSender")
    }
}

impl UiSender {
    /// Runs `task` on the UI thread soon. Dropped silently once the app has closed.
    pub fn post(&self, task: impl FnOnce(&Rc<Ctx>) + Send + 'static) {
        let _ = self.tx.send(Box::new(task));
    }
}

/// The receiving end, owned by [`super::App`].
pub struct UiReceiver {
    pub(super) rx: mpsc::Receiver<UiTask>,
}

impl std::fmt::Debug for UiReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UiReceiver")
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The session holds the villager's card: never printed.
        f.debug_struct("Ctx")
            .field("session_generation", &self.session.borrow().generation())
            .finish_non_exhaustive()
    }
}

/// A channel of UI work: the sender for services and controllers, the receiver for the app.
pub fn ui_channel() -> (UiSender, UiReceiver) {
    let (tx, rx) = mpsc::channel();
    (UiSender { tx }, UiReceiver { rx })
}

/// The shared state of the page controllers. Lives on the UI thread only (it is `!Send`).
pub struct Ctx {
    window: slint::Weak<MainWindow>,
    pub services: Arc<Services>,
    session: RefCell<Session>,
    ui: UiSender,
    card_handler: RefCell<Option<CardHandler>>,
    camera_handler: RefCell<Option<CameraHandler>>,
    /// Bumped by every watch and stop, so a handler that stopped the camera while running is
    /// not put back afterwards.
    camera_watches: Cell<u64>,
    scan_handler: RefCell<Option<ScanHandler>>,
    /// Bumped by every capture and release, so a handler that released the scanner (or
    /// handed it to another) while running is not put back afterwards.
    scan_captures: Cell<u64>,
    default_scan_handler: RefCell<Option<ScanHandler>>,
    session_end_hooks: RefCell<Vec<SessionHook>>,
    page_open_hooks: RefCell<Vec<PageHook>>,
    sync_hooks: RefCell<Vec<SyncHook>>,
    /// The page on screen: set only by [`Self::show_page`] and [`Self::end_session`].
    page: Cell<Page>,
    idle_ticks: Cell<u64>,
    /// Seconds on Home with no session and no touch: the updater's quiet moment.
    rest_ticks: Cell<u64>,
    next_job: Cell<u64>,
    /// Background jobs still running: the session they started in, and what to do with the result.
    pending_jobs: RefCell<HashMap<u64, (u64, JobDone)>>,
    /// Each page's bound flow by its type, for the pages that hand over to another.
    pages: RefCell<HashMap<TypeId, Rc<dyn Any>>>,
}

impl Ctx {
    pub(super) fn new(window: &MainWindow, services: Arc<Services>, ui: UiSender) -> Rc<Self> {
        Rc::new(Self {
            window: window.as_weak(),
            services,
            session: RefCell::new(Session::default()),
            ui,
            card_handler: RefCell::new(None),
            camera_handler: RefCell::new(None),
            camera_watches: Cell::new(0),
            scan_handler: RefCell::new(None),
            scan_captures: Cell::new(0),
            default_scan_handler: RefCell::new(None),
            session_end_hooks: RefCell::new(Vec::new()),
            page_open_hooks: RefCell::new(Vec::new()),
            sync_hooks: RefCell::new(Vec::new()),
            page: Cell::new(Page::Home),
            idle_ticks: Cell::new(0),
            rest_ticks: Cell::new(0),
            next_job: Cell::new(0),
            pending_jobs: RefCell::new(HashMap::new()),
            pages: RefCell::new(HashMap::new()),
        })
    }

    /// The booth's window. Controllers run from its callbacks and timers, so it is alive.
    pub fn window(&self) -> MainWindow {
        self.window
            .upgrade()
            .expect("controllers only run while the booth window exists")
    }

    pub fn ui_sender(&self) -> UiSender {
        self.ui.clone()
    }

    /// Runs `job` on a background thread, then `then` with its result on the UI thread — unless
    /// the session ended in between: one villager's result never reaches the next one's screen.
    /// `then` stays on the UI thread (it may hold `Rc`s); only the result crosses threads.
    pub fn background<T: Send + 'static>(
        self: &Rc<Self>,
        job: impl FnOnce(&Services) -> T + Send + 'static,
        then: impl FnOnce(&Rc<Ctx>, T) + 'static,
    ) {
        let id = self.next_job.get();
        self.next_job.set(id + 1);
        let generation = self.session.borrow().generation();
        self.pending_jobs.borrow_mut().insert(
            id,
            (
                generation,
                Box::new(move |ctx: &Rc<Ctx>, result: Box<dyn Any + Send>| {
                    let result = result
                        .downcast::<T>()
                        .expect("a job's result has the type its job returns");
                    then(ctx, *result);
                }),
            ),
        );
        let services = Arc::clone(&self.services);
        let ui = self.ui.clone();
        self.services.runtime().spawn_blocking(move || {
            let result: Box<dyn Any + Send> = Box::new(job(&services));
            ui.post(move |ctx| ctx.finish_job(id, result));
        });
    }

    fn finish_job(self: &Rc<Self>, id: u64, result: Box<dyn Any + Send>) {
        let Some((generation, then)) = self.pending_jobs.borrow_mut().remove(&id) else {
            return;
        };
        if generation == self.session.borrow().generation() {
            then(self, result);
        }
    }

    /// Keeps `page` under its type for [`Self::page`].
    pub(super) fn keep_page<P: 'static>(&self, page: Rc<P>) {
        self.pages.borrow_mut().insert(TypeId::of::<P>(), page);
    }

    /// The page kept under type `P`.
    pub(super) fn page<P: 'static>(&self) -> Option<Rc<P>> {
        let page = self.pages.borrow().get(&TypeId::of::<P>()).cloned()?;
        page.downcast().ok()
    }

    /// The card read in this session, if any (never shown unmasked).
    pub fn holder(&self) -> Option<std::cell::Ref<'_, Card>> {
        std::cell::Ref::filter_map(self.session.borrow(), |s| s.holder()).ok()
    }

    /// Keeps `card` for the rest of this session only.
    pub fn set_holder(&self, card: Card) {
        self.session.borrow_mut().set_holder(card);
    }

    /// The current session's number; it changes when a session ends.
    pub fn session_generation(&self) -> u64 {
        self.session.borrow().generation()
    }

    /// Sends card events to `handler` and asks the reader to read; until
    /// [`Self::stop_reading_cards`] or the session's end. Only one page reads at a time.
    pub fn read_cards(&self, handler: impl Fn(&Rc<Ctx>, CardEvent) + 'static) {
        *self.card_handler.borrow_mut() = Some(Box::new(handler));
        self.services.devices().arm_reader(true);
    }

    pub fn stop_reading_cards(&self) {
        self.services.devices().arm_reader(false);
        self.card_handler.borrow_mut().take();
    }

    /// The camera's live picture and stills go to `handler` until [`Self::stop_camera`] or the
    /// session's end.
    pub fn watch_camera(&self, handler: impl Fn(&Rc<Ctx>, CameraEvent) + 'static) {
        self.camera_watches.set(self.camera_watches.get() + 1);
        *self.camera_handler.borrow_mut() = Some(Box::new(handler));
        self.services.devices().start_camera();
    }

    /// A still of what the camera sees, to the watching handler.
    pub fn take_photo(&self) {
        self.services.devices().take_photo();
    }

    pub fn stop_camera(&self) {
        self.services.devices().stop_camera();
        self.camera_watches.set(self.camera_watches.get() + 1);
        self.camera_handler.borrow_mut().take();
    }

    /// Scanned codes go to `handler` until [`Self::release_scanner`] or the session's end;
    /// otherwise to the default handler (the progress query).
    pub fn capture_scans(&self, handler: impl Fn(&Rc<Ctx>, String) + 'static) {
        self.scan_captures.set(self.scan_captures.get() + 1);
        *self.scan_handler.borrow_mut() = Some(Box::new(handler));
    }

    pub fn release_scanner(&self) {
        self.scan_captures.set(self.scan_captures.get() + 1);
        self.scan_handler.borrow_mut().take();
    }

    /// Where scans go when no page captured the scanner.
    pub fn set_default_scan_handler(&self, handler: impl Fn(&Rc<Ctx>, String) + 'static) {
        *self.default_scan_handler.borrow_mut() = Some(Box::new(handler));
    }

    /// `hook` clears a page's adapter when a session ends (timeout or Home).
    pub fn on_session_end(&self, hook: impl Fn(&Rc<Ctx>) + 'static) {
        self.session_end_hooks.borrow_mut().push(Box::new(hook));
    }

    /// `hook` runs each time `page` is opened (to load fresh data and start the page's flow).
    pub fn on_page_open(&self, page: Page, hook: impl Fn(&Rc<Ctx>) + 'static) {
        self.page_open_hooks
            .borrow_mut()
            .push((page, Box::new(hook)));
    }

    /// `hook` sees every sync event (new catalogue, notices or statuses arrived; uploads).
    pub fn on_sync_event(&self, hook: impl Fn(&Rc<Ctx>, &SyncEvent) + 'static) {
        self.sync_hooks.borrow_mut().push(Box::new(hook));
    }

    pub(super) fn sync_event(self: &Rc<Self>, event: &SyncEvent) {
        let hooks = std::mem::take(&mut *self.sync_hooks.borrow_mut());
        for hook in &hooks {
            hook(self, event);
        }
        let mut slot = self.sync_hooks.borrow_mut();
        let added = std::mem::replace(&mut *slot, hooks);
        slot.extend(added);
    }

    pub(super) fn card_event(self: &Rc<Self>, event: CardEvent) {
        // Taken out while it runs, so the handler may replace or clear itself.
        let handler = self.card_handler.borrow_mut().take();
        if let Some(handler) = handler {
            handler(self, event);
            let mut slot = self.card_handler.borrow_mut();
            if slot.is_none() && self.services.devices().reader_armed() {
                *slot = Some(handler);
            }
        }
    }

    pub(super) fn camera_event(self: &Rc<Self>, event: CameraEvent) {
        // Taken out while it runs, so the handler may stop or replace the camera's watcher.
        let handler = self.camera_handler.borrow_mut().take();
        if let Some(handler) = handler {
            let watch = self.camera_watches.get();
            handler(self, event);
            if self.camera_watches.get() == watch {
                *self.camera_handler.borrow_mut() = Some(handler);
            }
        }
    }

    pub(super) fn scanned(self: &Rc<Self>, code: String) {
        self.touched();
        let handler = self.scan_handler.borrow_mut().take();
        if let Some(handler) = handler {
            let capture = self.scan_captures.get();
            handler(self, code);
            if self.scan_captures.get() == capture {
                *self.scan_handler.borrow_mut() = Some(handler);
            }
            return;
        }
        let default = self.default_scan_handler.borrow_mut().take();
        if let Some(default) = default {
            default(self, code);
            *self.default_scan_handler.borrow_mut() = Some(default);
        }
    }

    /// A touch (or scan, or card): the session is alive; the idle prompt goes away.
    pub fn touched(&self) {
        self.idle_ticks.set(0);
        self.rest_ticks.set(0);
        if let Some(window) = self.window.upgrade() {
            window.global::<Activity>().set_idle_prompt_visible(false);
        }
    }

    /// The page on screen (a page's hooks check it before showing what arrived late).
    pub fn current_page(&self) -> Page {
        self.page.get()
    }

    /// Shows `page` (every flow's way in and Home's way out).
    pub fn show_page(self: &Rc<Self>, page: Page) {
        // Which page, never what is on it: enough to retrace a session from a booth's log.
        tracing::debug!(?page, "page opened");
        if page == Page::Home {
            self.end_session();
            return;
        }
        self.session.borrow_mut().note_data();
        self.page.set(page);
        self.window().global::<AppState>().set_current_page(page);
        let hooks = std::mem::take(&mut *self.page_open_hooks.borrow_mut());
        for (_, hook) in hooks.iter().filter(|(p, _)| *p == page) {
            hook(self);
        }
        let mut slot = self.page_open_hooks.borrow_mut();
        let added = std::mem::replace(&mut *slot, hooks);
        slot.extend(added);
    }

    /// Ends the villager's session: their card data is dropped, every page forgets what was
    /// typed or shown, background results still on their way are discarded, and Home shows in
    /// the booth's language at standard text size.
    pub fn end_session(self: &Rc<Self>) {
        self.stop_reading_cards();
        self.stop_camera();
        self.release_scanner();
        self.session.borrow_mut().end();
        self.idle_ticks.set(0);
        let hooks = std::mem::take(&mut *self.session_end_hooks.borrow_mut());
        for hook in &hooks {
            hook(self);
        }
        let mut slot = self.session_end_hooks.borrow_mut();
        let added = std::mem::replace(&mut *slot, hooks);
        slot.extend(added);
        drop(slot);
        let window = self.window();
        let activity = window.global::<Activity>();
        activity.set_idle_prompt_visible(false);
        let state = window.global::<AppState>();
        self.page.set(Page::Home);
        state.set_current_page(Page::Home);
        state.set_large_text(false);
        let language = self.services.config().language.clone();
        if state.get_language() != language.as_str()
            && let Err(err) = ui::select_language(&window, &language)
        {
            tracing::warn!(%err, "cannot return to the booth's language");
        }
    }

    /// One second passed (the idle timer); shows the prompt or ends the session when due.
    pub(super) fn idle_tick(self: &Rc<Self>) {
        let window = self.window();
        let at_rest = self.page.get() == Page::Home && !self.session.borrow().has_data();
        self.rest_ticks.set(if at_rest {
            self.rest_ticks.get() + 1
        } else {
            0
        });
        self.report_quiet(at_rest);
        if at_rest {
            self.idle_ticks.set(0);
            return;
        }
        let ticks = self.idle_ticks.get() + 1;
        self.idle_ticks.set(ticks);
        let session = &self.services.config().session;
        let prompt_at = session.idle_prompt_after_s;
        let reset_at = session.reset_after().as_secs();
        let activity = window.global::<Activity>();
        if ticks >= reset_at {
            tracing::info!("session ended after {ticks} s without a touch");
            self.end_session();
        } else if ticks >= prompt_at {
            activity.set_idle_seconds_left(i32::try_from(reset_at - ticks).unwrap_or(i32::MAX));
            activity.set_idle_prompt_visible(true);
        }
    }

    /// Tells the update agent whether an install may start now (every second, from the idle
    /// timer): Home with no session, untouched for a while, nothing printing, no card awaited.
    fn report_quiet(&self, at_rest: bool) {
        let Some(updates) = self.services.updates() else {
            return;
        };
        let devices = self.services.devices();
        updates.quiet().set_activity(&kiosk_core::update::Activity {
            on_home: at_rest,
            printing: devices.is_printing(),
            // The reader is armed only while a page waits for a card: someone is there.
            card_present: devices.reader_armed(),
            idle_for: std::time::Duration::from_secs(self.rest_ticks.get()),
            quiet_after: self.services.config().update.quiet_after(),
        });
    }

    /// Marks that the villager typed or chose something worth clearing at the end.
    pub fn note_session_data(&self) {
        self.session.borrow_mut().note_data();
    }
}
