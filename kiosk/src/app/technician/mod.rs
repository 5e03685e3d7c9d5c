//! Technician mode: a 3 s press on the village name, then the technician PIN, opens a menu of
//! enrollment, devices, the upload queue and booth info.
//!
//! - A booth with no PIN and no enrollment (first provisioning) opens enrollment directly;
//!   that step sets the PIN. A booth enrolled without a PIN (e.g. `kiosk enroll` without
//!   `--technician-pin`) says to set one with `kiosk technician-pin`.
//! - Five wrong PINs lock the entry for five minutes ([`pin_guard`]).
//! - Technician mode is part of a session: Home, Exit or 90 s without a touch lock it again.
//! - Every action is logged (target `technician`), never with personal data: no PIN, no card
//!   contents, no scanned codes.
//!
//! Sub-pages: [`enroll`], [`devices`] (with the core's `devices::probe` and [`config_file`]),
//! [`queue`], [`info`].

mod config_file;
mod devices;
mod enroll;
mod info;
mod pin_guard;
mod queue;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use slint::ComponentHandle;
use ui::{AppState, Page, TechnicianAdapter, TechnicianPinState, TechnicianView};

use super::context::Ctx;
pub use enroll::{EnrollQr, parse_enroll_qr};
use pin_guard::{PinGuard, Verdict};

/// The booth config file `kiosk run --config` loaded, where the devices page saves ports.
fn config_file(ctx: &Ctx) -> Option<PathBuf> {
    ctx.services.config().source.clone()
}

/// What technician mode keeps on the UI thread.
#[derive(Debug, Default)]
struct Tech {
    unlocked: bool,
    guard: PinGuard,
    devices: devices::DevicesState,
}

type Shared = Rc<RefCell<Tech>>;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let tech: Shared = Rc::default();
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();

    let (weak, t) = (Rc::downgrade(ctx), Rc::clone(&tech));
    adapter.on_enter_requested(move || {
        if let Some(ctx) = weak.upgrade() {
            enter_requested(&ctx, &t);
        }
    });
    let (weak, t) = (Rc::downgrade(ctx), Rc::clone(&tech));
    adapter.on_submit_pin(move |pin| {
        if let Some(ctx) = weak.upgrade() {
            submit_pin(&ctx, &t, pin.to_string());
        }
    });
    let (weak, t) = (Rc::downgrade(ctx), Rc::clone(&tech));
    adapter.on_open(move |view| {
        if let Some(ctx) = weak.upgrade() {
            open(&ctx, &t, view);
        }
    });
    let weak = Rc::downgrade(ctx);
    adapter.on_exit(move || {
        if let Some(ctx) = weak.upgrade() {
            tracing::info!(target: "technician", "technician mode exited");
            ctx.show_page(Page::Home);
        }
    });

    enroll::bind(ctx, &tech);
    devices::bind(ctx, &tech);
    queue::bind(ctx, &tech);

    let t = Rc::clone(&tech);
    ctx.on_session_end(move |ctx| {
        let was_unlocked = std::mem::take(&mut t.borrow_mut().unlocked);
        if was_unlocked {
            tracing::info!(target: "technician", "technician mode locked (session ended)");
        }
        devices::clear(ctx, &t);
        let window = ctx.window();
        let adapter = window.global::<TechnicianAdapter>();
        adapter.set_view(TechnicianView::Pin);
        adapter.set_pin_entry("".into());
        adapter.set_pin_state(TechnicianPinState::Entering);
        enroll::clear(&adapter);
        queue::clear(&adapter);
        info::clear(&adapter);
    });
}

/// The long press: PIN, or enrollment straight away on a booth never provisioned.
fn enter_requested(ctx: &Rc<Ctx>, tech: &Shared) {
    if ctx.window().global::<AppState>().get_current_page() == Page::Technician {
        return;
    }
    tracing::info!(target: "technician", "technician entry requested");
    let t = Rc::clone(tech);
    ctx.background(
        |services| {
            services.with_store(|store| {
                let enrolled = store.identity().map(|i| i.is_some());
                let pin_set = store.technician_pin_is_set();
                (enrolled, pin_set)
            })
        },
        move |ctx, (enrolled, pin_set)| {
            let (enrolled, pin_set) = match (enrolled, pin_set) {
                (Ok(enrolled), Ok(pin_set)) => (enrolled, pin_set),
                (Err(err), _) | (_, Err(err)) => {
                    tracing::error!(target: "technician", %err, "cannot read the booth's settings");
                    return;
                }
            };
            let window = ctx.window();
            let adapter = window.global::<TechnicianAdapter>();
            adapter.set_enrolled(enrolled);
            adapter.set_pin_set(pin_set);
            adapter.set_pin_entry("".into());
            if !enrolled && !pin_set {
                tracing::info!(target: "technician", "first provisioning: enrollment opens without a PIN");
                t.borrow_mut().unlocked = true;
                ctx.show_page(Page::Technician);
                open(ctx, &t, TechnicianView::Enroll);
                return;
            }
            let state = if !pin_set {
                TechnicianPinState::NotSet
            } else {
                show_verdict(&adapter, t.borrow().guard.verdict(Instant::now()))
            };
            adapter.set_pin_state(state);
            adapter.set_view(TechnicianView::Pin);
            ctx.show_page(Page::Technician);
        },
    );
}

fn show_verdict(adapter: &TechnicianAdapter<'_>, verdict: Verdict) -> TechnicianPinState {
    match verdict {
        Verdict::Open => TechnicianPinState::Entering,
        Verdict::Wrong { tries_left } => {
            adapter.set_tries_left(i32::try_from(tries_left).unwrap_or(i32::MAX));
            TechnicianPinState::Wrong
        }
        Verdict::Locked { minutes_left } => {
            adapter.set_locked_minutes(i32::try_from(minutes_left).unwrap_or(i32::MAX));
            TechnicianPinState::Locked
        }
    }
}

fn submit_pin(ctx: &Rc<Ctx>, tech: &Shared, pin: String) {
    ctx.touched();
    let verdict = tech.borrow().guard.verdict(Instant::now());
    if let Verdict::Locked { .. } = verdict {
        tracing::warn!(target: "technician", "PIN refused: entry locked after too many wrong PINs");
        let window = ctx.window();
        let adapter = window.global::<TechnicianAdapter>();
        let state = show_verdict(&adapter, verdict);
        adapter.set_pin_state(state);
        return;
    }
    let t = Rc::clone(tech);
    ctx.background(
        move |services| services.with_store(|store| store.check_technician_pin(&pin)),
        move |ctx, checked| {
            let right = match checked {
                Ok(right) => right,
                Err(err) => {
                    tracing::error!(target: "technician", %err, "cannot check the technician PIN");
                    false
                }
            };
            let window = ctx.window();
            let adapter = window.global::<TechnicianAdapter>();
            if right {
                tracing::info!(target: "technician", "technician PIN accepted");
                let mut tech = t.borrow_mut();
                tech.guard.succeeded();
                tech.unlocked = true;
                drop(tech);
                adapter.set_pin_state(TechnicianPinState::Entering);
                open(ctx, &t, TechnicianView::Menu);
                return;
            }
            let verdict = t.borrow_mut().guard.failed(Instant::now());
            match verdict {
                Verdict::Locked { minutes_left } => tracing::warn!(
                    target: "technician",
                    "wrong technician PIN: entry locked for {minutes_left} min"
                ),
                _ => tracing::warn!(target: "technician", "wrong technician PIN"),
            }
            let state = show_verdict(&adapter, verdict);
            adapter.set_pin_state(state);
        },
    );
}

/// Shows a sub-page (only once the PIN was given) and loads what it shows.
fn open(ctx: &Rc<Ctx>, tech: &Shared, view: TechnicianView) {
    ctx.touched();
    if !tech.borrow().unlocked {
        return;
    }
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();
    let leaving = adapter.get_view();
    if leaving == TechnicianView::Enroll && view != TechnicianView::Enroll {
        ctx.release_scanner();
    }
    if leaving == TechnicianView::Devices && view != TechnicianView::Devices {
        devices::leave(ctx, tech);
    }
    tracing::info!(target: "technician", "technician opened {}", view_name(view));
    adapter.set_view(view);
    match view {
        TechnicianView::Enroll => enroll::opened(ctx),
        TechnicianView::Devices => devices::opened(ctx, tech),
        TechnicianView::Queue => queue::load(ctx),
        TechnicianView::Info => info::load(ctx),
        TechnicianView::Menu | TechnicianView::Pin => {}
    }
}

fn view_name(view: TechnicianView) -> &'static str {
    match view {
        TechnicianView::Pin => "the PIN page",
        TechnicianView::Menu => "the menu",
        TechnicianView::Enroll => "enrollment",
        TechnicianView::Devices => "devices",
        TechnicianView::Queue => "the queue",
        TechnicianView::Info => "booth info",
    }
}

/// Whether technician mode is open on `view` now (results of slow work check this first).
fn showing(ctx: &Ctx, view: TechnicianView) -> bool {
    let window = ctx.window();
    window.global::<AppState>().get_current_page() == Page::Technician
        && window.global::<TechnicianAdapter>().get_view() == view
}
