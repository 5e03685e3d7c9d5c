//! The SAM module's ID (`12 FF` reply), formatted as printed on the reader's label.

use std::fmt;

/// Bytes of SAM management information in a `12 FF` reply.
pub const SAM_ID_LEN: usize = 16;

/// The 16 bytes a `12 FF` reply carries after SW1..SW3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SamId([u8; SAM_ID_LEN]);

/// A `12 FF` reply with fewer than 16 data bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a SAM ID reply carries {len} data bytes instead of {SAM_ID_LEN}: the reader firmware is not GA 467 compliant"
)]
pub struct SamIdTooShort {
    pub len: usize,
}

impl SamId {
    pub fn new(bytes: [u8; SAM_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// Takes the first 16 bytes of a reply's data (libsamv also ignores anything after them).
    pub fn from_data(data: &[u8]) -> Result<Self, SamIdTooShort> {
        data.get(..SAM_ID_LEN)
            .and_then(|bytes| <[u8; SAM_ID_LEN]>::try_from(bytes).ok())
            .map(Self)
            .ok_or(SamIdTooShort { len: data.len() })
    }

    pub fn as_bytes(&self) -> &[u8; SAM_ID_LEN] {
        &self.0
    }
}

impl fmt::Display for SamId {
    /// `05.01-20101111-0012345678-1234567890`: two hex bytes, then three little-endian u32s.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        let word = |at: usize| u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
        write!(
            f,
            "{:02X}.{:02X}-{}-{:010}-{:010}",
            d[0],
            d[2],
            word(4),
            word(8),
            word(12)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes behind the label "05.01-20101111-0012345678-1234567890".
    fn label_example() -> [u8; SAM_ID_LEN] {
        let mut bytes = [0u8; SAM_ID_LEN];
        bytes[0] = 0x05;
        bytes[2] = 0x01;
        bytes[4..8].copy_from_slice(&20_101_111u32.to_le_bytes());
        bytes[8..12].copy_from_slice(&12_345_678u32.to_le_bytes());
        bytes[12..16].copy_from_slice(&1_234_567_890u32.to_le_bytes());
        bytes
    }

    #[test]
    fn formats_like_the_reader_label() {
        let id = SamId::from_data(&label_example()).unwrap();
        assert_eq!(id.to_string(), "05.01-20101111-0012345678-1234567890");
    }

    #[test]
    fn short_data_is_an_error_and_extra_data_is_ignored() {
        assert_eq!(SamId::from_data(&[0; 15]).unwrap_err().len, 15);
        let mut long = label_example().to_vec();
        long.push(0xEE);
        assert_eq!(
            SamId::from_data(&long).unwrap().as_bytes(),
            &label_example()
        );
    }
}
