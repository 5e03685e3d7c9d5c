//! One frame as a camera delivers it, and its decoding to RGB pixels: the camera's codec.
//!
//! UVC document cameras give their full resolution only as MJPEG: each frame a baseline JPEG
//! that usually leaves out its Huffman tables (the `AVI1` convention: the decoder uses the
//! standard tables of ITU T.81 annex K) and may sit in a larger buffer padded after its end
//! marker. Their uncompressed mode, YUYV 4:2:2, is limited by USB 2.0 bandwidth to small sizes;
//! it is also what the kernel's virtual camera `vivid` offers.

use image::{ImageDecoder, RgbImage};
use thiserror::Error;

/// The largest frame this crate decodes: 8192 × 8192 (67 MP), beyond any document camera;
/// a corrupt header claiming more is refused before memory is taken for it.
pub const MAX_DIMENSION: u32 = 8192;

/// How the frame's bytes encode its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Motion JPEG: one JPEG image per frame (fourcc `MJPG`, also `JPEG`).
    Mjpeg,
    /// YUYV 4:2:2, packed: `Y0 U Y1 V` for every two pixels (fourcc `YUYV`).
    Yuyv,
}

impl PixelFormat {
    /// The V4L2 four-character code.
    pub fn fourcc(self) -> &'static str {
        match self {
            PixelFormat::Mjpeg => "MJPG",
            PixelFormat::Yuyv => "YUYV",
        }
    }
}

/// One captured frame: its size as the device negotiated it, and its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Frame({}×{} {}, {} bytes)",
            self.width,
            self.height,
            self.format.fourcc(),
            self.bytes.len()
        )
    }
}

/// Why a frame's bytes are not a picture.
#[derive(Debug, Error)]
pub enum FrameError {
    #[error(
        "the frame claims {width}×{height} pixels, beyond the {MAX_DIMENSION}×{MAX_DIMENSION} any document camera gives"
    )]
    TooLarge { width: u32, height: u32 },
    #[error("the frame is empty: the camera delivered no picture")]
    Empty,
    #[error(
        "the MJPEG frame does not start with a JPEG start-of-image marker (FF D8): not a JPEG picture"
    )]
    NotJpeg,
    #[error(
        "the MJPEG frame has no end-of-image marker (FF D9): the picture was cut off in transfer"
    )]
    Truncated,
    #[error("the MJPEG frame does not decode")]
    Decode(#[source] image::ImageError),
    #[error(
        "the picture is {actual_width}×{actual_height}, not the {width}×{height} the camera agreed to send"
    )]
    SizeMismatch {
        width: u32,
        height: u32,
        actual_width: u32,
        actual_height: u32,
    },
    #[error("the YUYV frame has {actual} bytes, not the {expected} of {width}×{height} pixels")]
    WrongLength {
        width: u32,
        height: u32,
        expected: usize,
        actual: usize,
    },
}

impl Frame {
    /// An MJPEG frame from a device buffer: the JPEG up to its end marker, padding dropped.
    pub fn mjpeg(width: u32, height: u32, buffer: &[u8]) -> Result<Frame, FrameError> {
        let jpeg = jpeg_span(buffer)?;
        Ok(Frame {
            width,
            height,
            format: PixelFormat::Mjpeg,
            bytes: jpeg.to_vec(),
        })
    }

    /// The frame's pixels as 8-bit RGB.
    pub fn to_rgb(&self) -> Result<RgbImage, FrameError> {
        check_dimensions(self.width, self.height)?;
        let image = match self.format {
            PixelFormat::Mjpeg => decode_jpeg(jpeg_span(&self.bytes)?)?,
            PixelFormat::Yuyv => yuyv_to_rgb(self.width, self.height, &self.bytes)?,
        };
        if image.dimensions() != (self.width, self.height) {
            return Err(FrameError::SizeMismatch {
                width: self.width,
                height: self.height,
                actual_width: image.width(),
                actual_height: image.height(),
            });
        }
        Ok(image)
    }
}

fn check_dimensions(width: u32, height: u32) -> Result<(), FrameError> {
    if width == 0 || height == 0 {
        return Err(FrameError::Empty);
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(FrameError::TooLarge { width, height });
    }
    Ok(())
}

/// The JPEG inside a device buffer: from its start marker through the last end marker.
fn jpeg_span(buffer: &[u8]) -> Result<&[u8], FrameError> {
    if buffer.is_empty() {
        return Err(FrameError::Empty);
    }
    if !buffer.starts_with(&[0xFF, 0xD8]) {
        return Err(FrameError::NotJpeg);
    }
    // Padding after the picture is zeros or stale bytes of an earlier, longer frame; the
    // picture's own end is the last FF D9 (entropy-coded data never holds one: FF is stuffed).
    let end = buffer
        .windows(2)
        .rposition(|pair| pair == [0xFF, 0xD9])
        .filter(|&at| at >= 2)
        .ok_or(FrameError::Truncated)?;
    Ok(&buffer[..end + 2])
}

/// The application segment that marks a JPEG as an MJPEG frame (OpenDML `AVI1`): its
/// Huffman tables, when it has none, are the standard ones of ITU T.81 annex K.
pub const AVI1_MARKER: [u8; 9] = [0xFF, 0xE0, 0x00, 0x07, b'A', b'V', b'I', b'1', 0x00];

/// Decodes a JPEG (with or without its Huffman tables) within this crate's size limit.
pub fn decode_jpeg(jpeg: &[u8]) -> Result<RgbImage, FrameError> {
    let marked;
    let jpeg = if needs_avi1_marker(jpeg) {
        // Some cameras leave the tables out without saying so; the marker tells the decoder
        // to use the standard ones, as those cameras do.
        marked = [&jpeg[..2], &AVI1_MARKER[..], &jpeg[2..]].concat();
        &marked[..]
    } else {
        jpeg
    };
    let mut decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(jpeg))
        .map_err(FrameError::Decode)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height).map_err(|error| match error {
        FrameError::Empty => FrameError::Empty,
        _ => FrameError::TooLarge { width, height },
    })?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    decoder.set_limits(limits).map_err(FrameError::Decode)?;
    let image = image::DynamicImage::from_decoder(decoder).map_err(FrameError::Decode)?;
    Ok(image.into_rgb8())
}

/// Whether the JPEG's header, up to its scan, has neither Huffman tables nor the `AVI1` mark.
fn needs_avi1_marker(jpeg: &[u8]) -> bool {
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        if marker == 0xDA {
            return true;
        }
        if marker == 0xC4 {
            return false;
        }
        if marker == 0xE0 && jpeg.get(at + 4..at + 8) == Some(b"AVI1") {
            return false;
        }
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
    false
}

/// YUYV 4:2:2 (BT.601, limited range, as UVC and vivid send it) to RGB.
fn yuyv_to_rgb(width: u32, height: u32, bytes: &[u8]) -> Result<RgbImage, FrameError> {
    let expected = width as usize * height as usize * 2;
    if bytes.len() != expected || !width.is_multiple_of(2) {
        return Err(FrameError::WrongLength {
            width,
            height,
            expected,
            actual: bytes.len(),
        });
    }
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for quad in bytes.chunks_exact(4) {
        let (y0, u, y1, v) = (quad[0], quad[1], quad[2], quad[3]);
        rgb.extend_from_slice(&bt601_to_rgb(y0, u, v));
        rgb.extend_from_slice(&bt601_to_rgb(y1, u, v));
    }
    Ok(RgbImage::from_raw(width, height, rgb).expect("the buffer holds width × height pixels"))
}

fn bt601_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = (i32::from(y) - 16) * 298;
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
    [
        clamp(c + 409 * e),
        clamp(c - 100 * d - 208 * e),
        clamp(c + 516 * d),
    ]
}

/// RGB to YUYV 4:2:2 (BT.601, limited range): what the emulated camera sends in YUYV mode.
pub fn rgb_to_yuyv(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::with_capacity(image.width() as usize * image.height() as usize * 2);
    for row in image.rows() {
        let pixels: Vec<_> = row.collect();
        for pair in pixels.chunks(2) {
            let a = pair[0].0;
            let b = pair.get(1).map_or(a, |p| p.0);
            let (y0, u0, v0) = rgb_to_bt601(a);
            let (y1, u1, v1) = rgb_to_bt601(b);
            out.extend_from_slice(&[
                y0,
                ((u16::from(u0) + u16::from(u1)) / 2) as u8,
                y1,
                ((u16::from(v0) + u16::from(v1)) / 2) as u8,
            ]);
        }
    }
    out
}

fn rgb_to_bt601([r, g, b]: [u8; 3]) -> (u8, u8, u8) {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
    let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
    let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    (y as u8, u as u8, v as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_jpeg() -> Vec<u8> {
        let image = RgbImage::from_pixel(16, 8, image::Rgb([200, 30, 30]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&image)
            .expect("encode");
        out
    }

    #[test]
    fn padding_after_the_end_marker_is_dropped_and_the_picture_decodes() {
        let mut buffer = tiny_jpeg();
        let length = buffer.len();
        buffer.extend_from_slice(&[0; 4096]);
        let frame = Frame::mjpeg(16, 8, &buffer).expect("a frame");
        assert_eq!(frame.bytes.len(), length);
        let rgb = frame.to_rgb().expect("decodes");
        let pixel = rgb.get_pixel(8, 4).0;
        assert!(pixel[0] > 150 && pixel[1] < 80, "{pixel:?}");
    }

    #[test]
    fn a_cut_off_or_foreign_buffer_says_what_is_wrong() {
        let jpeg = tiny_jpeg();
        let cut = &jpeg[..jpeg.len() / 2];
        assert!(matches!(
            Frame::mjpeg(16, 8, cut),
            Err(FrameError::Truncated)
        ));
        assert!(matches!(
            Frame::mjpeg(16, 8, b"\x89PNG...."),
            Err(FrameError::NotJpeg)
        ));
        assert!(matches!(Frame::mjpeg(16, 8, b""), Err(FrameError::Empty)));
    }

    #[test]
    fn a_frame_without_huffman_tables_or_their_mark_decodes_with_the_standard_ones() {
        let stripped = crate::camera::emulator::as_uvc_mjpeg(&tiny_jpeg());
        let at = stripped
            .windows(4)
            .position(|w| w == b"AVI1")
            .expect("AVI1")
            - 4;
        let unmarked = [&stripped[..at], &stripped[at + AVI1_MARKER.len()..]].concat();
        assert!(!unmarked.windows(4).any(|w| w == b"AVI1"));
        let rgb = decode_jpeg(&unmarked).expect("decodes");
        assert_eq!(rgb.dimensions(), (16, 8));
        assert!(rgb.get_pixel(8, 4).0[0] > 150);
    }

    #[test]
    fn a_picture_of_another_size_than_agreed_is_refused() {
        let frame = Frame::mjpeg(640, 480, &tiny_jpeg()).expect("a frame");
        assert!(matches!(
            frame.to_rgb(),
            Err(FrameError::SizeMismatch {
                actual_width: 16,
                ..
            })
        ));
    }

    #[test]
    fn yuyv_round_trips_within_rounding() {
        let mut image = RgbImage::new(4, 2);
        for (x, _, pixel) in image.enumerate_pixels_mut() {
            *pixel = image::Rgb(
                [[250, 250, 250], [20, 20, 20], [200, 40, 40], [200, 40, 40]][x as usize],
            );
        }
        let frame = Frame {
            width: 4,
            height: 2,
            format: PixelFormat::Yuyv,
            bytes: rgb_to_yuyv(&image),
        };
        let back = frame.to_rgb().expect("decodes");
        for (a, b) in image.pixels().zip(back.pixels()) {
            for channel in 0..3 {
                assert!(a.0[channel].abs_diff(b.0[channel]) <= 40, "{a:?} vs {b:?}");
            }
        }
        let short = Frame {
            bytes: vec![0; 10],
            ..frame
        };
        assert!(matches!(
            short.to_rgb(),
            Err(FrameError::WrongLength { expected: 16, .. })
        ));
    }
}
