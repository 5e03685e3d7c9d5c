//! The ESC/POS decoder, receipt assembler and renderers (the printer emulator's whole input
//! path) on arbitrary bytes: no panic, no endless loop, bounded pictures.
#![no_main]

use hardware::printer::PaperWidth;
use hardware::printer::decode::{Assembler, Decoder};
use hardware::printer::render;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunking, rest)) = data.split_first() else {
        return;
    };
    let width = if chunking % 2 == 0 {
        PaperWidth::Mm58
    } else {
        PaperWidth::Mm80
    };
    let mut decoder = Decoder::new();
    let mut assembler = Assembler::new(width);
    let mut receipts = Vec::new();
    for chunk in rest.chunks(usize::from(chunking) + 1) {
        for event in decoder.push(chunk) {
            receipts.extend(assembler.push(&event));
        }
    }
    receipts.extend(assembler.finish());
    for receipt in &receipts {
        let _ = render::text(receipt, width);
        let picture = render::bitmap(receipt, width);
        assert_eq!(picture.width(), usize::from(width.dots()));
    }
});
