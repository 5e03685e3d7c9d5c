//! The Rate a service screen driven headlessly through accessible labels; the test stands in
//! for the `kiosk` binding.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{
    AppState, HomeActions, MainWindow, Page, RatingAdapter, RatingLookup, RatingReason,
    RatingService, RatingSubmitState, RatingView,
};

const LEVELS: [&str; 5] = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"];
const REASONS: [&str; 5] = [
    "等待时间长",
    "材料要求不清楚",
    "工作人员态度不好",
    "对办理结果不满意",
    "其他原因",
];

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

fn button(app: &MainWindow, label: &str) -> ElementHandle {
    let found = buttons(app, label);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one button {label:?}; screen: {:?}",
        texts(app)
    );
    found.into_iter().next().expect("checked above")
}

fn click(app: &MainWindow, label: &str) {
    button(app, label).invoke_accessible_default_action();
}

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

fn every_control_is_large(app: &MainWindow, view: &str) {
    let all: Vec<ElementHandle> = ["BigTile", "ChoiceTile", "ServiceRow"]
        .into_iter()
        .flat_map(|name| ElementHandle::find_by_element_type_name(app, name))
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

/// On the rating page with two services; choosing one opens the levels, as the booth does.
fn on_rating() -> MainWindow {
    let app = app();
    let rating = app.global::<RatingAdapter>();
    rating.set_services(ModelRc::new(VecModel::from(vec![
        RatingService {
            code: "GX-MZ-001".into(),
            name: "高龄津贴申领".into(),
            category: "社会救助".into(),
        },
        RatingService {
            code: "GX-GA-001".into(),
            name: "户籍证明开具".into(),
            category: "户籍管理".into(),
        },
    ])));
    let weak = app.as_weak();
    rating.on_choose_service(move |code| {
        let app = weak.upgrade().expect("the window");
        let rating = app.global::<RatingAdapter>();
        rating.set_service_name(format!("事项 {code}").into());
        rating.set_view(RatingView::Levels);
    });
    click(&app, "服务评价");
    assert_eq!(app.global::<AppState>().get_current_page(), Page::Rating);
    app
}

#[test]
fn choosing_a_service_offers_five_labelled_levels_and_reasons_only_when_unhappy() {
    let app = on_rating();
    assert!(shows(&app, "评价完全自愿"), "says it is voluntary");
    every_control_is_large(&app, "choose");
    click(&app, "高龄津贴申领");
    let rating = app.global::<RatingAdapter>();
    assert_eq!(rating.get_view(), RatingView::Levels);
    assert!(shows(&app, "评价事项：事项 GX-MZ-001"));
    for level in LEVELS {
        button(&app, level);
    }
    for reason in REASONS {
        assert!(buttons(&app, reason).is_empty(), "no reasons before 不满意");
    }

    // Submitting without a level says what to do, and sends nothing.
    let submitted = Rc::new(RefCell::new(0));
    let seen = Rc::clone(&submitted);
    rating.on_submit(move || *seen.borrow_mut() += 1);
    rating.set_submit_state(RatingSubmitState::NoLevel);
    assert!(shows(&app, "请先在上面选择满意程度"));

    click(&app, "满意");
    assert_eq!(rating.get_level(), 4);
    assert_eq!(button(&app, "满意").accessible_checked(), Some(true));
    assert!(
        shows(&app, "✓ 满意（已选）"),
        "the choice shows in words too"
    );
    assert_eq!(rating.get_submit_state(), RatingSubmitState::Idle);
    for reason in REASONS {
        assert!(buttons(&app, reason).is_empty());
    }

    click(&app, "不满意");
    assert_eq!(rating.get_level(), 2);
    assert_eq!(button(&app, "满意").accessible_checked(), Some(false));
    for reason in REASONS {
        button(&app, reason);
    }
    assert!(
        !ElementHandle::find_by_accessible_label(&app, "其他意见")
            .collect::<Vec<_>>()
            .is_empty()
    );
    click(&app, "等待时间长");
    assert_eq!(rating.get_reason(), RatingReason::LongWait);
    every_control_is_large(&app, "levels");
    // A second touch takes the reason back: nothing is forced.
    click(&app, "等待时间长");
    assert_eq!(rating.get_reason(), RatingReason::None);
    click(&app, "工作人员态度不好");
    assert_eq!(rating.get_reason(), RatingReason::StaffAttitude);

    click(&app, "提交评价");
    assert_eq!(*submitted.borrow(), 1);

    // Back from the levels returns to the choice.
    click(&app, "返回");
    assert_eq!(rating.get_view(), RatingView::Choose);
}

#[test]
fn a_receipt_number_is_looked_up_and_problems_are_explained() {
    let app = on_rating();
    let rating = app.global::<RatingAdapter>();
    let asked: Rc<RefCell<Vec<SharedString>>> = Rc::default();
    let seen = Rc::clone(&asked);
    rating.on_look_up(move |text| seen.borrow_mut().push(text));
    let input: Vec<ElementHandle> =
        ElementHandle::find_by_accessible_label(&app, "输入回执编号").collect();
    assert_eq!(input.len(), 1);
    input[0].set_accessible_value("07A-00042-M");
    click(&app, "确定");
    assert_eq!(asked.borrow().as_slice(), ["07A-00042-M"]);

    rating.set_lookup(RatingLookup::Check);
    assert!(shows(&app, "最后一位校验码对不上"));
    rating.set_lookup(RatingLookup::NotHere);
    assert!(shows(&app, "请在下面选择您办理的服务事项来评价"));

    rating.set_service_name("高龄津贴申领".into());
    rating.set_receipt_number("07A-00042-M".into());
    rating.set_view(RatingView::Levels);
    assert!(shows(&app, "评价事项：高龄津贴申领（回执 07A-00042-M）"));
}

#[test]
fn the_thank_you_shows_the_receipt_number_and_leads_home() {
    let app = on_rating();
    let rating = app.global::<RatingAdapter>();
    rating.set_thanks_number("07A-00044-5".into());
    rating.set_view(RatingView::Done);
    assert!(shows(&app, "感谢您的评价"));
    assert!(shows(&app, "评价回执编号：07A-00044-5"));
    every_control_is_large(&app, "done");
    click(&app, "首页");
    assert_eq!(app.global::<AppState>().get_current_page(), Page::Home);
}
