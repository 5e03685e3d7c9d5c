//! What the screenshot tests share: the software-rendering test platform, a portrait window
//! with a village and a clock, rendering to pixels and PNG files, and the pixels of one button.

use std::path::{Path, PathBuf};

use i_slint_backend_testing::{
    AccessibleRole, ElementHandle, TestingBackend, TestingBackendOptions,
};
use slint::{ComponentHandle, Rgba8Pixel, SharedPixelBuffer};
use ui::{AppState, MainWindow};

pub const WIDTH: u32 = 1080;
pub const HEIGHT: u32 = 1920;

/// A portrait MainWindow on the software renderer. The platform can be installed once per
/// process, hence one screenshot test per file.
pub fn portrait_window() -> MainWindow {
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
    app
}

pub fn snapshot(app: &MainWindow) -> SharedPixelBuffer<Rgba8Pixel> {
    app.window().request_redraw();
    let snap = app.window().take_snapshot().expect("render the window");
    assert_eq!(
        (snap.width(), snap.height()),
        (WIDTH, HEIGHT),
        "portrait size"
    );
    snap
}

/// Writes `target/tmp/screenshots/NAME` for a person to look at.
pub fn save_png(snap: &SharedPixelBuffer<Rgba8Pixel>, name: &str) -> PathBuf {
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
pub fn button_pixels(
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
