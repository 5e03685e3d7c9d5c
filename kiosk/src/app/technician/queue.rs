//! The upload queue page: how much waits and since when, what the server refused for good
//! (with its reason), re-queueing, and "sync now".

use std::rc::Rc;

use slint::{ComponentHandle, SharedString};
use ui::{
    MainWindow, TechnicianAdapter, TechnicianQueueItem, TechnicianQueueState, TechnicianView,
};

use super::{Shared, showing};
use crate::app::bind::{Bound, Changes, Flow, model};
use crate::app::context::Ctx;
use kiosk_core::store::{QueueItem, QueueStats, StoreError};

/// What the queue page shows: the last snapshot and what the last action said.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    state: TechnicianQueueState,
    detail: String,
    depth: i32,
    quarantined_count: i32,
    /// `-1`: nothing pending.
    oldest_pending_minutes: i32,
    /// What holds the queue up (`QueueStats::last_error`); empty when nothing failed.
    last_error: String,
    quarantined: Vec<TechnicianQueueItem>,
}

impl Default for Queue {
    fn default() -> Self {
        Self {
            state: TechnicianQueueState::Idle,
            detail: String::new(),
            depth: 0,
            quarantined_count: 0,
            oldest_pending_minutes: -1,
            last_error: String::new(),
            quarantined: Vec::new(),
        }
    }
}

type Snapshot = Result<(QueueStats, Vec<QueueItem>), StoreError>;

fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Queue {
    pub fn loading(&mut self) {
        self.state = TechnicianQueueState::Loading;
        self.detail.clear();
    }

    /// A fresh snapshot; it ends "loading" but leaves what an action said.
    pub fn loaded(&mut self, snapshot: Snapshot) {
        let (stats, quarantined) = match snapshot {
            Ok(snapshot) => snapshot,
            Err(err) => {
                tracing::warn!(target: "technician", %err, "cannot read the queue");
                self.state = TechnicianQueueState::Failed;
                self.detail = err.to_string();
                return;
            }
        };
        if self.state == TechnicianQueueState::Loading {
            self.state = TechnicianQueueState::Idle;
        }
        self.depth = count(stats.depth());
        self.quarantined_count = count(stats.quarantined);
        self.oldest_pending_minutes = stats
            .oldest_pending_age_s
            .map_or(-1, |seconds| count(seconds / 60));
        self.last_error = stats.last_error.unwrap_or_default();
        self.quarantined = quarantined
            .into_iter()
            .map(|item| TechnicianQueueItem {
                receipt_number: item.receipt_number.into(),
                kind: item.kind.as_str().into(),
                reason: item
                    .last_error
                    .unwrap_or_else(|| "none recorded".to_owned())
                    .into(),
                attempts: i32::try_from(item.attempts).unwrap_or(i32::MAX),
            })
            .collect();
    }

    /// The re-queued receipt's number, or why it was not re-queued.
    pub fn requeued(&mut self, requeued: Result<String, StoreError>) {
        match requeued {
            Ok(receipt) => {
                tracing::info!(target: "technician", %receipt, "re-queued");
                self.state = TechnicianQueueState::Requeued;
                self.detail = receipt;
            }
            Err(err) => {
                tracing::warn!(target: "technician", %err, "re-queue failed");
                self.state = TechnicianQueueState::Failed;
                self.detail = err.to_string();
            }
        }
    }

    /// "Sync now", asked of a sync engine that runs or, on a booth not enrolled, does not.
    pub fn sync_asked(&mut self, running: bool) {
        self.detail.clear();
        self.state = if running {
            TechnicianQueueState::SyncRequested
        } else {
            TechnicianQueueState::SyncNotRunning
        };
    }
}

impl Flow for Queue {
    type View = Self;

    fn view(&self) -> Self {
        self.clone()
    }

    fn render(now: &Self, before: Option<&Self>, window: &MainWindow) {
        let adapter = window.global::<TechnicianAdapter>();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.state, |&s| adapter.set_queue_state(s));
        changes.write(|v| &v.detail, |d| adapter.set_queue_detail(d.into()));
        changes.write(|v| &v.depth, |&d| adapter.set_queue_depth(d));
        changes.write(
            |v| &v.quarantined_count,
            |&c| adapter.set_quarantined_count(c),
        );
        changes.write(
            |v| &v.oldest_pending_minutes,
            |&m| adapter.set_oldest_pending_minutes(m),
        );
        changes.write(
            |v| &v.last_error,
            |e| adapter.set_queue_last_error(e.into()),
        );
        changes.write(|v| &v.quarantined, |q| adapter.set_quarantined(model(q)));
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>, tech: &Shared) {
    let page = Bound::<Queue>::new(ctx);
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();

    let t = Rc::clone(tech);
    adapter.on_requeue(page.callback1(move |ctx, page, receipt: SharedString| {
        ctx.touched();
        if !t.unlocked() {
            return;
        }
        let receipt = receipt.to_string();
        tracing::info!(target: "technician", %receipt, "re-queue asked");
        page.background(
            ctx,
            move |services| {
                let requeued = services.with_store(|store| store.requeue(&receipt));
                if requeued.is_ok() {
                    services.wake_sync();
                }
                requeued.map(|item| item.receipt_number)
            },
            |ctx, page, requeued| {
                page.update(ctx, |queue| queue.requeued(requeued));
                refresh(ctx, page);
            },
        );
    }));

    let t = Rc::clone(tech);
    adapter.on_sync_now(page.callback(move |ctx, page| {
        ctx.touched();
        if !t.unlocked() {
            return;
        }
        let running = ctx.services.sync_running();
        if running {
            tracing::info!(target: "technician", "sync now");
            ctx.services.sync_everything_now();
        } else {
            tracing::info!(target: "technician", "sync now asked on a booth not enrolled");
        }
        page.update(ctx, |queue| queue.sync_asked(running));
    }));

    // Uploads and refusals change the counts while the page is open.
    page.on_sync_event(ctx, |ctx, page, _| {
        if showing(ctx, TechnicianView::Queue) {
            refresh(ctx, page);
        }
    });
    page.reset_on_session_end(ctx);
}

pub(super) fn load(ctx: &Rc<Ctx>) {
    let page = Bound::<Queue>::of(ctx);
    page.update(ctx, Queue::loading);
    refresh(ctx, &page);
}

fn refresh(ctx: &Rc<Ctx>, page: &Bound<Queue>) {
    page.background(
        ctx,
        |services| -> Snapshot {
            services.with_store(|store| {
                let stats = store.queue_stats(store.corrected_now()?)?;
                Ok((stats, store.quarantined()?))
            })
        },
        |ctx, page, snapshot| page.update(ctx, |queue| queue.loaded(snapshot)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_ends_with_the_snapshot_but_an_action_s_message_stays() {
        let mut queue = Queue::default();
        queue.loading();
        assert_eq!(queue.view().state, TechnicianQueueState::Loading);
        queue.loaded(Ok((QueueStats::default(), Vec::new())));
        let view = queue.view();
        assert_eq!(view.state, TechnicianQueueState::Idle);
        assert_eq!(view.oldest_pending_minutes, -1, "nothing pending");

        queue.sync_asked(false);
        queue.loaded(Ok((QueueStats::default(), Vec::new())));
        assert_eq!(queue.view().state, TechnicianQueueState::SyncNotRunning);
        queue.requeued(Ok("K0012-000042-7".into()));
        let view = queue.view();
        assert_eq!(view.state, TechnicianQueueState::Requeued);
        assert_eq!(view.detail, "K0012-000042-7");
    }

    #[test]
    fn the_page_says_what_holds_the_queue_up() {
        let mut queue = Queue::default();
        let held = QueueStats {
            pending: 1,
            last_error: Some("the county server at https://h showed certificate sha256:ab".into()),
            ..QueueStats::default()
        };
        queue.loaded(Ok((held, Vec::new())));
        assert_eq!(
            queue.view().last_error,
            "the county server at https://h showed certificate sha256:ab"
        );
        queue.loaded(Ok((QueueStats::default(), Vec::new())));
        assert!(queue.view().last_error.is_empty(), "gone once uploaded");
    }

    #[test]
    fn an_unreadable_queue_says_why() {
        let mut queue = Queue::default();
        queue.loading();
        queue.loaded(Err(StoreError::NotEnrolled));
        let view = queue.view();
        assert_eq!(view.state, TechnicianQueueState::Failed);
        assert!(!view.detail.is_empty());
    }
}
