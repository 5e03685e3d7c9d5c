//! A notice published on the server reaches the booth by sync and shows on the open Notices
//! page marked new; once opened it is no longer new in this session, and the next villager
//! sees it new again. A notice for another village never shows.

mod common;

use chrono::Utc;
use common::{BoothOptions, Page, TestBooth};
use kiosk_core::receipt_paper::beijing;
use slint::{ComponentHandle, Model};
use sync_server::store::NewNotice;
use ui::{AppState, NoticesAdapter};

const TITLE: &str = "关于开展2026年度城乡居民医保缴费的通知";
const ELSEWHERE: &str = "上林村道路施工通知";

/// Whether the list shows `title`, and if so whether it is marked new.
fn listed(booth: &TestBooth, title: &str) -> Option<bool> {
    booth
        .window()
        .global::<NoticesAdapter>()
        .get_notices()
        .iter()
        .find(|row| row.title == title)
        .map(|row| row.is_new)
}

#[test]
fn a_pushed_notice_is_new_until_opened() {
    let booth = TestBooth::start(BoothOptions {
        reader: false,
        printer: false,
        scanner: false,
        ..BoothOptions::default()
    });
    booth.eventually("the village name from enrollment", |b| {
        b.window()
            .global::<AppState>()
            .get_village_name()
            .contains("石桥村")
    });
    booth.click("政务公开");
    assert_eq!(booth.page(), Page::Notices);

    // Published on the server while the page is open.
    let today = Utc::now().with_timezone(&beijing()).date_naive();
    let store = booth.server.state().store();
    let body = "各位村民：2026年度城乡居民基本医疗保险集中缴费期为11月1日至12月31日。\n".repeat(30);
    for (title, village) in [(TITLE, "石桥村"), (ELSEWHERE, "上林村")] {
        booth
            .server
            .block_on(store.add_notice(
                NewNotice {
                    title: title.into(),
                    body: body.clone(),
                    published_on: today,
                    expires_on: None,
                    villages: vec![village.into()],
                },
                Utc::now(),
            ))
            .expect("publish a notice");
    }
    booth.eventually("the notice in the open list", |b| {
        listed(b, TITLE).is_some()
    });
    assert_eq!(listed(&booth, TITLE), Some(true), "marked new");
    let row = booth.find(TITLE);
    assert_eq!(
        row.first()
            .and_then(|r| r.accessible_description())
            .as_deref(),
        Some("新"),
        "said in words"
    );
    assert!(booth.shows("新"));
    assert_eq!(listed(&booth, ELSEWHERE), None, "another village's notice");

    // Open it: the whole text, in a page that scrolls; then back to the list, no longer new.
    booth.click(TITLE);
    let notices = booth.window().global::<NoticesAdapter>();
    assert!(notices.get_detail_open());
    let paragraphs: Vec<String> = notices
        .get_detail_paragraphs()
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(paragraphs.len(), 30, "one a line");
    assert!(paragraphs.iter().all(|p| body.starts_with(p.as_str())));
    assert!(booth.shows("发布日期："));
    booth.click("下一页");
    booth.click("返回");
    assert!(!notices.get_detail_open());
    assert_eq!(listed(&booth, TITLE), Some(false), "opened in this session");
    assert!(
        booth.find(TITLE)[0]
            .accessible_description()
            .is_some_and(|d| d.is_empty())
    );

    // The next villager sees it new again.
    booth.click("首页");
    assert_eq!(booth.page(), Page::Home);
    booth.click("政务公开");
    booth.eventually("the notice, new for the next villager", |b| {
        listed(b, TITLE) == Some(true)
    });
}
