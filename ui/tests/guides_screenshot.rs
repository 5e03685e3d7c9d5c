//! Renders the Service guides list and an item page with the software renderer to PNG files a
//! person can look at, and checks that the category labels render as distinct glyphs (missing
//! glyphs would all draw the same box).
//!
//! One test per file: the rendering platform can be installed once per process.

mod common;

use common::{button_pixels, portrait_window, save_png, snapshot};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use ui::{AppState, GuideDetailRow, GuideListItem, GuidesAdapter, MainWindow, Page};

fn fill(app: &MainWindow) {
    let guides = app.global::<GuidesAdapter>();
    let categories: Vec<SharedString> =
        ["社会保险", "医疗保障", "社会救助", "就业服务", "残疾人服务"]
            .into_iter()
            .map(SharedString::from)
            .collect();
    guides.set_categories(ModelRc::new(VecModel::from(categories)));
    let item = |code: &str, name: &str, category: &str, limit: &str| GuideListItem {
        code: code.into(),
        name: name.into(),
        category: category.into(),
        time_limit_text: limit.into(),
    };
    guides.set_items(ModelRc::new(VecModel::from(vec![
        item(
            "GX-SB-001",
            "城乡居民基本养老保险参保登记",
            "社会保险",
            "即办",
        ),
        item(
            "GX-SB-002",
            "城乡居民养老保险待遇领取申请",
            "社会保险",
            "15个工作日",
        ),
    ])));
    guides.set_selected_category("社会保险".into());
    guides.set_item_name("城乡居民基本养老保险参保登记".into());
    let row = |label: &str, value: &str| GuideDetailRow {
        label: label.into(),
        value: value.into(),
    };
    guides.set_item_rows(ModelRc::new(VecModel::from(vec![
        row(
            "申请条件",
            "1. 年满16周岁（不含在校学生）\n2. 在户籍所在地参保",
        ),
        row(
            "申请材料",
            "1. 居民身份证（原件 1 份）\n2. 居民户口簿（原件 1 份，核对后当场退还）",
        ),
        row(
            "办理流程",
            "1. 在便民服务亭提交参保登记申请\n2. 村（社区）协办员初审",
        ),
        row("办理时限", "即办"),
        row("收费标准", "免费"),
        row("受理单位", "凤岭乡人力资源和社会保障服务中心"),
        row("办公地址", "示范县凤岭乡政府大院 1 号楼"),
        row("咨询电话", "0775-5550101"),
        row("投诉电话", "0775-5550100"),
        row("设定依据", "《中华人民共和国社会保险法》"),
    ])));
}

#[test]
fn guides_render_in_chinese_english_and_large_text() {
    let app = portrait_window();
    let state = app.global::<AppState>();
    state.set_current_page(Page::Guides);
    fill(&app);
    app.show().expect("show the window");

    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");
    let list = snapshot(&app);
    let path = save_png(&list, "guides-list-zh_CN.png");
    let (a, b) = (
        button_pixels(&app, &list, "社会保险"),
        button_pixels(&app, &list, "医疗保障"),
    );
    assert_eq!(a.len(), b.len(), "category tiles have one size");
    assert_ne!(
        a, b,
        "two categories render the same: glyphs missing (boxes)?"
    );

    state.set_large_text(true);
    save_png(&snapshot(&app), "guides-list-zh_CN-large-text.png");
    state.set_large_text(false);

    app.global::<GuidesAdapter>().set_item_open(true);
    let item = snapshot(&app);
    save_png(&item, "guides-item-zh_CN.png");
    assert_ne!(item.as_bytes(), list.as_bytes(), "the item page differs");
    state.set_large_text(true);
    save_png(&snapshot(&app), "guides-item-zh_CN-large-text.png");
    state.set_large_text(false);

    ui::select_language(&app, "en").expect("English is bundled");
    save_png(&snapshot(&app), "guides-item-en.png");
    app.global::<GuidesAdapter>().set_item_open(false);
    save_png(&snapshot(&app), "guides-list-en.png");

    eprintln!("Guides screenshots written next to {}", path.display());
}
