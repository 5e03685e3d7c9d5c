//! Scanner line framing, text decoding and the HID key decoder on arbitrary input: no panic,
//! no unbounded buffer, every frame within the limit.
#![no_main]

use hardware::scanner::keyboard::{KeyDecoder, KeyEvent};
use hardware::scanner::{FrameItem, Framer, FramerConfig, Terminator, decode};
use libfuzzer_sys::fuzz_target;

const MAX_LEN: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let terminator = [
        Terminator::Cr,
        Terminator::Lf,
        Terminator::CrLf,
        Terminator::Auto,
        Terminator::None,
    ][usize::from(mode) % 5];
    let mut framer = Framer::new(FramerConfig {
        terminator,
        max_len: MAX_LEN,
    });
    // Split the input at arbitrary points, as reads from a port would.
    for chunk in rest.chunks(usize::from(mode % 7) + 1) {
        for item in framer.push(chunk) {
            if let FrameItem::Code(code) = item {
                assert!(code.len() <= MAX_LEN);
                let _ = decode(&code);
            }
        }
        assert!(framer.buffered() <= MAX_LEN + 1);
    }
    let _ = framer.flush();

    let mut keys = KeyDecoder::new(MAX_LEN);
    for triple in rest.chunks_exact(3) {
        let event = KeyEvent {
            kind: u16::from(triple[0] % 5),
            code: u16::from(triple[1]),
            value: i32::from(triple[2] % 3),
        };
        let _ = keys.push_event(event);
    }
});
