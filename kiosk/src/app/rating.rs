//! The Rating page: binds `RatingAdapter`.

use std::rc::Rc;

use slint::ComponentHandle;
use ui::{Page, RatingAdapter};

use super::context::Ctx;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let weak = Rc::downgrade(ctx);
    ctx.window().global::<RatingAdapter>().on_back(move || {
        if let Some(ctx) = weak.upgrade() {
            ctx.show_page(Page::Home);
        }
    });
}
