//! What the screenshot tests share: the software-rendering test platform, a portrait window
//! with a village and a clock, rendering to pixels and PNG files, and the pixels of one button.
//! Each test binary uses part of it.
#![allow(dead_code)]

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

/// Renders the window at whatever size it has now.
pub fn render(app: &MainWindow) -> SharedPixelBuffer<Rgba8Pixel> {
    app.window().request_redraw();
    app.window().take_snapshot().expect("render the window")
}

/// Renders the portrait window.
pub fn snapshot(app: &MainWindow) -> SharedPixelBuffer<Rgba8Pixel> {
    let snap = render(app);
    assert_eq!(
        (snap.width(), snap.height()),
        (WIDTH, HEIGHT),
        "portrait size"
    );
    snap
}

/// Writes `target/tmp/screenshots/NAME` for a person to look at, and compares it with the
/// reference `docs/screenshots/NAME` (the pictures the README shows).
///
/// `UPDATE_SCREENSHOTS=1` writes the references instead (look at them before committing); a
/// missing reference fails, so a new screen cannot pass unseen.
pub fn save_png(snap: &SharedPixelBuffer<Rgba8Pixel>, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    let path = dir.join(name);
    write_png(snap, &path);
    let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/screenshots")
        .join(name);
    let update = std::env::var_os("UPDATE_SCREENSHOTS").is_some_and(|v| v == "1");
    if update {
        std::fs::create_dir_all(reference.parent().expect("a folder")).expect("docs/screenshots");
        write_png(snap, &reference);
        eprintln!("wrote the reference {}", reference.display());
        return path;
    }
    assert!(
        reference.exists(),
        "{name}: no reference picture {}: look at {}, then rerun with UPDATE_SCREENSHOTS=1 and commit docs/screenshots",
        reference.display(),
        path.display()
    );
    let (width, height, expected) = read_png(&reference);
    assert_eq!(
        (width, height),
        (snap.width(), snap.height()),
        "{name}: size differs from {}",
        reference.display()
    );
    let differing = snap
        .as_bytes()
        .chunks_exact(4)
        .zip(expected.chunks_exact(4))
        .filter(|(a, b)| a.iter().zip(b.iter()).any(|(x, y)| x.abs_diff(*y) > 40))
        .count();
    let total = (width * height) as usize;
    // Anti-aliasing may move by a pixel between machines; a changed word or layout moves
    // thousands.
    assert!(
        differing * 1000 <= total,
        "{name}: {differing} of {total} pixels differ from the reference: compare {} with {}; if the change is intended, rerun with UPDATE_SCREENSHOTS=1 and commit docs/screenshots",
        path.display(),
        reference.display()
    );
    path
}

fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("open the reference PNG"),
    ));
    let mut reader = decoder.read_info().expect("read the reference PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane PNG size")];
    let info = reader
        .next_frame(&mut pixels)
        .expect("decode the reference PNG");
    assert_eq!(
        info.color_type,
        png::ColorType::Rgba,
        "{} is not RGBA: regenerate it with UPDATE_SCREENSHOTS=1",
        path.display()
    );
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

fn write_png(snap: &SharedPixelBuffer<Rgba8Pixel>, path: &Path) {
    let file = std::fs::File::create(path).expect("create the PNG file");
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), snap.width(), snap.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("write the PNG header");
    writer
        .write_image_data(snap.as_bytes())
        .expect("write the PNG pixels");
}

/// Renders and saves the window at another size (a landscape booth, a small panel), then
/// returns it to portrait.
pub fn save_at_size(app: &MainWindow, width: u32, height: u32, name: &str) {
    app.window()
        .set_size(slint::PhysicalSize::new(width, height));
    save_png(&render(app), name);
    app.window()
        .set_size(slint::PhysicalSize::new(WIDTH, HEIGHT));
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
