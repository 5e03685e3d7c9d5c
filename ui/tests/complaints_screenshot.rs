//! Renders the Complaints form (with the keyboard open in pinyin, mid-word) and the thank-you
//! with the software renderer to PNG files a person can look at (Chinese, English, large text;
//! also at 1920×1080 and 800×1280), and checks that every button stays inside the window.
//!
//! One test per file: the rendering platform can be installed once per process.

mod common;

use common::{button_pixels, portrait_window, render, save_png, snapshot};
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use slint::platform::PointerEventButton;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{
    AppState, ComplaintCategory, ComplaintProblem, ComplaintStep, ComplaintsAdapter,
    KeyboardAdapter, MainWindow, Page, PrintState,
};

fn fill(app: &MainWindow) {
    let complaints = app.global::<ComplaintsAdapter>();
    complaints.set_category(ComplaintCategory::Efficiency);
    complaints.set_text("上个月来办高龄津贴，材料交齐了还让跑了三趟，希望".into());
    complaints.set_receipt_number("07A-00043-K".into());
    complaints.set_print_state(PrintState::Printed);
    let keyboard = app.global::<KeyboardAdapter>();
    keyboard.set_preedit("gaij".into());
    let words: Vec<SharedString> = ["改进", "改建", "该就", "改件", "改机", "盖建", "改"]
        .into_iter()
        .map(SharedString::from)
        .collect();
    keyboard.set_candidates(ModelRc::new(VecModel::from(words)));
}

fn focus_text(app: &MainWindow, label: &str) {
    ElementHandle::find_by_accessible_label(app, label)
        .find(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .expect("the text field")
        .mock_single_click(PointerEventButton::Left);
}

fn buttons_fit(app: &MainWindow, width: f32, height: f32, what: &str) {
    let buttons = ElementQuery::from_root(app)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all();
    assert!(!buttons.is_empty(), "{what}: buttons found");
    for button in buttons {
        let (at, size) = (button.absolute_position(), button.size());
        let label = button.accessible_label().unwrap_or_default();
        // Buttons scrolled out of the form's view are clipped by it, not off the window.
        if at.y + size.height <= 0.0 {
            continue;
        }
        assert!(
            at.x >= -0.5 && at.x + size.width <= width + 0.5 && at.y + size.height <= height + 0.5,
            "{what}: {label:?} at {at:?} size {size:?} is outside {width}×{height}"
        );
    }
}

#[test]
fn complaints_render_in_chinese_english_and_large_text() {
    let app = portrait_window();
    let state = app.global::<AppState>();
    state.set_current_page(Page::Complaints);
    fill(&app);
    app.show().expect("show the window");
    let complaints = app.global::<ComplaintsAdapter>();

    ui::select_language(&app, "zh_CN").expect("bundled");
    let form = snapshot(&app);
    let (a, b) = (
        button_pixels(&app, &form, "服务态度"),
        button_pixels(&app, &form, "收费问题"),
    );
    assert_eq!(a.len(), b.len(), "category tiles have one size");
    assert_ne!(
        a, b,
        "two categories render the same: glyphs missing (boxes)?"
    );

    for language in ["zh_CN", "en"] {
        ui::select_language(&app, language).expect("bundled");
        let text_label = if language == "en" {
            "2. Write your comments"
        } else {
            "2. 请写下您的意见"
        };
        for large in [false, true] {
            state.set_large_text(large);
            let suffix = if large { "-large-text" } else { "" };
            complaints.set_step(ComplaintStep::Form);
            complaints.set_problem(ComplaintProblem::None);
            save_png(
                &snapshot(&app),
                &format!("complaints-form-{language}{suffix}.png"),
            );
            buttons_fit(&app, 1080.0, 1920.0, "form");
            focus_text(&app, text_label);
            save_png(
                &snapshot(&app),
                &format!("complaints-typing-{language}{suffix}.png"),
            );
            buttons_fit(&app, 1080.0, 1920.0, "typing");
            complaints.set_problem(ComplaintProblem::BadPhone);
            save_png(
                &snapshot(&app),
                &format!("complaints-problem-{language}{suffix}.png"),
            );
            complaints.set_step(ComplaintStep::Thanks);
            save_png(
                &snapshot(&app),
                &format!("complaints-thanks-{language}{suffix}.png"),
            );
            buttons_fit(&app, 1080.0, 1920.0, "thanks");
        }
    }
    state.set_large_text(false);
    ui::select_language(&app, "zh_CN").expect("bundled");

    for (width, height) in [(1920u32, 1080u32), (800, 1280)] {
        app.window()
            .set_size(slint::PhysicalSize::new(width, height));
        complaints.set_problem(ComplaintProblem::None);
        for (step, name) in [
            (ComplaintStep::Form, "form"),
            (ComplaintStep::Thanks, "thanks"),
        ] {
            complaints.set_step(step);
            let snap = render(&app);
            save_png(
                &snap,
                &format!("complaints-{name}-zh_CN-{width}x{height}.png"),
            );
            buttons_fit(&app, width as f32, height as f32, name);
        }
        complaints.set_step(ComplaintStep::Form);
        focus_text(&app, "2. 请写下您的意见");
        let snap = render(&app);
        save_png(
            &snap,
            &format!("complaints-typing-zh_CN-{width}x{height}.png"),
        );
        buttons_fit(&app, width as f32, height as f32, "typing");
    }
}
