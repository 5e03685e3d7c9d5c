//! Home: the six tiles open their pages; the language button switches between Chinese and
//! English for this session (the session's end returns to the booth's language).
//!
//! Language and text size are the booth's, not Home's: [`Ctx::end_session`] resets them, and
//! `ui::select_language` keeps `AppState.language` as the one record of the translation shown.

use std::rc::Rc;

use slint::ComponentHandle;
use ui::{Activity, AppState, HomeActions};

use super::context::Ctx;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let actions = window.global::<HomeActions>();
    actions.on_open_page(ctx.callback1(|ctx, page| {
        ctx.touched();
        ctx.show_page(page);
    }));
    actions.on_switch_language(ctx.callback(|ctx| {
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
        super::header::refresh_clock(ctx);
    }));
    actions.on_toggle_large_text(ctx.callback(|ctx| {
        ctx.touched();
        let window = ctx.window();
        let state = window.global::<AppState>();
        state.set_large_text(!state.get_large_text());
    }));
    let activity = window.global::<Activity>();
    activity.on_touched(ctx.callback(|ctx| ctx.touched()));
    activity.on_still_here(ctx.callback(|ctx| ctx.touched()));
}
