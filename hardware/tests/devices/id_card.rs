//! The ID card reader driver against its emulator over a real pseudo-terminal: every card
//! kind, every fault mode, polling, and the emulator's exact bytes on the wire.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hardware::id_card::emulator::{self, AfterRead, EmulatedCard, Emulator, EmulatorConfig, Fault};
use hardware::id_card::{
    Card, CardKind, Command, Gender, IdNumber, Nation, PollEvent, ReadCommand, Reader,
    ReaderConfig, ReaderError, Status, Timeouts, ValidUntil, samples,
};
use hardware::transport::{SerialTransport, Transport};

/// Generous: a loaded CI machine must never turn a working reader into a silent one.
fn patient() -> ReaderConfig {
    ReaderConfig {
        timeouts: Timeouts::uniform(Duration::from_secs(3)),
        retries: 1,
        ..ReaderConfig::default()
    }
}

/// Short timeouts for the faults that are meant to time out.
fn impatient() -> ReaderConfig {
    ReaderConfig {
        timeouts: Timeouts::uniform(Duration::from_millis(200)),
        retries: 1,
        ..ReaderConfig::default()
    }
}

fn emulate(card: Option<Card>, fault: Fault, after_read: AfterRead) -> Emulator {
    emulator::spawn(EmulatorConfig {
        card: card.map(|card| EmulatedCard::new(card).unwrap()),
        fault,
        after_read,
        ..EmulatorConfig::default()
    })
    .unwrap()
}

fn port(emulator: &Emulator) -> String {
    emulator.path().unwrap().to_str().unwrap().to_owned()
}

fn connect(emulator: &Emulator, config: ReaderConfig) -> Reader<SerialTransport> {
    Reader::new(
        SerialTransport::open(&port(emulator), 115_200).unwrap(),
        config,
    )
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/id_card")
        .join(name)
}

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).unwrap())
        .collect()
}

#[test]
fn reads_every_card_kind_with_its_photo() {
    for card in samples::all() {
        let emulated = EmulatedCard::new(card.clone()).unwrap();
        let photo = emulated.photo().to_vec();
        let emulator = emulator::spawn(EmulatorConfig {
            card: Some(emulated),
            ..EmulatorConfig::default()
        })
        .unwrap();
        let mut reader = connect(&emulator, patient());
        let read = reader.read_card().unwrap();
        assert_eq!(read.card, card);
        assert_eq!(read.photo.as_bytes(), photo.as_slice());
        assert_eq!(read.photo.as_bytes().len(), 1024);
        assert_eq!(read.appended_address, None);
        assert_eq!(
            emulator.commands(),
            vec![
                Command::SamStatus,
                Command::SetMaxRfFrame(0x50),
                Command::FindCard,
                Command::SelectCard,
                Command::ReadText,
                Command::ReadAppendedAddress,
            ],
            "{:?}",
            card.kind()
        );
    }
}

#[test]
fn the_max_rf_frame_is_set_once_per_connection() {
    let emulator = emulate(
        Some(samples::resident()),
        Fault::None,
        AfterRead::StillFound,
    );
    let mut reader = connect(&emulator, patient());
    reader.read_card().unwrap();
    reader.read_card().unwrap();
    let commands = emulator.commands();
    let rf = commands
        .iter()
        .filter(|command| matches!(command, Command::SetMaxRfFrame(_)))
        .count();
    assert_eq!(rf, 1, "{commands:?}");
    assert_eq!(
        commands
            .iter()
            .filter(|c| **c == Command::SamStatus)
            .count(),
        2
    );
}

#[test]
fn reads_card_files_with_an_appended_address() {
    let card = EmulatedCard::load(&fixture("resident.toml")).unwrap();
    let emulator = emulator::spawn(EmulatorConfig {
        card: Some(card),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let read = connect(&emulator, patient()).read_card().unwrap();
    let Card::Resident(resident) = &read.card else {
        panic!("expected a resident card, got {:?}", read.card.kind())
    };
    assert_eq!(resident.name, "李秀英");
    assert_eq!(resident.gender, Gender::Female);
    assert_eq!(resident.nation, Nation::from_code(8));
    assert_eq!(resident.id_number, IdNumber::new("450902196208150028"));
    assert_eq!(resident.valid_until, ValidUntil::LongTerm);
    assert_eq!(
        read.appended_address.as_deref(),
        Some("广西壮族自治区玉林市福绵区示例镇3号")
    );

    let card = EmulatedCard::load(&fixture("foreign.json")).unwrap();
    emulator.place(card);
    let read = connect(&emulator, patient()).read_card().unwrap();
    assert_eq!(read.card.kind(), CardKind::Foreign2017);
    assert_eq!(read.card.display_name(), "阮文安");
    assert_eq!(read.card.id_number().masked(), "VNM450*****0101");
}

#[test]
fn the_sam_id_reads_as_printed_on_the_label() {
    let emulator = emulate(None, Fault::None, AfterRead::default());
    let mut reader = connect(&emulator, patient());
    reader.sam_status().unwrap();
    assert_eq!(
        reader.sam_id().unwrap().to_string(),
        "05.01-20101111-0012345678-1234567890"
    );
}

#[test]
fn no_card_is_a_typed_status() {
    for (card, fault) in [
        (None, Fault::None),
        (Some(samples::resident()), Fault::NoCard),
    ] {
        let emulator = emulate(card, fault, AfterRead::default());
        let err = connect(&emulator, patient()).read_card().unwrap_err();
        assert!(
            matches!(
                err,
                ReaderError::Status {
                    command: Command::FindCard,
                    status: Status::NoCard,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&port(&emulator)) && text.contains("place the card"),
            "{text}"
        );
    }
}

#[test]
fn a_card_removed_mid_read_is_a_read_failure() {
    let emulator = emulate(
        Some(samples::resident()),
        Fault::RemovedMidRead,
        AfterRead::default(),
    );
    let err = connect(&emulator, patient()).read_card().unwrap_err();
    assert!(
        matches!(
            err,
            ReaderError::Status {
                command: Command::ReadText,
                status: Status::ReadFailed,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn corrupted_checksums_are_retried_then_reported() {
    let emulator = emulate(
        Some(samples::resident()),
        Fault::BadChecksum,
        AfterRead::default(),
    );
    let config = ReaderConfig {
        retries: 2,
        ..patient()
    };
    let err = connect(&emulator, config).read_card().unwrap_err();
    assert!(
        matches!(
            err,
            ReaderError::Corrupted {
                command: Command::SamStatus,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(emulator.commands(), vec![Command::SamStatus; 3]);
}

#[test]
fn sam_faults_are_typed_statuses() {
    for (fault, expected) in [
        ("sam-not-authorised", Status::SamNotAuthorised),
        ("sam-self-test", Status::SamSelfTestFailed),
        ("sam:0x24", Status::UnknownError),
    ] {
        let emulator = emulate(
            Some(samples::resident()),
            fault.parse().unwrap(),
            AfterRead::default(),
        );
        let err = connect(&emulator, patient()).read_card().unwrap_err();
        assert_eq!(err.status(), Some(expected), "{err:?}");
        assert!(
            matches!(
                err,
                ReaderError::Status {
                    command: Command::SamStatus,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(expected.meaning_zh()), "{err}");
    }
}

#[test]
fn slow_replies_within_the_timeout_still_read() {
    let emulator = emulate(
        Some(samples::permit()),
        Fault::Slow(Duration::from_millis(60)),
        AfterRead::default(),
    );
    let read = connect(&emulator, patient()).read_card().unwrap();
    assert_eq!(read.card, samples::permit());
}

#[test]
fn replies_slower_than_the_timeout_are_no_reply() {
    let emulator = emulate(
        Some(samples::resident()),
        Fault::Slow(Duration::from_secs(3)),
        AfterRead::default(),
    );
    let err = connect(&emulator, impatient()).read_card().unwrap_err();
    assert!(
        matches!(
            err,
            ReaderError::NoReply {
                command: Command::SamStatus,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn noise_before_replies_is_skipped() {
    let emulator = emulate(
        Some(samples::foreign_2023()),
        Fault::Noise,
        AfterRead::default(),
    );
    let read = connect(&emulator, patient()).read_card().unwrap();
    assert_eq!(read.card, samples::foreign_2023());
}

#[test]
fn garbage_instead_of_replies_is_the_wrong_protocol() {
    let emulator = emulate(
        Some(samples::resident()),
        Fault::Garbage,
        AfterRead::default(),
    );
    let err = connect(&emulator, impatient()).read_card().unwrap_err();
    let ReaderError::WrongProtocol {
        stray_bytes,
        command: Command::SamStatus,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(*stray_bytes > 0);
    let text = err.to_string();
    assert!(
        text.contains(&port(&emulator)) && text.contains("not ID card reader frames"),
        "{text}"
    );
}

#[test]
fn a_silent_reader_is_no_reply_naming_the_port_and_what_to_check() {
    let emulator = emulate(
        Some(samples::resident()),
        Fault::Silent,
        AfterRead::default(),
    );
    let err = connect(&emulator, impatient()).read_card().unwrap_err();
    assert!(
        matches!(
            err,
            ReaderError::NoReply {
                command: Command::SamStatus,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    for needle in [port(&emulator).as_str(), "powered", "cable", "115200"] {
        assert!(text.contains(needle), "{needle} missing from: {text}");
    }
    assert!(err.is_link_failure());
}

#[test]
fn an_invalid_number_is_an_error_carrying_only_the_masked_number() {
    let Card::Resident(mut card) = samples::resident() else {
        unreachable!()
    };
    card.id_number = IdNumber::new("110105198001010017");
    let emulator = emulate(
        Some(Card::Resident(card)),
        Fault::None,
        AfterRead::default(),
    );
    let err = connect(&emulator, patient()).read_card().unwrap_err();
    let ReaderError::InvalidIdNumber { masked, kind, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(masked, "110105********0017");
    assert_eq!(*kind, CardKind::Resident);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("110105198001010017"), "{shown}");
    assert!(shown.contains("110105********0017"), "{shown}");
}

#[test]
fn faults_switched_from_another_thread_take_effect() {
    let emulator = emulate(
        Some(samples::resident()),
        Fault::None,
        AfterRead::StillFound,
    );
    let mut reader = connect(&emulator, impatient_but_readable());
    reader.read_card().unwrap();

    let control = emulator.control();
    std::thread::spawn(move || control.set_fault(Fault::Silent))
        .join()
        .unwrap();
    let err = reader.read_card().unwrap_err();
    assert!(matches!(err, ReaderError::NoReply { .. }), "{err:?}");

    emulator.set_fault(Fault::None);
    let control = emulator.control();
    std::thread::spawn(move || control.remove()).join().unwrap();
    let err = reader.read_card().unwrap_err();
    assert_eq!(err.status(), Some(Status::NoCard), "{err:?}");

    emulator.place(EmulatedCard::new(samples::permit()).unwrap());
    assert_eq!(reader.read_card().unwrap().card, samples::permit());
}

/// Short timeouts for commands that time out on purpose, long ones for the read itself.
fn impatient_but_readable() -> ReaderConfig {
    ReaderConfig {
        timeouts: Timeouts {
            read: Duration::from_secs(3),
            appended_address: Duration::from_secs(3),
            ..Timeouts::uniform(Duration::from_secs(1))
        },
        retries: 1,
        ..ReaderConfig::default()
    }
}

fn count_reads(emulator: &Emulator) -> usize {
    emulator
        .commands()
        .iter()
        .filter(|command| **command == Command::ReadText)
        .count()
}

fn placed(events: &[PollEvent]) -> usize {
    events
        .iter()
        .filter(|event| matches!(event, PollEvent::Placed(_)))
        .count()
}

#[test]
fn polling_reports_each_placement_once_whatever_the_reader_does_after_a_read() {
    for after_read in [AfterRead::StillFound, AfterRead::NoCardUntilLifted] {
        let emulator = emulate(Some(samples::resident()), Fault::None, after_read);
        let mut reader = connect(&emulator, patient());

        let events: Vec<PollEvent> = (0..6).map(|_| reader.poll().unwrap()).collect();
        assert_eq!(placed(&events), 1, "{after_read:?}: {events:?}");
        let PollEvent::Placed(read) = &events[0] else {
            panic!("{after_read:?}: {events:?}")
        };
        assert_eq!(read.card, samples::resident());
        assert_eq!(count_reads(&emulator), 1, "{after_read:?}");

        emulator.remove();
        let events: Vec<PollEvent> = (0..4).map(|_| reader.poll().unwrap()).collect();
        assert_eq!(placed(&events), 0, "{after_read:?}: {events:?}");
        assert_eq!(events.last(), Some(&PollEvent::Empty), "{after_read:?}");

        emulator.place(EmulatedCard::new(samples::permit()).unwrap());
        let events: Vec<PollEvent> = (0..4).map(|_| reader.poll().unwrap()).collect();
        assert_eq!(placed(&events), 1, "{after_read:?}: {events:?}");
        let PollEvent::Placed(read) = &events[0] else {
            panic!("{after_read:?}: {events:?}")
        };
        assert_eq!(read.card, samples::permit());
        assert_eq!(count_reads(&emulator), 2, "{after_read:?}");
    }
}

#[test]
fn polling_a_card_that_stays_reports_it_present_then_removed() {
    let emulator = emulate(
        Some(samples::resident()),
        Fault::None,
        AfterRead::StillFound,
    );
    let mut reader = connect(&emulator, patient());
    assert!(matches!(reader.poll().unwrap(), PollEvent::Placed(_)));
    assert_eq!(reader.poll().unwrap(), PollEvent::Present);
    emulator.remove();
    // One "no card" may be a reader quirk; the second confirms the card is gone.
    assert_eq!(reader.poll().unwrap(), PollEvent::Present);
    assert_eq!(reader.poll().unwrap(), PollEvent::Removed);
    assert_eq!(reader.poll().unwrap(), PollEvent::Empty);
}

#[test]
fn polling_reports_a_bad_card_once_per_placement() {
    let Card::Resident(mut card) = samples::resident() else {
        unreachable!()
    };
    card.id_number = IdNumber::new("110105198001010017");
    let emulator = emulate(
        Some(Card::Resident(card)),
        Fault::None,
        AfterRead::StillFound,
    );
    let mut reader = connect(&emulator, patient());
    assert!(matches!(
        reader.poll(),
        Err(ReaderError::InvalidIdNumber { .. })
    ));
    assert_eq!(reader.poll().unwrap(), PollEvent::Present);
    assert_eq!(count_reads(&emulator), 1);
}

#[test]
fn the_fingerprint_command_works_and_yields_no_fingerprint() {
    let emulator = emulate(Some(samples::resident()), Fault::None, AfterRead::default());
    let config = ReaderConfig {
        read_command: ReadCommand::WithFingerprintDiscarded,
        read_appended_address: false,
        ..patient()
    };
    let read = connect(&emulator, config).read_card().unwrap();
    assert_eq!(read.card, samples::resident());
    assert_eq!(read.photo.as_bytes().len(), 1024);
    let commands = emulator.commands();
    assert!(commands.contains(&Command::ReadWithFingerprint));
    assert!(!commands.contains(&Command::ReadText));
    assert!(!commands.contains(&Command::ReadAppendedAddress));
}

#[test]
fn the_default_driver_never_asks_for_fingerprints() {
    let emulator = emulate(Some(samples::resident()), Fault::None, AfterRead::default());
    let mut reader = connect(&emulator, patient());
    reader.read_card().unwrap();
    reader.poll().unwrap();
    assert!(!emulator.commands().contains(&Command::ReadWithFingerprint));
}

/// Sends raw bytes to the emulator and collects `expected_len` bytes of reply.
fn exchange(host: &mut SerialTransport, request: &[u8], expected_len: usize) -> Vec<u8> {
    host.send(request).unwrap();
    let mut reply = vec![0u8; expected_len];
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let got = hardware::transport::receive_exact_until(host, &mut reply, deadline).unwrap();
    reply.truncate(got);
    reply
}

#[test]
fn the_emulator_sends_the_published_frames_byte_for_byte() {
    let emulator = emulate(
        Some(samples::resident()),
        Fault::None,
        AfterRead::NoCardUntilLifted,
    );
    let mut host = SerialTransport::open(&port(&emulator), 115_200).unwrap();
    assert_eq!(
        exchange(&mut host, &hex("AA AA AA 96 69 00 03 20 01 22"), 15),
        hex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
    );
    assert_eq!(
        exchange(&mut host, &hex("AA AA AA 96 69 00 03 20 02 21"), 19),
        hex("AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C")
    );
    let read = exchange(&mut host, &hex("AA AA AA 96 69 00 03 30 01 32"), 1295);
    assert_eq!(read.len(), 1295);
    assert_eq!(
        read[..14],
        hex("AA AA AA 96 69 05 08 00 00 90 01 00 04 00")[..]
    );
    let text = EmulatedCard::new(samples::resident()).unwrap();
    assert_eq!(&read[14..270], text.text_block());
    assert_eq!(&read[270..1294], text.photo());
    // Halted after the read: the same card is not found again until lifted.
    assert_eq!(
        exchange(&mut host, &hex("AA AA AA 96 69 00 03 20 01 22"), 11),
        hex("AA AA AA 96 69 00 04 00 00 80 84")
    );
    emulator.remove();
    assert_eq!(
        exchange(&mut host, &hex("AA AA AA 96 69 00 03 20 02 21"), 11),
        hex("AA AA AA 96 69 00 04 00 00 81 85")
    );
    assert_eq!(
        exchange(&mut host, &hex("AA AA AA 96 69 00 03 30 01 32"), 11),
        hex("AA AA AA 96 69 00 04 00 00 41 45")
    );
    assert_eq!(
        exchange(&mut host, &hex("AA AA AA 96 69 00 03 30 03 30"), 11),
        hex("AA AA AA 96 69 00 04 00 00 41 45")
    );
}

#[test]
fn the_emulator_answers_host_mistakes_with_their_status_words() {
    let emulator = emulate(None, Fault::None, AfterRead::default());
    let mut host = SerialTransport::open(&port(&emulator), 115_200).unwrap();
    // Find card with its checksum broken.
    assert_eq!(
        exchange(&mut host, &hex("AA AA AA 96 69 00 03 20 01 23"), 11),
        hex("AA AA AA 96 69 00 04 00 00 10 14")
    );
    // "Read MID" (30 05) is not something this reader knows.
    assert_eq!(
        exchange(&mut host, &hex("AA AA AA 96 69 00 03 30 05 36"), 11),
        hex("AA AA AA 96 69 00 04 00 00 21 25")
    );
    // Noise before a request is ignored, the request still answered.
    let mut noisy = b"hello".to_vec();
    noisy.extend(hex("AA AA AA 96 69 00 03 11 FF ED"));
    assert_eq!(
        exchange(&mut host, &noisy, 11),
        hex("AA AA AA 96 69 00 04 00 00 90 94")
    );
}

#[test]
fn the_emulator_outlives_a_host_that_disconnects() {
    let emulator = emulate(Some(samples::resident()), Fault::None, AfterRead::default());
    let reader = connect(&emulator, patient());
    drop(reader.into_inner());
    let mut again = connect(&emulator, patient());
    assert_eq!(again.read_card().unwrap().card, samples::resident());
}

#[test]
fn a_stable_link_works_and_goes_away_with_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyIDCARD");
    let pty = hardware::transport::Pty::open()
        .unwrap()
        .with_link(&link)
        .unwrap();
    let emulator = emulator::spawn_on_pty(
        pty,
        EmulatorConfig {
            card: Some(EmulatedCard::new(samples::foreign_2017()).unwrap()),
            ..EmulatorConfig::default()
        },
    )
    .unwrap();
    assert_eq!(emulator.link(), Some(link.as_path()));
    let transport = SerialTransport::open(link.to_str().unwrap(), 115_200).unwrap();
    let mut reader = Reader::new(transport, patient());
    assert_eq!(reader.read_card().unwrap().card, samples::foreign_2017());
    drop(reader);
    emulator.stop();
    assert!(!link.exists());
}
