//! The page's JPEG within its byte budget, and its thumbnail.

use image::RgbImage;
use jpeg_encoder::{ColorType, Encoder, EncodingError, PixelDensity, SamplingFactor};

use super::PageSettings;

/// How much colour detail the JPEG keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chroma {
    /// Colour at every pixel (4:4:4): thin red strokes of a seal stay red.
    Full,
    /// Colour at every other pixel both ways (4:2:0), as photographs are stored: a third
    /// smaller, and a seal's strokes lose saturation.
    Quarter,
}

/// A page's JPEG and what it took.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedPage {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The quality it was encoded at (the first that fit the budget).
    pub quality: u8,
    pub chroma: Chroma,
}

impl std::fmt::Debug for EncodedPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EncodedPage({}×{}, {} bytes, quality {}, {:?})",
            self.width,
            self.height,
            self.bytes.len(),
            self.quality,
            self.chroma
        )
    }
}

/// Quality steps down by this much until the page fits.
const QUALITY_STEP: u8 = 8;

/// The page at the highest quality (from the settings' down to their minimum) that fits the
/// byte budget; past the minimum with full chroma, with quartered chroma; if even that does not
/// fit, the smallest encoding (a page of dense print can exceed any budget: it is kept, larger).
pub fn within_budget(
    page: &RgbImage,
    settings: &PageSettings,
) -> Result<EncodedPage, EncodingError> {
    let mut chromas = vec![settings.chroma];
    if settings.chroma == Chroma::Full {
        chromas.push(Chroma::Quarter);
    }
    let mut smallest: Option<EncodedPage> = None;
    for chroma in chromas {
        let mut quality = settings.quality;
        loop {
            let bytes = encode(page, quality, chroma, settings.dpi)?;
            let encoded = EncodedPage {
                bytes,
                width: page.width(),
                height: page.height(),
                quality,
                chroma,
            };
            if encoded.bytes.len() <= settings.max_bytes {
                return Ok(encoded);
            }
            if smallest
                .as_ref()
                .is_none_or(|s| encoded.bytes.len() < s.bytes.len())
            {
                smallest = Some(encoded);
            }
            if quality <= settings.min_quality {
                break;
            }
            quality = quality
                .saturating_sub(QUALITY_STEP)
                .max(settings.min_quality);
        }
    }
    Ok(smallest.expect("at least one encoding was made"))
}

/// One JPEG encoding, its resolution recorded so the page prints at its size.
pub fn encode(
    page: &RgbImage,
    quality: u8,
    chroma: Chroma,
    dpi: u32,
) -> Result<Vec<u8>, EncodingError> {
    let mut out = Vec::with_capacity(page.as_raw().len() / 8);
    let mut encoder = Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(match chroma {
        Chroma::Full => SamplingFactor::R_4_4_4,
        Chroma::Quarter => SamplingFactor::R_4_2_0,
    });
    encoder.set_density(PixelDensity::dpi(dpi.min(u32::from(u16::MAX)) as u16));
    encoder.encode(
        page.as_raw(),
        page.width() as u16,
        page.height() as u16,
        ColorType::Rgb,
    )?;
    Ok(out)
}

/// A small JPEG of the page for lists: its longer side `side` pixels.
pub fn thumbnail(page: &RgbImage, side: u32) -> Result<Vec<u8>, EncodingError> {
    let scale = side as f32 / page.width().max(page.height()) as f32;
    let (w, h) = (
        ((page.width() as f32 * scale).round() as u32).max(1),
        ((page.height() as f32 * scale).round() as u32).max(1),
    );
    let small = image::imageops::thumbnail(page, w, h);
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, 75);
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder.encode(small.as_raw(), w as u16, h as u16, ColorType::Rgb)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(width: u32, height: u32) -> RgbImage {
        let mut seed = 7u32;
        RgbImage::from_fn(width, height, |_, _| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            image::Rgb([(seed >> 16) as u8, (seed >> 8) as u8, (seed >> 24) as u8])
        })
    }

    #[test]
    fn quality_steps_down_until_the_page_fits_its_budget() {
        let page = noisy(300, 300);
        let settings = PageSettings {
            max_bytes: 60_000,
            ..PageSettings::default()
        };
        let encoded = within_budget(&page, &settings).expect("encodes");
        assert!(encoded.bytes.len() <= 60_000, "{encoded:?}");
        assert!(encoded.quality < settings.quality, "{encoded:?}");
        let decoded = image::load_from_memory(&encoded.bytes).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (300, 300));
    }

    #[test]
    fn a_page_that_fits_nowhere_is_kept_at_its_smallest() {
        let page = noisy(200, 200);
        let settings = PageSettings {
            max_bytes: 1_000,
            ..PageSettings::default()
        };
        let encoded = within_budget(&page, &settings).expect("encodes");
        assert_eq!(
            (encoded.quality, encoded.chroma),
            (settings.min_quality, Chroma::Quarter)
        );
    }

    #[test]
    fn the_thumbnail_keeps_the_proportions() {
        let thumb = thumbnail(&noisy(1654, 2339), 240).expect("encodes");
        let decoded = image::load_from_memory(&thumb).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (170, 240));
    }
}
