//! The Notices screen driven headlessly through accessible labels. The test stands in for the
//! `kiosk` binding: it fills the list and answers `open-notice` as the booth does.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{AppState, HomeActions, MainWindow, NoticeRow, NoticesAdapter, Page};

const BODY: &str =
    "各位村民：2026年度城乡居民基本医疗保险开始缴费，请于12月31日前到村委会或通过手机缴纳。";
const PHONES: &str = "咨询电话：0775-5550101";

fn paragraphs(lines: &[&str]) -> ModelRc<SharedString> {
    let lines: Vec<SharedString> = lines.iter().map(|l| SharedString::from(*l)).collect();
    ModelRc::new(VecModel::from(lines))
}

fn row(id: &str, title: &str, published_on: &str, is_new: bool) -> NoticeRow {
    NoticeRow {
        id: id.into(),
        title: title.into(),
        published_on: published_on.into(),
        is_new,
    }
}

/// The notices page with two notices, the first new; opening one shows it as the booth does.
fn booth_on_notices() -> (MainWindow, Rc<RefCell<Vec<String>>>) {
    i_slint_backend_testing::init_no_event_loop();
    let app = MainWindow::new().expect("create MainWindow");
    app.window()
        .set_size(slint::LogicalSize::new(1080.0, 1920.0));
    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");
    let weak = app.as_weak();
    app.global::<HomeActions>().on_open_page(move |page| {
        if let Some(app) = weak.upgrade() {
            app.global::<AppState>().set_current_page(page);
        }
    });
    app.global::<AppState>().set_current_page(Page::Notices);
    let notices = app.global::<NoticesAdapter>();
    notices.set_notices(ModelRc::new(VecModel::from(vec![
        row("n-1", "2026年度城乡居民医保缴费通知", "2026-11-25", true),
        row("n-2", "村务公开：第三季度财务收支", "2026-10-08", false),
    ])));
    let opened = Rc::new(RefCell::new(Vec::new()));
    let (sink, weak) = (Rc::clone(&opened), app.as_weak());
    notices.on_open_notice(move |id| {
        sink.borrow_mut().push(id.to_string());
        let Some(app) = weak.upgrade() else { return };
        let notices = app.global::<NoticesAdapter>();
        notices.set_detail_title("2026年度城乡居民医保缴费通知".into());
        notices.set_detail_published_on("2026-11-25".into());
        notices.set_detail_expires_on("2026-12-31".into());
        notices.set_detail_paragraphs(paragraphs(&[BODY, PHONES]));
        notices.set_detail_open(true);
    });
    (app, opened)
}

fn buttons(app: &MainWindow, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(app, label)
        .filter(|element| element.accessible_role() == Some(AccessibleRole::Button))
        .collect()
}

fn button(app: &MainWindow, label: &str) -> ElementHandle {
    let found = buttons(app, label);
    assert_eq!(found.len(), 1, "expected one button labelled {label:?}");
    found.into_iter().next().expect("checked above")
}

fn shows(app: &MainWindow, text: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, text)
        .next()
        .is_some()
}

#[test]
fn the_list_marks_new_notices_in_words() {
    let (app, _) = booth_on_notices();
    let new_one = button(&app, "2026年度城乡居民医保缴费通知");
    let old_one = button(&app, "村务公开：第三季度财务收支");
    assert_eq!(new_one.accessible_description().as_deref(), Some("新"));
    assert_eq!(old_one.accessible_description().as_deref(), Some(""));
    // Exactly one "新" badge, inside the new notice's row.
    let badges: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(&app, "新")
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Text))
        .collect();
    assert_eq!(badges.len(), 1);
    let (badge, row) = (badges[0].absolute_position(), new_one.absolute_position());
    let size = new_one.size();
    assert!(
        badge.y >= row.y && badge.y < row.y + size.height,
        "badge in the row"
    );
    assert!(shows(&app, "发布日期：2026-11-25"));
    assert!(shows(&app, "共 2 条，点击查看全文"));
    for element in [new_one, old_one] {
        assert!(element.size().height >= 90.0);
    }
}

#[test]
fn opening_a_notice_shows_it_whole_and_back_returns_to_the_list() {
    let (app, opened) = booth_on_notices();
    button(&app, "2026年度城乡居民医保缴费通知").invoke_accessible_default_action();
    assert_eq!(*opened.borrow(), ["n-1"]);
    assert!(shows(&app, BODY));
    assert!(shows(&app, PHONES));
    let (first, second) = (
        ElementHandle::find_by_accessible_label(&app, BODY)
            .next()
            .expect("first paragraph"),
        ElementHandle::find_by_accessible_label(&app, PHONES)
            .next()
            .expect("second paragraph"),
    );
    assert!(
        second.absolute_position().y > first.absolute_position().y + first.size().height,
        "paragraphs are set apart"
    );
    assert!(shows(&app, "发布日期：2026-11-25　有效期至：2026-12-31"));
    assert!(buttons(&app, "村务公开：第三季度财务收支").is_empty());
    // A short notice needs no scroll buttons.
    assert!(buttons(&app, "下一页").is_empty());

    button(&app, "返回").invoke_accessible_default_action();
    assert!(!app.global::<NoticesAdapter>().get_detail_open());
    button(&app, "村务公开：第三季度财务收支");
    button(&app, "返回").invoke_accessible_default_action();
    assert_eq!(app.global::<AppState>().get_current_page(), Page::Home);
}

#[test]
fn a_long_notice_scrolls_with_buttons() {
    let (app, _) = booth_on_notices();
    button(&app, "2026年度城乡居民医保缴费通知").invoke_accessible_default_action();
    let notices = app.global::<NoticesAdapter>();
    let long: Vec<String> = (1..=60).map(|i| format!("第 {i} 段：{BODY}")).collect();
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    notices.set_detail_paragraphs(paragraphs(&long));
    let down = button(&app, "下一页");
    let up = button(&app, "上一页");
    assert!(down.size().height >= 90.0 && up.size().height >= 90.0);
    // Paragraphs scrolled out of view are not found.
    let first = long[0];
    assert!(shows(&app, first));
    assert!(!shows(&app, long[59]));
    down.invoke_accessible_default_action();
    assert!(!shows(&app, first), "scrolled down");
    for _ in 0..40 {
        down.invoke_accessible_default_action();
    }
    assert!(shows(&app, long[59]), "the end can be reached");
    for _ in 0..41 {
        up.invoke_accessible_default_action();
    }
    assert!(shows(&app, first), "back at the top");
}

#[test]
fn empty_and_unreadable_lists_say_so() {
    let (app, _) = booth_on_notices();
    let notices = app.global::<NoticesAdapter>();
    notices.set_notices(ModelRc::default());
    assert!(shows(&app, "目前没有公开信息。有新信息时会显示在这里。"));
    notices.set_load_failed(true);
    assert!(shows(
        &app,
        "暂时无法显示公开信息。请稍后再试，或联系工作人员。"
    ));
}

#[test]
fn english_labels_the_notices_screen() {
    let (app, _) = booth_on_notices();
    ui::select_language(&app, "en").expect("English is bundled");
    assert!(shows(&app, "Notices"));
    assert!(shows(&app, "2 notices: tap one to read it"));
    assert!(shows(&app, "Published: 2026-11-25"));
    assert_eq!(
        button(&app, "2026年度城乡居民医保缴费通知")
            .accessible_description()
            .as_deref(),
        Some("New")
    );
    button(&app, "2026年度城乡居民医保缴费通知").invoke_accessible_default_action();
    button(&app, "Back");
    button(&app, "Home");
}
