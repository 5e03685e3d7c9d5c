//! The emulated document camera: a printed A4 form with a red seal lying on a desk under the
//! camera, seen in perspective, sent as the MJPEG frames a UVC camera sends (an `AVI1` marker and
//! no Huffman tables) or as YUYV.
//!
//! The page is drawn from its own coordinates through a projective map, so tests know where its
//! corners are in the frame and what its seal and text look like once the page is flattened.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::Projection;

use super::frame::{Frame, PixelFormat, rgb_to_yuyv};

/// A4's sides, in millimetres.
pub const A4_MM: (f32, f32) = (210.0, 297.0);

/// The seal's red, as printed (a 公章's ink).
pub const SEAL_RED: Rgb<u8> = Rgb([205, 32, 40]);

/// Where the page lies and what the camera sees.
#[derive(Debug, Clone)]
pub struct DocumentScene {
    /// The frame's size: 2592 × 1944 (5 MP) is a common 高拍仪 sensor.
    pub width: u32,
    pub height: u32,
    /// The page's corners in the frame, clockwise from its top left.
    pub corners: [(f32, f32); 4],
    /// A number printed on the page, so two pages (or a retaken page) differ; `None` is the
    /// empty desk, before a page is placed.
    pub page: Option<u32>,
    /// Desk shade: darker desks give a page more contrast.
    pub desk: Rgb<u8>,
}

impl DocumentScene {
    /// An A4 page placed by hand: slightly turned, its far edge shorter (the camera's arm is
    /// not quite over the page's centre), filling most of the frame.
    pub fn a4_on_desk(width: u32, height: u32, page_number: u32) -> DocumentScene {
        let (w, h) = (width as f32, height as f32);
        // The page's height takes 88 % of the frame's; A4 proportions, turned by about 4°.
        let page_h = h * 0.88;
        let page_w = page_h * A4_MM.0 / A4_MM.1;
        let (cx, cy) = (w * 0.5, h * 0.5);
        let angle = 4.0f32.to_radians();
        let (sin, cos) = angle.sin_cos();
        let place = |x: f32, y: f32, inset: f32| {
            let x = x * (1.0 - inset);
            (cx + x * cos - y * sin, cy + x * sin + y * cos)
        };
        let (hw, hh) = (page_w / 2.0, page_h / 2.0);
        DocumentScene {
            width,
            height,
            corners: [
                place(-hw, -hh, 0.04),
                place(hw, -hh, 0.04),
                place(hw, hh, 0.0),
                place(-hw, hh, 0.0),
            ],
            page: Some(page_number),
            desk: Rgb([62, 52, 44]),
        }
    }

    /// From the page's unit square (0..1 across, 0..1 down) to the frame.
    pub fn page_to_frame(&self) -> Projection {
        Projection::from_control_points(
            [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)],
            self.corners,
        )
        .expect("the page's corners are a proper quadrilateral")
    }

    /// The picture the camera sees.
    pub fn render(&self) -> RgbImage {
        let to_page = self.page_to_frame().invert();
        let desk = self.desk;
        RgbImage::from_fn(self.width, self.height, |x, y| {
            let (u, v) = to_page * (x as f32 + 0.5, y as f32 + 0.5);
            let on_page = (0.0..1.0).contains(&u) && (0.0..1.0).contains(&v);
            if let (true, Some(number)) = (on_page, self.page) {
                page_pixel(u, v, number)
            } else {
                // A desk with a little grain, so it is not a flat colour to the edge finder.
                let grain = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 13) as u8;
                Rgb([desk[0] + grain, desk[1] + grain, desk[2] + grain])
            }
        })
    }

    /// One frame as a UVC camera sends it in MJPEG mode.
    pub fn mjpeg_frame(&self, quality: u8) -> Frame {
        let jpeg = encode_jpeg(&self.render(), quality);
        Frame {
            width: self.width,
            height: self.height,
            format: PixelFormat::Mjpeg,
            bytes: as_uvc_mjpeg(&jpeg),
        }
    }

    /// One frame as a camera sends it in YUYV mode.
    pub fn yuyv_frame(&self) -> Frame {
        Frame {
            width: self.width,
            height: self.height,
            format: PixelFormat::Yuyv,
            bytes: rgb_to_yuyv(&self.render()),
        }
    }
}

/// Publishes `frame` as the only frame of a recorded camera's folder (a
/// [`ReplaySource`](super::ReplaySource) reads it from the next frame on). The file is written
/// aside and renamed, so a reader never sees half a frame.
pub fn publish(folder: &Path, frame: &Frame) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(folder)?;
    let name = match frame.format {
        PixelFormat::Mjpeg => "frame.jpg".to_owned(),
        PixelFormat::Yuyv => format!("frame-{}x{}.yuyv", frame.width, frame.height),
    };
    let path = folder.join(&name);
    let aside = folder.join(format!(".{name}.part"));
    std::fs::write(&aside, &frame.bytes)?;
    std::fs::rename(&aside, &path)?;
    for entry in std::fs::read_dir(folder)? {
        let other = entry?.path();
        let is_frame = matches!(
            other.extension().and_then(|e| e.to_str()),
            Some("jpg" | "jpeg" | "yuyv")
        );
        if is_frame && other != path {
            std::fs::remove_file(other)?;
        }
    }
    Ok(path)
}

fn encode_jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    // UVC cameras send 4:2:2.
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_2);
    encoder
        .encode(
            image.as_raw(),
            image.width() as u16,
            image.height() as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("a frame within JPEG's size limit encodes");
    out
}

/// A JPEG as a UVC camera's MJPEG: the `AVI1` application marker instead of JFIF's, and no
/// Huffman tables (the decoder uses the standard ones, which the encoder used).
pub fn as_uvc_mjpeg(jpeg: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&super::frame::AVI1_MARKER);
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        let marker = jpeg[at + 1];
        if marker == 0xDA {
            break;
        }
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let segment = &jpeg[at..(at + 2 + length).min(jpeg.len())];
        if marker != 0xC4 && marker != 0xE0 {
            out.extend_from_slice(segment);
        }
        at += 2 + length;
    }
    out.extend_from_slice(&jpeg[at.min(jpeg.len())..]);
    out
}

/// Where the seal sits on the page, as fractions of its width and height, and its radius as a
/// fraction of its width (a 42 mm 公章 on a 210 mm page).
pub const SEAL_CENTRE: (f32, f32) = (0.70, 0.80);
pub const SEAL_RADIUS: f32 = 0.1;

/// The page's colour at `(u, v)`: a form's title, lines of text, a table, a page number and the
/// seal over the signature.
pub fn page_pixel(u: f32, v: f32, page_number: u32) -> Rgb<u8> {
    let paper = Rgb([246, 244, 236]);
    let ink = Rgb([28, 28, 32]);
    let aspect = A4_MM.1 / A4_MM.0;
    // The seal is drawn over whatever is below it, as stamped ink is.
    let (dx, dy) = (u - SEAL_CENTRE.0, (v - SEAL_CENTRE.1) * aspect);
    let r = (dx * dx + dy * dy).sqrt();
    if r < SEAL_RADIUS {
        let ring = r > SEAL_RADIUS * 0.90;
        let star = in_star(dx / (SEAL_RADIUS * 0.35), dy / (SEAL_RADIUS * 0.35));
        // The seal's lettering: blocks along the arc between the ring and the star.
        let angle = dy.atan2(dx);
        let letters = r > SEAL_RADIUS * 0.62
            && r < SEAL_RADIUS * 0.82
            && angle < -0.3
            && angle > -2.85
            && ((angle * 9.0).rem_euclid(1.0) < 0.62);
        if ring || star || letters {
            return SEAL_RED;
        }
    }
    let text = |top: f32, height: f32, left: f32, right: f32, seed: u32| -> bool {
        if !(top..top + height).contains(&v) || !(left..right).contains(&u) {
            return false;
        }
        // Characters: squares with a gap, each its own pattern of strokes.
        let cell = height * aspect;
        let column = ((u - left) / cell) as u32;
        let (cu, cv) = (((u - left) / cell).fract(), (v - top) / height);
        if cu > 0.84 {
            return false;
        }
        let h = hash(column.wrapping_mul(31).wrapping_add(seed));
        let horizontal =
            (0..3).any(|k| h >> k & 1 == 1 && (cv - (0.2 + 0.3 * k as f32)).abs() < 0.07);
        let vertical =
            (0..3).any(|k| h >> (k + 3) & 1 == 1 && (cu - (0.15 + 0.28 * k as f32)).abs() < 0.06);
        horizontal || vertical
    };
    // Title, centred.
    if text(0.07, 0.032, 0.30, 0.70, 1) {
        return ink;
    }
    // Body lines of varying length.
    for line in 0..12u32 {
        let top = 0.16 + line as f32 * 0.036;
        let right = 0.55 + (hash(line + 7) % 35) as f32 / 100.0;
        if text(top, 0.016, 0.10, right.min(0.9), line * 97 + 5) {
            return ink;
        }
    }
    // A table of four rows.
    let table = (0.62..0.74).contains(&v) && (0.10..0.90).contains(&u);
    if table {
        let rule = 0.0015;
        let row_lines = (0..5).any(|k| (v - (0.62 + 0.03 * k as f32)).abs() < rule);
        let col_lines = [0.10, 0.35, 0.90].iter().any(|c| (u - c).abs() < rule);
        if row_lines || col_lines {
            return ink;
        }
    }
    // The page number, bottom centre: as many bars as the number.
    if (0.94..0.955).contains(&v) {
        let start = 0.5 - page_number as f32 * 0.006;
        let k = (u - start) / 0.012;
        if k >= 0.0 && (k as u32) < page_number && k.fract() < 0.5 {
            return ink;
        }
    }
    paper
}

fn in_star(x: f32, y: f32) -> bool {
    // A five-pointed star of outer radius 1: inside when within the radius the star's outline
    // has at this angle.
    let r = (x * x + y * y).sqrt();
    if r > 1.0 {
        return false;
    }
    let angle = y.atan2(x) + std::f32::consts::FRAC_PI_2;
    let sector = std::f32::consts::TAU / 5.0;
    let a = (angle.rem_euclid(sector) - sector / 2.0).abs() / (sector / 2.0);
    let inner = 0.382;
    r < inner + (1.0 - inner) * (1.0 - a)
}

fn hash(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emulated_frame_is_a_uvc_mjpeg_that_still_decodes() {
        let scene = DocumentScene::a4_on_desk(320, 240, 1);
        let frame = scene.mjpeg_frame(85);
        let bytes = &frame.bytes;
        assert!(bytes.windows(4).any(|w| w == b"AVI1"), "AVI1 marker");
        assert!(
            !has_segment(bytes, 0xC4),
            "no Huffman tables, as from a UVC camera"
        );
        let rgb = frame.to_rgb().expect("decodes with the standard tables");
        // The desk in a corner, the paper in the middle.
        assert!(rgb.get_pixel(2, 2).0[0] < 100);
        assert!(rgb.get_pixel(160, 30).0[0] > 200);
    }

    fn has_segment(jpeg: &[u8], wanted: u8) -> bool {
        let mut at = 2;
        while at + 4 <= jpeg.len() && jpeg[at + 1] != 0xDA {
            if jpeg[at + 1] == wanted {
                return true;
            }
            at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        }
        false
    }
}
