//! The page's quadrilateral onto an upright rectangle: perspective and skew out in one
//! projective map, sampled bilinearly from the full still.

use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::{Border, Interpolation, Projection, warp_into};

use super::PageSettings;
use super::edges::Quad;
use crate::camera::emulator::A4_MM;

/// How close (as a share) a page's proportions must be to A4's to be taken as A4.
const A4_TOLERANCE: f32 = 0.08;

/// The flattened page's size: A4 at the settings' resolution when the page has A4's
/// proportions (either way up), otherwise its own proportions at that resolution's long side;
/// never enlarged past `max_upscale`.
pub fn output_size(quad: &Quad, settings: &PageSettings) -> (u32, u32) {
    let [top, right, bottom, left] = quad.sides();
    let across = (top + bottom) / 2.0;
    let down = (left + right) / 2.0;
    let (long, short) = (across.max(down), across.min(down).max(1.0));
    let a4_ratio = A4_MM.0 / A4_MM.1;
    let ratio = short / long;
    let ratio = if (ratio - a4_ratio).abs() / a4_ratio < A4_TOLERANCE {
        a4_ratio
    } else {
        ratio
    };
    let target_long = A4_MM.1 / 25.4 * settings.dpi as f32;
    let long_px = target_long
        .min(long * settings.max_upscale)
        .round()
        .max(1.0);
    let short_px = (long_px * ratio).round().max(1.0);
    if down >= across {
        (short_px as u32, long_px as u32)
    } else {
        (long_px as u32, short_px as u32)
    }
}

/// The page inside `quad`, flattened to `size`.
pub fn flatten(still: &RgbImage, quad: &Quad, (width, height): (u32, u32)) -> RgbImage {
    let (w, h) = (width as f32, height as f32);
    let to_still =
        Projection::from_control_points([(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)], quad.0);
    let mut out = RgbImage::new(width, height);
    match to_still {
        // warp_into maps input to output; the inverse of page → still is still → page.
        Some(page_to_still) => warp_into(
            still,
            page_to_still.invert(),
            Interpolation::Bilinear,
            Border::Constant(Rgb([255, 255, 255])),
            &mut out,
        ),
        // Three corners in a line: no page to flatten, so the still is scaled as it is.
        None => {
            out =
                image::imageops::resize(still, width, height, image::imageops::FilterType::Triangle)
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::emulator::{DocumentScene, page_pixel};

    #[test]
    fn an_a4_page_comes_out_at_200_dpi_either_way_up() {
        let settings = PageSettings::default();
        let portrait = Quad([
            (100.0, 50.0),
            (1500.0, 60.0),
            (1510.0, 2030.0),
            (95.0, 2020.0),
        ]);
        assert_eq!(output_size(&portrait, &settings), (1654, 2339));
        let landscape = Quad([(0.0, 0.0), (2100.0, 0.0), (2100.0, 1480.0), (0.0, 1480.0)]);
        assert_eq!(output_size(&landscape, &settings), (2339, 1654));
        // A receipt: its own proportions; a small still: enlarged 1.5 times at most.
        let strip = Quad([(0.0, 0.0), (300.0, 0.0), (300.0, 900.0), (0.0, 900.0)]);
        assert_eq!(output_size(&strip, &settings), (450, 1350));
    }

    #[test]
    fn the_flattened_page_matches_the_printed_one() {
        let scene = DocumentScene::a4_on_desk(1296, 972, 2);
        let still = scene.render();
        let (w, h) = (420, 594);
        let flat = flatten(&still, &Quad(scene.corners), (w, h));
        // Compare with the page drawn straight, pixel by pixel, away from the edges.
        let mut differ = 0;
        let mut total = 0;
        for y in (10..h - 10).step_by(3) {
            for x in (10..w - 10).step_by(3) {
                let want = page_pixel((x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32, 2);
                let got = flat.get_pixel(x, y);
                total += 1;
                if (0..3).any(|c| want.0[c].abs_diff(got.0[c]) > 90) {
                    differ += 1;
                }
            }
        }
        assert!(
            differ * 100 < total * 6,
            "{differ} of {total} pixels differ"
        );
    }
}
