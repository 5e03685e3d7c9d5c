//! 我要办理 on a booth without a document camera: the review says the materials go by phone,
//! and the receipt, on screen and on paper, carries a second QR code under 用手机上传申请材料:
//! the county server's one-time page for this application. Once the application has reached
//! the county, a phone (an HTTP client posting the page's form, as its browser would) uploads
//! a photograph of the household register there; the page then says it was used, and a second
//! upload through the same code keeps nothing.

mod app_apply_common;
mod common;

use app_apply_common::{
    adapter, fill_old_age_form, identify_by_card, open_item, qr_and_text, step, submit,
};
use common::{BoothOptions, TestBooth};
use ui::ApplyStep;

/// A phone's photograph of a page: a JPEG of `width` × `height` pixels.
fn photo(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        let line = y % 40 < 3 && (60..width - 60).contains(&x);
        let shade = if line { 30 } else { 245 };
        image::Rgb([shade, shade, shade])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&picture)
        .expect("encode a photograph");
    jpeg
}

/// The phone page's form with one photograph for the material at `index`.
fn form(index: usize, name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "----booth-phone-test-7Qw";
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"m{index}\"; filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// What the server answers a phone: status and page.
fn phone(booth: &TestBooth, url: &str, upload: Option<(String, Vec<u8>)>) -> (u16, String) {
    booth.server.block_on(async {
        let client = reqwest::Client::new();
        let request = match upload {
            None => client.get(url),
            Some((content_type, body)) => client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body),
        };
        let response = request.send().await.expect("the phone reaches the county");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a page"))
    })
}

#[test]
fn without_a_camera_the_receipt_carries_the_phone_page_and_a_phone_uploads_there_once() {
    let booth = TestBooth::start(BoothOptions::default());
    open_item(&booth, "高龄津贴申领");
    identify_by_card(&booth);
    fill_old_age_form(&booth);
    assert_eq!(step(&booth), ApplyStep::Review, "no camera step");
    assert!(
        booth.shows(
            "本服务亭不能拍照。提交后，回执上有“用手机上传材料”的二维码：用手机扫码，就能给下面的材料拍照上传。没有手机的，请把材料交到窗口。"
        ),
        "the review says how the materials go"
    );
    assert!(booth.shows("居民户口簿"), "and names them");

    let number = submit(&booth);
    assert!(adapter(&booth).get_phone_upload());
    assert!(booth.shows("用手机上传申请材料"));
    assert!(
        adapter(&booth).get_phone_upload_qr().size().width >= 200,
        "the upload code is drawn on screen too"
    );
    let printed = booth.printed(1);
    let (codes, text) = qr_and_text(&printed[0]);
    assert_eq!(
        codes.len(),
        2,
        "the progress code and the upload code: {codes:?}"
    );
    assert_eq!(codes[0], number);
    let url = codes[1].clone();
    let prefix = format!("{}/m/", booth.server.url);
    assert!(url.starts_with(&prefix), "{url}");
    assert!(
        sync_protocol::phone_upload::is_token(&url[prefix.len()..]),
        "{url}"
    );
    assert!(text.contains("用手机上传申请材料"), "{text}");
    // Lines wrap at the paper's width.
    assert!(
        text.replace('\n', "").contains("前有效，只能上传一次"),
        "{text}"
    );

    booth.eventually("the county has the application", |b| {
        b.server.receipt_numbers().contains(&number)
    });
    let (status, page) = phone(&booth, &url, None);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&number) && page.contains("居民户口簿"),
        "{page}"
    );
    assert!(!page.contains("张三"), "no name on the phone page");

    // 高龄津贴申领's second material is the household register (index 1).
    let (status, done) = phone(
        &booth,
        &url,
        Some(form(1, "IMG_0001.jpg", &photo(1200, 1600))),
    );
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("已收到 1 页材料"), "{done}");

    let (_, again) = phone(
        &booth,
        &url,
        Some(form(1, "IMG_0002.jpg", &photo(1200, 1600))),
    );
    assert!(
        again.contains("这个链接已经用过了") && again.contains("已收到 1 页材料"),
        "a second upload is not taken, and the page says what the first brought: {again}"
    );
    let (_, used) = phone(&booth, &url, None);
    assert!(used.contains("这个链接已经用过了"), "{used}");
}
