//! The Complaints screen driven headlessly through accessible labels. The test stands in for
//! the `kiosk` binding: it answers `submit` and moves the screen through its steps.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::ComponentHandle;
use ui::{
    AppState, ComplaintCategory, ComplaintProblem, ComplaintStep, ComplaintsAdapter, HomeActions,
    MainWindow, Page, PrintState,
};

fn booth_on_complaints() -> (MainWindow, Rc<RefCell<u32>>) {
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
    app.global::<AppState>().set_current_page(Page::Complaints);
    let submitted = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&submitted);
    app.global::<ComplaintsAdapter>()
        .on_submit(move || *sink.borrow_mut() += 1);
    (app, submitted)
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

const CATEGORIES: [&str; 5] = ["服务态度", "办事效率", "收费问题", "环境设施", "其他"];

#[test]
fn choosing_a_category_marks_it_in_shape_and_state() {
    let (app, _) = booth_on_complaints();
    let complaints = app.global::<ComplaintsAdapter>();
    for category in CATEGORIES {
        let tile = button(&app, category);
        assert_eq!(tile.accessible_checked(), Some(false), "{category}");
        assert!(tile.size().height >= 90.0 && tile.size().width >= 90.0);
    }
    button(&app, "收费问题").invoke_accessible_default_action();
    assert_eq!(complaints.get_category(), ComplaintCategory::Fees);
    assert_eq!(button(&app, "收费问题").accessible_checked(), Some(true));
    assert!(shows(&app, "✓ 收费问题"), "a check mark, not colour alone");
    button(&app, "其他").invoke_accessible_default_action();
    assert_eq!(complaints.get_category(), ComplaintCategory::Other);
    assert_eq!(button(&app, "收费问题").accessible_checked(), Some(false));
}

#[test]
fn the_form_has_text_and_phone_fields_and_submits() {
    let (app, submitted) = booth_on_complaints();
    let complaints = app.global::<ComplaintsAdapter>();
    for label in ["2. 请写下您的意见", "3. 联系电话（可不填）"] {
        let field = ElementHandle::find_by_accessible_label(&app, label)
            .find(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
            .unwrap_or_else(|| panic!("a text field {label}"));
        field.set_accessible_value("x");
    }
    assert_eq!(complaints.get_text(), "x");
    assert_eq!(complaints.get_phone(), "x");
    assert!(
        !shows(&app, "点这里，用下方键盘输入拼音"),
        "the hint goes once typed"
    );
    // No card was read: nothing about identity is offered.
    assert!(buttons(&app, "附上我的身份证信息（450902********0028）").is_empty());
    button(&app, "提交").invoke_accessible_default_action();
    assert_eq!(*submitted.borrow(), 1);
    // While saving, a second press does nothing.
    complaints.set_step(ComplaintStep::Saving);
    assert!(shows(&app, "正在保存，请稍候……"));
    button(&app, "提交").invoke_accessible_default_action();
    assert_eq!(*submitted.borrow(), 1);
}

#[test]
fn each_problem_is_said_in_plain_words() {
    let (app, _) = booth_on_complaints();
    let complaints = app.global::<ComplaintsAdapter>();
    for (problem, text) in [
        (
            ComplaintProblem::NoCategory,
            "请先选择一个类别（第 1 步）。",
        ),
        (ComplaintProblem::NoText, "请写下您的意见（第 2 步）。"),
        (
            ComplaintProblem::TextTooLong,
            "意见太长了，请删减到 4000 字以内。",
        ),
        (
            ComplaintProblem::BadPhone,
            "电话号码不对：请填 11 位手机号，或带区号的固定电话（如 0775-1234567），也可以不填。",
        ),
        (
            ComplaintProblem::SaveFailed,
            "没有保存成功。请再试一次；如果还不行，请联系工作人员。",
        ),
    ] {
        complaints.set_problem(problem);
        assert!(shows(&app, text), "{problem:?}");
    }
}

#[test]
fn a_card_read_in_the_session_can_be_attached_but_is_not_by_default() {
    let (app, _) = booth_on_complaints();
    let complaints = app.global::<ComplaintsAdapter>();
    complaints.set_card_available(true);
    complaints.set_card_masked_id("450902********0028".into());
    assert!(!complaints.get_attach_identity());
    button(&app, "附上我的身份证信息（450902********0028）").invoke_accessible_default_action();
    assert!(complaints.get_attach_identity());
    button(&app, "✓ 附上我的身份证信息（450902********0028）").invoke_accessible_default_action();
    assert!(!complaints.get_attach_identity());
}

#[test]
fn the_thank_you_shows_the_number_and_what_happened_to_the_paper() {
    let (app, _) = booth_on_complaints();
    let complaints = app.global::<ComplaintsAdapter>();
    let restarted = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&restarted);
    complaints.on_start_over(move || *sink.borrow_mut() += 1);
    complaints.set_receipt_number("K0001-000042-7".into());
    complaints.set_step(ComplaintStep::Thanks);
    assert!(shows(&app, "感谢您的意见！"));
    assert!(shows(&app, "K0001-000042-7"));
    assert!(buttons(&app, "提交").is_empty(), "the form is gone");
    for (state, text) in [
        (PrintState::Printing, "正在打印回执，请稍候……"),
        (PrintState::Printed, "回执已打印，请在出纸口取走。"),
        (
            PrintState::PaperOut,
            "打印机缺纸，回执没有打印。请记下或用手机拍下回执编号。",
        ),
        (
            PrintState::Failed,
            "回执没有打印出来。请记下或用手机拍下回执编号。",
        ),
    ] {
        complaints.set_print_state(state);
        assert!(shows(&app, text), "{state:?}");
    }
    complaints.set_has_printer(false);
    assert!(shows(
        &app,
        "请记下或用手机拍下回执编号，凭它可以查询处理进度。"
    ));
    button(&app, "再提一条").invoke_accessible_default_action();
    assert_eq!(*restarted.borrow(), 1);
    button(&app, "首页").invoke_accessible_default_action();
    assert_eq!(app.global::<AppState>().get_current_page(), Page::Home);
}

#[test]
fn english_labels_the_complaints_screen() {
    let (app, _) = booth_on_complaints();
    ui::select_language(&app, "en").expect("English is bundled");
    for label in ["Staff attitude", "Fees", "Other", "Submit", "Back", "Home"] {
        button(&app, label);
    }
    assert!(shows(&app, "3. Contact phone (optional)"));
}
