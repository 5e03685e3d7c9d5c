//! Notices (政务公开): fills `NoticesAdapter` with the notices synced for this booth's village
//! that are in force today, newest first, and shows one in full.
//!
//! "New" means published in the last [`NEW_FOR_DAYS`] days and not yet opened in this session:
//! the booth is shared, so one villager reading a notice must not hide it as new from the next.
//! What was opened is kept in memory only and forgotten when the session ends.

use std::collections::HashSet;
use std::rc::Rc;

use chrono::{NaiveDate, TimeDelta};
use slint::{ComponentHandle, SharedString};
use sync_protocol::feed::{Feed, Notice};
use ui::{MainWindow, NoticeRow, NoticesAdapter, Page};
use uuid::Uuid;

use super::bind::{Asserted, Bound, Changes, Flow, model};
use super::context::Ctx;
use kiosk_core::store::StoreError;
use kiosk_core::sync::SyncEvent;

/// How long a notice counts as new after its publication date.
pub const NEW_FOR_DAYS: i64 = 14;

/// The notices as last loaded, the day they were loaded for, and what this session opened.
#[derive(Debug, Default)]
pub struct Notices {
    notices: Vec<Notice>,
    today: Option<NaiveDate>,
    opened: HashSet<Uuid>,
    load_failed: bool,
    open: Option<Notice>,
    /// The screen's back button closes the notice itself.
    detail_open: Asserted<bool>,
}

#[derive(Debug, PartialEq)]
pub struct NoticesView {
    rows: Vec<NoticeRow>,
    load_failed: bool,
    detail_open: Asserted<bool>,
    detail_title: String,
    detail_published_on: String,
    detail_expires_on: String,
    detail_paragraphs: Vec<SharedString>,
}

impl Notices {
    /// The notices in force `today`, or why they could not be read (the list empties).
    pub fn loaded(&mut self, loaded: Result<(Vec<Notice>, NaiveDate), StoreError>) {
        match loaded {
            Ok((notices, today)) => {
                self.notices = notices;
                self.today = Some(today);
                self.load_failed = false;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot read the notices");
                self.notices.clear();
                self.load_failed = true;
            }
        }
    }

    /// Shows the notice `id` in full; it is no longer new in this session.
    pub fn open(&mut self, id: &str) {
        let Some(notice) = self.notices.iter().find(|n| n.id.to_string() == id) else {
            return;
        };
        self.opened.insert(notice.id);
        self.open = Some(notice.clone());
        self.detail_open.set(true);
    }
}

impl Flow for Notices {
    type View = NoticesView;

    fn view(&self) -> NoticesView {
        let rows = self
            .notices
            .iter()
            .map(|notice| NoticeRow {
                id: notice.id.to_string().into(),
                title: notice.title.clone().into(),
                published_on: date_text(notice.published_on).into(),
                is_new: self
                    .today
                    .is_some_and(|today| is_new(notice, today, &self.opened)),
            })
            .collect();
        let open = self.open.as_ref();
        NoticesView {
            rows,
            load_failed: self.load_failed,
            detail_open: self.detail_open.clone(),
            detail_title: open.map(|n| n.title.clone()).unwrap_or_default(),
            detail_published_on: open.map(|n| date_text(n.published_on)).unwrap_or_default(),
            detail_expires_on: open
                .and_then(|n| n.expires_on)
                .map(date_text)
                .unwrap_or_default(),
            detail_paragraphs: open.map(|n| paragraphs(&n.body)).unwrap_or_default(),
        }
    }

    fn render(now: &NoticesView, before: Option<&NoticesView>, window: &MainWindow) {
        let adapter = window.global::<NoticesAdapter>();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.rows, |rows| adapter.set_notices(model(rows)));
        changes.write(
            |v| &v.load_failed,
            |&failed| adapter.set_load_failed(failed),
        );
        changes.write(|v| &v.detail_title, |t| adapter.set_detail_title(t.into()));
        changes.write(
            |v| &v.detail_published_on,
            |d| adapter.set_detail_published_on(d.into()),
        );
        changes.write(
            |v| &v.detail_expires_on,
            |d| adapter.set_detail_expires_on(d.into()),
        );
        changes.write(
            |v| &v.detail_paragraphs,
            |p| adapter.set_detail_paragraphs(model(p)),
        );
        changes.write(
            |v| &v.detail_open,
            |open| adapter.set_detail_open(*open.get()),
        );
    }
}

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let page = Bound::<Notices>::new(ctx);
    let window = ctx.window();
    let adapter = window.global::<NoticesAdapter>();
    adapter.on_open_notice(page.callback1(|ctx, page, id: SharedString| {
        page.update(ctx, |notices| notices.open(&id));
    }));

    // Each visit reads the notices in force today.
    page.on_page_open(ctx, Page::Notices, load);
    // Notices pushed by the server while the page is open show at once.
    page.on_sync_event(ctx, |ctx, page, event| {
        let on_notices = ctx.current_page() == Page::Notices;
        if on_notices
            && matches!(
                event,
                SyncEvent::FeedPulled {
                    feed: Feed::Notices,
                    ..
                }
            )
        {
            load(ctx, page);
        }
    });
    page.reset_on_session_end(ctx);
}

fn load(ctx: &Rc<Ctx>, page: &Bound<Notices>) {
    page.background(
        ctx,
        |services| services.with_store(|store| in_force(store)),
        |ctx, page, loaded| page.update(ctx, |notices| notices.loaded(loaded)),
    );
}

/// The notices for this booth's village in force today (Beijing date, server-corrected clock).
fn in_force(store: &kiosk_core::store::Store) -> Result<(Vec<Notice>, NaiveDate), StoreError> {
    let village = store
        .identity()?
        .map(|identity| identity.village.village)
        .unwrap_or_default();
    let today = store.beijing_today()?;
    let notices = store
        .notices(&village, today)?
        .into_iter()
        .filter(|n| !n.withdrawn)
        .collect();
    Ok((notices, today))
}

/// Published in the last [`NEW_FOR_DAYS`] days and not opened in this session.
pub fn is_new(notice: &Notice, today: NaiveDate, opened: &HashSet<Uuid>) -> bool {
    let age = today.signed_duration_since(notice.published_on);
    age < TimeDelta::days(NEW_FOR_DAYS) && !opened.contains(&notice.id)
}

/// The body's non-empty lines, trimmed: each is set apart on screen.
pub fn paragraphs(body: &str) -> Vec<SharedString> {
    body.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(SharedString::from)
        .collect()
}

/// ISO dates read the same in Chinese and English.
fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(published_on: NaiveDate) -> Notice {
        Notice {
            id: Uuid::now_v7(),
            title: "2026年度城乡居民医保缴费通知".into(),
            body: "请于12月31日前缴费。".into(),
            published_on,
            expires_on: None,
            villages: Vec::new(),
            withdrawn: false,
        }
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn recent_unopened_notices_are_new() {
        let today = day("2026-11-26");
        let mut opened = HashSet::new();
        let fresh = notice(today);
        let last_week = notice(day("2026-11-19"));
        let old = notice(day("2026-11-12"));
        assert!(is_new(&fresh, today, &opened));
        assert!(is_new(&last_week, today, &opened));
        assert!(!is_new(&old, today, &opened), "14 days is no longer new");
        opened.insert(fresh.id);
        assert!(!is_new(&fresh, today, &opened), "opened in this session");
        assert!(is_new(&last_week, today, &opened));
    }

    #[test]
    fn the_body_is_split_into_paragraphs() {
        let shown = paragraphs("各位村民：\n\n  请按时缴费。 \r\n咨询电话：0775-5550101\n");
        assert_eq!(
            shown,
            ["各位村民：", "请按时缴费。", "咨询电话：0775-5550101"]
        );
    }

    #[test]
    fn an_opened_notice_shows_in_full_and_is_no_longer_new() {
        let today = day("2026-11-26");
        let mut notices = Notices::default();
        let fresh = notice(today);
        notices.loaded(Ok((vec![fresh.clone(), notice(day("2026-11-01"))], today)));
        let view = notices.view();
        assert_eq!(
            view.rows.iter().map(|r| r.is_new).collect::<Vec<_>>(),
            [true, false]
        );
        assert!(!view.detail_open.get());

        notices.open(&fresh.id.to_string());
        let view = notices.view();
        assert!(*view.detail_open.get());
        assert_eq!(view.detail_title, fresh.title);
        assert_eq!(view.detail_published_on, "2026-11-26");
        assert_eq!(view.detail_paragraphs, ["请于12月31日前缴费。"]);
        assert!(!view.rows[0].is_new, "opened in this session");
    }

    #[test]
    fn opening_again_after_the_screen_closed_it_shows_it_again() {
        let today = day("2026-11-26");
        let mut notices = Notices::default();
        let fresh = notice(today);
        notices.loaded(Ok((vec![fresh.clone()], today)));
        notices.open(&fresh.id.to_string());
        let first = notices.view();
        notices.open(&fresh.id.to_string());
        assert_ne!(
            notices.view(),
            first,
            "the back button may have closed it: written again"
        );
    }

    #[test]
    fn an_unknown_notice_changes_nothing() {
        let today = day("2026-11-26");
        let mut notices = Notices::default();
        notices.loaded(Ok((vec![notice(today)], today)));
        let before = notices.view();
        notices.open(&Uuid::now_v7().to_string());
        assert_eq!(notices.view(), before);
    }

    #[test]
    fn a_failed_read_empties_the_list_and_says_so() {
        let today = day("2026-11-26");
        let mut notices = Notices::default();
        notices.loaded(Ok((vec![notice(today)], today)));
        notices.loaded(Err(StoreError::NotEnrolled));
        let view = notices.view();
        assert!(view.rows.is_empty());
        assert!(view.load_failed);
        notices.loaded(Ok((vec![notice(today)], today)));
        assert!(!notices.view().load_failed);
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(date_text(day("2026-01-05")), "2026-01-05");
    }
}
