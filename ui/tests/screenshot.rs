//! Renders Home with the software renderer to PNG files a person can look at, and checks that
//! Chinese labels render as real glyphs: missing glyphs would all draw the same box, so two
//! tiles with different labels of equal length would come out pixel-identical.
//!
//! One test per file: the rendering platform can be installed once per process.

mod common;

use common::{button_pixels, portrait_window, save_png, snapshot};
use slint::{ComponentHandle, Rgba8Pixel, SharedPixelBuffer};
use ui::{AppState, MainWindow};

fn assert_labels_render_distinctly(
    app: &MainWindow,
    snap: &SharedPixelBuffer<Rgba8Pixel>,
    a: &str,
    b: &str,
) {
    let (pixels_a, pixels_b) = (button_pixels(app, snap, a), button_pixels(app, snap, b));
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
    let app = portrait_window();
    let state = app.global::<AppState>();
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
