//! How a page is bound to its adapter, once for every page.
//!
//! Slint holds the callbacks and the app holds the [`Ctx`], so a callback may only hold the
//! `Ctx` weakly (a strong handle would keep the window alive through its own callbacks). The
//! handlers built here take that weak handle and hand the page's code a strong `&Rc<Ctx>`, so
//! no page upgrades one itself.
//!
//! A page's state is a plain Rust [`Flow`]: events (taps, background results, sync) change it,
//! and [`Bound`] renders its [`Flow::View`] into the adapter after every change. Slint's
//! properties are the output; the flow never reads them back. A render writes only the fields
//! whose value changed since the last render: unchanged list models keep the screen's scroll
//! position and focus, and what the screen itself changed in between (a back button closing a
//! detail, an edit clearing an error) is not overwritten by an unrelated change. A value the
//! flow means to show again although the screen changed it is an [`Asserted`].

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use slint::{ModelRc, VecModel};
use ui::{MainWindow, Page};

use super::context::Ctx;
use super::services::Services;
use kiosk_core::sync::SyncEvent;

/// One page's state, apart from Slint.
pub trait Flow: Default + 'static {
    /// What the page shows: compared field by field with the view rendered last.
    type View: PartialEq + 'static;

    fn view(&self) -> Self::View;

    /// Writes the fields of `now` that differ from `before` (all of them when `before` is
    /// `None`) into the page's adapter.
    fn render(now: &Self::View, before: Option<&Self::View>, window: &MainWindow);
}

/// The fields of a view that changed, for [`Flow::render`].
#[derive(Debug)]
pub struct Changes<'a, V> {
    now: &'a V,
    before: Option<&'a V>,
}

impl<'a, V> Changes<'a, V> {
    pub fn new(now: &'a V, before: Option<&'a V>) -> Self {
        Self { now, before }
    }

    /// Calls `write` with the field `get` picks, if it changed.
    pub fn write<T: PartialEq + 'a>(&self, get: impl Fn(&'a V) -> &'a T, write: impl FnOnce(&T)) {
        let now = get(self.now);
        if self.before.is_none_or(|before| get(before) != now) {
            write(now);
        }
    }
}

/// A list of a view as a Slint model (a new one: write it only when the list changed).
pub fn model<T: Clone + 'static>(rows: &[T]) -> ModelRc<T> {
    ModelRc::new(VecModel::from(rows.to_vec()))
}

/// A value for a property that the screen writes too (its back button closes a detail, an edit
/// clears a message). Each [`Self::set`] counts as a change, so the value is written again even
/// if it equals what the flow wrote last time: the screen may have changed it since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asserted<T> {
    value: T,
    times: u32,
}

impl<T> Asserted<T> {
    pub fn set(&mut self, value: T) {
        self.value = value;
        self.times = self.times.wrapping_add(1);
    }

    pub fn get(&self) -> &T {
        &self.value
    }
}

/// A page's flow, shared by the page's callbacks and hooks, and what was last rendered of it.
pub struct Bound<F: Flow> {
    shared: Rc<Shared<F>>,
}

struct Shared<F: Flow> {
    ctx: Weak<Ctx>,
    flow: RefCell<F>,
    shown: RefCell<Option<F::View>>,
}

impl<F: Flow> Clone for Bound<F> {
    fn clone(&self) -> Self {
        Self {
            shared: Rc::clone(&self.shared),
        }
    }
}

impl<F: Flow> std::fmt::Debug for Bound<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A flow may hold what a villager typed: never printed.
        f.debug_struct("Bound").finish_non_exhaustive()
    }
}

impl<F: Flow> Bound<F> {
    /// The page's flow at its start, rendered at once (so that every later render only writes
    /// what changed, never the start over what the screen did) and kept in `ctx` for
    /// [`Self::of`].
    pub fn new(ctx: &Rc<Ctx>) -> Self {
        let shared = Rc::new(Shared {
            ctx: Rc::downgrade(ctx),
            flow: RefCell::new(F::default()),
            shown: RefCell::new(None),
        });
        ctx.keep_page(Rc::clone(&shared));
        let bound = Self { shared };
        bound.render(ctx);
        bound
    }

    /// The bound flow of type `F`, for a page that hands over to another.
    pub fn of(ctx: &Ctx) -> Self {
        let shared = ctx
            .page::<Shared<F>>()
            .expect("every page is bound when the app starts");
        Self { shared }
    }

    /// Applies `change` to the flow, then renders what changed.
    pub fn update<R>(&self, ctx: &Ctx, change: impl FnOnce(&mut F) -> R) -> R {
        let result = change(&mut self.shared.flow.borrow_mut());
        self.render(ctx);
        result
    }

    /// Reads the flow (to decide what to ask of the services).
    pub fn read<R>(&self, read: impl FnOnce(&F) -> R) -> R {
        read(&self.shared.flow.borrow())
    }

    /// Back to the flow's start, and every field written again: nothing of the last villager
    /// stays on the page, whatever the screen did meanwhile.
    pub fn reset(&self, ctx: &Ctx) {
        *self.shared.flow.borrow_mut() = F::default();
        self.shared.shown.borrow_mut().take();
        self.render(ctx);
    }

    fn render(&self, ctx: &Ctx) {
        let now = self.shared.flow.borrow().view();
        let mut shown = self.shared.shown.borrow_mut();
        F::render(&now, shown.as_ref(), &ctx.window());
        *shown = Some(now);
    }

    /// A handler for a Slint callback without arguments.
    pub fn callback(&self, handler: impl Fn(&Rc<Ctx>, &Self) + 'static) -> impl Fn() + 'static {
        let page = self.clone();
        move || with_ctx(&page.shared.ctx, |ctx| handler(ctx, &page))
    }

    /// A handler for a Slint callback with one argument.
    pub fn callback1<A>(
        &self,
        handler: impl Fn(&Rc<Ctx>, &Self, A) + 'static,
    ) -> impl Fn(A) + 'static {
        let page = self.clone();
        move |a| with_ctx(&page.shared.ctx, |ctx| handler(ctx, &page, a))
    }

    /// A handler for a Slint callback with two arguments.
    pub fn callback2<A, B>(
        &self,
        handler: impl Fn(&Rc<Ctx>, &Self, A, B) + 'static,
    ) -> impl Fn(A, B) + 'static {
        let page = self.clone();
        move |a, b| with_ctx(&page.shared.ctx, |ctx| handler(ctx, &page, a, b))
    }

    /// [`Ctx::background`], with the page handed back to `then`.
    pub fn background<T: Send + 'static>(
        &self,
        ctx: &Rc<Ctx>,
        job: impl FnOnce(&Services) -> T + Send + 'static,
        then: impl FnOnce(&Rc<Ctx>, &Self, T) + 'static,
    ) {
        let page = self.clone();
        ctx.background(job, move |ctx, result| then(ctx, &page, result));
    }

    /// [`Ctx::on_page_open`] for this page's flow.
    pub fn on_page_open(&self, ctx: &Ctx, page: Page, hook: impl Fn(&Rc<Ctx>, &Self) + 'static) {
        let bound = self.clone();
        ctx.on_page_open(page, move |ctx| hook(ctx, &bound));
    }

    /// [`Ctx::on_sync_event`] for this page's flow.
    pub fn on_sync_event(&self, ctx: &Ctx, hook: impl Fn(&Rc<Ctx>, &Self, &SyncEvent) + 'static) {
        let bound = self.clone();
        ctx.on_sync_event(move |ctx, event| hook(ctx, &bound, event));
    }

    /// Resets the flow when the session ends (see [`Self::reset`]).
    pub fn reset_on_session_end(&self, ctx: &Ctx) {
        let bound = self.clone();
        ctx.on_session_end(move |ctx| bound.reset(ctx));
    }
}

/// Runs `run` with the app's context; a callback that outlives the app does nothing.
fn with_ctx(weak: &Weak<Ctx>, run: impl FnOnce(&Rc<Ctx>)) {
    if let Some(ctx) = weak.upgrade() {
        run(&ctx);
    }
}

/// Handlers for pages without state of their own.
impl Ctx {
    /// A handler for a Slint callback without arguments.
    pub fn callback(self: &Rc<Self>, handler: impl Fn(&Rc<Ctx>) + 'static) -> impl Fn() + 'static {
        let weak = Rc::downgrade(self);
        move || with_ctx(&weak, |ctx| handler(ctx))
    }

    /// A handler for a Slint callback with one argument.
    pub fn callback1<A>(
        self: &Rc<Self>,
        handler: impl Fn(&Rc<Ctx>, A) + 'static,
    ) -> impl Fn(A) + 'static {
        let weak = Rc::downgrade(self);
        move |a| with_ctx(&weak, |ctx| handler(ctx, a))
    }

    /// A handler for a Slint callback with two arguments.
    pub fn callback2<A, B>(
        self: &Rc<Self>,
        handler: impl Fn(&Rc<Ctx>, A, B) + 'static,
    ) -> impl Fn(A, B) + 'static {
        let weak = Rc::downgrade(self);
        move |a, b| with_ctx(&weak, |ctx| handler(ctx, a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq)]
    struct View {
        title: String,
        open: Asserted<bool>,
    }

    fn written(now: &View, before: Option<&View>) -> Vec<&'static str> {
        let mut written = Vec::new();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.title, |_| written.push("title"));
        changes.write(|v| &v.open, |_| written.push("open"));
        written
    }

    #[test]
    fn only_changed_fields_are_written_and_everything_at_first() {
        let before = View::default();
        let mut now = View::default();
        assert_eq!(written(&now, None), ["title", "open"]);
        assert!(written(&now, Some(&before)).is_empty());
        now.title = "通知".into();
        assert_eq!(written(&now, Some(&before)), ["title"]);
    }

    #[test]
    fn an_asserted_value_is_written_again_even_if_equal() {
        let mut before = View::default();
        before.open.set(true);
        let mut now = View::default();
        now.open.set(true);
        assert!(written(&now, Some(&before)).is_empty(), "the same setting");
        now.open.set(true);
        assert_eq!(written(&now, Some(&before)), ["open"]);
        assert!(*now.open.get());
    }
}
