//! The Apply page: binds `ApplyAdapter`.

use std::rc::Rc;

use slint::ComponentHandle;
use ui::{ApplyAdapter, Page};

use super::context::Ctx;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let weak = Rc::downgrade(ctx);
    ctx.window().global::<ApplyAdapter>().on_back(move || {
        if let Some(ctx) = weak.upgrade() {
            ctx.show_page(Page::Home);
        }
    });
}
