//! From a camera still to a page a county clerk can read: the page's edges found, the
//! perspective and skew of a page placed by hand taken out, and a colour JPEG at about 200 dpi
//! (an A4 page 1654 × 2339) within a size budget, plus a thumbnail.
//!
//! - [`edges`]: where the page lies in the still (a bright quadrilateral on the darker mat).
//! - [`flatten`]: the page's quadrilateral mapped onto an upright rectangle of its proportions.
//! - [`encode`]: the JPEG within its byte budget (quality stepped down until it fits), and the
//!   thumbnail.
//!
//! Colour is kept (4:4:4 chroma unless the budget needs less): a red seal must stay red and
//! readable, and chroma subsampling smears thin red strokes into pink (docs/benchmarks.md,
//! "Pages from the document camera").

pub mod edges;
pub mod encode;
pub mod flatten;

use image::RgbImage;
use thiserror::Error;

pub use edges::{Quad, find_page};
pub use encode::{Chroma, EncodedPage};

/// How a page comes out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSettings {
    /// The resolution of the flattened page (A4's long side at 200 dpi is 2339 pixels).
    pub dpi: u32,
    /// Never enlarge the still by more than this: past it, pixels add bytes, not detail.
    pub max_upscale: f32,
    /// The JPEG's byte budget; quality is stepped down until it fits.
    pub max_bytes: usize,
    /// The quality tried first, and the lowest one tried.
    pub quality: u8,
    pub min_quality: u8,
    pub chroma: Chroma,
    /// The thumbnail's longer side, in pixels.
    pub thumbnail_side: u32,
}

impl Default for PageSettings {
    fn default() -> Self {
        PageSettings {
            dpi: 200,
            max_upscale: 1.5,
            max_bytes: 500_000,
            quality: 85,
            min_quality: 40,
            chroma: Chroma::Full,
            thumbnail_side: 240,
        }
    }
}

/// A processed page.
#[derive(Debug, Clone)]
pub struct Page {
    pub jpeg: EncodedPage,
    pub thumbnail: Vec<u8>,
    /// Where the page was found in the still; `None` when no edges were found and the whole
    /// still was kept (a white page on a white desk, a page filling the frame).
    pub outline: Option<Quad>,
}

/// Why a still could not be made into a page.
#[derive(Debug, Error)]
pub enum PageError {
    #[error("the still is {width}×{height} pixels: too small to hold a readable page")]
    TooSmall { width: u32, height: u32 },
    #[error("the page does not encode as JPEG")]
    Encode(#[source] jpeg_encoder::EncodingError),
}

/// The smallest still worth processing: vivid's 320 × 180 is below any document camera.
const MIN_SIDE: u32 = 160;

/// Finds the page in `still`, flattens it and encodes it.
pub fn process(still: &RgbImage, settings: &PageSettings) -> Result<Page, PageError> {
    let (width, height) = still.dimensions();
    if width.min(height) < MIN_SIDE {
        return Err(PageError::TooSmall { width, height });
    }
    let outline = find_page(still);
    let quad = outline.unwrap_or_else(|| Quad::whole(width, height));
    let size = flatten::output_size(&quad, settings);
    let flat = flatten::flatten(still, &quad, size);
    let jpeg = encode::within_budget(&flat, settings).map_err(PageError::Encode)?;
    let thumbnail = encode::thumbnail(&flat, settings.thumbnail_side).map_err(PageError::Encode)?;
    Ok(Page {
        jpeg,
        thumbnail,
        outline,
    })
}
