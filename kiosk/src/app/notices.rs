//! Notices (政务公开): fills `NoticesAdapter` with the notices synced for this booth's village
//! that are in force today, newest first, and shows one in full.
//!
//! "New" means published in the last [`NEW_FOR_DAYS`] days and not yet opened in this session:
//! the booth is shared, so one villager reading a notice must not hide it as new from the next.
//! What was opened is kept in memory only and forgotten when the session ends.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use chrono::{NaiveDate, TimeDelta};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use sync_protocol::feed::{Feed, Notice};
use ui::{AppState, NoticeRow, NoticesAdapter, Page};
use uuid::Uuid;

use super::context::Ctx;
use crate::receipt_paper::beijing;
use crate::store::StoreError;
use crate::sync::SyncEvent;

/// How long a notice counts as new after its publication date.
pub const NEW_FOR_DAYS: i64 = 14;

/// The notices as last loaded, the day they were loaded for, and what this session opened.
#[derive(Debug, Default)]
struct Shown {
    notices: Vec<Notice>,
    today: Option<NaiveDate>,
    opened: HashSet<Uuid>,
}

type State = Rc<RefCell<Shown>>;

pub(super) fn bind(ctx: &Rc<Ctx>) {
    let state: State = Rc::default();
    let window = ctx.window();
    let adapter = window.global::<NoticesAdapter>();

    let (weak, shown) = (Rc::downgrade(ctx), Rc::clone(&state));
    adapter.on_open_notice(move |id| {
        let Some(ctx) = weak.upgrade() else { return };
        let mut shown = shown.borrow_mut();
        let Some(notice) = shown
            .notices
            .iter()
            .find(|n| n.id.to_string() == id.as_str())
            .cloned()
        else {
            return;
        };
        let window = ctx.window();
        let adapter = window.global::<NoticesAdapter>();
        adapter.set_detail_title(notice.title.clone().into());
        adapter.set_detail_published_on(date_text(notice.published_on).into());
        adapter.set_detail_expires_on(notice.expires_on.map(date_text).unwrap_or_default().into());
        adapter.set_detail_paragraphs(paragraphs(&notice.body));
        adapter.set_detail_open(true);
        shown.opened.insert(notice.id);
        show_rows(&ctx, &shown);
    });

    // Each visit reads the notices in force today.
    let shown = Rc::clone(&state);
    ctx.on_page_open(Page::Notices, move |ctx| load(ctx, &shown));
    // Notices pushed by the server while the page is open show at once.
    let shown = Rc::clone(&state);
    ctx.on_sync_event(move |ctx, event| {
        let on_notices = ctx.window().global::<AppState>().get_current_page() == Page::Notices;
        if on_notices
            && matches!(
                event,
                SyncEvent::FeedPulled {
                    feed: Feed::Notices,
                    ..
                }
            )
        {
            load(ctx, &shown);
        }
    });
    let shown = Rc::clone(&state);
    ctx.on_session_end(move |ctx| {
        *shown.borrow_mut() = Shown::default();
        let window = ctx.window();
        let adapter = window.global::<NoticesAdapter>();
        adapter.set_detail_open(false);
        adapter.set_detail_title("".into());
        adapter.set_detail_paragraphs(ModelRc::default());
        adapter.set_notices(ModelRc::default());
        adapter.set_load_failed(false);
    });
}

fn load(ctx: &Rc<Ctx>, state: &State) {
    let state = Rc::clone(state);
    ctx.background(
        |services| services.with_store(|store| in_force(store)),
        move |ctx, loaded| {
            let window = ctx.window();
            let adapter = window.global::<NoticesAdapter>();
            let mut shown = state.borrow_mut();
            match loaded {
                Ok((notices, today)) => {
                    shown.notices = notices;
                    shown.today = Some(today);
                    adapter.set_load_failed(false);
                }
                Err(err) => {
                    tracing::warn!(%err, "cannot read the notices");
                    shown.notices.clear();
                    adapter.set_load_failed(true);
                }
            }
            show_rows(ctx, &shown);
        },
    );
}

/// The notices for this booth's village in force today (Beijing date, server-corrected clock).
fn in_force(store: &crate::store::Store) -> Result<(Vec<Notice>, NaiveDate), StoreError> {
    let village = store
        .identity()?
        .map(|identity| identity.village.village)
        .unwrap_or_default();
    let today = store
        .corrected_now()?
        .with_timezone(&beijing())
        .date_naive();
    let notices = store
        .notices(&village, today)?
        .into_iter()
        .filter(|n| !n.withdrawn)
        .collect();
    Ok((notices, today))
}

fn show_rows(ctx: &Rc<Ctx>, shown: &Shown) {
    let rows: Vec<NoticeRow> = shown
        .notices
        .iter()
        .map(|notice| NoticeRow {
            id: notice.id.to_string().into(),
            title: notice.title.clone().into(),
            published_on: date_text(notice.published_on).into(),
            is_new: shown
                .today
                .is_some_and(|today| is_new(notice, today, &shown.opened)),
        })
        .collect();
    ctx.window()
        .global::<NoticesAdapter>()
        .set_notices(ModelRc::new(VecModel::from(rows)));
}

/// Published in the last [`NEW_FOR_DAYS`] days and not opened in this session.
pub fn is_new(notice: &Notice, today: NaiveDate, opened: &HashSet<Uuid>) -> bool {
    let age = today.signed_duration_since(notice.published_on);
    age < TimeDelta::days(NEW_FOR_DAYS) && !opened.contains(&notice.id)
}

/// The body's non-empty lines, trimmed: each is set apart on screen.
pub fn paragraphs(body: &str) -> ModelRc<SharedString> {
    let lines: Vec<SharedString> = body
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(SharedString::from)
        .collect();
    ModelRc::new(VecModel::from(lines))
}

/// ISO dates read the same in Chinese and English.
fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use slint::Model;

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
        let shown: Vec<SharedString> =
            paragraphs("各位村民：\n\n  请按时缴费。 \r\n咨询电话：0775-5550101\n")
                .iter()
                .collect();
        assert_eq!(
            shown,
            ["各位村民：", "请按时缴费。", "咨询电话：0775-5550101"]
        );
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(date_text(day("2026-01-05")), "2026-01-05");
    }
}
