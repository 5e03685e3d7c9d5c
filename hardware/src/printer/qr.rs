//! QR symbols: sizing them for the paper, drawing them as raster images, reading them back.

use qrcode::{Color, EcLevel, QrCode};

use super::image::RasterImage;
use super::paper::PaperWidth;

/// White modules around a drawn symbol; the QR specification asks for four. Native printing
/// leaves the quiet zone to the paper margin and surrounding blank space.
pub const QUIET_ZONE: usize = 4;

/// Largest module the booth prints: bigger only wastes paper without scanning any better.
const MAX_MODULE_DOTS: usize = 8;

/// The symbol a payload becomes at error level M (what the receipt asks the printer for).
pub fn symbol(payload: &[u8]) -> Result<QrCode, qrcode::types::QrError> {
    QrCode::with_error_correction_level(payload, EcLevel::M)
}

/// Dots per module so the symbol takes about half the paper width: large enough for an old
/// phone camera, small enough to leave the receipt short. Between 1 and 8.
pub fn module_dots(modules: usize, width: PaperWidth) -> usize {
    (usize::from(width.dots()) / 2 / modules.max(1)).clamp(1, MAX_MODULE_DOTS)
}

/// Draws `code` with a quiet zone, as large as [`module_dots`] allows while the whole image
/// fits the paper; `None` if it cannot fit even at one dot per module.
pub fn draw(code: &QrCode, width: PaperWidth) -> Option<RasterImage> {
    let modules = code.width();
    let with_quiet = modules + 2 * QUIET_ZONE;
    let paper = usize::from(width.dots());
    let mut scale = module_dots(modules, width);
    while scale > 1 && with_quiet * scale > paper {
        scale -= 1;
    }
    if with_quiet * scale > paper {
        return None;
    }
    let side = with_quiet * scale;
    let bytes_per_row = side.div_ceil(8);
    // Centre the symbol in the byte-padded row so ESC a centring stays exact to a few dots.
    let left = (bytes_per_row * 8 - side) / 2 + QUIET_ZONE * scale;
    let top = QUIET_ZONE * scale;
    let mut image = RasterImage::blank(bytes_per_row, side);
    let colors = code.to_colors();
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules, i / modules);
        for dy in 0..scale {
            for dx in 0..scale {
                image.set(left + mx * scale + dx, top + my * scale + dy);
            }
        }
    }
    Some(image)
}

/// Reads a QR symbol printed square and upright in `image` (how a host renders one for
/// `GS v 0`), at any whole or fractional module size.
///
/// The grid is located from the ink bounds and the top-left finder pattern and sampled at
/// module centres, then `rqrr` corrects and decodes it. `rqrr`'s own image search is not used:
/// it can panic on some inputs and costs far more, and a printed raster needs no perspective
/// search. Anything else in the image (a logo, text) means no QR is read.
pub fn read(image: &RasterImage) -> Option<Vec<u8>> {
    let (left, top, width, height) = image.ink_bounds()?;
    if width < 21 || height < 21 || width.abs_diff(height) > width / 20 + 1 {
        return None;
    }
    // A finder pattern is 7 modules of ink along the top edge.
    let run = (left..left + width)
        .take_while(|&x| image.dot(x, top))
        .count();
    if run < 7 {
        return None;
    }
    let estimate = 7.0 * width as f64 / run as f64;
    let version = ((estimate - 17.0) / 4.0).round();
    if !(1.0..=40.0).contains(&version) {
        return None;
    }
    let modules = 17 + 4 * version as usize;
    if (modules as f64 - estimate).abs() > 2.0 {
        return None;
    }
    let sample =
        |origin: usize, span: usize, index: usize| origin + (2 * index + 1) * span / (2 * modules);
    let mut bits = vec![false; modules * modules];
    for (i, bit) in bits.iter_mut().enumerate() {
        let (column, row) = (i % modules, i / modules);
        *bit = image.dot(sample(left, width, column), sample(top, height, row));
    }
    let grid = rqrr::Grid::new(Modules {
        size: modules,
        bits,
    });
    let mut payload = Vec::new();
    grid.decode_to(&mut payload).ok()?;
    Some(payload)
}

struct Modules {
    size: usize,
    bits: Vec<bool>,
}

impl rqrr::BitGrid for Modules {
    fn size(&self) -> usize {
        self.size
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        self.bits.get(y * self.size + x).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &[u8] = b"https://zwfw.example.cn/r/BM20250312000123";

    #[test]
    fn a_drawn_symbol_reads_back_at_both_widths() {
        for width in [PaperWidth::Mm58, PaperWidth::Mm80] {
            let code = symbol(URL).unwrap();
            let image = draw(&code, width).unwrap();
            assert!(image.width() <= usize::from(width.dots()));
            assert_eq!(read(&image).as_deref(), Some(URL));
        }
    }

    #[test]
    fn the_quiet_zone_is_white_and_the_module_size_fits_half_the_paper() {
        let code = symbol(URL).unwrap();
        let modules = code.width();
        let scale = module_dots(modules, PaperWidth::Mm58);
        assert_eq!(scale, 192 / modules);
        let image = draw(&code, PaperWidth::Mm58).unwrap();
        assert_eq!(image.height(), (modules + 8) * scale);
        let (left, top, w, h) = image.ink_bounds().unwrap();
        assert_eq!(top, 4 * scale);
        assert_eq!((w, h), (modules * scale, modules * scale));
        assert!(left >= 4 * scale);
    }

    #[test]
    fn the_largest_symbol_shrinks_to_one_dot_per_module_and_still_reads() {
        let big = vec![b'x'; 2300];
        let code = symbol(&big).unwrap();
        assert_eq!(code.width(), 177);
        let image = draw(&code, PaperWidth::Mm58).unwrap();
        assert_eq!(image.height(), 177 + 8);
        assert!(image.width() <= 384);
        assert_eq!(read(&image).as_deref(), Some(&big[..]));
    }

    #[test]
    fn fractional_module_sizes_still_read() {
        // Scale a 1-dot-per-module drawing by 2.5 as a host's image resizer would.
        let code = symbol(b"BM20250312000123").unwrap();
        let modules = code.width();
        let colors = code.to_colors();
        let side = modules * 5 / 2;
        let mut image = RasterImage::blank(side.div_ceil(8) + 1, side + 10);
        for y in 0..side {
            for x in 0..side {
                let (mx, my) = (x * 2 / 5, y * 2 / 5);
                if colors[my * modules + mx] == Color::Dark {
                    image.set(x + 3, y + 5);
                }
            }
        }
        assert_eq!(read(&image).as_deref(), Some(&b"BM20250312000123"[..]));
    }

    #[test]
    fn images_that_are_not_a_lone_symbol_read_as_none() {
        let mut image = RasterImage::blank(8, 64);
        for i in 0..64 {
            image.set(i, i);
        }
        assert_eq!(read(&image), None);
        assert_eq!(read(&RasterImage::blank(4, 4)), None);
    }
}
