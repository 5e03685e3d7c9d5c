//! The on-screen keyboard: binds `KeyboardAdapter`.

use std::rc::Rc;

use slint::ComponentHandle;
use ui::KeyboardAdapter;

use super::context::Ctx;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let weak = Rc::downgrade(ctx);
    ctx.window()
        .global::<KeyboardAdapter>()
        .on_key_pressed(move |_key| {
            if let Some(ctx) = weak.upgrade() {
                ctx.touched();
            }
        });
}
