//! Renders the Notices list and a long notice with the software renderer to PNG files a person
//! can look at (Chinese, English, large text; the list also at 1920×1080 and 800×1280), and
//! checks that every button stays inside the window at each size.
//!
//! One test per file: the rendering platform can be installed once per process.

mod common;

use common::{button_pixels, portrait_window, render, save_png, snapshot};
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{AppState, MainWindow, NoticeRow, NoticesAdapter, Page};

fn fill(app: &MainWindow) {
    let notices = app.global::<NoticesAdapter>();
    let row = |id: &str, title: &str, date: &str, is_new| NoticeRow {
        id: id.into(),
        title: title.into(),
        published_on: date.into(),
        is_new,
    };
    notices.set_notices(ModelRc::new(VecModel::from(vec![
        row(
            "1",
            "关于开展2026年度城乡居民基本医疗保险集中缴费工作的通知",
            "2026-11-25",
            true,
        ),
        row(
            "2",
            "石桥村2026年第三季度村务、财务公开",
            "2026-11-20",
            true,
        ),
        row("3", "冬季森林防火和用电安全提示", "2026-10-30", false),
        row("4", "高龄津贴申领材料简化的公告", "2026-09-12", false),
    ])));
    notices.set_detail_title("关于开展2026年度城乡居民基本医疗保险集中缴费工作的通知".into());
    notices.set_detail_published_on("2026-11-25".into());
    notices.set_detail_expires_on("2026-12-31".into());
    let body = "各位村民：\n\
        2026年度城乡居民基本医疗保险集中缴费工作已经开始，缴费期为2026年11月1日至12月31日。\n\
        一、缴费标准：每人每年380元。特困人员、低保对象、防止返贫监测对象由政府按规定给予资助。\n\
        二、缴费方式：可到村委会便民服务站现场缴费，也可用手机微信搜索“广西税务”小程序缴费。\n\
        三、注意事项：集中缴费期结束后缴费的，待遇享受有等待期。请大家相互转告，按时缴费。\n\
        咨询电话：0775-5550101（乡医保所），0775-5550100（村委会）。\n";
    let paragraphs: Vec<SharedString> = body.repeat(3).lines().map(SharedString::from).collect();
    notices.set_detail_paragraphs(ModelRc::new(VecModel::from(paragraphs)));
}

/// Every visible button lies inside the window.
fn buttons_fit(app: &MainWindow, width: f32, height: f32, what: &str) {
    let buttons = ElementQuery::from_root(app)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all();
    assert!(!buttons.is_empty(), "{what}: buttons found");
    let header = ElementHandle::find_by_element_type_name(app, "Header")
        .next()
        .expect("the header");
    let header_bottom = header.absolute_position().y + header.size().height;
    for button in buttons {
        let (at, size) = (button.absolute_position(), button.size());
        let label = button.accessible_label().unwrap_or_default();
        assert!(
            at.x >= -0.5
                && at.y >= -0.5
                && at.x + size.width <= width + 0.5
                && at.y + size.height <= height + 0.5,
            "{what}: {label:?} at {at:?} size {size:?} is outside {width}×{height}"
        );
        // The header's own controls (the technicians' long-press area) are not the page's.
        if at.y >= header_bottom {
            assert!(size.height >= 90.0, "{what}: {label:?} is {size:?}");
        }
    }
}

#[test]
fn notices_render_in_chinese_english_and_large_text() {
    let app = portrait_window();
    let state = app.global::<AppState>();
    state.set_current_page(Page::Notices);
    fill(&app);
    app.show().expect("show the window");
    let notices = app.global::<NoticesAdapter>();

    ui::select_language(&app, "zh_CN").expect("bundled");
    let list = snapshot(&app);
    let (a, b) = (
        button_pixels(&app, &list, "冬季森林防火和用电安全提示"),
        button_pixels(&app, &list, "高龄津贴申领材料简化的公告"),
    );
    assert_eq!(a.len(), b.len(), "rows of one line have one size");
    assert_ne!(a, b, "two titles render the same: glyphs missing (boxes)?");

    for language in ["zh_CN", "en"] {
        ui::select_language(&app, language).expect("bundled");
        for large in [false, true] {
            state.set_large_text(large);
            let suffix = if large { "-large-text" } else { "" };
            notices.set_detail_open(false);
            save_png(
                &snapshot(&app),
                &format!("notices-list-{language}{suffix}.png"),
            );
            buttons_fit(&app, 1080.0, 1920.0, "list");
            notices.set_detail_open(true);
            save_png(
                &snapshot(&app),
                &format!("notices-detail-{language}{suffix}.png"),
            );
            buttons_fit(&app, 1080.0, 1920.0, "detail");
        }
    }
    state.set_large_text(false);
    ui::select_language(&app, "zh_CN").expect("bundled");

    for (width, height) in [(1920u32, 1080u32), (800, 1280)] {
        app.window()
            .set_size(slint::PhysicalSize::new(width, height));
        for (open, name) in [(false, "list"), (true, "detail")] {
            notices.set_detail_open(open);
            let snap = render(&app);
            save_png(&snap, &format!("notices-{name}-zh_CN-{width}x{height}.png"));
            buttons_fit(&app, width as f32, height as f32, name);
        }
    }
}
