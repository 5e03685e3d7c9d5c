//! The header: village name, date and time (Beijing time), and the calm connection line with
//! the number of submissions still waiting to be sent.

use std::rc::Rc;

use chrono::{DateTime, Datelike, Utc};
use slint::ComponentHandle;
use ui::{AppState, MainWindow};

use super::bind::{Bound, Changes, Flow};
use super::context::Ctx;
use kiosk_core::receipt_paper::beijing;
use kiosk_core::sync::SyncEvent;

/// What the header knows about the booth: its village once read, the queue, the connection.
#[derive(Debug)]
pub struct Header {
    /// `None` until the store was read, then the village if the booth is enrolled.
    village: Option<Option<String>>,
    waiting: u64,
    online: bool,
}

impl Default for Header {
    fn default() -> Self {
        // Calm until sync says otherwise: a booth just switched on is not "offline" yet.
        Self {
            village: None,
            waiting: 0,
            online: true,
        }
    }
}

#[derive(Debug, PartialEq)]
pub struct HeaderView {
    village_name: String,
    waiting_count: i32,
    online: bool,
}

impl Header {
    /// The store's identity and queue, read in the background.
    pub fn loaded(&mut self, village: Option<String>, waiting: u64) {
        self.village = Some(village);
        self.waiting = waiting;
    }

    /// Reachability decides the connection line; other reports leave it.
    pub fn sync_event(&mut self, event: &SyncEvent) {
        match event {
            SyncEvent::Waiting { .. } => self.online = false,
            SyncEvent::Reachable
            | SyncEvent::Uploaded { .. }
            | SyncEvent::FeedPulled { .. }
            | SyncEvent::HeartbeatSent { .. }
            | SyncEvent::PageSent { .. } => self.online = true,
            SyncEvent::Quarantined { .. }
            | SyncEvent::PageRefused { .. }
            | SyncEvent::ClockOffset { .. }
            | SyncEvent::Stopped => {}
        }
    }
}

impl Flow for Header {
    type View = HeaderView;

    fn view(&self) -> HeaderView {
        HeaderView {
            village_name: match &self.village {
                None => String::new(),
                Some(Some(village)) => format!("{village}便民服务亭"),
                Some(None) => "便民服务亭（未登记）".to_owned(),
            },
            waiting_count: i32::try_from(self.waiting).unwrap_or(i32::MAX),
            online: self.online,
        }
    }

    fn render(now: &HeaderView, before: Option<&HeaderView>, window: &MainWindow) {
        let state = window.global::<AppState>();
        let changes = Changes::new(now, before);
        changes.write(
            |v| &v.village_name,
            |name| state.set_village_name(name.into()),
        );
        changes.write(
            |v| &v.waiting_count,
            |&count| state.set_waiting_count(count),
        );
        changes.write(|v| &v.online, |&online| state.set_online(online));
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let header = Bound::<Header>::new(ctx);
    header.on_sync_event(ctx, |ctx, header, event| {
        header.update(ctx, |flow| flow.sync_event(event));
        refresh_identity_and_queue(ctx);
    });
    refresh_clock(ctx);
    refresh_identity_and_queue(ctx);
}

/// Called every second by the app's clock timer. The language is the translation shown
/// (`ui::select_language` records it), an input here.
pub(super) fn refresh_clock(ctx: &Rc<Ctx>) {
    let window = ctx.window();
    let state = window.global::<AppState>();
    let text = format_date_time(Utc::now(), state.get_language().as_str());
    state.set_date_time(text.into());
}

/// The village name and the waiting count, read in the background.
pub(super) fn refresh_identity_and_queue(ctx: &Rc<Ctx>) {
    Bound::<Header>::of(ctx).background(
        ctx,
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
        |ctx, header, (village, waiting)| header.update(ctx, |flow| flow.loaded(village, waiting)),
    );
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

    #[test]
    fn an_unenrolled_booth_says_so_until_its_village_is_read() {
        let mut header = Header::default();
        assert_eq!(header.view().village_name, "", "not read yet");
        header.loaded(None, 0);
        assert_eq!(header.view().village_name, "便民服务亭（未登记）");
        header.loaded(Some("那坡村".into()), 3);
        let view = header.view();
        assert_eq!(view.village_name, "那坡村便民服务亭");
        assert_eq!(view.waiting_count, 3);
    }

    #[test]
    fn only_reachability_moves_the_connection_line() {
        let mut header = Header::default();
        assert!(header.view().online, "calm before the first report");
        header.sync_event(&SyncEvent::Waiting {
            error: "connection refused".into(),
            retry_in: std::time::Duration::from_secs(30),
            probing: false,
        });
        assert!(!header.view().online);
        header.sync_event(&SyncEvent::Stopped);
        assert!(!header.view().online);
        header.sync_event(&SyncEvent::Reachable);
        assert!(header.view().online);
    }
}
