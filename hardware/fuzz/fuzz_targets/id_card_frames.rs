//! The ID card reader's frame decoder and reply parsers on arbitrary bytes: no panic, bounded
//! buffering, and every frame it accepts goes through the text-block and read-reply parsers.
#![no_main]

use hardware::id_card::frame::{FrameDecoder, HEADER_LEN, MAX_LENGTH_FIELD};
use hardware::id_card::read::{parse_appended_address, split_read_reply};
use hardware::id_card::text::parse_text_block;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunking, rest)) = data.split_first() else {
        return;
    };
    let mut decoder = FrameDecoder::new();
    let mut items = 0;
    for chunk in rest.chunks(usize::from(chunking) + 1) {
        for item in decoder.push(chunk) {
            items += 1;
            if let Ok(frame) = item {
                let mut payload = frame.payload.clone();
                let _ = split_read_reply(&mut payload, chunking % 2 == 0);
                let _ = parse_appended_address(&frame.payload);
            }
        }
        assert!(decoder.buffered() < HEADER_LEN + usize::from(MAX_LENGTH_FIELD));
    }
    assert!(items <= rest.len());
    if rest.len() >= 256 {
        let _ = parse_text_block(&rest[..256]);
    }
});
