//! The booth's display as QEMU shows it (`screendump`): pixels to compare with the UI tests'
//! reference pictures and to tell one screen from the next.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub width: u32,
    pub height: u32,
    /// RGB, row by row.
    pub pixels: Vec<u8>,
}

/// A rectangle in pixels: x, y, width, height.
pub type Rect = (u32, u32, u32, u32);

impl Screen {
    pub fn load(path: &Path) -> Result<Self, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder
            .read_info()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut buffer = vec![0; reader.output_buffer_size().expect("PNG size")];
        let info = reader
            .next_frame(&mut buffer)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let channels = info.color_type.samples();
        let pixels = buffer[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|px| match channels {
                1 | 2 => [px[0], px[0], px[0]],
                _ => [px[0], px[1], px[2]],
            })
            .collect();
        Ok(Self {
            width: info.width,
            height: info.height,
            pixels,
        })
    }

    fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// Whether a primary button (the booth's tile blue, #0b3d91) is drawn at `(x, y)`.
    pub fn is_primary_button_at(&self, (x, y): (u32, u32)) -> bool {
        x < self.width
            && y < self.height
            && self
                .at(x, y)
                .iter()
                .zip([0x0b, 0x3d, 0x91])
                .all(|(p, q)| p.abs_diff(q) <= 12)
    }

    /// The primary buttons column `x` crosses, top to bottom, each as its (top, bottom) rows:
    /// where a walk-through taps a button whose place depends on what the page above it says.
    pub fn primary_buttons_in_column(&self, x: u32) -> Vec<(u32, u32)> {
        // A button is at least this tall; a thinner run of its blue is a glyph or a border.
        const MIN_HEIGHT: u32 = 40;
        let mut runs = Vec::new();
        let mut top = None;
        for y in 0..=self.height {
            match (y < self.height && self.is_primary_button_at((x, y)), top) {
                (true, None) => top = Some(y),
                (false, Some(start)) => {
                    if y - start >= MIN_HEIGHT {
                        runs.push((start, y - 1));
                    }
                    top = None;
                }
                _ => {}
            }
        }
        runs
    }

    /// The share of pixels in `rect` that differ from `other`'s by more than a little
    /// anti-aliasing (a channel off by more than 48).
    pub fn difference(&self, other: &Screen, rect: Rect) -> f64 {
        let (x0, y0, w, h) = rect;
        let mut differing = 0u64;
        for y in y0..(y0 + h).min(self.height).min(other.height) {
            for x in x0..(x0 + w).min(self.width).min(other.width) {
                let (a, b) = (self.at(x, y), other.at(x, y));
                if a.iter().zip(b).any(|(p, q)| p.abs_diff(q) > 48) {
                    differing += 1;
                }
            }
        }
        differing as f64 / (u64::from(w) * u64::from(h)).max(1) as f64
    }

    /// Whether the booth app drew this: its header colour (#102a56) at the top left and its
    /// page background (#f4f4f0) at the left edge below the header.
    pub fn is_booth_ui(&self) -> bool {
        let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(p, q)| p.abs_diff(q) <= 8);
        self.width > 10
            && self.height > 400
            && near(self.at(5, 5), [0x10, 0x2a, 0x56])
            && near(self.at(5, self.height / 2), [0xf4, 0xf4, 0xf0])
    }

    /// How many different colours the screen shows: a black or one-colour screen is not the
    /// booth's UI.
    pub fn colours(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        for px in self.pixels.chunks(3).step_by(7) {
            seen.insert([px[0], px[1], px[2]]);
            if seen.len() > 1000 {
                break;
            }
        }
        seen.len()
    }
}
