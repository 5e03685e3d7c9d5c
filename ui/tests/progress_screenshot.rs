//! Renders the Check progress screen (start with a refused number, a card's list, a receipt
//! needing correction) with the software renderer in Chinese, English and large text, plus the
//! detail at landscape and small sizes, to PNG files a person can look at.
//!
//! One test per file: the rendering platform can be installed once per process.

mod common;

use common::{button_pixels, portrait_window, save_at_size, save_png, snapshot};
use slint::{ComponentHandle, ModelRc, VecModel};
use ui::{
    AppState, MainWindow, Page, ProgressAdapter, ProgressCardState, ProgressHistoryRow,
    ProgressKind, ProgressNumberProblem, ProgressReceiptRow, ProgressStatus, ProgressView,
};

fn fill(app: &MainWindow) {
    let progress = app.global::<ProgressAdapter>();
    progress.set_typed_number("07A-00042-Z".into());
    progress.set_number_problem(ProgressNumberProblem::Check);
    progress.set_masked_id("450902********0028".into());
    progress.set_card_state(ProgressCardState::Listed);
    let row = |number: &str, name: &str, kind, date: &str, status| ProgressReceiptRow {
        number: number.into(),
        item_name: name.into(),
        kind,
        date: date.into(),
        status,
    };
    progress.set_receipts(ModelRc::new(VecModel::from(vec![
        row(
            "07A-00042-M",
            "城乡居民基本养老保险参保登记",
            ProgressKind::Application,
            "2026-11-26 14:05",
            ProgressStatus::NeedsCorrection,
        ),
        row(
            "07A-00031-7",
            "高龄津贴申领",
            ProgressKind::Application,
            "2026-10-02 09:12",
            ProgressStatus::Approved,
        ),
        row(
            "07A-00017-C",
            "",
            ProgressKind::Complaint,
            "2026-08-15 16:40",
            ProgressStatus::Accepted,
        ),
    ])));
    progress.set_number("07A-00042-M".into());
    progress.set_item_name("城乡居民基本养老保险参保登记".into());
    progress.set_kind(ProgressKind::Application);
    progress.set_submitted_at("2026-11-26 14:05".into());
    progress.set_status(ProgressStatus::NeedsCorrection);
    progress.set_status_note("请带居民户口簿原件和一张一寸照片，到凤岭乡社保所补正。".into());
    // A booth with a camera offers to photograph the materials the correction names.
    progress.set_correction_materials(slint::ModelRc::new(slint::VecModel::from(vec![
        slint::SharedString::from("居民户口簿"),
    ])));
    progress.set_can_photograph_correction(true);
    progress.set_office_phone("0775-5550101".into());
    let entry = |date: &str, status, note: &str| ProgressHistoryRow {
        date: date.into(),
        status,
        note: note.into(),
    };
    progress.set_history(ModelRc::new(VecModel::from(vec![
        entry("2026-11-26 14:05", ProgressStatus::Submitted, ""),
        entry("2026-11-26 14:06", ProgressStatus::Received, ""),
        entry("2026-11-27 09:10", ProgressStatus::Accepted, ""),
        entry(
            "2026-11-28 15:30",
            ProgressStatus::NeedsCorrection,
            "请带居民户口簿原件和一张一寸照片，到凤岭乡社保所补正。",
        ),
    ])));
}

fn views(app: &MainWindow, language: &str, suffix: &str) {
    let progress = app.global::<ProgressAdapter>();
    for (view, name) in [
        (ProgressView::Start, "start"),
        (ProgressView::Card, "card"),
        (ProgressView::Detail, "detail"),
    ] {
        progress.set_view(view);
        save_png(
            &snapshot(app),
            &format!("progress-{name}-{language}{suffix}.png"),
        );
    }
}

#[test]
fn progress_renders_in_chinese_english_and_large_text() {
    let app = portrait_window();
    let state = app.global::<AppState>();
    state.set_current_page(Page::Progress);
    fill(&app);
    app.show().expect("show the window");

    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");
    views(&app, "zh_CN", "");
    let progress = app.global::<ProgressAdapter>();
    progress.set_view(ProgressView::Detail);
    let detail = snapshot(&app);
    let (a, b) = (
        button_pixels(&app, &detail, "补打回执"),
        button_pixels(&app, &detail, "评价此项服务"),
    );
    assert_eq!(a.len(), b.len(), "the two actions have one size");
    assert_ne!(a, b, "two labels render the same: glyphs missing (boxes)?");

    save_at_size(&app, 1920, 1080, "progress-detail-zh_CN-1920x1080.png");
    save_at_size(&app, 800, 1280, "progress-detail-zh_CN-800x1280.png");
    progress.set_view(ProgressView::Start);
    save_at_size(&app, 1920, 1080, "progress-start-zh_CN-1920x1080.png");
    save_at_size(&app, 800, 1280, "progress-start-zh_CN-800x1280.png");

    state.set_large_text(true);
    views(&app, "zh_CN", "-large-text");
    state.set_large_text(false);

    ui::select_language(&app, "en").expect("English is bundled");
    views(&app, "en", "");
}
