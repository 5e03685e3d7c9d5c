use proptest::prelude::*;

use super::*;
use crate::printer::encode::{CutStyle, EncodeOptions, QrMode, encode};
use crate::printer::paper::PaperWidth;
use crate::printer::receipt::{Element, Receipt, Size, Style};
use crate::printer::{gbk, qr, sample, wrap};

fn decode_all(bytes: &[u8]) -> Vec<Event> {
    Decoder::new().push(bytes)
}

fn receipts(bytes: &[u8], width: PaperWidth, chunk: usize) -> Vec<DecodedReceipt> {
    let mut decoder = Decoder::new();
    let mut assembler = Assembler::new(width);
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        out.extend(
            decoder
                .push(piece)
                .iter()
                .filter_map(|event| assembler.push(event)),
        );
    }
    out.extend(assembler.finish());
    out
}

fn style(bold: bool, width: u8, height: u8, align: Align) -> TextStyle {
    TextStyle {
        bold,
        underline: false,
        width,
        height,
        align,
    }
}

#[test]
fn the_reference_byte_dump_decodes_to_styled_chinese_text() {
    // Reference §2.4: init, centre, bold, 2×2, "便民 A1", ESC d 1 (as the escpos crate sends it).
    let bytes = [
        0x1B, 0x40, 0x1B, 0x61, 0x01, 0x1B, 0x45, 0x01, 0x1D, 0x21, 0x11, 0xB1, 0xE3, 0xC3, 0xF1,
        0x20, 0x41, 0x31, 0x1B, 0x64, 0x01,
    ];
    assert_eq!(
        decode_all(&bytes),
        [
            Event::Initialize,
            Event::Text {
                text: "便民 A1".to_owned(),
                style: style(true, 2, 2, Align::Center)
            },
            Event::LineFeed,
        ]
    );
}

#[test]
fn the_native_qr_sequence_decodes_to_its_payload_and_settings() {
    let bytes = crate::printer::encode::command::native_qr(b"AB", 6);
    assert_eq!(
        decode_all(&bytes),
        [Event::Qr(QrSymbol {
            payload: b"AB".to_vec(),
            model: 2,
            module_dots: 6,
            error_level: QrErrorLevel::M,
            align: Align::Left,
        })]
    );
}

#[test]
fn escpos_crate_status_requests_with_their_extra_nul_are_two_requests() {
    // Reference §2.4: the escpos crate sends `10 04 n 00`.
    assert_eq!(
        decode_all(&[0x10, 0x04, 0x01, 0x00, 0x10, 0x04, 0x04, 0x00]),
        [Event::StatusRequest(1), Event::StatusRequest(4)]
    );
}

#[test]
fn status_request_bytes_inside_image_data_are_not_requests() {
    let mut image = RasterImage::blank(3, 1);
    for x in [3, 13, 23] {
        image.set(x, 0);
    }
    let mut bytes = vec![0x1D, 0x76, 0x30, 0x00, 3, 0, 1, 0];
    // The row's three bytes are 10 04 01 — DLE EOT 1 — but they are dots.
    bytes.extend_from_slice(&[0x10, 0x04, 0x01]);
    assert_eq!(image.data(), [0x10, 0x04, 0x01]);
    let events = decode_all(&bytes);
    assert_eq!(events.len(), 1);
    assert!(matches!(&events[0], Event::Image(p) if p.image == image && p.qr.is_none()));
}

#[test]
fn a_raster_qr_image_is_read_back_to_its_payload() {
    let code = qr::symbol(b"https://example.cn/r/7").unwrap();
    let image = qr::draw(&code, PaperWidth::Mm58).unwrap();
    let events = decode_all(&crate::printer::encode::command::raster(&image));
    let [Event::Image(printed)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(printed.qr.as_deref(), Some(&b"https://example.cn/r/7"[..]));
    assert_eq!(printed.image, image);
}

#[test]
fn single_byte_mode_shows_high_bytes_as_replacement_characters() {
    let events = decode_all(&[0x1C, 0x2E, 0xB1, 0xE3, b'A', 0x1C, 0x26, 0xB1, 0xE3]);
    assert_eq!(
        events,
        [
            Event::ChineseMode(false),
            Event::Text {
                text: "\u{FFFD}\u{FFFD}A".to_owned(),
                style: TextStyle::default()
            },
            Event::ChineseMode(true),
            Event::Text {
                text: "便".to_owned(),
                style: TextStyle::default()
            },
        ]
    );
}

#[test]
fn a_lead_byte_without_a_valid_trail_is_one_bad_character_and_the_trail_is_kept() {
    assert_eq!(
        decode_all(&[0x81, 0x0A]),
        [
            Event::Text {
                text: "\u{FFFD}".to_owned(),
                style: TextStyle::default()
            },
            Event::LineFeed
        ]
    );
}

#[test]
fn a_split_double_byte_character_waits_for_its_trail() {
    let mut decoder = Decoder::new();
    assert_eq!(decoder.push(&[b'A', 0xB1]).len(), 1);
    assert_eq!(decoder.pending_len(), 1);
    assert_eq!(
        decoder.push(&[0xE3]),
        [Event::Text {
            text: "便".to_owned(),
            style: TextStyle::default()
        }]
    );
}

#[test]
fn unmodelled_commands_are_skipped_by_their_lengths() {
    let mut bytes = vec![0x1B, 0x74, 0x00]; // ESC t 0
    bytes.extend_from_slice(&[0x1B, 0x70, 0x00, 0x19, 0xFA]); // ESC p (drawer kick)
    bytes.extend_from_slice(&[0x1D, 0x6B, 0x02]); // GS k 2 "6901234567892" NUL
    bytes.extend_from_slice(b"6901234567892\0");
    bytes.extend_from_slice(&[0x1D, 0x6B, 0x49, 0x03, b'A', b'B', b'C']); // GS k 73 n=3
    bytes.extend_from_slice(&[
        0x1B, 0x26, 0x03, 0x41, 0x42, 0x01, 1, 2, 3, 0x02, 1, 2, 3, 4, 5, 6,
    ]);
    bytes.extend_from_slice(&[0x1D, 0x28, 0x4C, 0x02, 0x00, 0x30, 0x32]); // GS ( L
    bytes.extend_from_slice(&[0x1B, 0x99]); // unknown ESC x
    bytes.extend_from_slice(b"ok\n");
    let events = decode_all(&bytes);
    let lens: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Unsupported { len, .. } => Some(*len),
            _ => None,
        })
        .collect();
    assert_eq!(lens, [3, 5, 17, 7, 16, 7, 2]);
    assert_eq!(
        &events[events.len() - 2..],
        [
            Event::Text {
                text: "ok".to_owned(),
                style: TextStyle::default()
            },
            Event::LineFeed
        ]
    );
}

#[test]
fn an_oversized_command_is_counted_off_without_being_buffered() {
    let mut decoder = Decoder::new();
    let len: u32 = 3 << 20;
    let mut header = vec![0x1D, 0x38, 0x4C];
    header.extend_from_slice(&len.to_le_bytes());
    let events = decoder.push(&header);
    assert!(matches!(
        &events[..],
        [Event::Unsupported { len: 3145735, .. }]
    ));
    let chunk = vec![0x10u8; 1 << 16];
    for _ in 0..(len as usize / chunk.len()) {
        assert!(
            decoder.push(&chunk).is_empty(),
            "data bytes are not commands"
        );
        assert_eq!(decoder.pending_len(), 0);
    }
    assert_eq!(
        decoder.push(b"A\n"),
        [
            Event::Text {
                text: "A".to_owned(),
                style: TextStyle::default()
            },
            Event::LineFeed
        ]
    );
}

#[test]
fn print_mode_feed_and_cut_commands_decode() {
    let bytes = [
        0x1B, 0x21, 0x38, b'a', // ESC ! bold + double height + double width
        0x1B, 0x64, 0x03, // ESC d 3
        0x1D, 0x56, 0x00, // GS V 0: full cut
        0x1D, 0x56, 0x42, 0x05, // GS V 66 5: feed, partial
    ];
    assert_eq!(
        decode_all(&bytes),
        [
            Event::Text {
                text: "a".to_owned(),
                style: style(true, 2, 2, Align::Left)
            },
            Event::LineFeed,
            Event::LineFeed,
            Event::LineFeed,
            Event::Cut(CutKind::Full),
            Event::Cut(CutKind::Partial),
        ]
    );
}

#[test]
fn the_assembler_wraps_at_the_paper_edge_and_splits_receipts_at_cuts() {
    let mut bytes = vec![b'x'; 40];
    bytes.extend_from_slice(&[0x0A, 0x0A, 0x1D, 0x56, 0x42, 0x00, b'y']);
    let got = receipts(&bytes, PaperWidth::Mm58, 7);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].text_lines(),
        ["x".repeat(32), "x".repeat(8), String::new()]
    );
    assert_eq!(got[0].cut, Some(CutKind::Partial));
    assert_eq!(got[1].text_lines(), ["y"]);
    assert_eq!(got[1].cut, None);
}

#[test]
fn initialize_discards_an_unfinished_line() {
    let got = receipts(b"lost\x1b@kept\n", PaperWidth::Mm58, 64);
    assert_eq!(got[0].text_lines(), ["kept"]);
}

/// What the decoder should give back for a receipt: each line's text and style, or a QR.
#[derive(Debug, PartialEq)]
enum Expected {
    Line(String, TextStyle),
    Qr(Vec<u8>),
}

fn expected(receipt: &Receipt, width: PaperWidth) -> (Vec<Expected>, usize) {
    let columns = width.columns();
    let to_style = |s: Style| style(s.bold, s.size.width(), s.size.height(), s.align);
    let mut lines = Vec::new();
    let mut cuts = 0;
    for element in receipt.elements() {
        match element {
            Element::Title(text) => {
                for line in wrap::wrap(&gbk::printable(text), columns / 2) {
                    lines.push(Expected::Line(line, to_style(Style::title())));
                }
            }
            Element::Text { text, style: s } => {
                for line in wrap::wrap(&gbk::printable(text), columns / usize::from(s.size.width()))
                {
                    lines.push(Expected::Line(line, to_style(*s)));
                }
            }
            Element::Row { label, value } => {
                for line in
                    wrap::label_value(&gbk::printable(label), &gbk::printable(value), columns)
                {
                    lines.push(Expected::Line(line, TextStyle::default()));
                }
            }
            Element::Separator => {
                lines.push(Expected::Line("-".repeat(columns), TextStyle::default()))
            }
            Element::Qr(payload) => lines.push(Expected::Qr(payload.as_bytes().to_vec())),
            Element::Feed(n) => {
                for _ in 0..*n {
                    lines.push(Expected::Line(String::new(), TextStyle::default()));
                }
            }
            Element::Cut => cuts += 1,
        }
    }
    (lines, cuts)
}

fn actual(receipt: &DecodedReceipt) -> Vec<Expected> {
    receipt
        .lines
        .iter()
        .map(|line| match line {
            PrintedLine::Text(text) => {
                // One style per line: the encoder never mixes styles within a line.
                assert!(text.runs.len() <= 1, "{text:?}");
                let style = text.runs.first().map_or(TextStyle::default(), |r| r.style);
                Expected::Line(
                    text.text(),
                    TextStyle {
                        align: text.align,
                        ..style
                    },
                )
            }
            PrintedLine::Qr(symbol) => {
                assert_eq!((symbol.model, symbol.error_level), (2, QrErrorLevel::M));
                assert_eq!(symbol.align, Align::Center);
                Expected::Qr(symbol.payload.clone())
            }
            PrintedLine::Image(image) => {
                assert_eq!(image.align, Align::Center);
                Expected::Qr(image.qr.clone().expect("raster images here are QR codes"))
            }
        })
        .collect()
}

fn assert_round_trip(receipt: &Receipt, options: EncodeOptions, chunk: usize) {
    let bytes = encode(receipt, &options).unwrap();
    let decoded = receipts(&bytes, options.width, chunk);
    let (want, cuts) = expected(receipt, options.width);
    assert_eq!(decoded.len(), cuts.max(1));
    assert!(decoded.iter().all(|r| r.cut == Some(CutKind::Partial)) || cuts == 0);
    let got: Vec<Expected> = decoded.iter().flat_map(actual).collect();
    // Blank lines carry no style to compare.
    let normalise = |lines: Vec<Expected>| -> Vec<Expected> {
        lines
            .into_iter()
            .map(|line| match line {
                Expected::Line(text, _) if text.is_empty() => {
                    Expected::Line(text, TextStyle::default())
                }
                Expected::Line(text, mut style) if text.chars().all(|c| c == ' ') => {
                    style.align = Align::Left;
                    Expected::Line(text, style)
                }
                other => other,
            })
            .collect()
    };
    assert_eq!(normalise(got), normalise(want), "{options:?}");
}

#[test]
fn the_standard_receipt_round_trips_at_both_widths_and_both_qr_modes() {
    for width in [PaperWidth::Mm58, PaperWidth::Mm80] {
        for qr_mode in [QrMode::Native, QrMode::Raster] {
            let options = EncodeOptions {
                width,
                qr_mode,
                cut: CutStyle::Partial,
            };
            assert_round_trip(&sample::standard_receipt(), options, usize::MAX);
            assert_round_trip(&sample::standard_receipt(), options, 1);
        }
    }
}

#[test]
fn every_style_round_trips() {
    let mut receipt = Receipt::new();
    for size in [
        Size::Normal,
        Size::DoubleWidth,
        Size::DoubleHeight,
        Size::Double,
    ] {
        for align in [Align::Left, Align::Center, Align::Right] {
            for bold in [false, true] {
                let style = Style { bold, size, align };
                receipt = receipt.styled(format!("{size:?} {align:?} 粗体{bold}"), style);
            }
        }
    }
    let receipt = receipt.qr("二维码 payload ✓").cut();
    for qr_mode in [QrMode::Native, QrMode::Raster] {
        let options = EncodeOptions {
            qr_mode,
            ..EncodeOptions::default()
        };
        assert_round_trip(&receipt, options, 5);
    }
}

fn text_strategy() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "Z",
        "0",
        " ",
        "-",
        "回",
        "执",
        "单",
        "𠮷",
        "😀",
        "ā",
        "·",
        "\t",
        "\n",
        "\u{1b}",
        "€",
        "é",
        "\u{301}",
        "BM-20250312",
        "城乡居民",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn the_decoder_never_panics_or_stalls_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        chunk in 1usize..64,
    ) {
        let whole = receipts(&bytes, PaperWidth::Mm58, usize::MAX);
        let chunked = receipts(&bytes, PaperWidth::Mm58, chunk);
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn command_heavy_noise_never_panics(
        bytes in prop::collection::vec(
            prop::sample::select(vec![0x10u8, 0x04, 0x1B, 0x1C, 0x1D, 0x28, 0x6B, 0x76, 0x30,
                0x56, 0x21, 0x26, 0x2E, 0x31, 0x50, 0x51, 0x00, 0x01, 0x02, 0x0A, 0x81, 0xB1, 0xFF]),
            0..2048),
    ) {
        let mut decoder = Decoder::new();
        let mut assembler = Assembler::new(PaperWidth::Mm80);
        for event in decoder.push(&bytes) {
            assembler.push(&event);
        }
        if let Some(receipt) = assembler.finish() {
            let _ = crate::printer::render::text(&receipt, PaperWidth::Mm80);
            let _ = crate::printer::render::bitmap(&receipt, PaperWidth::Mm80);
        }
    }

    #[test]
    fn qr_reading_never_panics_on_finder_like_noise(
        modules in prop::sample::select(vec![21usize, 25, 29]),
        scale in 1usize..4,
        noise in prop::collection::vec(any::<bool>(), 29 * 29),
    ) {
        // A top-left finder row of ink so the reader gets as far as rqrr's decoder.
        let side = modules * scale;
        let mut image = RasterImage::blank(side.div_ceil(8), side);
        for y in 0..modules {
            for x in 0..modules {
                let finder = y == 0 && x < 7;
                if finder || noise[y * modules + x] {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            image.set(x * scale + dx, y * scale + dy);
                        }
                    }
                }
            }
        }
        let _ = qr::read(&image);
    }

    #[test]
    fn any_text_round_trips_as_its_printable_form(text in text_strategy(), wide in any::<bool>()) {
        let width = if wide { PaperWidth::Mm80 } else { PaperWidth::Mm58 };
        let receipt = Receipt::new().text(text.clone()).row("标签：", text).cut();
        let options = EncodeOptions { width, ..EncodeOptions::default() };
        assert_round_trip(&receipt, options, 3);
    }
}
