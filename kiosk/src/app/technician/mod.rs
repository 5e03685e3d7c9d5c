//! Technician mode: a 3 s press on the village name, then the technician PIN, opens a menu of
//! enrollment, devices, the upload queue and booth info.
//!
//! - A booth with no PIN and no enrollment (first provisioning) comes up on enrollment, goes
//!   back to it whenever a session ends, and the long press opens it directly; that step sets
//!   the PIN. A booth enrolled without a PIN (e.g. `kiosk enroll` without
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
mod gate;
mod info;
mod pin_guard;
mod queue;

use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use slint::{ComponentHandle, SharedString};
use ui::{Page, TechnicianAdapter, TechnicianView};

use super::bind::Bound;
use super::context::Ctx;
pub use enroll::{EnrollQr, parse_enroll_qr};
use gate::{Entry, Technician};
use pin_guard::Verdict;

/// The booth config file `kiosk run --config` loaded, where the devices page saves ports.
fn config_file(ctx: &Ctx) -> Option<PathBuf> {
    ctx.services.config().source.clone()
}

/// What technician mode's pages share on the UI thread: the gate (PIN and view).
#[derive(Debug)]
struct Tech {
    gate: Bound<Technician>,
}

impl Tech {
    fn unlocked(&self) -> bool {
        self.gate.read(Technician::unlocked)
    }
}

type Shared = Rc<Tech>;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let tech: Shared = Rc::new(Tech {
        gate: Bound::new(ctx),
    });
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();

    let t = Rc::clone(&tech);
    adapter.on_enter_requested(ctx.callback(move |ctx| enter_requested(ctx, &t)));
    let t = Rc::clone(&tech);
    adapter.on_submit_pin(ctx.callback1(move |ctx, pin: SharedString| {
        submit_pin(ctx, &t, pin.to_string());
    }));
    let t = Rc::clone(&tech);
    adapter.on_open(ctx.callback1(move |ctx, view| open(ctx, &t, view)));
    adapter.on_exit(ctx.callback(|ctx| {
        tracing::info!(target: "technician", "technician mode exited");
        ctx.show_page(Page::Home);
    }));

    enroll::bind(ctx, &tech);
    devices::bind(ctx, &tech);
    queue::bind(ctx, &tech);
    info::bind(ctx);

    let t = Rc::clone(&tech);
    ctx.on_session_end(move |ctx| {
        if t.gate.update(ctx, Technician::lock) {
            tracing::info!(target: "technician", "technician mode locked (session ended)");
        }
        // A booth never provisioned has nothing for villagers: back to enrollment.
        enter(ctx, &t, When::FirstProvisioningOnly);
    });
    // First boot: the booth comes up on its enrollment page, for the technician installing it.
    enter(ctx, &tech, When::FirstProvisioningOnly);
}

/// Whether [`enter`] opens technician mode in any case or only on a booth never provisioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Asked,
    FirstProvisioningOnly,
}

/// The long press: PIN, or enrollment straight away on a booth never provisioned.
fn enter_requested(ctx: &Rc<Ctx>, tech: &Shared) {
    if ctx.current_page() == Page::Technician {
        return;
    }
    tracing::info!(target: "technician", "technician entry requested");
    enter(ctx, tech, When::Asked);
}

/// Opens technician mode at its gate, or directly at enrollment on a booth with neither an
/// enrollment nor a PIN; with [`When::FirstProvisioningOnly`], only the latter.
fn enter(ctx: &Rc<Ctx>, tech: &Shared, when: When) {
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
            if when == When::FirstProvisioningOnly
                && (enrolled || pin_set || ctx.current_page() == Page::Technician)
            {
                return;
            }
            let entry = t
                .gate
                .update(ctx, |gate| gate.entry(enrolled, pin_set, Instant::now()));
            ctx.show_page(Page::Technician);
            if entry == Entry::FirstProvisioning {
                tracing::info!(target: "technician", "first provisioning: enrollment opens without a PIN");
                open(ctx, &t, TechnicianView::Enroll);
            }
        },
    );
}

fn submit_pin(ctx: &Rc<Ctx>, tech: &Shared, pin: String) {
    ctx.touched();
    if tech
        .gate
        .update(ctx, |gate| gate.refuses_pins(Instant::now()))
    {
        tracing::warn!(target: "technician", "PIN refused: entry locked after too many wrong PINs");
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
            let verdict = t
                .gate
                .update(ctx, |gate| gate.pin_checked(right, Instant::now()));
            match verdict {
                Verdict::Open => {
                    tracing::info!(target: "technician", "technician PIN accepted");
                    open(ctx, &t, TechnicianView::Menu);
                }
                Verdict::Locked { minutes_left } => tracing::warn!(
                    target: "technician",
                    "wrong technician PIN: entry locked for {minutes_left} min"
                ),
                Verdict::Wrong { .. } => {
                    tracing::warn!(target: "technician", "wrong technician PIN")
                }
            }
        },
    );
}

/// Shows a sub-page (only once the PIN was given) and loads what it shows.
fn open(ctx: &Rc<Ctx>, tech: &Shared, view: TechnicianView) {
    ctx.touched();
    let Some(leaving) = tech.gate.update(ctx, |gate| gate.open(view)) else {
        return;
    };
    if leaving == TechnicianView::Enroll && view != TechnicianView::Enroll {
        ctx.release_scanner();
    }
    if leaving == TechnicianView::Devices && view != TechnicianView::Devices {
        devices::leave(ctx);
    }
    tracing::info!(target: "technician", "technician opened {}", view_name(view));
    match view {
        TechnicianView::Enroll => enroll::opened(ctx),
        TechnicianView::Devices => devices::opened(ctx),
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
    ctx.current_page() == Page::Technician
        && Bound::<Technician>::of(ctx).read(|gate| gate.view_is(view))
}
