//! 1-bit raster images as `GS v 0` carries them: rows of bytes, leftmost dot in the top bit.

/// A monochrome bitmap; a set bit is a black dot.
#[derive(Clone, PartialEq, Eq)]
pub struct RasterImage {
    bytes_per_row: usize,
    height: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for RasterImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The dot data would drown any assertion message.
        f.debug_struct("RasterImage")
            .field("width", &self.width())
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl RasterImage {
    /// A white image `bytes_per_row * 8` dots wide.
    pub fn blank(bytes_per_row: usize, height: usize) -> Self {
        Self {
            bytes_per_row,
            height,
            data: vec![0; bytes_per_row * height],
        }
    }

    /// Wraps received rows; `None` unless `data` holds exactly `bytes_per_row * height` bytes.
    pub fn from_rows(bytes_per_row: usize, height: usize, data: Vec<u8>) -> Option<Self> {
        (bytes_per_row.checked_mul(height) == Some(data.len())).then_some(Self {
            bytes_per_row,
            height,
            data,
        })
    }

    /// Width in dots (always a multiple of 8).
    pub fn width(&self) -> usize {
        self.bytes_per_row * 8
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn bytes_per_row(&self) -> usize {
        self.bytes_per_row
    }

    /// The rows as sent to the printer.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Whether the dot at (`x`, `y`) is black; outside the image is white.
    pub fn dot(&self, x: usize, y: usize) -> bool {
        if x >= self.width() || y >= self.height {
            return false;
        }
        self.data[y * self.bytes_per_row + x / 8] & (0x80 >> (x % 8)) != 0
    }

    /// Blackens the dot at (`x`, `y`); outside the image is ignored.
    pub fn set(&mut self, x: usize, y: usize) {
        if x < self.width() && y < self.height {
            self.data[y * self.bytes_per_row + x / 8] |= 0x80 >> (x % 8);
        }
    }

    /// The smallest rectangle holding every black dot: `(left, top, width, height)`.
    pub fn ink_bounds(&self) -> Option<(usize, usize, usize, usize)> {
        let mut bounds: Option<(usize, usize, usize, usize)> = None;
        for (y, row) in self.data.chunks(self.bytes_per_row.max(1)).enumerate() {
            let Some(first) = row.iter().position(|&b| b != 0) else {
                continue;
            };
            let last = row.iter().rposition(|&b| b != 0).unwrap_or(first);
            let left = first * 8 + row[first].leading_zeros() as usize;
            let right = last * 8 + 7 - row[last].trailing_zeros() as usize;
            bounds = Some(match bounds {
                None => (left, y, right, y),
                Some((l, t, r, _)) => (l.min(left), t, r.max(right), y),
            });
        }
        bounds.map(|(l, t, r, b)| (l, t, r - l + 1, b - t + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_are_msb_first_and_bounds_cover_the_ink() {
        let mut image = RasterImage::blank(2, 3);
        image.set(0, 1);
        image.set(9, 2);
        assert_eq!(image.data(), [0, 0, 0x80, 0, 0, 0x40]);
        assert!(image.dot(9, 2) && !image.dot(8, 2) && !image.dot(100, 0));
        assert_eq!(image.ink_bounds(), Some((0, 1, 10, 2)));
        assert_eq!(RasterImage::blank(2, 3).ink_bounds(), None);
        assert!(RasterImage::from_rows(2, 3, vec![0; 5]).is_none());
    }
}
