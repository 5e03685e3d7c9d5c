//! Renders the Service guides list and an item page with the software renderer to PNG files a
//! person can look at, and checks that the category labels render as distinct glyphs (missing
//! glyphs would all draw the same box).
//!
//! One test per file: the rendering platform can be installed once per process.

use std::path::{Path, PathBuf};

use i_slint_backend_testing::{
    AccessibleRole, ElementHandle, TestingBackend, TestingBackendOptions,
};
use slint::{ComponentHandle, ModelRc, Rgba8Pixel, SharedPixelBuffer, SharedString, VecModel};
use ui::{AppState, GuideDetailRow, GuideListItem, GuidesAdapter, MainWindow, Page};

const WIDTH: u32 = 1080;
const HEIGHT: u32 = 1920;

fn snapshot(app: &MainWindow) -> SharedPixelBuffer<Rgba8Pixel> {
    app.window().request_redraw();
    let snap = app.window().take_snapshot().expect("render the window");
    assert_eq!(
        (snap.width(), snap.height()),
        (WIDTH, HEIGHT),
        "portrait size"
    );
    snap
}

fn save_png(snap: &SharedPixelBuffer<Rgba8Pixel>, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("create the PNG file");
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), snap.width(), snap.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("write the PNG header");
    writer
        .write_image_data(snap.as_bytes())
        .expect("write the PNG pixels");
    path
}

/// The pixels inside the button labelled `label`, row by row.
fn button_pixels(
    app: &MainWindow,
    snap: &SharedPixelBuffer<Rgba8Pixel>,
    label: &str,
) -> Vec<Rgba8Pixel> {
    let button = ElementHandle::find_by_accessible_label(app, label)
        .find(|element| element.accessible_role() == Some(AccessibleRole::Button))
        .unwrap_or_else(|| panic!("no button labelled {label:?}"));
    let (origin, size) = (button.absolute_position(), button.size());
    let (x0, y0) = (origin.x as usize, origin.y as usize);
    let (w, h) = (size.width as usize, size.height as usize);
    let stride = snap.width() as usize;
    let pixels = snap.as_slice();
    (y0..y0 + h)
        .flat_map(|y| pixels[y * stride + x0..y * stride + x0 + w].iter().copied())
        .collect()
}

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
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .expect("install the software-rendering test platform");

    let app = MainWindow::new().expect("create MainWindow");
    app.window()
        .set_size(slint::PhysicalSize::new(WIDTH, HEIGHT));
    let state = app.global::<AppState>();
    state.set_village_name("石桥村便民服务站".into());
    state.set_date_time("2026年11月26日 星期四 14:05".into());
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
