//! Renders each step of 我要办理 with the software renderer to PNG files a person can look at
//! (Chinese, English, large text; and the receipt at 1920×1080 and 800×1280), and checks that
//! the receipt's QR code is drawn large and that two item names render as distinct glyphs.
//!
//! One test per file: the rendering platform can be installed once per process.

mod common;

use common::{button_pixels, portrait_window, render, save_png, snapshot};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::platform::PointerEventButton;
use slint::{
    ComponentHandle, Model, ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel,
};
use ui::{
    AppState, ApplyAdapter, ApplyCatalogueState, ApplyField, ApplyFieldKind, ApplyFieldProblem,
    ApplyItem, ApplyMaterial, ApplyPhotoState, ApplyReviewRow, ApplyStep, MainWindow, Page,
    PrintState,
};

const STEPS: [(ApplyStep, &str); 9] = [
    (ApplyStep::ChooseItem, "choose-item"),
    (ApplyStep::ReadCard, "card"),
    (ApplyStep::TypeId, "type-id"),
    (ApplyStep::Confirm, "confirm"),
    (ApplyStep::Form, "form"),
    (ApplyStep::Materials, "materials"),
    (ApplyStep::Photo, "photo"),
    (ApplyStep::Review, "review"),
    (ApplyStep::Receipt, "receipt"),
];

/// A printed page with a red seal, lying on a grey desk (`on_desk`) or flattened: stands in
/// for the camera's picture, which the booth hands the screen as pixels.
fn page_picture(width: u32, height: u32, on_desk: bool) -> slint::Image {
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(width, height);
    let (w, h) = (width as f32, height as f32);
    let margin = if on_desk { 0.15 } else { 0.0 };
    for (index, pixel) in buffer.make_mut_slice().iter_mut().enumerate() {
        let (x, y) = (
            (index as u32 % width) as f32 / w,
            (index as u32 / width) as f32 / h,
        );
        let on_page =
            (margin..1.0 - margin).contains(&x) && (margin / 2.0..1.0 - margin / 2.0).contains(&y);
        let (u, v) = (
            (x - margin) / (1.0 - 2.0 * margin),
            (y - margin / 2.0) / (1.0 - margin),
        );
        let seal = ((u - 0.7).powi(2) + (v - 0.8).powi(2)).sqrt() < 0.1;
        let line = (0.1..0.9).contains(&u) && ((v * 20.0).fract() < 0.15) && v < 0.65;
        *pixel = match (on_page, seal, line) {
            (false, _, _) => Rgb8Pixel {
                r: 90,
                g: 90,
                b: 96,
            },
            (true, true, _) => Rgb8Pixel {
                r: 205,
                g: 32,
                b: 40,
            },
            (true, false, true) => Rgb8Pixel {
                r: 30,
                g: 30,
                b: 30,
            },
            _ => Rgb8Pixel {
                r: 250,
                g: 250,
                b: 245,
            },
        };
    }
    slint::Image::from_rgb8(buffer)
}

fn fill_materials(apply: &ApplyAdapter<'_>) {
    let page = page_picture(170, 240, false);
    let material = |name: &str, original, count, note: &str, pages: usize, later| ApplyMaterial {
        name: name.into(),
        original,
        count,
        note: note.into(),
        pages: ModelRc::new(VecModel::from(vec![page.clone(); pages])),
        later,
    };
    apply.set_with_materials(true);
    apply.set_materials(ModelRc::new(VecModel::from(vec![
        material("老年人居民身份证", true, 1, "正反面都要拍", 2, false),
        material("居民户口簿", false, 1, "户主页和本人页", 1, false),
        material("惠农补贴“一卡通”存折或银行卡", false, 1, "", 0, true),
        material("代办人居民身份证", false, 1, "本人申请的不需要", 0, false),
    ])));
    apply.set_photo_material("居民户口簿".into());
    apply.set_photo_page(2);
    apply.set_photo_state(ApplyPhotoState::Preview);
    apply.set_photo_page_found(true);
    apply.set_photo_preview(page_picture(640, 480, true));
    apply.set_photo_taken(page_picture(707, 1000, false));
}

/// A QR-like checkerboard: the screen only shows the picture the booth draws.
fn qr_like() -> slint::Image {
    let modules = 29;
    let side = modules * 8;
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(side, side);
    let width = side as usize;
    for (index, pixel) in buffer.make_mut_slice().iter_mut().enumerate() {
        let (x, y) = (index % width / 8, index / width / 8);
        let dark = (4..25).contains(&x) && (4..25).contains(&y) && (x * 7 + y * 3) % 5 < 2;
        let value = if dark { 0 } else { 255 };
        *pixel = Rgb8Pixel {
            r: value,
            g: value,
            b: value,
        };
    }
    slint::Image::from_rgb8(buffer)
}

fn fill(app: &MainWindow) {
    let apply = app.global::<ApplyAdapter>();
    let item = |code: &str, name: &str, name_en: &str, days: i32| ApplyItem {
        code: code.into(),
        name: name.into(),
        name_en: name_en.into(),
        time_limit_days: days,
    };
    apply.set_catalogue_state(ApplyCatalogueState::Ready);
    apply.set_items(ModelRc::new(VecModel::from(vec![
        item("GX-MZ-003", "高龄津贴申领", "Old-age allowance", 15),
        item(
            "GX-SB-001",
            "城乡居民基本养老保险参保登记",
            "Basic pension enrolment",
            0,
        ),
        item("GX-MZ-002", "临时救助申请", "Temporary assistance", 10),
        item(
            "GX-GA-001",
            "户籍证明开具",
            "Household registration certificate",
            0,
        ),
    ])));
    apply.set_item_name("高龄津贴申领".into());
    apply.set_item_name_en("Old-age allowance".into());
    apply.set_item_time_limit_days(15);
    apply.set_can_type_id(true);
    apply.set_holder_name("张三".into());
    apply.set_masked_id("110105********0016".into());
    apply.set_typed_id("11010519800101001".into());
    apply.set_typed_name("张三".into());
    let field = |key: &str, label: &str, kind, required, choices: &[&str], value: &str| {
        let choices: Vec<SharedString> = choices.iter().map(|c| (*c).into()).collect();
        ApplyField {
            key: key.into(),
            label: label.into(),
            kind,
            required,
            choices: ModelRc::new(VecModel::from(choices)),
            value: value.into(),
            problem: ApplyFieldProblem::None,
        }
    };
    let mut phone = field(
        "phone",
        "联系电话",
        ApplyFieldKind::Phone,
        true,
        &[],
        "1380000",
    );
    phone.problem = ApplyFieldProblem::NotAPhone;
    apply.set_fields(ModelRc::new(VecModel::from(vec![
        field(
            "agent_relation",
            "代办人与老人关系",
            ApplyFieldKind::Choice,
            false,
            &["本人申请", "子女", "配偶", "其他亲属", "村干部"],
            "子女",
        ),
        field(
            "occurred_on",
            "发生日期",
            ApplyFieldKind::Date,
            true,
            &[],
            "",
        ),
        phone,
        field("details", "情况说明", ApplyFieldKind::Text, false, &[], ""),
    ])));
    apply.set_review_rows(ModelRc::new(VecModel::from(vec![
        ApplyReviewRow {
            label: "代办人与老人关系".into(),
            value: "子女".into(),
        },
        ApplyReviewRow {
            label: "联系电话".into(),
            value: "13800000000".into(),
        },
    ])));
    apply.set_receipt_number("K0001-000042-7".into());
    apply.set_receipt_time("2026-11-26 14:05".into());
    apply.set_office_name("凤岭乡民政办".into());
    apply.set_office_phone("0775-5550101".into());
    apply.set_receipt_qr(qr_like());
    apply.set_print_state(PrintState::Printed);
    fill_materials(&apply);
}

fn render_steps(app: &MainWindow, suffix: &str) {
    let apply = app.global::<ApplyAdapter>();
    for (step, name) in STEPS {
        apply.set_step(step);
        save_png(&snapshot(app), &format!("apply-{name}-{suffix}.png"));
    }
    apply.set_step(ApplyStep::Receipt);
    apply.set_print_state(PrintState::PaperOut);
    save_png(
        &snapshot(app),
        &format!("apply-receipt-paper-out-{suffix}.png"),
    );
    apply.set_print_state(PrintState::Printed);
    apply.set_step(ApplyStep::Photo);
    for (state, name) in [
        (ApplyPhotoState::Check, "check"),
        (ApplyPhotoState::Unavailable, "unavailable"),
    ] {
        apply.set_photo_state(state);
        save_png(&snapshot(app), &format!("apply-photo-{name}-{suffix}.png"));
    }
    apply.set_photo_state(ApplyPhotoState::Preview);
}

/// The review and the receipt of an application on a booth without a camera, its materials
/// to come by phone; the upload code is drawn in its box.
fn render_phone_upload(app: &MainWindow, suffix: &str) {
    let apply = app.global::<ApplyAdapter>();
    let materials = apply.get_materials();
    let none_taken: Vec<ApplyMaterial> = (0..materials.row_count())
        .filter_map(|row| materials.row_data(row))
        .map(|material| ApplyMaterial {
            pages: ModelRc::new(VecModel::from(Vec::<slint::Image>::new())),
            later: false,
            ..material
        })
        .collect();
    apply.set_with_materials(false);
    apply.set_phone_upload(true);
    apply.set_phone_upload_qr(qr_like());
    apply.set_phone_upload_until("12月3日".into());
    apply.set_materials(ModelRc::new(VecModel::from(none_taken)));
    for (step, name) in [
        (ApplyStep::Review, "review"),
        (ApplyStep::Receipt, "receipt"),
    ] {
        apply.set_step(step);
        save_png(&snapshot(app), &format!("apply-{name}-phone-{suffix}.png"));
    }
    let label = if suffix.starts_with("en") {
        "QR code for uploading materials"
    } else {
        "上传材料二维码"
    };
    let found: Vec<_> = ElementHandle::find_by_accessible_label(app, label).collect();
    assert_eq!(found.len(), 1, "one upload code on the receipt ({suffix})");
    assert!(
        found[0].size().width >= 250.0,
        "the upload code is {:?}",
        found[0].size()
    );
    apply.set_phone_upload(false);
    fill_materials(&apply);
}

/// The buttons labelled `labels` each show once, wholly inside the window.
fn buttons_on_screen(app: &MainWindow, labels: &[&str], (width, height): (u32, u32), what: &str) {
    for label in labels {
        let found: Vec<_> = ElementHandle::find_by_accessible_label(app, label)
            .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
            .collect();
        assert_eq!(found.len(), 1, "{what} at {width}×{height}: one {label}");
        let (pos, size) = (found[0].absolute_position(), found[0].size());
        assert!(
            pos.y >= 0.0
                && pos.y + size.height <= height as f32 + 0.5
                && pos.x + size.width <= width as f32 + 0.5,
            "{what} at {width}×{height}: {label} is off-screen at {pos:?} {size:?}"
        );
    }
}

/// The on-screen QR box's side, and the share of its pixels that are dark (the code drawn).
fn qr_box(app: &MainWindow, snap: &SharedPixelBuffer<slint::Rgba8Pixel>) -> (f32, f32) {
    let found: Vec<_> = ElementHandle::find_by_accessible_label(app, "回执编号二维码").collect();
    assert_eq!(found.len(), 1, "one QR code on the receipt");
    let (origin, size) = (found[0].absolute_position(), found[0].size());
    let width = snap.width() as usize;
    let pixels = snap.as_slice();
    let (x0, y0) = (origin.x as usize, origin.y as usize);
    let (w, h) = (size.width as usize, size.height as usize);
    let dark = (y0..y0 + h)
        .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = pixels[y * width + x];
            p.r < 40 && p.g < 40 && p.b < 40
        })
        .count();
    (size.width.min(size.height), dark as f32 / (w * h) as f32)
}

fn focus_text(app: &MainWindow, label: &str) {
    ElementHandle::find_by_accessible_label(app, label)
        .find(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .expect("the text field")
        .mock_single_click(PointerEventButton::Left);
}

/// The text box labelled `label` is wholly inside the visible part of its scrolled area
/// (`area`, an element id), and that is above the keyboard.
fn field_in_view(app: &MainWindow, label: &str, area: &str, what: &str) {
    let field = ElementHandle::find_by_accessible_label(app, label)
        .find(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .expect("the text field");
    let keys: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(app, "退格").collect();
    assert_eq!(keys.len(), 1, "{what}: the keyboard shows");
    let keyboard_top = keys[0].absolute_position().y;
    let area: Vec<ElementHandle> = ElementHandle::find_by_element_id(app, area).collect();
    assert_eq!(area.len(), 1, "{what}: one scrolled area");
    let (top, bottom) = (
        area[0].absolute_position().y,
        area[0].absolute_position().y + area[0].size().height,
    );
    let (pos, size) = (field.absolute_position(), field.size());
    assert!(
        pos.y >= top && pos.y + size.height <= bottom.min(keyboard_top),
        "{what}: the field at {pos:?} {size:?} is hidden (visible from {top} to {bottom}, \
         keyboard from {keyboard_top})"
    );
}

#[test]
fn apply_steps_render_in_chinese_english_and_large_text() {
    let app = portrait_window();
    let state = app.global::<AppState>();
    state.set_current_page(Page::Apply);
    fill(&app);
    app.show().expect("show the window");

    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");
    let apply = app.global::<ApplyAdapter>();
    apply.set_step(ApplyStep::ChooseItem);
    let list = snapshot(&app);
    let (a, b) = (
        button_pixels(&app, &list, "高龄津贴申领"),
        button_pixels(&app, &list, "临时救助申请"),
    );
    assert_eq!(a.len(), b.len(), "item rows have one size");
    assert_ne!(a, b, "two items render the same: glyphs missing (boxes)?");
    render_steps(&app, "zh_CN");

    // When the printer fails, the code on screen is the villager's copy: large.
    apply.set_step(ApplyStep::Receipt);
    apply.set_print_state(PrintState::PaperOut);
    let (side, dark) = qr_box(&app, &snapshot(&app));
    assert!(
        side >= 500.0,
        "the QR code is {side} px when the paper is out"
    );
    assert!(
        (0.15..0.7).contains(&dark),
        "the QR picture is drawn in its box ({dark} dark)"
    );

    state.set_large_text(true);
    render_steps(&app, "zh_CN-large-text");
    state.set_large_text(false);

    ui::select_language(&app, "en").expect("English is bundled");
    render_steps(&app, "en");
    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");

    // A booth without a camera: the review names the materials for the phone, and the
    // receipt carries the upload page's code.
    render_phone_upload(&app, "zh_CN");
    state.set_large_text(true);
    render_phone_upload(&app, "zh_CN-large-text");
    state.set_large_text(false);
    ui::select_language(&app, "en").expect("English is bundled");
    render_phone_upload(&app, "en");
    ui::select_language(&app, "zh_CN").expect("Chinese is bundled");

    // Typing: the keyboard takes the bottom of the window and the field stays in view.
    apply.set_step(ApplyStep::Form);
    focus_text(&app, "联系电话（必填）");
    let typing = snapshot(&app);
    save_png(&typing, "apply-form-typing-zh_CN.png");
    field_in_view(&app, "联系电话（必填）", "FormStep::form", "form, typing");
    apply.set_step(ApplyStep::TypeId);
    focus_text(&app, "身份证号码");
    save_png(&snapshot(&app), "apply-type-id-typing-zh_CN.png");
    field_in_view(&app, "身份证号码", "TypeIdStep::boxes", "type-id, typing");

    // The other two supported window shapes: nothing off-screen on the busiest steps.
    for (width, height) in [(1920, 1080), (800, 1280)] {
        app.window()
            .set_size(slint::PhysicalSize::new(width, height));
        for (step, name) in [
            (ApplyStep::Form, "form"),
            (ApplyStep::Receipt, "receipt"),
            (ApplyStep::ReadCard, "card"),
        ] {
            apply.set_step(step);
            let snap = render(&app);
            save_png(&snap, &format!("apply-{name}-{width}x{height}.png"));
            buttons_on_screen(&app, &["返回", "首页"], (width, height), name);
        }
        // The camera's buttons, under a picture that takes what room is left.
        apply.set_step(ApplyStep::Photo);
        apply.set_photo_state(ApplyPhotoState::Preview);
        let snap = render(&app);
        save_png(&snap, &format!("apply-photo-{width}x{height}.png"));
        buttons_on_screen(&app, &["拍照", "返回"], (width, height), "photo");
        let preview: Vec<_> =
            ElementHandle::find_by_accessible_label(&app, "拍照台上的实时画面").collect();
        assert_eq!(preview.len(), 1);
        assert!(
            preview[0].size().height >= 300.0,
            "photo at {width}×{height}: the live picture is {:?}",
            preview[0].size()
        );
        apply.set_photo_state(ApplyPhotoState::Check);
        save_png(
            &render(&app),
            &format!("apply-photo-check-{width}x{height}.png"),
        );
        buttons_on_screen(
            &app,
            &["这页可以，拍下一页", "这页可以，这份拍完了", "重拍", "返回"],
            (width, height),
            "photo check",
        );
        apply.set_photo_state(ApplyPhotoState::Preview);

        // Back from photographing a material, the list opens on the next one to do: its
        // button is on screen, however many rows above it (the last row here).
        apply.set_material_to_do(3);
        apply.set_step(ApplyStep::Materials);
        save_png(
            &render(&app),
            &format!("apply-materials-next-{width}x{height}.png"),
        );
        buttons_on_screen(
            &app,
            &["给“代办人居民身份证”拍照", "下一步", "返回"],
            (width, height),
            "materials, the last one to do",
        );
        apply.set_material_to_do(-1);
    }
    app.window().set_size(slint::PhysicalSize::new(1920, 1080));
    for (step, name, label, area) in [
        // The first box on each step: the ones below start out scrolled away.
        (
            ApplyStep::Form,
            "form",
            "发生日期（必填）",
            "FormStep::form",
        ),
        (
            ApplyStep::TypeId,
            "type-id",
            "身份证号码",
            "TypeIdStep::boxes",
        ),
    ] {
        apply.set_step(step);
        focus_text(&app, label);
        let snap = render(&app);
        save_png(&snap, &format!("apply-{name}-typing-1920x1080.png"));
        field_in_view(&app, label, area, &format!("{name} typing at 1920×1080"));
    }
    eprintln!("Apply screenshots written to target/tmp/screenshots/apply-*.png");
}
