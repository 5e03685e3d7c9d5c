//! Renders the Rate a service screen (the choice, 不满意 with a reason, the thank-you) with the
//! software renderer in Chinese, English and large text, plus the levels at landscape and small
//! sizes, to PNG files a person can look at.
//!
//! One test per file: the rendering platform can be installed once per process.

mod common;

use common::{button_pixels, portrait_window, save_at_size, save_png, snapshot};
use slint::{ComponentHandle, ModelRc, VecModel};
use ui::{
    AppState, MainWindow, Page, RatingAdapter, RatingLookup, RatingReason, RatingService,
    RatingView,
};

fn fill(app: &MainWindow) {
    let rating = app.global::<RatingAdapter>();
    let service = |code: &str, name: &str, category: &str| RatingService {
        code: code.into(),
        name: name.into(),
        category: category.into(),
    };
    rating.set_services(ModelRc::new(VecModel::from(vec![
        service("GX-GA-001", "户籍证明开具", "户籍管理"),
        service("GX-MZ-001", "最低生活保障申请", "社会救助"),
        service("GX-MZ-003", "高龄津贴申领", "社会救助"),
        service("GX-SB-001", "城乡居民基本养老保险参保登记", "社会保险"),
        service("GX-SB-002", "城乡居民养老保险待遇领取申请", "社会保险"),
    ])));
    rating.set_typed_number("07A-00042-Z".into());
    rating.set_lookup(RatingLookup::Check);
    rating.set_service_name("高龄津贴申领".into());
    rating.set_receipt_number("07A-00042-M".into());
    rating.set_level(2);
    rating.set_reason(RatingReason::LongWait);
    rating.set_comment("排队等了一个多小时".into());
    rating.set_thanks_number("07A-00044-5".into());
}

fn views(app: &MainWindow, language: &str, suffix: &str) {
    let rating = app.global::<RatingAdapter>();
    for (view, name) in [
        (RatingView::Choose, "choose"),
        (RatingView::Levels, "levels"),
        (RatingView::Done, "done"),
    ] {
        rating.set_view(view);
        save_png(
            &snapshot(app),
            &format!("rating-{name}-{language}{suffix}.png"),
        );
    }
}

#[test]
fn rating_renders_in_chinese_english_and_large_text() {
    let app = portrait_window();
    let state = app.global::<AppState>();
    state.set_current_page(Page::Rating);
    fill(&app);
    app.show().expect("show the window");

    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");
    views(&app, "zh_CN", "");
    let rating = app.global::<RatingAdapter>();
    rating.set_view(RatingView::Levels);
    let levels = snapshot(&app);
    let (a, b) = (
        button_pixels(&app, &levels, "非常满意"),
        button_pixels(&app, &levels, "非常不满意"),
    );
    assert_eq!(a.len(), b.len(), "the level tiles have one size");
    assert_ne!(a, b, "two levels render the same: glyphs missing (boxes)?");

    save_at_size(&app, 1920, 1080, "rating-levels-zh_CN-1920x1080.png");
    save_at_size(&app, 800, 1280, "rating-levels-zh_CN-800x1280.png");

    state.set_large_text(true);
    views(&app, "zh_CN", "-large-text");
    state.set_large_text(false);

    ui::select_language(&app, "en").expect("English is bundled");
    views(&app, "en", "");
}
