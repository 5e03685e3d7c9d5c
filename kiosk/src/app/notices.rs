//! The Notices page: binds `NoticesAdapter`.

use std::rc::Rc;

use slint::ComponentHandle;
use ui::{NoticesAdapter, Page};

use super::context::Ctx;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let weak = Rc::downgrade(ctx);
    ctx.window().global::<NoticesAdapter>().on_back(move || {
        if let Some(ctx) = weak.upgrade() {
            ctx.show_page(Page::Home);
        }
    });
}
