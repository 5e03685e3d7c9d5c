//! The Progress page: binds `ProgressAdapter`.

use std::rc::Rc;

use slint::ComponentHandle;
use ui::{Page, ProgressAdapter};

use super::context::Ctx;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let weak = Rc::downgrade(ctx);
    ctx.window().global::<ProgressAdapter>().on_back(move || {
        if let Some(ctx) = weak.upgrade() {
            ctx.show_page(Page::Home);
        }
    });
}
