//! The data of read replies: `30 01`/`30 10` (lengths, text, photo, fingerprint) and `30 03`
//! (appended address).
//!
//! ```text
//! 30 01: TEXT_LEN(2, BE) PHOTO_LEN(2, BE)             TEXT PHOTO
//! 30 10: TEXT_LEN(2, BE) PHOTO_LEN(2, BE) FP_LEN(2, BE) TEXT PHOTO FP
//! ```

use std::fmt;

use super::card::Photo;
use super::frame::{FrameTooLong, MAX_LENGTH_FIELD};

/// Photo size on every card kind.
pub const PHOTO_LEN: usize = 1024;

/// Fingerprint block size when the card holds two templates.
pub const FINGERPRINT_LEN: usize = 1024;

/// Bytes of UTF-16LE text in a `30 03` reply (35 characters).
pub const APPENDED_ADDRESS_LEN: usize = 70;

/// The text block and photo of a read reply. The fingerprint block is never part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct ReadReply {
    pub text: Vec<u8>,
    pub photo: Photo,
}

impl fmt::Debug for ReadReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ReadReply {{ text: {} bytes, photo: {:?} }}",
            self.text.len(),
            self.photo
        )
    }
}

/// A read reply whose lengths do not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a card read reply announces {needed} bytes of text, photo and fingerprint but carries {len}"
)]
pub struct ReadLayoutError {
    pub len: usize,
    pub needed: usize,
}

/// Splits a read reply's data into text and photo.
///
/// With `with_fingerprint` the reply carries a third length and a fingerprint block; that
/// block is overwritten with zeros in `data` before returning, so a fingerprint never outlives
/// this call in the caller's buffer either. Bytes after the announced blocks are ignored.
pub fn split_read_reply(
    data: &mut [u8],
    with_fingerprint: bool,
) -> Result<ReadReply, ReadLayoutError> {
    let header = if with_fingerprint { 6 } else { 4 };
    let length_at = |at: usize| -> usize {
        data.get(at..at + 2).map_or(0, |pair| {
            usize::from(u16::from_be_bytes([pair[0], pair[1]]))
        })
    };
    if data.len() < header {
        return Err(ReadLayoutError {
            len: data.len(),
            needed: header,
        });
    }
    let text_len = length_at(0);
    let photo_len = length_at(2);
    let fingerprint_len = if with_fingerprint { length_at(4) } else { 0 };
    let needed = header + text_len + photo_len + fingerprint_len;
    if data.len() < needed {
        // The fingerprint, if any, is somewhere in here; do not leave it behind.
        if with_fingerprint {
            data.fill(0);
        }
        return Err(ReadLayoutError {
            len: data.len(),
            needed,
        });
    }
    let photo_at = header + text_len;
    let fingerprint_at = photo_at + photo_len;
    let reply = ReadReply {
        text: data[header..photo_at].to_vec(),
        photo: Photo::new(data[photo_at..fingerprint_at].to_vec()),
    };
    data[fingerprint_at..fingerprint_at + fingerprint_len].fill(0);
    Ok(reply)
}

/// Builds a read reply's data, as the emulator sends it.
pub fn encode_read_reply(
    text: &[u8],
    photo: &[u8],
    fingerprint: Option<&[u8]>,
) -> Result<Vec<u8>, FrameTooLong> {
    let blocks: Vec<&[u8]> = [Some(text), Some(photo), fingerprint]
        .into_iter()
        .flatten()
        .collect();
    let total: usize = blocks.iter().map(|block| 2 + block.len()).sum();
    // SW1..SW3 and the checksum also count against the length field.
    let max = usize::from(MAX_LENGTH_FIELD) - 4;
    if total > max {
        return Err(FrameTooLong { len: total, max });
    }
    let mut data = Vec::with_capacity(total);
    for block in &blocks {
        let len = u16::try_from(block.len()).map_err(|_| FrameTooLong { len: total, max })?;
        data.extend_from_slice(&len.to_be_bytes());
    }
    for block in blocks {
        data.extend_from_slice(block);
    }
    Ok(data)
}

/// Reads a `30 03` reply's data: up to 35 UTF-16LE characters, trailing padding removed.
pub fn parse_appended_address(data: &[u8]) -> String {
    let units: Vec<u16> = data[..data.len().min(APPENDED_ADDRESS_LEN)]
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16_lossy(&units)
        .trim_end_matches([' ', '\0'])
        .to_owned()
}

/// An appended address longer than its 35-character field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an appended address holds at most 35 characters (UTF-16 units), this one has {units}")]
pub struct AddressTooLong {
    pub units: usize,
}

/// Builds a `30 03` reply's data: the address as UTF-16LE, space padded to 70 bytes.
pub fn encode_appended_address(address: &str) -> Result<Vec<u8>, AddressTooLong> {
    let units: Vec<u16> = address.encode_utf16().collect();
    if units.len() * 2 > APPENDED_ADDRESS_LEN {
        return Err(AddressTooLong { units: units.len() });
    }
    let mut data: Vec<u8> = units.iter().flat_map(|unit| unit.to_le_bytes()).collect();
    while data.len() < APPENDED_ADDRESS_LEN {
        data.extend_from_slice(&[b' ', 0]);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_photo_split_at_the_published_offsets() {
        let text = [0x11u8; 256];
        let photo = [0x22u8; PHOTO_LEN];
        let mut data = encode_read_reply(&text, &photo, None).unwrap();
        assert_eq!(&data[..4], &[0x01, 0x00, 0x04, 0x00]);
        assert_eq!(data.len(), 4 + 256 + 1024);
        let reply = split_read_reply(&mut data, false).unwrap();
        assert_eq!(reply.text, text);
        assert_eq!(reply.photo.as_bytes(), photo);
    }

    #[test]
    fn the_fingerprint_is_dropped_and_zeroed() {
        let text = [0x11u8; 256];
        let photo = [0x22u8; PHOTO_LEN];
        let fingerprint = [0x33u8; FINGERPRINT_LEN];
        let mut data = encode_read_reply(&text, &photo, Some(&fingerprint)).unwrap();
        assert_eq!(&data[..6], &[0x01, 0x00, 0x04, 0x00, 0x04, 0x00]);
        let reply = split_read_reply(&mut data, true).unwrap();
        assert_eq!(reply.text, text);
        assert_eq!(reply.photo.as_bytes(), photo);
        assert!(
            !data.contains(&0x33),
            "fingerprint bytes left in the buffer"
        );
    }

    #[test]
    fn a_truncated_reply_is_an_error() {
        let mut data = encode_read_reply(&[0; 256], &[0; PHOTO_LEN], None).unwrap();
        data.truncate(1000);
        assert_eq!(
            split_read_reply(&mut data, false),
            Err(ReadLayoutError {
                len: 1000,
                needed: 1284
            })
        );
        assert_eq!(split_read_reply(&mut [1, 0], false).unwrap_err().needed, 4);
        let mut fp = encode_read_reply(&[0; 256], &[0; 4], Some(&[0x33; 64])).unwrap();
        fp.truncate(fp.len() - 1);
        assert!(split_read_reply(&mut fp, true).is_err());
        assert!(!fp.contains(&0x33));
    }

    #[test]
    fn appended_address_round_trip() {
        let data = encode_appended_address("广西玉林市玉州区示例街道3号").unwrap();
        assert_eq!(data.len(), APPENDED_ADDRESS_LEN);
        assert_eq!(parse_appended_address(&data), "广西玉林市玉州区示例街道3号");
        assert_eq!(
            encode_appended_address(&"址".repeat(36)),
            Err(AddressTooLong { units: 36 })
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_replies_never_panic(
            mut data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2400),
            fp in proptest::prelude::any::<bool>(),
        ) {
            let _ = split_read_reply(&mut data, fp);
            let _ = parse_appended_address(&data);
        }
    }
}
