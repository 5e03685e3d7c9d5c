//! GA 467 frames in both directions and a streaming decoder that resynchronises on noise.
//!
//! ```text
//! host → SAM : AA AA AA 96 69 | LEN_H LEN_L | CMD PARA | DATA… | CHK
//! SAM → host : AA AA AA 96 69 | LEN_H LEN_L | SW1 SW2 SW3 | DATA… | CHK
//! ```
//! `LEN` counts everything after itself including `CHK`; `CHK` is the XOR of `LEN_H` through
//! the last data byte.

use std::fmt;

/// The five bytes that open every frame.
pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];

/// Bytes before the payload: the preamble and the two length bytes.
pub const HEADER_LEN: usize = PREAMBLE.len() + 2;

/// The largest length field the decoder accepts. The longest real frame (text, photo and
/// fingerprint) has a length of 2314; anything far beyond is noise that would otherwise make
/// the decoder swallow the next several genuine frames while it waits for the body.
pub const MAX_LENGTH_FIELD: u16 = 4096;

/// The smallest length field of a real frame: a request's CMD, PARA and CHK.
pub const MIN_LENGTH_FIELD: u16 = 3;

/// A frame's content between the length field and the checksum, direction not yet known.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub payload: Vec<u8>,
}

/// A host → SAM frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub command: u8,
    pub parameter: u8,
    pub data: Vec<u8>,
}

/// A SAM → host frame. SW1 and SW2 are `00 00` on every module seen; SW3 carries the result.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub sw1: u8,
    pub sw2: u8,
    pub sw3: u8,
    pub data: Vec<u8>,
}

// Payloads can hold card text and photos, which must not reach logs through `Debug`; the
// first bytes are enough to tell replies apart.
impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = &self.payload[..self.payload.len().min(3)];
        write!(
            f,
            "Frame {{ head: {head:02X?}, len: {} }}",
            self.payload.len()
        )
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response {{ sw: {:02X} {:02X} {:02X}, data: {} bytes }}",
            self.sw1,
            self.sw2,
            self.sw3,
            self.data.len()
        )
    }
}

/// A payload too long for the length field the decoder accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a GA 467 frame payload of {len} bytes is longer than the {max} bytes a reader accepts: split the data"
)]
pub struct FrameTooLong {
    pub len: usize,
    pub max: usize,
}

/// A payload that is too short for the direction it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a GA 467 frame carries {len} payload bytes, fewer than the {min} a {direction} needs: the device is not speaking the SAM protocol"
)]
pub struct PayloadTooShort {
    pub len: usize,
    pub min: usize,
    pub direction: &'static str,
}

/// Why bytes did not become a frame. The decoder reports these and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Bytes outside any frame were thrown away while hunting for a preamble.
    #[error(
        "skipped {skipped} bytes that are not part of a GA 467 frame: check the baud rate (115200) and that this is an ID card reader"
    )]
    Garbage { skipped: usize },
    /// A preamble was followed by a length no real frame has.
    #[error(
        "a GA 467 frame header announced length {len}, outside {MIN_LENGTH_FIELD}..={MAX_LENGTH_FIELD}: the link is noisy or this is not an ID card reader"
    )]
    BadLength { len: u16 },
    /// A complete frame failed its XOR check.
    #[error(
        "a GA 467 frame failed its checksum (sent {received:#04x}, computed {computed:#04x}): check the cable"
    )]
    Checksum { received: u8, computed: u8 },
}

/// XOR of every byte: the frame checksum when given `LEN_H` through the last data byte.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, byte| acc ^ byte)
}

/// Wraps `payload` in preamble, length and checksum.
pub fn encode_frame(payload: &[u8]) -> Result<Vec<u8>, FrameTooLong> {
    let max = usize::from(MAX_LENGTH_FIELD) - 1;
    if payload.len() > max {
        return Err(FrameTooLong {
            len: payload.len(),
            max,
        });
    }
    let length = u16::try_from(payload.len() + 1).map_err(|_| FrameTooLong {
        len: payload.len(),
        max,
    })?;
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len() + 1);
    frame.extend_from_slice(&PREAMBLE);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(payload);
    let chk = checksum(&frame[PREAMBLE.len()..]);
    frame.push(chk);
    Ok(frame)
}

impl Request {
    /// The request's bytes on the wire.
    pub fn encode(&self) -> Result<Vec<u8>, FrameTooLong> {
        let mut payload = Vec::with_capacity(2 + self.data.len());
        payload.push(self.command);
        payload.push(self.parameter);
        payload.extend_from_slice(&self.data);
        encode_frame(&payload)
    }
}

impl Response {
    /// A response with SW1 = SW2 = 0, as every module sends.
    pub fn new(sw3: u8, data: Vec<u8>) -> Self {
        Self {
            sw1: 0,
            sw2: 0,
            sw3,
            data,
        }
    }

    /// The response's bytes on the wire.
    pub fn encode(&self) -> Result<Vec<u8>, FrameTooLong> {
        let mut payload = Vec::with_capacity(3 + self.data.len());
        payload.extend_from_slice(&[self.sw1, self.sw2, self.sw3]);
        payload.extend_from_slice(&self.data);
        encode_frame(&payload)
    }
}

impl Frame {
    /// Reads the payload as a host → SAM request.
    pub fn into_request(self) -> Result<Request, PayloadTooShort> {
        match self.payload.as_slice() {
            [command, parameter, data @ ..] => Ok(Request {
                command: *command,
                parameter: *parameter,
                data: data.to_vec(),
            }),
            _ => Err(PayloadTooShort {
                len: self.payload.len(),
                min: 2,
                direction: "request",
            }),
        }
    }

    /// Reads the payload as a SAM → host response.
    pub fn into_response(self) -> Result<Response, PayloadTooShort> {
        let mut data = self.payload;
        let len = data.len();
        let [sw1, sw2, sw3, ..] = data[..] else {
            return Err(PayloadTooShort {
                len,
                min: 3,
                direction: "response",
            });
        };
        // Shift in place rather than split: a fingerprint block must not be left behind in
        // spare capacity, so the vacated tail is zeroed.
        data.copy_within(3.., 0);
        data[len - 3..].fill(0);
        data.truncate(len - 3);
        Ok(Response {
            sw1,
            sw2,
            sw3,
            data,
        })
    }
}

/// One thing the decoder found: a frame, or bytes that did not make one.
pub type Decoded = Result<Frame, FrameError>;

/// Turns a byte stream into frames, whatever chunks it arrives in.
///
/// Follows libsamv's receiver: hunt for the preamble, read the length (rejecting impossible
/// ones), wait for the body, verify the XOR. After a bad length or checksum it resumes the hunt
/// one byte after the false preamble, so a genuine frame hidden behind a corrupt one is still
/// found. Work per pushed byte is bounded, so arbitrary input can neither panic nor hang it.
pub struct FrameDecoder {
    buf: Vec<u8>,
}

impl fmt::Debug for FrameDecoder {
    // The buffer can hold card text; only its size is safe to print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("buffered", &self.buf.len())
            .finish()
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    pub fn new() -> Self {
        // Room for the longest frame plus a read's worth of bytes, so the buffer does not
        // reallocate (and leave card data in freed memory) during normal reads.
        Self {
            buf: Vec::with_capacity(2 * usize::from(MAX_LENGTH_FIELD)),
        }
    }

    /// Feeds bytes in; returns every frame and error they complete, in stream order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Decoded> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            let rest = &self.buf[start..];
            let Some(at) = find_preamble(rest) else {
                // Keep a tail that may be the first bytes of a preamble split across pushes.
                let keep = partial_preamble_suffix(rest);
                let skipped = rest.len() - keep;
                if skipped > 0 {
                    out.push(Err(FrameError::Garbage { skipped }));
                }
                start += skipped;
                break;
            };
            if at > 0 {
                out.push(Err(FrameError::Garbage { skipped: at }));
                start += at;
            }
            let rest = &self.buf[start..];
            if rest.len() < HEADER_LEN {
                break;
            }
            let len = u16::from_be_bytes([rest[5], rest[6]]);
            if !(MIN_LENGTH_FIELD..=MAX_LENGTH_FIELD).contains(&len) {
                out.push(Err(FrameError::BadLength { len }));
                start += 1;
                continue;
            }
            let total = HEADER_LEN + usize::from(len);
            if rest.len() < total {
                break;
            }
            let computed = checksum(&rest[PREAMBLE.len()..total - 1]);
            let received = rest[total - 1];
            if computed != received {
                out.push(Err(FrameError::Checksum { received, computed }));
                start += 1;
                continue;
            }
            out.push(Ok(Frame {
                payload: rest[HEADER_LEN..total - 1].to_vec(),
            }));
            start += total;
        }
        self.discard_front(start);
        out
    }

    /// Forgets buffered bytes, e.g. before sending a new command.
    pub fn reset(&mut self) {
        let len = self.buf.len();
        self.discard_front(len);
    }

    /// Bytes held while waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn discard_front(&mut self, n: usize) {
        // Consumed bytes may be card text or a fingerprint: shift the rest down and zero the
        // vacated tail so no copy lingers in spare capacity.
        let len = self.buf.len();
        self.buf.copy_within(n.., 0);
        self.buf[len - n..].fill(0);
        self.buf.truncate(len - n);
    }
}

fn find_preamble(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(PREAMBLE.len())
        .position(|window| window == PREAMBLE)
}

/// Length of the longest suffix of `bytes` that is a proper prefix of the preamble.
fn partial_preamble_suffix(bytes: &[u8]) -> usize {
    (1..PREAMBLE.len())
        .rev()
        .find(|&n| bytes.len() >= n && bytes[bytes.len() - n..] == PREAMBLE[..n])
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn frames(decoded: Vec<Decoded>) -> Vec<Frame> {
        decoded.into_iter().filter_map(Result::ok).collect()
    }

    #[test]
    fn response_round_trip() {
        let response = Response::new(0x90, vec![1, 2, 3]);
        let bytes = response.encode().unwrap();
        assert_eq!(
            bytes,
            [
                0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x07, 0x00, 0x00, 0x90, 1, 2, 3, 0x97
            ]
        );
        let mut decoder = FrameDecoder::new();
        let decoded = decoder.push(&bytes);
        assert_eq!(decoded.len(), 1);
        let frame = decoded.into_iter().next().unwrap().unwrap();
        assert_eq!(frame.into_response().unwrap(), response);
        assert_eq!(decoder.buffered(), 0);
    }

    #[test]
    fn request_round_trip() {
        let request = Request {
            command: 0x61,
            parameter: 0xFF,
            data: vec![0x50],
        };
        let bytes = request.encode().unwrap();
        assert_eq!(
            bytes,
            [
                0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x04, 0x61, 0xFF, 0x50, 0xCA
            ]
        );
        let frame = FrameDecoder::new().push(&bytes).remove(0).unwrap();
        assert_eq!(frame.into_request().unwrap(), request);
    }

    #[test]
    fn too_long_payload_is_refused() {
        let too_long = encode_frame(&vec![0; 4096]);
        assert!(
            matches!(
                too_long,
                Err(FrameTooLong {
                    len: 4096,
                    max: 4095
                })
            ),
            "a 4096-byte payload needs length 4097"
        );
        let longest = encode_frame(&vec![0; 4095]).unwrap();
        assert_eq!(&longest[5..7], &[0x10, 0x00]);
        assert_eq!(FrameDecoder::new().push(&longest).len(), 1);
    }

    #[test]
    fn short_payloads_are_typed_errors() {
        let frame = Frame {
            payload: vec![0, 0],
        };
        assert_eq!(frame.clone().into_response().unwrap_err().min, 3);
        assert!(frame.into_request().is_ok());
        assert_eq!(
            Frame { payload: vec![1] }.into_request().unwrap_err().min,
            2
        );
    }

    #[test]
    fn debug_does_not_dump_payloads() {
        let response = Response::new(0x90, "张三".as_bytes().to_vec());
        assert_eq!(
            format!("{response:?}"),
            "Response { sw: 00 00 90, data: 6 bytes }"
        );
        let frame = Frame {
            payload: vec![0, 0, 0x90, 0xE5, 0xBC, 0xA0],
        };
        assert_eq!(format!("{frame:?}"), "Frame { head: [00, 00, 90], len: 6 }");
    }

    #[test]
    fn a_frame_split_byte_by_byte_decodes_once() {
        let bytes = Response::new(0x9F, vec![0; 4]).encode().unwrap();
        let mut decoder = FrameDecoder::new();
        let mut all = Vec::new();
        for byte in &bytes {
            all.extend(decoder.push(&[*byte]));
        }
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].as_ref().unwrap().payload, [0, 0, 0x9F, 0, 0, 0, 0]);
    }

    #[test]
    fn noise_before_a_frame_is_reported_and_skipped() {
        let mut bytes = vec![0x00, 0x13, 0xAA, 0x96, 0xAA, 0xAA];
        bytes.extend(Response::new(0x90, vec![]).encode().unwrap());
        let decoded = FrameDecoder::new().push(&bytes);
        assert_eq!(
            decoded,
            vec![
                Err(FrameError::Garbage { skipped: 6 }),
                Ok(Frame {
                    payload: vec![0, 0, 0x90]
                })
            ]
        );
    }

    #[test]
    fn a_bad_checksum_is_reported_and_the_next_frame_still_decodes() {
        let mut corrupt = Response::new(0x90, vec![7]).encode().unwrap();
        *corrupt.last_mut().unwrap() ^= 0x5A;
        let good = Response::new(0x80, vec![]).encode().unwrap();
        let mut stream = corrupt.clone();
        stream.extend(&good);
        let decoded = FrameDecoder::new().push(&stream);
        assert!(matches!(decoded[0], Err(FrameError::Checksum { .. })));
        assert_eq!(
            frames(decoded),
            vec![Frame {
                payload: vec![0, 0, 0x80]
            }]
        );
    }

    #[test]
    fn impossible_lengths_are_rejected_without_waiting() {
        let mut decoder = FrameDecoder::new();
        let decoded = decoder.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x00]);
        assert_eq!(decoded[0], Err(FrameError::BadLength { len: 0 }));
        let decoded = decoder.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF]);
        assert!(decoded.contains(&Err(FrameError::BadLength { len: 0xFFFF })));
        assert!(decoder.buffered() < PREAMBLE.len());
    }

    #[test]
    fn a_frame_hidden_after_a_false_preamble_is_found() {
        // A false preamble announcing 40 bytes swallows the real frame; after the checksum
        // fails the decoder must rescan those bytes.
        let mut stream = vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x28];
        let good = Response::new(0x9F, vec![0; 4]).encode().unwrap();
        stream.extend(&good);
        stream.extend(vec![0x11; 40]);
        let decoded = FrameDecoder::new().push(&stream);
        assert_eq!(
            frames(decoded),
            vec![Frame {
                payload: vec![0, 0, 0x9F, 0, 0, 0, 0]
            }]
        );
    }

    #[test]
    fn reset_forgets_a_partial_frame() {
        let bytes = Response::new(0x90, vec![]).encode().unwrap();
        let mut decoder = FrameDecoder::new();
        assert!(decoder.push(&bytes[..8]).is_empty());
        decoder.reset();
        assert_eq!(decoder.buffered(), 0);
        assert!(frames(decoder.push(&bytes[8..])).is_empty());
    }

    fn garbage() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_filter("garbage must not contain a preamble", |bytes| {
                find_preamble(bytes).is_none()
            })
    }

    proptest! {
        #[test]
        fn never_panics_and_always_terminates(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20)
        ) {
            let mut decoder = FrameDecoder::new();
            let mut pushed = 0;
            let mut reported = 0;
            for chunk in &chunks {
                pushed += chunk.len();
                reported += decoder.push(chunk).len();
                // Every report consumes at least one byte, and a waiting frame is bounded.
                prop_assert!(reported <= pushed);
                prop_assert!(decoder.buffered() < HEADER_LEN + usize::from(MAX_LENGTH_FIELD));
            }
        }

        #[test]
        fn never_panics_on_preamble_heavy_input(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just(PREAMBLE.to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..8),
                    proptest::collection::vec(prop_oneof![Just(0xAAu8), Just(0x96), Just(0x69), Just(0)], 0..8),
                ],
                0..60,
            )
        ) {
            let mut decoder = FrameDecoder::new();
            for piece in &pieces {
                decoder.push(piece);
            }
        }

        #[test]
        fn frames_embedded_in_garbage_are_recovered(
            before in garbage(),
            after in garbage(),
            sw3 in any::<u8>(),
            data in proptest::collection::vec(any::<u8>(), 0..1500),
            split in proptest::collection::vec(1usize..400, 1..10),
        ) {
            let response = Response::new(sw3, data);
            let mut stream = before;
            stream.extend(response.encode().unwrap());
            stream.extend(&after);
            let mut decoder = FrameDecoder::new();
            let mut decoded = Vec::new();
            let mut rest = stream.as_slice();
            let mut sizes = split.iter().cycle();
            while !rest.is_empty() {
                let n = (*sizes.next().unwrap()).min(rest.len());
                decoded.extend(decoder.push(&rest[..n]));
                rest = &rest[n..];
            }
            let found: Vec<Response> = frames(decoded)
                .into_iter()
                .map(|frame| frame.into_response().unwrap())
                .collect();
            prop_assert_eq!(found, vec![response]);
        }

        #[test]
        fn chunking_does_not_change_the_frames_found(
            stream in proptest::collection::vec(prop_oneof![
                3 => any::<u8>(),
                1 => Just(0xAAu8),
            ], 0..600),
            chunk in 1usize..64,
        ) {
            let whole = frames(FrameDecoder::new().push(&stream));
            let mut decoder = FrameDecoder::new();
            let mut pieces = Vec::new();
            for part in stream.chunks(chunk) {
                pieces.extend(frames(decoder.push(part)));
            }
            prop_assert_eq!(whole, pieces);
        }
    }
}
