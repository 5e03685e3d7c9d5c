//! The Technician page: binds `TechnicianAdapter`.

use std::rc::Rc;

use slint::ComponentHandle;
use ui::{Page, TechnicianAdapter};

use super::context::Ctx;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let weak = Rc::downgrade(ctx);
    ctx.window().global::<TechnicianAdapter>().on_back(move || {
        if let Some(ctx) = weak.upgrade() {
            ctx.show_page(Page::Home);
        }
    });
}
