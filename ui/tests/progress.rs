//! The Check progress screen driven headlessly through accessible labels. The test stands in
//! for the `kiosk` binding: it answers the callbacks by filling the adapter, as the booth does.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{
    AppState, HomeActions, MainWindow, Page, PrintState, ProgressAdapter, ProgressCardState,
    ProgressHistoryRow, ProgressKind, ProgressLookup, ProgressNumberProblem, ProgressReceiptRow,
    ProgressStatus, ProgressView,
};

const NUMBER: &str = "07A-00042-M";

fn app() -> MainWindow {
    i_slint_backend_testing::init_no_event_loop();
    let app = MainWindow::new().expect("create MainWindow");
    app.window()
        .set_size(slint::LogicalSize::new(1080.0, 1920.0));
    let weak = app.as_weak();
    app.global::<HomeActions>().on_open_page(move |page| {
        if let Some(app) = weak.upgrade() {
            app.global::<AppState>().set_current_page(page);
        }
    });
    app
}

fn buttons(app: &MainWindow, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(app, label)
        .filter(|element| element.accessible_role() == Some(AccessibleRole::Button))
        .collect()
}

fn click(app: &MainWindow, label: &str) {
    let found = buttons(app, label);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one button {label:?}; screen: {:?}",
        texts(app)
    );
    found[0].invoke_accessible_default_action();
}

/// Every accessible label and value on screen (texts label themselves).
fn texts(app: &MainWindow) -> Vec<String> {
    ElementQuery::from_root(app)
        .match_descendants()
        .find_all()
        .into_iter()
        .flat_map(|e| [e.accessible_label(), e.accessible_value()])
        .flatten()
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn shows(app: &MainWindow, text: &str) -> bool {
    texts(app).iter().any(|t| t.contains(text))
}

fn every_button_is_large(app: &MainWindow, view: &str) {
    // The screen's own controls (the header's hidden technician entry is not for villagers).
    let all: Vec<ElementHandle> = ElementHandle::find_by_element_type_name(app, "BigTile")
        .chain(ElementHandle::find_by_element_type_name(app, "ReceiptRow"))
        .collect();
    assert!(!all.is_empty());
    for element in &all {
        let size = element.size();
        assert!(
            size.width >= 90.0 && size.height >= 90.0,
            "{view}: {:?} is {}×{} px",
            element.accessible_label(),
            size.width,
            size.height
        );
    }
}

fn history_row(date: &str, status: ProgressStatus, note: &str) -> ProgressHistoryRow {
    ProgressHistoryRow {
        date: date.into(),
        status,
        note: note.into(),
    }
}

/// What the booth does when a number is found: the detail with a correction to make.
fn show_correction(app: &MainWindow) {
    let progress = app.global::<ProgressAdapter>();
    progress.set_number(NUMBER.into());
    progress.set_item_name("高龄津贴申领".into());
    progress.set_kind(ProgressKind::Application);
    progress.set_submitted_at("2026-11-26 14:05".into());
    progress.set_status(ProgressStatus::NeedsCorrection);
    progress.set_status_note("请带户口本原件到乡镇民政办".into());
    progress.set_office_phone("0775-5550101".into());
    progress.set_history(ModelRc::new(VecModel::from(vec![
        history_row("2026-11-26 14:05", ProgressStatus::Submitted, ""),
        history_row("2026-11-26 14:06", ProgressStatus::Received, ""),
        history_row(
            "2026-11-27 09:30",
            ProgressStatus::NeedsCorrection,
            "请带户口本原件到乡镇民政办",
        ),
    ])));
    progress.set_view(ProgressView::Detail);
}

#[test]
fn typing_a_number_looks_it_up_and_a_wrong_check_character_is_explained() {
    let app = app();
    click(&app, "进度查询");
    assert_eq!(app.global::<AppState>().get_current_page(), Page::Progress);
    for way in [
        "方法一：扫描回执上的二维码",
        "方法二：输入回执编号",
        "方法三：刷身份证",
    ] {
        assert!(shows(&app, way), "{way} missing: {:?}", texts(&app));
    }
    let input: Vec<ElementHandle> =
        ElementHandle::find_by_accessible_label(&app, "输入回执编号").collect();
    assert_eq!(input.len(), 1, "one labelled text field");

    let asked: Rc<RefCell<Vec<SharedString>>> = Rc::default();
    let progress = app.global::<ProgressAdapter>();
    let seen = Rc::clone(&asked);
    let weak = app.as_weak();
    progress.on_look_up(move |text| {
        seen.borrow_mut().push(text.clone());
        let app = weak.upgrade().expect("the window");
        let progress = app.global::<ProgressAdapter>();
        if text.ends_with('M') {
            show_correction(&app);
        } else {
            progress.set_number_problem(ProgressNumberProblem::Check);
        }
    });

    input[0].set_accessible_value("07A-00042-Z");
    click(&app, "查询");
    assert_eq!(asked.borrow().as_slice(), ["07A-00042-Z"]);
    assert!(shows(&app, "最后一位校验码对不上"), "{:?}", texts(&app));
    every_button_is_large(&app, "start");

    progress.set_number_problem(ProgressNumberProblem::None);
    progress.set_lookup(ProgressLookup::OtherBooth);
    assert!(shows(&app, "这张回执是其他服务亭开具的"));
    assert!(shows(&app, "回执上的咨询电话"), "says whom to ask");

    progress.set_lookup(ProgressLookup::Idle);
    progress.set_typed_number(NUMBER.into());
    click(&app, "查询");
    assert_eq!(progress.get_view(), ProgressView::Detail);
    assert!(shows(&app, &format!("回执编号：{NUMBER}")));
    assert!(shows(&app, "当前状态：需补正"));
    assert!(shows(&app, "需要补正：请带上以下材料"));
    assert!(shows(&app, "请带户口本原件到乡镇民政办"));
    assert!(shows(&app, "2026-11-26 14:05　在本机提交"));
    assert!(shows(&app, "2026-11-27 09:30　需补正"));
    assert!(shows(&app, "咨询电话：0775-5550101"));
    every_button_is_large(&app, "detail");

    // Back: detail → start → Home.
    click(&app, "返回");
    assert_eq!(progress.get_view(), ProgressView::Start);
    click(&app, "返回");
    assert_eq!(app.global::<AppState>().get_current_page(), Page::Home);
}

#[test]
fn the_detail_offers_reprint_and_rating_and_reports_the_printer() {
    let app = app();
    app.global::<AppState>().set_current_page(Page::Progress);
    show_correction(&app);
    let progress = app.global::<ProgressAdapter>();
    let calls: Rc<RefCell<Vec<&str>>> = Rc::default();
    let seen = Rc::clone(&calls);
    progress.on_reprint(move || seen.borrow_mut().push("reprint"));
    let seen = Rc::clone(&calls);
    progress.on_rate(move || seen.borrow_mut().push("rate"));
    click(&app, "补打回执");
    click(&app, "评价此项服务");
    assert_eq!(calls.borrow().as_slice(), ["reprint", "rate"]);

    progress.set_print_state(PrintState::PaperOut);
    assert!(shows(&app, "打印机缺纸"));
    progress.set_print_state(PrintState::Printed);
    assert!(shows(&app, "回执已重新打印"));

    // A rating's own receipt is not rated again.
    progress.set_can_rate(false);
    assert!(buttons(&app, "评价此项服务").is_empty());

    // Not yet sent: said in words, not only by the missing history.
    progress.set_status(ProgressStatus::NotSent);
    progress.set_status_note("".into());
    assert!(shows(&app, "当前状态：已保存在本机，等待联网发送"));
    assert!(!shows(&app, "需要补正"));
}

#[test]
fn the_card_lists_its_receipts_and_each_opens() {
    let app = app();
    app.global::<AppState>().set_current_page(Page::Progress);
    let progress = app.global::<ProgressAdapter>();
    let weak = app.as_weak();
    progress.on_use_card(move || {
        let app = weak.upgrade().expect("the window");
        let progress = app.global::<ProgressAdapter>();
        progress.set_card_state(ProgressCardState::Waiting);
        progress.set_view(ProgressView::Card);
    });
    click(&app, "刷身份证，查看我在本机办理的事项");
    assert_eq!(progress.get_view(), ProgressView::Card);
    assert!(shows(&app, "请把身份证平放在读卡器上"));

    progress.set_card_state(ProgressCardState::HoldStill);
    assert!(shows(&app, "保持不动"));

    progress.set_masked_id("450902********0028".into());
    progress.set_receipts(ModelRc::new(VecModel::from(vec![
        ProgressReceiptRow {
            number: NUMBER.into(),
            item_name: "高龄津贴申领".into(),
            kind: ProgressKind::Application,
            date: "2026-11-26 14:05".into(),
            status: ProgressStatus::NeedsCorrection,
        },
        ProgressReceiptRow {
            number: "07A-00043-X".into(),
            item_name: "".into(),
            kind: ProgressKind::Complaint,
            date: "2026-11-27 10:00".into(),
            status: ProgressStatus::NotSent,
        },
    ])));
    progress.set_card_state(ProgressCardState::Listed);
    assert!(shows(
        &app,
        "身份证 450902********0028：在本机办理的事项共 2 项"
    ));
    assert!(shows(&app, "2026-11-26 14:05　当前状态：需补正"));
    assert!(
        shows(&app, "投诉建议"),
        "an item-less receipt is named by its kind"
    );
    every_button_is_large(&app, "card list");

    let opened: Rc<RefCell<Vec<SharedString>>> = Rc::default();
    let seen = Rc::clone(&opened);
    progress.on_open_receipt(move |number| seen.borrow_mut().push(number));
    click(&app, NUMBER);
    assert_eq!(opened.borrow().as_slice(), [NUMBER]);

    progress.set_receipts(ModelRc::default());
    assert!(shows(&app, "在本机没有办理记录"));
    click(&app, "返回");
    assert_eq!(progress.get_view(), ProgressView::Start);
}
