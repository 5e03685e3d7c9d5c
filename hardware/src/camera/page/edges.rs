//! Finding the page: the largest bright region on the darker mat, reduced to four corners.
//!
//! The search runs on a copy about 512 pixels across (edges are large features; the full still
//! would take ten times as long for the same corners), blurred so text does not break the page's
//! outline, split into page and mat by Otsu's threshold. The largest outer contour's convex hull
//! is simplified to a polygon; four corners are taken as they are, anything else (a finger over
//! a corner, a curled edge) as the hull's smallest enclosing rectangle.

use image::{GrayImage, RgbImage, imageops};
use imageproc::contours::{BorderType, find_contours};
use imageproc::contrast::{ThresholdType, otsu_level, threshold};
use imageproc::geometry::{
    approximate_polygon_dp, arc_length, contour_area, convex_hull, min_area_rect,
};
use imageproc::point::Point;

/// A page's corners in the still, clockwise from its top left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quad(pub [(f32, f32); 4]);

impl Quad {
    /// The whole still, when no page was found.
    pub fn whole(width: u32, height: u32) -> Quad {
        let (w, h) = (width as f32, height as f32);
        Quad([(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)])
    }

    /// The lengths of its top, right, bottom and left sides.
    pub fn sides(&self) -> [f32; 4] {
        let c = self.0;
        std::array::from_fn(|i| distance(c[i], c[(i + 1) % 4]))
    }
}

fn distance(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// The side the search copy is scaled to.
const SEARCH_SIDE: u32 = 512;
/// A page covers at least this share of the still, and at most the next: beyond it, the
/// "page" is the frame itself (no mat in view).
const MIN_COVER: f64 = 0.12;
const MAX_COVER: f64 = 0.97;

/// The page's corners in `still`, or `None` when no page stands out from its surroundings.
pub fn find_page(still: &RgbImage) -> Option<Quad> {
    let (width, height) = still.dimensions();
    let scale = SEARCH_SIDE as f32 / width.max(height) as f32;
    let (sw, sh) = (
        ((width as f32 * scale).round() as u32).max(1),
        ((height as f32 * scale).round() as u32).max(1),
    );
    let small: GrayImage = imageops::grayscale(&imageops::resize(
        still,
        sw,
        sh,
        imageops::FilterType::Triangle,
    ));
    let blurred = imageproc::filter::gaussian_blur_f32(&small, 2.0);
    let level = otsu_level(&blurred);
    let mask = threshold(&blurred, level, ThresholdType::Binary);
    let outline = largest_outer_contour(&mask)?;
    let cover = contour_area(&outline) / (f64::from(sw) * f64::from(sh));
    if !(MIN_COVER..=MAX_COVER).contains(&cover) {
        return None;
    }
    let hull = convex_hull(outline);
    let polygon = approximate_polygon_dp(&hull, 0.02 * arc_length(&hull, true), true);
    let corners: Vec<Point<i32>> = if polygon.len() == 4 {
        polygon
    } else {
        min_area_rect(&hull).to_vec()
    };
    let points: Vec<(f32, f32)> = corners
        .iter()
        .map(|p| ((p.x as f32 + 0.5) / scale, (p.y as f32 + 0.5) / scale))
        .collect();
    Some(clockwise_from_top_left(&points))
}

fn largest_outer_contour(mask: &GrayImage) -> Option<Vec<Point<i32>>> {
    find_contours::<i32>(mask)
        .into_iter()
        .filter(|c| c.border_type == BorderType::Outer && c.points.len() >= 4)
        .map(|c| c.points)
        .max_by(|a, b| contour_area(a).total_cmp(&contour_area(b)))
}

/// Orders four corners clockwise (on screen, y down) starting with the one nearest the
/// still's top left.
fn clockwise_from_top_left(points: &[(f32, f32)]) -> Quad {
    let cx = points.iter().map(|p| p.0).sum::<f32>() / points.len() as f32;
    let cy = points.iter().map(|p| p.1).sum::<f32>() / points.len() as f32;
    let mut sorted: Vec<(f32, f32)> = points.to_vec();
    sorted.sort_by(|a, b| {
        let angle = |p: &(f32, f32)| (p.1 - cy).atan2(p.0 - cx);
        angle(a).total_cmp(&angle(b))
    });
    let first = sorted
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1.0 + a.1.1).total_cmp(&(b.1.0 + b.1.1)))
        .map_or(0, |(i, _)| i);
    sorted.rotate_left(first);
    Quad([sorted[0], sorted[1], sorted[2], sorted[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::emulator::DocumentScene;

    #[test]
    fn the_corners_of_a_turned_page_are_found_within_a_percent_of_the_frame() {
        let scene = DocumentScene::a4_on_desk(1296, 972, 1);
        let found = find_page(&scene.render()).expect("a page");
        for (got, want) in found.0.iter().zip(scene.corners) {
            let off = distance(*got, want);
            assert!(off < 13.0, "corner {got:?} is {off:.1} px from {want:?}");
        }
    }

    #[test]
    fn a_frame_without_a_mat_in_view_has_no_page() {
        let white = RgbImage::from_pixel(400, 300, image::Rgb([240, 240, 240]));
        assert_eq!(find_page(&white), None);
    }

    #[test]
    fn corners_are_ordered_clockwise_from_the_top_left() {
        let quad = clockwise_from_top_left(&[(90.0, 95.0), (10.0, 8.0), (12.0, 90.0), (95.0, 5.0)]);
        assert_eq!(
            quad.0,
            [(10.0, 8.0), (95.0, 5.0), (90.0, 95.0), (12.0, 90.0)]
        );
    }
}
