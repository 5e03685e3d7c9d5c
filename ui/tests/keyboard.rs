//! The on-screen keyboard driven headlessly: it appears while a text field has focus, its keys
//! reach the Rust side, key events the Rust side dispatches land in the focused field, and the
//! candidate bar pages and reports the chosen candidate. The test stands in for
//! `kiosk::app::keyboard`, which sends keys to the window the same way.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::platform::{Key, PointerEventButton, WindowEvent};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{AppState, ComplaintsAdapter, KeyboardAdapter, KeyboardMode, MainWindow, Page};

fn app_on_complaints() -> MainWindow {
    i_slint_backend_testing::init_no_event_loop();
    let app = MainWindow::new().expect("create MainWindow");
    app.window()
        .set_size(slint::LogicalSize::new(1080.0, 1920.0));
    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");
    app.global::<AppState>().set_current_page(Page::Complaints);
    app
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

fn text_field(app: &MainWindow, label: &str) -> ElementHandle {
    ElementHandle::find_by_accessible_label(app, label)
        .find(|element| element.accessible_role() == Some(AccessibleRole::TextInput))
        .unwrap_or_else(|| panic!("no text field labelled {label:?}"))
}

fn keyboard_height(app: &MainWindow) -> f32 {
    let keyboard: Vec<ElementHandle> =
        ElementHandle::find_by_element_type_name(app, "OnScreenKeyboard").collect();
    assert_eq!(keyboard.len(), 1, "one keyboard in the window");
    keyboard[0].size().height
}

const TEXT: &str = "2. 请写下您的意见";
const PHONE: &str = "3. 联系电话（可不填）";

/// Sends every key to the focused field, as the Rust side does outside pinyin mode.
fn dispatch_keys(app: &MainWindow) -> Rc<RefCell<Vec<String>>> {
    let pressed = Rc::new(RefCell::new(Vec::new()));
    let (sink, weak) = (Rc::clone(&pressed), app.as_weak());
    app.global::<KeyboardAdapter>().on_key_pressed(move |key| {
        sink.borrow_mut().push(key.to_string());
        if let Some(app) = weak.upgrade() {
            app.window()
                .dispatch_event(WindowEvent::KeyPressed { text: key.clone() });
            app.window()
                .dispatch_event(WindowEvent::KeyReleased { text: key });
        }
    });
    pressed
}

#[test]
fn the_keyboard_shows_only_while_a_field_has_focus() {
    let app = app_on_complaints();
    assert_eq!(keyboard_height(&app), 0.0);
    assert!(
        buttons(&app, "q").is_empty(),
        "no keys while nothing has focus"
    );

    text_field(&app, TEXT).mock_single_click(PointerEventButton::Left);
    assert!(keyboard_height(&app) > 400.0, "{}", keyboard_height(&app));
    button(&app, "q");
    assert_eq!(
        app.global::<KeyboardAdapter>().get_mode(),
        KeyboardMode::Pinyin,
        "the complaint text is Chinese"
    );
    // Every key is at least as tall as a touch target.
    for label in ["q", "m", "退格", "收起键盘", "空格", "数字", "英文字母"] {
        let size = button(&app, label).size();
        assert!(
            size.height >= 90.0 && size.width >= 60.0,
            "{label}: {size:?}"
        );
    }

    button(&app, "收起键盘").invoke_accessible_default_action();
    assert_eq!(keyboard_height(&app), 0.0, "hidden on request");
    assert!(buttons(&app, "q").is_empty());

    // Touching a field again opens it; leaving the page closes it.
    text_field(&app, PHONE).mock_single_click(PointerEventButton::Left);
    assert!(keyboard_height(&app) > 0.0);
    assert_eq!(
        app.global::<KeyboardAdapter>().get_mode(),
        KeyboardMode::Digits,
        "the phone field asks for digits"
    );
    app.global::<AppState>().set_current_page(Page::Home);
    assert_eq!(keyboard_height(&app), 0.0);
}

#[test]
fn keys_dispatched_by_the_rust_side_reach_the_focused_field() {
    let app = app_on_complaints();
    let pressed = dispatch_keys(&app);
    text_field(&app, PHONE).mock_single_click(PointerEventButton::Left);
    for key in ["1", "3", "8", "-", "X", "退格", "0"] {
        button(&app, key).invoke_accessible_default_action();
    }
    assert_eq!(
        *pressed.borrow(),
        [
            "1",
            "3",
            "8",
            "-",
            "X",
            &String::from(char::from(Key::Backspace)),
            "0"
        ]
    );
    assert_eq!(app.global::<ComplaintsAdapter>().get_phone(), "138-0");

    // Letters, with capitals on request; several characters in one key event are inserted
    // whole (how a chosen pinyin candidate is committed).
    text_field(&app, TEXT).mock_single_click(PointerEventButton::Left);
    button(&app, "英文字母").invoke_accessible_default_action();
    assert_eq!(
        app.global::<KeyboardAdapter>().get_mode(),
        KeyboardMode::Latin
    );
    button(&app, "a").invoke_accessible_default_action();
    button(&app, "大写").invoke_accessible_default_action();
    button(&app, "B").invoke_accessible_default_action();
    button(&app, "空格").invoke_accessible_default_action();
    app.window().dispatch_event(WindowEvent::KeyPressed {
        text: "中国".into(),
    });
    assert_eq!(app.global::<ComplaintsAdapter>().get_text(), "aB 中国");
}

#[test]
fn each_mode_has_its_keys_and_a_way_to_the_others() {
    let app = app_on_complaints();
    text_field(&app, TEXT).mock_single_click(PointerEventButton::Left);
    let keyboard = app.global::<KeyboardAdapter>();
    let abandoned = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&abandoned);
    keyboard.on_composition_abandoned(move || *sink.borrow_mut() += 1);

    // Pinyin: letters, Chinese punctuation, the candidate bar's hint; no pinyin key.
    for label in ["z", "，", "。", "？", "数字", "英文字母"] {
        button(&app, label);
    }
    assert!(buttons(&app, "拼音").is_empty());
    assert!(
        ElementHandle::find_by_accessible_label(&app, "输入拼音，再点选汉字")
            .next()
            .is_some()
    );

    let before = *abandoned.borrow();
    button(&app, "数字").invoke_accessible_default_action();
    assert_eq!(keyboard.get_mode(), KeyboardMode::Digits);
    assert!(
        *abandoned.borrow() > before,
        "a mode change drops an unfinished pinyin"
    );
    for label in ["0", "9", "X", "-", "退格", "拼音", "英文字母"] {
        button(&app, label);
    }
    assert!(buttons(&app, "q").is_empty(), "no letters on the digit pad");
    assert!(buttons(&app, "数字").is_empty());

    let before = *abandoned.borrow();
    button(&app, "英文字母").invoke_accessible_default_action();
    assert_eq!(keyboard.get_mode(), KeyboardMode::Latin);
    assert!(*abandoned.borrow() > before);
    for label in [",", ".", "大写", "拼音", "数字"] {
        button(&app, label);
    }
    let before = *abandoned.borrow();
    button(&app, "拼音").invoke_accessible_default_action();
    assert_eq!(keyboard.get_mode(), KeyboardMode::Pinyin);
    assert!(*abandoned.borrow() > before);

    let before = *abandoned.borrow();
    button(&app, "收起键盘").invoke_accessible_default_action();
    assert!(*abandoned.borrow() > before, "so does hiding the keyboard");
}

#[test]
fn the_candidate_bar_pages_and_reports_the_chosen_candidate() {
    let app = app_on_complaints();
    text_field(&app, TEXT).mock_single_click(PointerEventButton::Left);
    let keyboard = app.global::<KeyboardAdapter>();
    let chosen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&chosen);
    keyboard.on_candidate_chosen(move |index| sink.borrow_mut().push(index));
    let words = ["中国", "中", "种", "重", "众", "终", "钟"];
    let model: Vec<SharedString> = words.iter().map(|w| (*w).into()).collect();
    keyboard.set_preedit("zhong".into());
    keyboard.set_candidates(ModelRc::new(VecModel::from(model)));
    assert!(
        ElementHandle::find_by_accessible_label(&app, "拼音：zhong")
            .next()
            .is_some()
    );

    // Five a page at standard text size.
    for word in &words[..5] {
        button(&app, &format!("候选 {word}"));
    }
    assert!(buttons(&app, "候选 终").is_empty(), "on the next page");
    button(&app, "上一页候选字").invoke_accessible_default_action();
    assert_eq!(
        keyboard.get_candidate_start(),
        0,
        "already on the first page"
    );
    button(&app, "下一页候选字").invoke_accessible_default_action();
    assert_eq!(keyboard.get_candidate_start(), 5);
    assert!(buttons(&app, "候选 中国").is_empty());
    button(&app, "候选 钟").invoke_accessible_default_action();
    button(&app, "下一页候选字").invoke_accessible_default_action();
    assert_eq!(keyboard.get_candidate_start(), 5, "no page after the last");
    button(&app, "上一页候选字").invoke_accessible_default_action();
    button(&app, "候选 中国").invoke_accessible_default_action();
    assert_eq!(*chosen.borrow(), [6, 0], "indexes into the whole list");

    // Large text: fewer, larger candidates a page, still touch-sized.
    app.global::<AppState>().set_large_text(true);
    assert!(buttons(&app, "候选 重").is_empty());
    let size = button(&app, "候选 种").size();
    assert!(size.height >= 120.0 && size.width >= 120.0, "{size:?}");
}

/// The address layout types a server address as written: digits, letters, ". : / - _" and
/// "https://" in one key; the enrollment page's server and fingerprint fields ask for it.
#[test]
fn the_address_layout_types_a_server_address_as_written() {
    let app = app_on_complaints();
    let pressed = dispatch_keys(&app);
    text_field(&app, TEXT).mock_single_click(PointerEventButton::Left);
    let keyboard = app.global::<KeyboardAdapter>();
    keyboard.set_mode(KeyboardMode::Address);
    assert!(buttons(&app, "空格").is_empty(), "no space in an address");
    assert!(buttons(&app, "大写").is_empty(), "addresses are lower case");
    assert!(
        buttons(&app, "数字").is_empty(),
        "the digits are on the keys"
    );
    for key in [
        "https://", "c", "o", ".", "1", "0", ":", "8", "4", "4", "3", "/", "a", "-", "b", "_",
    ] {
        button(&app, key).invoke_accessible_default_action();
    }
    assert_eq!(pressed.borrow().concat(), "https://co.10:8443/a-b_");
    assert_eq!(
        app.global::<ComplaintsAdapter>().get_text(),
        "https://co.10:8443/a-b_"
    );
    // The way back to the other layouts.
    button(&app, "英文字母").invoke_accessible_default_action();
    assert_eq!(keyboard.get_mode(), KeyboardMode::Latin);
    assert!(buttons(&app, "https://").is_empty());

    // The enrollment page's server and fingerprint fields choose it.
    app.global::<AppState>().set_current_page(Page::Technician);
    app.global::<ui::TechnicianAdapter>()
        .set_view(ui::TechnicianView::Enroll);
    for label in ["服务器地址", "服务器证书指纹（https 服务器，至少前 16 位）"]
    {
        keyboard.set_mode(KeyboardMode::Latin);
        text_field(&app, label).mock_single_click(PointerEventButton::Left);
        assert_eq!(keyboard.get_mode(), KeyboardMode::Address, "{label}");
    }
    text_field(&app, "登记码").mock_single_click(PointerEventButton::Left);
    assert_eq!(
        keyboard.get_mode(),
        KeyboardMode::Latin,
        "codes are letters"
    );
}

#[test]
fn english_labels_the_keyboard() {
    let app = app_on_complaints();
    ui::select_language(&app, "en").expect("English is bundled");
    text_field(&app, "2. Write your comments").mock_single_click(PointerEventButton::Left);
    for label in ["Hide keyboard", "Space", "Backspace", "Digits", "Letters"] {
        button(&app, label);
    }
    assert!(
        ElementHandle::find_by_accessible_label(&app, "Type pinyin, then tap the characters")
            .next()
            .is_some()
    );
}
