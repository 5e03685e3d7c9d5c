//! The receipt number as a QR code picture for the screen: when the printer fails, the
//! villager photographs it, so it is drawn large, crisp and with the quiet zone scanners need.

use qrcode::{Color, QrCode};
use slint::{Rgb8Pixel, SharedPixelBuffer};

/// Pixels per QR module: a version 1–2 code (a receipt number) comes out 200–300 px wide,
/// drawn without smoothing at any larger size.
const MODULE_PX: usize = 8;
/// The light margin around the code, in modules (ISO/IEC 18004 asks for 4).
const QUIET_ZONE: usize = 4;

const DARK: Rgb8Pixel = Rgb8Pixel { r: 0, g: 0, b: 0 };
const LIGHT: Rgb8Pixel = Rgb8Pixel {
    r: 255,
    g: 255,
    b: 255,
};

/// `payload` as a black-on-white QR code picture.
pub fn picture(payload: &str) -> Result<SharedPixelBuffer<Rgb8Pixel>, qrcode::types::QrError> {
    let code = QrCode::new(payload.as_bytes())?;
    let modules = code.width();
    let colors = code.to_colors();
    let side_modules = modules + 2 * QUIET_ZONE;
    let side = side_modules * MODULE_PX;
    let side_u32 = u32::try_from(side).expect("a QR code is at most 177 modules wide");
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(side_u32, side_u32);
    let pixels = buffer.make_mut_slice();
    for (index, pixel) in pixels.iter_mut().enumerate() {
        let (x, y) = (index % side / MODULE_PX, index / side / MODULE_PX);
        let dark = x >= QUIET_ZONE
            && y >= QUIET_ZONE
            && x < QUIET_ZONE + modules
            && y < QUIET_ZONE + modules
            && colors[(y - QUIET_ZONE) * modules + (x - QUIET_ZONE)] == Color::Dark;
        *pixel = if dark { DARK } else { LIGHT };
    }
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picture_has_a_quiet_zone_and_dark_finder_corners() {
        let picture = picture("K0001-000042-7").expect("a short payload encodes");
        let side = picture.width() as usize;
        assert_eq!(side, picture.height() as usize);
        assert_eq!(side % MODULE_PX, 0);
        let at = |x: usize, y: usize| picture.as_slice()[y * side + x];
        // The quiet zone is light; the top-left finder pattern starts right after it.
        assert_eq!(at(0, 0), LIGHT);
        assert_eq!(
            at(QUIET_ZONE * MODULE_PX - 1, QUIET_ZONE * MODULE_PX - 1),
            LIGHT
        );
        assert_eq!(at(QUIET_ZONE * MODULE_PX, QUIET_ZONE * MODULE_PX), DARK);
        assert_eq!(
            at(side - QUIET_ZONE * MODULE_PX - 1, QUIET_ZONE * MODULE_PX),
            DARK
        );
    }

    #[test]
    fn a_phone_camera_would_read_the_receipt_number_back() {
        let number = "K0001-000042-7";
        let picture = picture(number).expect("a short payload encodes");
        let side = picture.width() as usize;
        let pixels = picture.as_slice();
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| pixels[y * side + x].r);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code found");
        let (_, payload) = grids[0].decode().expect("the code decodes");
        assert_eq!(payload, number);
    }
}
