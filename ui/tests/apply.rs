//! The 我要办理 screen driven headlessly through accessible labels. The test stands in for the
//! `kiosk` binding: it fills the adapter for each step and records the callbacks.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};
use ui::{
    AppState, ApplyAdapter, ApplyCardPrompt, ApplyCatalogueState, ApplyField, ApplyFieldKind,
    ApplyFieldProblem, ApplyIdError, ApplyItem, ApplyReviewRow, ApplyStep, HomeActions, MainWindow,
    Page, PrintState,
};

const STEPS: [ApplyStep; 7] = [
    ApplyStep::ChooseItem,
    ApplyStep::ReadCard,
    ApplyStep::TypeId,
    ApplyStep::Confirm,
    ApplyStep::Form,
    ApplyStep::Review,
    ApplyStep::Receipt,
];

fn app() -> MainWindow {
    i_slint_backend_testing::init_no_event_loop();
    let app = MainWindow::new().expect("create MainWindow");
    app.window()
        .set_size(slint::LogicalSize::new(1080.0, 1920.0));
    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");
    app.global::<AppState>().set_current_page(Page::Apply);
    fill(&app);
    app
}

fn item(code: &str, name: &str, days: i32) -> ApplyItem {
    ApplyItem {
        code: code.into(),
        name: name.into(),
        name_en: "Old-age allowance".into(),
        time_limit_days: days,
    }
}

fn field(
    key: &str,
    label: &str,
    kind: ApplyFieldKind,
    required: bool,
    choices: &[&str],
) -> ApplyField {
    let choices: Vec<SharedString> = choices.iter().map(|c| (*c).into()).collect();
    ApplyField {
        key: key.into(),
        label: label.into(),
        kind,
        required,
        choices: ModelRc::new(VecModel::from(choices)),
        value: SharedString::new(),
        problem: ApplyFieldProblem::None,
    }
}

/// What the booth would show for 高龄津贴申领 by the sample card.
fn fill(app: &MainWindow) {
    let apply = app.global::<ApplyAdapter>();
    apply.set_catalogue_state(ApplyCatalogueState::Ready);
    apply.set_items(ModelRc::new(VecModel::from(vec![
        item("GX-MZ-003", "高龄津贴申领", 15),
        item("GX-GA-001", "户籍证明开具", 0),
    ])));
    apply.set_item_name("高龄津贴申领".into());
    apply.set_item_time_limit_days(15);
    apply.set_holder_name("张三".into());
    apply.set_masked_id("110105********0016".into());
    apply.set_fields(ModelRc::new(VecModel::from(vec![
        field(
            "agent_relation",
            "代办人与老人关系",
            ApplyFieldKind::Choice,
            false,
            &["本人申请", "子女", "配偶", "其他亲属", "村干部"],
        ),
        field("occurred_on", "发生日期", ApplyFieldKind::Date, true, &[]),
        field("phone", "联系电话", ApplyFieldKind::Phone, true, &[]),
    ])));
    apply.set_review_rows(ModelRc::new(VecModel::from(vec![ApplyReviewRow {
        label: "联系电话".into(),
        value: "13800000000".into(),
    }])));
    apply.set_receipt_number("K0001-000042-7".into());
    apply.set_receipt_time("2026-11-26 14:05".into());
    apply.set_office_name("凤岭乡民政办".into());
    apply.set_office_phone("0775-5550101".into());
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

fn input(app: &MainWindow, label: &str) -> ElementHandle {
    let found: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(app, label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .collect();
    assert_eq!(found.len(), 1, "expected one text box labelled {label:?}");
    found.into_iter().next().expect("checked above")
}

fn show(app: &MainWindow, step: ApplyStep) {
    app.global::<ApplyAdapter>().set_step(step);
}

#[test]
fn every_step_shows_what_it_is_for() {
    let app = app();
    let apply = app.global::<ApplyAdapter>();

    show(&app, ApplyStep::ChooseItem);
    button(&app, "高龄津贴申领");
    button(&app, "户籍证明开具");
    assert!(shows_text(&app, "第 1 步（共 5 步）：请选择要办理的事项"));
    assert!(shows_text(&app, "办理时限：15 个工作日"));
    assert!(shows_text(&app, "办理时限：即办"));
    apply.set_catalogue_state(ApplyCatalogueState::Empty);
    assert!(shows_text(
        &app,
        "本服务亭还没有收到可办理的事项。请稍后再试，或联系工作人员。"
    ));

    show(&app, ApplyStep::ReadCard);
    assert!(shows_text(&app, "第 2 步（共 5 步）：请放身份证"));
    assert!(shows_text(&app, "把身份证放到读卡器上的示意动画"));
    assert!(shows_text(
        &app,
        "请把身份证平放在读卡器上，保持不动。正在等待读卡……"
    ));
    assert!(
        buttons(&app, "手动输入身份证号码").is_empty(),
        "not for this item"
    );
    apply.set_card_prompt(ApplyCardPrompt::HoldStill);
    assert!(shows_text(
        &app,
        "没有读完整。请把身份证平放在读卡器上，保持不动，不要拿起。"
    ));
    apply.set_card_prompt(ApplyCardPrompt::ReaderUnavailable);
    assert!(shows_text(
        &app,
        "读卡器暂时不能使用，这个事项需要读取身份证。请联系工作人员。"
    ));
    apply.set_can_type_id(true);
    assert!(shows_text(
        &app,
        "读卡器暂时不能使用。请按“手动输入身份证号码”，或联系工作人员。"
    ));
    button(&app, "手动输入身份证号码");

    show(&app, ApplyStep::Confirm);
    assert!(shows_text(&app, "张三"));
    assert!(shows_text(&app, "110105********0016"));
    button(&app, "是我本人，下一步");
    button(&app, "不是我，重新识别");

    show(&app, ApplyStep::Form);
    assert!(shows_text(&app, "代办人与老人关系（选填）"));
    for choice in ["本人申请", "子女", "配偶", "其他亲属", "村干部"] {
        button(&app, choice);
    }
    input(&app, "发生日期（必填）");
    input(&app, "联系电话（必填）");
    button(&app, "下一步");

    show(&app, ApplyStep::Review);
    assert!(shows_text(&app, "第 4 步（共 5 步）：请核对后提交"));
    for text in ["高龄津贴申领", "张三", "110105********0016", "13800000000"] {
        assert!(shows_text(&app, text), "review shows {text:?}");
    }
    button(&app, "确认提交");
    apply.set_busy(true);
    assert!(buttons(&app, "确认提交").is_empty(), "no second submit");
    assert!(shows_text(&app, "正在保存您的申请，请稍候……"));
    apply.set_busy(false);

    show(&app, ApplyStep::Receipt);
    for text in [
        "K0001-000042-7",
        "110105********0016",
        "2026-11-26 14:05",
        "15 个工作日",
        "凤岭乡民政办\n0775-5550101",
        "回执编号二维码",
    ] {
        assert!(shows_text(&app, text), "receipt shows {text:?}");
    }
    button(&app, "重新打印回执");
    apply.set_print_state(PrintState::Printing);
    assert!(shows_text(&app, "正在打印回执，请稍候……"));
    assert!(
        buttons(&app, "重新打印回执").is_empty(),
        "not while printing"
    );
    apply.set_print_state(PrintState::PaperOut);
    assert!(shows_text(
        &app,
        "打印机缺纸，回执没有打印出来。您的申请已保存，不会丢失。请用手机拍下本页的二维码和回执编号；工作人员加纸后，可按“重新打印回执”。"
    ));
    button(&app, "重新打印回执");
}

#[test]
fn the_callbacks_carry_what_was_chosen_and_typed() {
    let app = app();
    let apply = app.global::<ApplyAdapter>();
    let calls = Rc::new(RefCell::new(Vec::<String>::new()));
    let log = |name: &'static str| {
        let sink = Rc::clone(&calls);
        move || sink.borrow_mut().push(name.to_owned())
    };
    let sink = Rc::clone(&calls);
    apply.on_choose_item(move |code| sink.borrow_mut().push(format!("item {code}")));
    let sink = Rc::clone(&calls);
    apply.on_field_edited(move |index, value| {
        sink.borrow_mut().push(format!("field {index} = {value}"))
    });
    apply.on_confirm_identity(log("confirm"));
    apply.on_identify_again(log("again"));
    apply.on_form_done(log("form done"));
    apply.on_submit(log("submit"));
    apply.on_reprint(log("reprint"));
    apply.on_type_id_instead(log("type"));

    button(&app, "高龄津贴申领").invoke_accessible_default_action();
    show(&app, ApplyStep::ReadCard);
    apply.set_can_type_id(true);
    button(&app, "手动输入身份证号码").invoke_accessible_default_action();
    show(&app, ApplyStep::Confirm);
    button(&app, "不是我，重新识别").invoke_accessible_default_action();
    button(&app, "是我本人，下一步").invoke_accessible_default_action();
    show(&app, ApplyStep::Form);
    button(&app, "子女").invoke_accessible_default_action();
    input(&app, "联系电话（必填）").set_accessible_value("13800000000");
    input(&app, "发生日期（必填）").set_accessible_value("2026-11-26");
    button(&app, "下一步").invoke_accessible_default_action();
    show(&app, ApplyStep::Review);
    button(&app, "确认提交").invoke_accessible_default_action();
    show(&app, ApplyStep::Receipt);
    button(&app, "重新打印回执").invoke_accessible_default_action();

    assert_eq!(
        *calls.borrow(),
        [
            "item GX-MZ-003",
            "type",
            "again",
            "confirm",
            "field 0 = 子女",
            "field 2 = 13800000000",
            "field 1 = 2026-11-26",
            "form done",
            "submit",
            "reprint",
        ]
    );
}

#[test]
fn a_chosen_answer_and_a_field_problem_are_shown_in_words_not_colour_alone() {
    let app = app();
    let apply = app.global::<ApplyAdapter>();
    show(&app, ApplyStep::Form);
    let fields = apply.get_fields();
    let mut relation = fields.row_data(0).expect("a first field");
    relation.value = "子女".into();
    fields.set_row_data(0, relation);
    assert_eq!(button(&app, "子女").accessible_checked(), Some(true));
    assert_eq!(button(&app, "配偶").accessible_checked(), Some(false));

    let mut phone = fields.row_data(2).expect("a phone field");
    phone.problem = ApplyFieldProblem::NotAPhone;
    fields.set_row_data(2, phone);
    assert!(shows_text(&app, "⚠ 请填写正确的电话号码，如 13800000000。"));
    let mut date = fields.row_data(1).expect("a date field");
    date.problem = ApplyFieldProblem::NotADate;
    fields.set_row_data(1, date);
    assert!(shows_text(&app, "⚠ 请按“年-月-日”填写，如 2026-11-26。"));
}

#[test]
fn a_typed_id_number_is_checked_as_it_is_typed() {
    let app = app();
    let apply = app.global::<ApplyAdapter>();
    show(&app, ApplyStep::TypeId);
    // The booth's check, reduced to what this screen needs: 18 characters with the right
    // GB 11643 check character.
    let weak = app.as_weak();
    apply.on_typed_id_edited(move |text| {
        let Some(app) = weak.upgrade() else { return };
        let error = if text.chars().any(|c| !(c.is_ascii_digit() || c == 'X')) {
            ApplyIdError::BadCharacter
        } else if text.len() == 18 && text.as_str() != "110105198001010016" {
            ApplyIdError::Wrong
        } else {
            ApplyIdError::None
        };
        app.global::<ApplyAdapter>().set_typed_id_error(error);
    });
    let number = input(&app, "身份证号码");
    let wrong = "号码有误，请对照身份证逐位核对。";

    number.set_accessible_value("11010519800101");
    assert_eq!(apply.get_typed_id(), "11010519800101");
    assert!(!shows_text(&app, &format!("⚠ {wrong}")), "not finished yet");
    number.set_accessible_value("110105198001010017");
    assert!(shows_text(&app, &format!("⚠ {wrong}")));
    number.set_accessible_value("110105198001010016");
    assert!(!shows_text(&app, &format!("⚠ {wrong}")));
    number.set_accessible_value("11010A");
    assert!(shows_text(
        &app,
        "⚠ 只能输入数字，最后一位可以是 X。请检查后重新输入。"
    ));

    input(&app, "姓名").set_accessible_value("张三");
    assert_eq!(apply.get_typed_name(), "张三");
    apply.set_typed_name_missing(true);
    assert!(shows_text(&app, "⚠ 请输入姓名。"));
    let next = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&next);
    apply.on_use_typed_id(move || *sink.borrow_mut() += 1);
    button(&app, "下一步").invoke_accessible_default_action();
    assert_eq!(*next.borrow(), 1);
}

#[test]
fn every_step_has_back_and_home() {
    let app = app();
    let apply = app.global::<ApplyAdapter>();
    let backs = Rc::new(RefCell::new(0));
    let sink = Rc::clone(&backs);
    apply.on_back(move || *sink.borrow_mut() += 1);
    let homes = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&homes);
    app.global::<HomeActions>()
        .on_open_page(move |page| sink.borrow_mut().push(page));

    for (n, step) in STEPS.into_iter().enumerate() {
        show(&app, step);
        button(&app, "返回").invoke_accessible_default_action();
        assert_eq!(*backs.borrow(), n + 1, "{step:?}: Back calls back()");
        button(&app, "首页").invoke_accessible_default_action();
        assert_eq!(homes.borrow().last(), Some(&Page::Home), "{step:?}: Home");
    }
}

#[test]
fn every_apply_button_is_a_large_touch_target() {
    let app = app();
    let apply = app.global::<ApplyAdapter>();
    apply.set_can_type_id(true);
    for large_text in [false, true] {
        app.global::<AppState>().set_large_text(large_text);
        for step in STEPS {
            show(&app, step);
            let all: Vec<ElementHandle> = ["BigTile", "ItemRow", "ChoiceTile"]
                .into_iter()
                .flat_map(|name| ElementHandle::find_by_element_type_name(&app, name))
                .collect();
            assert!(all.len() >= 2, "{step:?}: at least Back and Home");
            for element in &all {
                let size = element.size();
                let label = element.accessible_label().unwrap_or_default();
                assert!(
                    size.width >= 90.0 && size.height >= 90.0,
                    "{step:?} (large text {large_text}): {label:?} is {}×{} px",
                    size.width,
                    size.height
                );
            }
        }
    }
}

#[test]
fn english_labels_the_apply_screen() {
    let app = app();
    ui::select_language(&app, "en").expect("English is bundled");
    show(&app, ApplyStep::ChooseItem);
    assert!(shows_text(
        &app,
        "Step 1 of 5: Choose the service to apply for"
    ));
    assert!(shows_text(&app, "Time limit: 15 working days"));
    assert!(shows_text(&app, "Old-age allowance"));
    show(&app, ApplyStep::Confirm);
    button(&app, "This is me, next");
    show(&app, ApplyStep::Form);
    input(&app, "联系电话 (required)");
    show(&app, ApplyStep::Review);
    button(&app, "Submit");
    show(&app, ApplyStep::Receipt);
    button(&app, "Print the receipt again");
    button(&app, "Back");
    button(&app, "Home");
}
