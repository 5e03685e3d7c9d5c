//! The Service guides screen driven headlessly through accessible labels. The test stands in
//! for the `kiosk` binding: it answers the callbacks by filling the models, as the booth will.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{AppState, GuideDetailRow, GuideListItem, GuidesAdapter, HomeActions, MainWindow, Page};

const CATEGORIES: [&str; 4] = ["社会保险", "社会救助", "户籍管理", "残疾人服务"];

fn app() -> MainWindow {
    i_slint_backend_testing::init_no_event_loop();
    let app = MainWindow::new().expect("create MainWindow");
    app.window()
        .set_size(slint::LogicalSize::new(1080.0, 1920.0));
    app
}

/// A booth whose Home tiles switch pages and whose guides show a small catalogue.
fn booth_on_guides() -> MainWindow {
    let app = app();
    let weak = app.as_weak();
    app.global::<HomeActions>().on_open_page(move |page| {
        if let Some(app) = weak.upgrade() {
            app.global::<AppState>().set_current_page(page);
        }
    });
    let guides = app.global::<GuidesAdapter>();
    let categories: Vec<SharedString> = CATEGORIES.iter().map(|c| (*c).into()).collect();
    guides.set_categories(ModelRc::new(VecModel::from(categories)));
    guides.set_items(ModelRc::new(VecModel::from(vec![
        list_item("GX-GA-001", "户籍证明开具", "户籍管理", "即办"),
        list_item("GX-MZ-002", "临时救助申请", "社会救助", "10个工作日"),
    ])));
    let weak = app.as_weak();
    guides.on_open_item(move |code| {
        let Some(app) = weak.upgrade() else { return };
        let guides = app.global::<GuidesAdapter>();
        guides.set_item_name(format!("事项 {code}").into());
        guides.set_item_rows(ModelRc::new(VecModel::from(vec![
            detail_row("申请材料", "1. 居民身份证（原件 1 份）"),
            detail_row("办理时限", "即办"),
            detail_row("收费标准", "免费"),
            detail_row("投诉电话", "0775-5550000"),
        ])));
        guides.set_item_open(true);
    });
    button(&app, "办事指南").invoke_accessible_default_action();
    app
}

fn list_item(code: &str, name: &str, category: &str, time_limit: &str) -> GuideListItem {
    GuideListItem {
        code: code.into(),
        name: name.into(),
        category: category.into(),
        time_limit_text: time_limit.into(),
    }
}

fn detail_row(label: &str, value: &str) -> GuideDetailRow {
    GuideDetailRow {
        label: label.into(),
        value: value.into(),
    }
}

fn buttons(app: &MainWindow, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(app, label)
        .filter(|element| element.accessible_role() == Some(AccessibleRole::Button))
        .collect()
}

fn button(app: &MainWindow, label: &str) -> ElementHandle {
    let found = buttons(app, label);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one button labelled {label:?}"
    );
    found.into_iter().next().expect("checked above")
}

fn shows_text(app: &MainWindow, text: &str) -> bool {
    ElementHandle::find_by_accessible_label(app, text)
        .next()
        .is_some()
}

fn every_button_is_large(app: &MainWindow, page: &str) -> usize {
    let all: Vec<ElementHandle> = ElementHandle::find_by_element_type_name(app, "BigTile")
        .chain(ElementHandle::find_by_element_type_name(app, "GuideRow"))
        .collect();
    for element in &all {
        let size = element.size();
        let label = element.accessible_label().unwrap_or_default();
        assert!(
            size.width >= 90.0 && size.height >= 90.0,
            "{page}: {label:?} is {}×{} px",
            size.width,
            size.height
        );
    }
    all.len()
}

#[test]
fn opening_guides_from_home_shows_every_category_and_the_results() {
    let app = booth_on_guides();
    assert_eq!(app.global::<AppState>().get_current_page(), Page::Guides);
    for category in CATEGORIES.iter().chain(&["全部"]) {
        button(&app, category);
    }
    button(&app, "户籍证明开具");
    button(&app, "临时救助申请");
    assert!(shows_text(&app, "办理时限：10个工作日"));
    assert!(shows_text(&app, "共 2 项，点击查看详情"));
    assert!(buttons(&app, "办事指南").is_empty(), "Home is gone");
}

#[test]
fn category_and_search_are_passed_to_the_rust_side() {
    let app = booth_on_guides();
    let asked = Rc::new(RefCell::new(Vec::new()));
    let guides = app.global::<GuidesAdapter>();
    let sink = Rc::clone(&asked);
    guides.on_select_category(move |category| sink.borrow_mut().push(category.to_string()));

    button(&app, "社会救助").invoke_accessible_default_action();
    button(&app, "全部").invoke_accessible_default_action();
    assert_eq!(*asked.borrow(), ["社会救助", ""]);

    let searched = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&searched);
    guides.on_search(move |query| sink.borrow_mut().push(query.to_string()));
    let input: Vec<ElementHandle> =
        ElementHandle::find_by_accessible_label(&app, "搜索事项").collect();
    assert_eq!(input.len(), 1, "one search box");
    input[0].set_accessible_value("hjzm");
    assert_eq!(guides.get_query(), "hjzm");
    assert_eq!(searched.borrow().last().map(String::as_str), Some("hjzm"));

    guides.set_items(ModelRc::new(VecModel::from(Vec::<GuideListItem>::new())));
    assert!(shows_text(&app, "没有找到相关事项，请换个词或选择“全部”"));
}

#[test]
fn choosing_an_item_shows_its_detail_rows_and_back_returns_to_the_list() {
    let app = booth_on_guides();
    let opened = Rc::new(RefCell::new(Vec::new()));
    let guides = app.global::<GuidesAdapter>();
    let original = {
        let weak = app.as_weak();
        move |code: SharedString| {
            let Some(app) = weak.upgrade() else { return };
            let guides = app.global::<GuidesAdapter>();
            guides.set_item_name(format!("事项 {code}").into());
            guides.set_item_rows(ModelRc::new(VecModel::from(vec![
                detail_row("申请材料", "1. 居民身份证（原件 1 份）"),
                detail_row("投诉电话", "0775-5550000"),
            ])));
            guides.set_item_open(true);
        }
    };
    let sink = Rc::clone(&opened);
    guides.on_open_item(move |code| {
        sink.borrow_mut().push(code.to_string());
        original(code);
    });

    button(&app, "户籍证明开具").invoke_accessible_default_action();
    assert_eq!(*opened.borrow(), ["GX-GA-001"]);
    for text in [
        "事项 GX-GA-001",
        "申请材料",
        "1. 居民身份证（原件 1 份）",
        "投诉电话",
        "0775-5550000",
    ] {
        assert!(shows_text(&app, text), "item page shows {text:?}");
    }
    assert!(
        buttons(&app, "户籍证明开具").is_empty(),
        "the list is hidden"
    );

    let printed = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&printed);
    guides.on_print_list(move || *sink.borrow_mut() += 1);
    button(&app, "打印此清单").invoke_accessible_default_action();
    assert_eq!(*printed.borrow(), 1);

    button(&app, "返回").invoke_accessible_default_action();
    assert!(!guides.get_item_open());
    button(&app, "户籍证明开具");
    assert_eq!(app.global::<AppState>().get_current_page(), Page::Guides);

    // Back from the list leads Home, where the guides started.
    button(&app, "返回").invoke_accessible_default_action();
    assert_eq!(app.global::<AppState>().get_current_page(), Page::Home);
    button(&app, "办事指南");
}

#[test]
fn home_leaves_the_guides_from_the_list_and_from_an_item() {
    let app = booth_on_guides();
    let opened = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&opened);
    app.global::<HomeActions>()
        .on_open_page(move |page| sink.borrow_mut().push(page));

    button(&app, "首页").invoke_accessible_default_action();
    button(&app, "临时救助申请").invoke_accessible_default_action();
    button(&app, "首页").invoke_accessible_default_action();
    assert_eq!(*opened.borrow(), [Page::Home, Page::Home]);
}

#[test]
fn every_guides_button_is_a_large_touch_target() {
    let app = booth_on_guides();
    for large_text in [false, true] {
        app.global::<AppState>().set_large_text(large_text);
        app.global::<GuidesAdapter>().set_item_open(false);
        let on_list = every_button_is_large(&app, "list");
        // 全部 + 4 categories + 2 results + Back + Home.
        assert_eq!(on_list, 9, "every list button was measured");
        button(&app, "户籍证明开具").invoke_accessible_default_action();
        let on_item = every_button_is_large(&app, "item");
        assert_eq!(on_item, 3, "print, Back and Home were measured");
    }
}

#[test]
fn english_labels_the_guides_screen() {
    let app = booth_on_guides();
    ui::select_language(&app, "en").expect("English is bundled");
    for label in ["All", "Back", "Home"] {
        button(&app, label);
    }
    assert!(shows_text(&app, "2 services: tap one for details"));
    button(&app, "临时救助申请").invoke_accessible_default_action();
    button(&app, "Print this list");
}
