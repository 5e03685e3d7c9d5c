//! The upload queue page: how much waits and since when, what the server refused for good
//! (with its reason), re-queueing, and "sync now".

use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{TechnicianAdapter, TechnicianQueueItem, TechnicianQueueState, TechnicianView};

use super::{Shared, showing};
use crate::app::context::Ctx;
use crate::store::{QueueItem, QueueStats, StoreError};

pub(super) fn bind(ctx: &Rc<Ctx>, tech: &Shared) {
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();

    let t = Rc::clone(tech);
    adapter.on_requeue(ctx.callback1(move |ctx, receipt: SharedString| {
        ctx.touched();
        if !t.unlocked() {
            return;
        }
        let receipt = receipt.to_string();
        tracing::info!(target: "technician", %receipt, "re-queue asked");
        ctx.background(
            move |services| {
                let requeued = services.with_store(|store| store.requeue(&receipt));
                if requeued.is_ok() {
                    services.wake_sync();
                }
                requeued.map(|item| item.receipt_number)
            },
            |ctx, requeued| {
                let window = ctx.window();
                let adapter = window.global::<TechnicianAdapter>();
                match requeued {
                    Ok(receipt) => {
                        tracing::info!(target: "technician", %receipt, "re-queued");
                        adapter.set_queue_state(TechnicianQueueState::Requeued);
                        adapter.set_queue_detail(receipt.into());
                    }
                    Err(err) => {
                        tracing::warn!(target: "technician", %err, "re-queue failed");
                        adapter.set_queue_state(TechnicianQueueState::Failed);
                        adapter.set_queue_detail(err.to_string().into());
                    }
                }
                refresh(ctx);
            },
        );
    }));

    let t = Rc::clone(tech);
    adapter.on_sync_now(ctx.callback(move |ctx| {
        ctx.touched();
        if !t.unlocked() {
            return;
        }
        let window = ctx.window();
        let adapter = window.global::<TechnicianAdapter>();
        adapter.set_queue_detail("".into());
        if ctx.services.sync_running() {
            tracing::info!(target: "technician", "sync now");
            ctx.services.sync_everything_now();
            adapter.set_queue_state(TechnicianQueueState::SyncRequested);
        } else {
            tracing::info!(target: "technician", "sync now asked on a booth not enrolled");
            adapter.set_queue_state(TechnicianQueueState::SyncNotRunning);
        }
    }));

    // Uploads and refusals change the counts while the page is open.
    ctx.on_sync_event(|ctx, _| {
        if showing(ctx, TechnicianView::Queue) {
            refresh(ctx);
        }
    });
}

pub(super) fn clear(adapter: &TechnicianAdapter<'_>) {
    adapter.set_queue_state(TechnicianQueueState::Idle);
    adapter.set_queue_detail("".into());
    adapter.set_quarantined(ModelRc::default());
}

pub(super) fn load(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let adapter = window.global::<TechnicianAdapter>();
    adapter.set_queue_state(TechnicianQueueState::Loading);
    adapter.set_queue_detail("".into());
    refresh(ctx);
}

type Snapshot = Result<(QueueStats, Vec<QueueItem>), StoreError>;

fn refresh(ctx: &Rc<Ctx>) {
    ctx.background(
        |services| -> Snapshot {
            services.with_store(|store| {
                let stats = store.queue_stats(store.corrected_now()?)?;
                Ok((stats, store.quarantined()?))
            })
        },
        |ctx, snapshot| {
            let window = ctx.window();
            let adapter = window.global::<TechnicianAdapter>();
            let (stats, quarantined) = match snapshot {
                Ok(snapshot) => snapshot,
                Err(err) => {
                    tracing::warn!(target: "technician", %err, "cannot read the queue");
                    adapter.set_queue_state(TechnicianQueueState::Failed);
                    adapter.set_queue_detail(err.to_string().into());
                    return;
                }
            };
            if adapter.get_queue_state() == TechnicianQueueState::Loading {
                adapter.set_queue_state(TechnicianQueueState::Idle);
            }
            let count = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
            adapter.set_queue_depth(count(stats.depth()));
            adapter.set_quarantined_count(count(stats.quarantined));
            adapter.set_oldest_pending_minutes(
                stats
                    .oldest_pending_age_s
                    .map_or(-1, |seconds| count(seconds / 60)),
            );
            let rows: Vec<TechnicianQueueItem> = quarantined
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
            adapter.set_quarantined(ModelRc::new(VecModel::from(rows)));
        },
    );
}
