//! Renders the on-screen keyboard in each mode (pinyin with a preedit and candidates, letters,
//! digits, addresses) over the Complaints form with the software renderer, to PNG files a person can look
//! at, in Chinese, English and large text, and checks that the keys render as distinct glyphs.
//!
//! One test per file: the rendering platform can be installed once per process.

mod common;

use common::{button_pixels, portrait_window, save_png, snapshot};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::platform::PointerEventButton;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{AppState, KeyboardAdapter, KeyboardMode, Page};

#[test]
fn the_keyboard_renders_in_each_mode() {
    let app = portrait_window();
    let state = app.global::<AppState>();
    state.set_current_page(Page::Complaints);
    app.show().expect("show the window");
    ui::select_language(&app, "zh_CN").expect("bundled");
    ElementHandle::find_by_accessible_label(&app, "2. 请写下您的意见")
        .find(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .expect("the text field")
        .mock_single_click(PointerEventButton::Left);

    let keyboard = app.global::<KeyboardAdapter>();
    keyboard.set_preedit("zhongg".into());
    let words: Vec<SharedString> = ["中国", "重构", "中共", "忠告", "终归", "中高", "中"]
        .into_iter()
        .map(SharedString::from)
        .collect();
    keyboard.set_candidates(ModelRc::new(VecModel::from(words)));

    let pinyin = snapshot(&app);
    let (a, b) = (
        button_pixels(&app, &pinyin, "候选 中国"),
        button_pixels(&app, &pinyin, "候选 重构"),
    );
    assert_eq!(a.len(), b.len(), "candidates have one size");
    assert_ne!(
        a, b,
        "two candidates render the same: glyphs missing (boxes)?"
    );

    for language in ["zh_CN", "en"] {
        ui::select_language(&app, language).expect("bundled");
        for large in [false, true] {
            state.set_large_text(large);
            let suffix = if large { "-large-text" } else { "" };
            for (mode, name) in [
                (KeyboardMode::Pinyin, "pinyin"),
                (KeyboardMode::Latin, "latin"),
                (KeyboardMode::Digits, "digits"),
                (KeyboardMode::Address, "address"),
            ] {
                keyboard.set_mode(mode);
                save_png(
                    &snapshot(&app),
                    &format!("keyboard-{name}-{language}{suffix}.png"),
                );
            }
        }
    }
    // An empty composition shows how to start.
    state.set_large_text(false);
    ui::select_language(&app, "zh_CN").expect("bundled");
    keyboard.set_mode(KeyboardMode::Pinyin);
    keyboard.set_preedit("".into());
    keyboard.set_candidates(ModelRc::default());
    save_png(&snapshot(&app), "keyboard-pinyin-empty-zh_CN.png");
}
