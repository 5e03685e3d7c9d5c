//! Renders Home with the software renderer to PNG files a person can look at, and checks that
//! Chinese labels render as real glyphs: missing glyphs would all draw the same box, so two
//! tiles with different labels of equal length would come out pixel-identical.
//!
//! One test per file: the rendering platform can be installed once per process.

use std::path::{Path, PathBuf};

use i_slint_backend_testing::{
    AccessibleRole, ElementHandle, TestingBackend, TestingBackendOptions,
};
use slint::{ComponentHandle, Rgba8Pixel, SharedPixelBuffer};
use ui::{AppState, MainWindow};

const WIDTH: u32 = 1080;
const HEIGHT: u32 = 1920;

fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

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
    let path = output_dir().join(name);
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
fn tile_pixels(
    app: &MainWindow,
    snap: &SharedPixelBuffer<Rgba8Pixel>,
    label: &str,
) -> Vec<Rgba8Pixel> {
    let tile = ElementHandle::find_by_accessible_label(app, label)
        .find(|element| element.accessible_role() == Some(AccessibleRole::Button))
        .unwrap_or_else(|| panic!("no button labelled {label:?}"));
    let (origin, size) = (tile.absolute_position(), tile.size());
    let (x0, y0) = (origin.x as usize, origin.y as usize);
    let (w, h) = (size.width as usize, size.height as usize);
    let stride = snap.width() as usize;
    let pixels = snap.as_slice();
    (y0..y0 + h)
        .flat_map(|y| pixels[y * stride + x0..y * stride + x0 + w].iter().copied())
        .collect()
}

fn assert_labels_render_distinctly(
    app: &MainWindow,
    snap: &SharedPixelBuffer<Rgba8Pixel>,
    a: &str,
    b: &str,
) {
    let (pixels_a, pixels_b) = (tile_pixels(app, snap, a), tile_pixels(app, snap, b));
    assert_eq!(
        pixels_a.len(),
        pixels_b.len(),
        "tiles {a:?} and {b:?} have the same size"
    );
    let first = pixels_a[pixels_a.len() / 2];
    assert!(
        pixels_a.iter().any(|p| *p != first),
        "tile {a:?} has no visible text"
    );
    assert_ne!(
        pixels_a, pixels_b,
        "{a:?} and {b:?} render the same: glyphs missing (boxes)?"
    );
}

#[test]
fn home_renders_in_chinese_english_and_large_text() {
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
    state.set_online(false);
    state.set_waiting_count(2);
    app.show().expect("show the window");

    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");
    let chinese = snapshot(&app);
    let path = save_png(&chinese, "home-zh_CN.png");
    assert_labels_render_distinctly(&app, &chinese, "办事指南", "政务公开");
    assert_labels_render_distinctly(&app, &chinese, "我要办理", "服务评价");

    state.set_large_text(true);
    let large = snapshot(&app);
    save_png(&large, "home-zh_CN-large-text.png");
    assert_ne!(
        large.as_bytes(),
        chinese.as_bytes(),
        "large text changes the picture"
    );
    state.set_large_text(false);

    ui::select_language(&app, "en").expect("English is bundled");
    let english = snapshot(&app);
    save_png(&english, "home-en.png");
    assert_labels_render_distinctly(&app, &english, "Service guides", "Rate a service");

    eprintln!("Home screenshots written next to {}", path.display());
}
