//! Home: the six tiles open their pages; the language button switches between Chinese and
//! English for this session (the session's end returns to the booth's language).

use std::rc::Rc;

use slint::ComponentHandle;
use ui::{Activity, AppState, HomeActions};

use super::context::Ctx;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let actions = window.global::<HomeActions>();
    let weak = Rc::downgrade(ctx);
    actions.on_open_page(move |page| {
        if let Some(ctx) = weak.upgrade() {
            ctx.touched();
            ctx.show_page(page);
        }
    });
    let weak = Rc::downgrade(ctx);
    actions.on_switch_language(move || {
        let Some(ctx) = weak.upgrade() else { return };
        ctx.touched();
        let window = ctx.window();
        let next = if window.global::<AppState>().get_language() == "en" {
            "zh_CN"
        } else {
            "en"
        };
        if let Err(err) = ui::select_language(&window, next) {
            tracing::warn!(%err, "cannot switch language");
        }
        super::header::refresh_clock(&ctx);
    });
    let weak = Rc::downgrade(ctx);
    actions.on_toggle_large_text(move || {
        let Some(ctx) = weak.upgrade() else { return };
        ctx.touched();
        let window = ctx.window();
        let state = window.global::<AppState>();
        state.set_large_text(!state.get_large_text());
    });
    let activity = window.global::<Activity>();
    let weak = Rc::downgrade(ctx);
    activity.on_touched(move || {
        if let Some(ctx) = weak.upgrade() {
            ctx.touched();
        }
    });
    let weak = Rc::downgrade(ctx);
    activity.on_still_here(move || {
        if let Some(ctx) = weak.upgrade() {
            ctx.touched();
        }
    });
}
