//! Home screen driven headlessly through accessible labels, as a villager would by touch.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::ComponentHandle;
use ui::{AppState, HomeActions, MainWindow, Page};

fn home() -> MainWindow {
    i_slint_backend_testing::init_no_event_loop();
    let app = MainWindow::new().expect("create MainWindow");
    app.window()
        .set_size(slint::LogicalSize::new(1080.0, 1920.0));
    app
}

/// The one button with this label; the tile's inner text carries the same label, so the
/// search is narrowed to buttons.
fn button(app: &MainWindow, label: &str) -> ElementHandle {
    let found: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(app, label)
        .filter(|element| element.accessible_role() == Some(AccessibleRole::Button))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one button labelled {label:?}"
    );
    found.into_iter().next().expect("checked above")
}

const TILES: [(&str, Page); 6] = [
    ("办事指南", Page::Guides),
    ("我要办理", Page::Apply),
    ("进度查询", Page::Progress),
    ("政务公开", Page::Notices),
    ("投诉建议", Page::Complaints),
    ("服务评价", Page::Rating),
];

#[test]
fn each_tile_opens_its_page() {
    let app = home();
    let opened = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&opened);
    app.global::<HomeActions>()
        .on_open_page(move |page| sink.borrow_mut().push(page));

    for (label, page) in TILES {
        button(&app, label).invoke_accessible_default_action();
        assert_eq!(opened.borrow().last(), Some(&page), "tile {label:?}");
    }
    assert_eq!(opened.borrow().len(), TILES.len(), "one call per tap");
}

#[test]
fn every_home_button_is_a_large_touch_target() {
    let app = home();
    let labels = TILES
        .iter()
        .map(|(label, _)| *label)
        .chain(["大字模式", "English"]);
    for label in labels {
        let size = button(&app, label).size();
        assert!(
            size.width >= 90.0 && size.height >= 90.0,
            "{label:?} is {}×{} px",
            size.width,
            size.height
        );
    }
    // Large-text mode must not squeeze the targets below the minimum either.
    button(&app, "大字模式").invoke_accessible_default_action();
    for (label, _) in TILES {
        let size = button(&app, label).size();
        assert!(
            size.width >= 90.0 && size.height >= 90.0,
            "{label:?} in large text"
        );
    }
}

#[test]
fn offline_indicator_states_the_waiting_count() {
    let app = home();
    let state = app.global::<AppState>();
    let indicator = || {
        let found: Vec<ElementHandle> =
            ElementHandle::find_by_element_id(&app, "Header::connection").collect();
        assert_eq!(found.len(), 1, "one connection indicator");
        found[0]
            .accessible_label()
            .expect("indicator has a label")
            .to_string()
    };

    state.set_online(false);
    state.set_waiting_count(3);
    let offline = indicator();
    assert!(offline.contains("离线"), "{offline}");
    assert!(offline.contains("3 件等待"), "{offline}");

    state.set_waiting_count(12);
    assert!(indicator().contains("12 件等待"), "count follows the queue");

    state.set_online(true);
    let online = indicator();
    assert!(
        !online.contains("离线") && !online.contains("等待"),
        "{online}"
    );
}

#[test]
fn large_text_switch_grows_and_restores_body_text() {
    let app = home();
    let state = app.global::<AppState>();
    assert_eq!(state.get_body_font_size(), 28.0);

    button(&app, "大字模式").invoke_accessible_default_action();
    assert!(state.get_large_text());
    assert!(state.get_body_font_size() >= 40.0);

    button(&app, "标准字体").invoke_accessible_default_action();
    assert!(!state.get_large_text());
    assert_eq!(state.get_body_font_size(), 28.0);
}

#[test]
fn language_button_asks_the_rust_side_to_switch() {
    let app = home();
    let asked = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&asked);
    app.global::<HomeActions>()
        .on_switch_language(move || *sink.borrow_mut() += 1);

    button(&app, "English").invoke_accessible_default_action();
    assert_eq!(*asked.borrow(), 1);

    app.global::<AppState>().set_language("en".into());
    button(&app, "中文").invoke_accessible_default_action();
    assert_eq!(*asked.borrow(), 2);
}

#[test]
fn english_relabels_every_tile_and_chinese_restores_it() {
    let app = home();
    ui::select_language(&app, "en").expect("English is bundled");
    let opened = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&opened);
    app.global::<HomeActions>()
        .on_open_page(move |page| sink.borrow_mut().push(page));

    button(&app, "Service guides").invoke_accessible_default_action();
    button(&app, "Rate a service").invoke_accessible_default_action();
    assert_eq!(*opened.borrow(), [Page::Guides, Page::Rating]);
    assert!(
        ElementHandle::find_by_accessible_label(&app, "办事指南")
            .next()
            .is_none()
    );

    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");
    button(&app, "办事指南");
    assert_eq!(app.global::<AppState>().get_language(), "zh_CN");
}

#[test]
fn landscape_and_small_portrait_keep_every_button_large_and_on_screen() {
    let app = home();
    for (width, height) in [(1920.0, 1080.0), (800.0, 1280.0), (1080.0, 1920.0)] {
        app.window()
            .set_size(slint::LogicalSize::new(width, height));
        for large_text in [false, true] {
            app.global::<AppState>().set_large_text(large_text);
            let labels = TILES.iter().map(|(label, _)| *label).chain([
                if large_text {
                    "标准字体"
                } else {
                    "大字模式"
                },
                "English",
            ]);
            for label in labels {
                let element = button(&app, label);
                let (at, size) = (element.absolute_position(), element.size());
                let context = format!("{label:?} at {width}×{height}, large text {large_text}");
                assert!(
                    size.width >= 90.0 && size.height >= 90.0,
                    "{context}: {size:?}"
                );
                assert!(at.x >= 0.0 && at.y >= 0.0, "{context}: {at:?}");
                assert!(
                    at.x + size.width <= width && at.y + size.height <= height,
                    "{context} overflows"
                );
            }
        }
    }
}
