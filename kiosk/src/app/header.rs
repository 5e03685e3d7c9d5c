//! The header: village name, date and time (Beijing time), and the calm connection line with
//! the number of submissions still waiting to be sent.

use std::rc::Rc;

use chrono::{DateTime, Datelike, Utc};
use slint::ComponentHandle;
use ui::AppState;

use super::context::Ctx;
use crate::receipt_paper::beijing;
use crate::sync::SyncEvent;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    ctx.on_sync_event(on_sync_event);
    refresh_clock(ctx);
    refresh_identity_and_queue(ctx);
}

/// Called every second by the app's clock timer.
pub(super) fn refresh_clock(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let state = window.global::<AppState>();
    let text = format_date_time(Utc::now(), state.get_language().as_str());
    if state.get_date_time() != text.as_str() {
        state.set_date_time(text.into());
    }
}

/// The village name and the waiting count, read in the background.
pub(super) fn refresh_identity_and_queue(ctx: &Rc<Ctx>) {
    ctx.background(
        |services| {
            services.with_store(|store| {
                let village = store.identity().ok().flatten().map(|i| i.village.village);
                let waiting = store
                    .queue_stats(Utc::now())
                    .map(|stats| stats.depth())
                    .unwrap_or(0);
                (village, waiting)
            })
        },
        |ctx, (village, waiting)| {
            let window = ctx.window();
            let state = window.global::<AppState>();
            state.set_village_name(
                village
                    .map(|v| format!("{v}便民服务亭"))
                    .unwrap_or_else(|| "便民服务亭（未登记）".to_owned())
                    .into(),
            );
            state.set_waiting_count(i32::try_from(waiting).unwrap_or(i32::MAX));
        },
    );
}

/// Sync reports: reachability decides the connection line; anything that moved the queue
/// refreshes the count.
fn on_sync_event(ctx: &Rc<Ctx>, event: &SyncEvent) {
    let window = ctx.window();
    let state = window.global::<AppState>();
    match event {
        SyncEvent::Waiting { .. } => state.set_online(false),
        SyncEvent::Reachable
        | SyncEvent::Uploaded { .. }
        | SyncEvent::FeedPulled { .. }
        | SyncEvent::HeartbeatSent { .. } => state.set_online(true),
        SyncEvent::Quarantined { .. } | SyncEvent::ClockOffset { .. } | SyncEvent::Stopped => {}
    }
    refresh_identity_and_queue(ctx);
}

/// "2026年11月26日 星期四 14:05" or "Thu 26 Nov 2026 14:05", in Beijing time.
pub fn format_date_time(now: DateTime<Utc>, language: &str) -> String {
    let local = now.with_timezone(&beijing());
    if language == "en" {
        return local.format("%a %-d %b %Y %H:%M").to_string();
    }
    const WEEKDAYS: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];
    let weekday = WEEKDAYS[local.weekday().num_days_from_monday() as usize];
    format!(
        "{}年{}月{}日 星期{weekday} {}",
        local.year(),
        local.month(),
        local.day(),
        local.format("%H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_are_beijing_time_in_either_language() {
        // 22:30 UTC on Wednesday is 06:30 on Thursday in Beijing.
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 22, 30, 0).unwrap();
        assert_eq!(
            format_date_time(now, "zh_CN"),
            "2026年11月26日 星期四 06:30"
        );
        assert_eq!(format_date_time(now, "en"), "Thu 26 Nov 2026 06:30");
    }
}
