//! The reader driver: commands with timeouts and retries, the read cycle, and polling.

use std::io;
use std::time::{Duration, Instant};

use super::card::{CardKind, CardRead};
use super::command::{Command, DEFAULT_MAX_RF_FRAME};
use super::frame::{FrameDecoder, FrameError, HEADER_LEN, Response};
use super::id_number::IdNumberError;
use super::read::{ReadLayoutError, parse_appended_address, split_read_reply};
use super::sam_id::{SamId, SamIdTooShort};
use super::status::Status;
use super::text::{TextError, parse_text_block};
use crate::transport::Transport;

/// How long each command may take before it counts as unanswered.
///
/// The defaults follow YinanSoft's reader (find/select 100 ms there, read 2000 ms, read with
/// fingerprint 3000 ms, appended address 1500 ms), with find and select raised to 300 ms so a
/// busy booth computer does not mistake its own delay for a silent reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    pub reset: Duration,
    pub status: Duration,
    pub sam_id: Duration,
    pub set_max_rf_frame: Duration,
    pub find: Duration,
    pub select: Duration,
    pub read: Duration,
    pub read_with_fingerprint: Duration,
    pub appended_address: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            reset: Duration::from_millis(1000),
            status: Duration::from_millis(300),
            sam_id: Duration::from_millis(300),
            set_max_rf_frame: Duration::from_millis(300),
            find: Duration::from_millis(300),
            select: Duration::from_millis(300),
            read: Duration::from_millis(2000),
            read_with_fingerprint: Duration::from_millis(3000),
            appended_address: Duration::from_millis(1500),
        }
    }
}

impl Timeouts {
    /// The same timeout for every command.
    pub fn uniform(timeout: Duration) -> Self {
        Self {
            reset: timeout,
            status: timeout,
            sam_id: timeout,
            set_max_rf_frame: timeout,
            find: timeout,
            select: timeout,
            read: timeout,
            read_with_fingerprint: timeout,
            appended_address: timeout,
        }
    }

    pub fn for_command(&self, command: Command) -> Duration {
        match command {
            Command::Reset => self.reset,
            Command::SamStatus => self.status,
            Command::SamId => self.sam_id,
            Command::SetMaxRfFrame(_) => self.set_max_rf_frame,
            Command::FindCard => self.find,
            Command::SelectCard => self.select,
            Command::ReadText => self.read,
            Command::ReadWithFingerprint => self.read_with_fingerprint,
            Command::ReadAppendedAddress => self.appended_address,
        }
    }
}

/// Which command reads the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadCommand {
    /// `30 01`: text and photo. The default; the booth has no use for fingerprints.
    TextAndPhoto,
    /// `30 10`, for readers that only answer it: the fingerprint block is zeroed and dropped
    /// as soon as the reply is split, never returned or kept.
    WithFingerprintDiscarded,
}

/// How the driver talks to the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderConfig {
    pub timeouts: Timeouts,
    /// Extra attempts after a reply that timed out or failed its checksum.
    pub retries: u32,
    /// Sent once with `61 FF` after the first good status check; `None` skips it.
    pub max_rf_frame: Option<u8>,
    /// Ask for the appended address (`30 03`) after each read.
    pub read_appended_address: bool,
    pub read_command: ReadCommand,
    /// Consecutive "no card" answers before [`Reader::poll`] reports a card removed. Some
    /// readers answer one "no card" right after a read while the card is still there.
    pub absent_polls_before_removed: u32,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            retries: 2,
            max_rf_frame: Some(DEFAULT_MAX_RF_FRAME),
            read_appended_address: true,
            read_command: ReadCommand::TextAndPhoto,
            absent_polls_before_removed: 2,
        }
    }
}

/// What one [`Reader::poll`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollEvent {
    /// A card was placed and read. Reported once per placement.
    Placed(Box<CardRead>),
    /// The card read earlier is still on the reader.
    Present,
    /// The card read earlier has been lifted.
    Removed,
    /// No card, and none was there before.
    Empty,
}

/// A reply that arrived intact but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    SamId(#[from] SamIdTooShort),
    #[error(transparent)]
    ReadLayout(#[from] ReadLayoutError),
}

/// Why the reader could not do what was asked. Messages never contain card contents.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error(
        "no reply from the ID card reader on {port} to {command} after {attempts} attempts: check that the reader is powered, its cable is plugged in, and the port runs at 115200 baud"
    )]
    NoReply {
        port: String,
        command: Command,
        attempts: u32,
    },
    #[error(
        "the device on {port} answered {command} with {stray_bytes} bytes that are not ID card reader frames: check that {port} is the ID card reader (not the scanner or printer) and runs at 115200 baud"
    )]
    WrongProtocol {
        port: String,
        command: Command,
        stray_bytes: usize,
    },
    #[error(
        "the ID card reader on {port} answered {command} with a bad checksum {attempts} times: check the cable and keep it away from power cables"
    )]
    Corrupted {
        port: String,
        command: Command,
        attempts: u32,
    },
    #[error("the ID card reader on {port} answered {command} with {status}: {}", status.advice())]
    Status {
        port: String,
        command: Command,
        status: Status,
    },
    #[error(
        "lost the ID card reader on {port} during {command}: check the USB cable and run `kiosk hw list`"
    )]
    Io {
        port: String,
        command: Command,
        #[source]
        source: io::Error,
    },
    #[error(
        "the ID card reader on {port} sent a {command} reply this booth cannot use: note the reader model and report it"
    )]
    BadReply {
        port: String,
        command: Command,
        #[source]
        source: ReplyError,
    },
    #[error(
        "the card on the reader at {port} holds text this booth cannot read: place the card again; if it repeats, note the card kind and report it"
    )]
    UnreadableCard {
        port: String,
        #[source]
        source: TextError,
    },
    #[error(
        "the {kind} on the reader at {port} carries number {masked}, which fails its check: place the card again; if it repeats, the card is damaged or not genuine"
    )]
    InvalidIdNumber {
        port: String,
        kind: CardKind,
        /// The number masked; the full number never enters an error.
        masked: String,
        #[source]
        problem: IdNumberError,
    },
}

impl ReaderError {
    /// The status word, for errors that are one.
    pub fn status(&self) -> Option<Status> {
        match self {
            ReaderError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the link itself failed (as opposed to the reader or the card saying no).
    pub fn is_link_failure(&self) -> bool {
        matches!(
            self,
            ReaderError::NoReply { .. }
                | ReaderError::WrongProtocol { .. }
                | ReaderError::Corrupted { .. }
                | ReaderError::Io { .. }
        )
    }

    /// Whether the card itself is the problem, so reading it again will not help.
    fn is_card_content(&self) -> bool {
        matches!(
            self,
            ReaderError::UnreadableCard { .. } | ReaderError::InvalidIdNumber { .. }
        )
    }
}

/// What went wrong across the attempts of one command.
#[derive(Debug, Default)]
struct Trouble {
    checksum_failures: u32,
    stray_bytes: usize,
}

/// An ID card reader (SAM module) behind any transport.
#[derive(Debug)]
pub struct Reader<T: Transport> {
    transport: T,
    config: ReaderConfig,
    decoder: FrameDecoder,
    /// The SAM answered a status check since the link last failed.
    ready: bool,
    /// `61 FF` was sent since the link last failed.
    rf_frame_set: bool,
    /// A card was read and has not been seen lifted since.
    card_present: bool,
    absent_polls: u32,
}

impl<T: Transport> Reader<T> {
    pub fn new(transport: T, config: ReaderConfig) -> Self {
        Self {
            transport,
            config,
            decoder: FrameDecoder::new(),
            ready: false,
            rf_frame_set: false,
            card_present: false,
            absent_polls: 0,
        }
    }

    pub fn config(&self) -> &ReaderConfig {
        &self.config
    }

    /// The port name used in errors.
    pub fn port(&self) -> &str {
        self.transport.name()
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// `10 FF`: resets the SAM module.
    pub fn reset_sam(&mut self) -> Result<(), ReaderError> {
        let response = self.transact(Command::Reset)?;
        self.ready = false;
        self.rf_frame_set = false;
        self.expect(Command::Reset, &response, &[Status::Success])
    }

    /// `11 FF`: `Ok` when the SAM is healthy and authorised.
    pub fn sam_status(&mut self) -> Result<(), ReaderError> {
        let response = self.transact(Command::SamStatus)?;
        self.expect(Command::SamStatus, &response, &[Status::Success])?;
        self.ready = true;
        Ok(())
    }

    /// `12 FF`: the SAM ID as printed on the reader's label.
    pub fn sam_id(&mut self) -> Result<SamId, ReaderError> {
        let response = self.transact(Command::SamId)?;
        self.expect(Command::SamId, &response, &[Status::Success])?;
        SamId::from_data(&response.data).map_err(|source| ReaderError::BadReply {
            port: self.port().to_owned(),
            command: Command::SamId,
            source: source.into(),
        })
    }

    /// `20 01`: whether a card is on the reader.
    pub fn find_card(&mut self) -> Result<bool, ReaderError> {
        let response = self.transact(Command::FindCard)?;
        match Status::from_sw3(response.sw3) {
            Status::CardFound | Status::Success => Ok(true),
            Status::NoCard => Ok(false),
            status => Err(self.status_error(Command::FindCard, status)),
        }
    }

    /// The whole cycle: status check, (once) max RF frame, find, select, read, appended
    /// address, then parsing and number validation. No card is [`Status::NoCard`].
    pub fn read_card(&mut self) -> Result<CardRead, ReaderError> {
        self.sam_status()?;
        self.set_rf_frame_once()?;
        if !self.find_card()? {
            return Err(self.status_error(Command::FindCard, Status::NoCard));
        }
        self.read_found_card()
    }

    /// One polling step; call it about once a second. A card is read once when it is placed,
    /// then reported [`PollEvent::Present`] until it is lifted. The status check runs on the
    /// first poll and again after any link failure, not on every poll.
    ///
    /// A placed card that cannot be read because of its contents (bad text, invalid number)
    /// is reported as an error once for that placement; a read cut short (card moved, select
    /// failed) is an error and is tried again on the next poll.
    pub fn poll(&mut self) -> Result<PollEvent, ReaderError> {
        if !self.ready {
            self.sam_status()?;
        }
        self.set_rf_frame_once()?;
        let found = self.find_card()?;
        match (found, self.card_present) {
            (true, true) => {
                self.absent_polls = 0;
                Ok(PollEvent::Present)
            }
            (true, false) => match self.read_found_card() {
                Ok(read) => {
                    self.card_present = true;
                    self.absent_polls = 0;
                    Ok(PollEvent::Placed(Box::new(read)))
                }
                Err(err) => {
                    if err.is_card_content() {
                        self.card_present = true;
                        self.absent_polls = 0;
                    }
                    Err(err)
                }
            },
            (false, true) => {
                self.absent_polls += 1;
                if self.absent_polls >= self.config.absent_polls_before_removed {
                    self.card_present = false;
                    self.absent_polls = 0;
                    Ok(PollEvent::Removed)
                } else {
                    Ok(PollEvent::Present)
                }
            }
            (false, false) => Ok(PollEvent::Empty),
        }
    }

    fn set_rf_frame_once(&mut self) -> Result<(), ReaderError> {
        if self.rf_frame_set {
            return Ok(());
        }
        if let Some(size) = self.config.max_rf_frame {
            // Any status is fine: modules that do not know `61 FF` answer 0x21 and work anyway.
            self.transact(Command::SetMaxRfFrame(size))?;
        }
        self.rf_frame_set = true;
        Ok(())
    }

    fn read_found_card(&mut self) -> Result<CardRead, ReaderError> {
        let response = self.transact(Command::SelectCard)?;
        self.expect(Command::SelectCard, &response, &[Status::Success])?;

        let (command, with_fingerprint) = match self.config.read_command {
            ReadCommand::TextAndPhoto => (Command::ReadText, false),
            ReadCommand::WithFingerprintDiscarded => (Command::ReadWithFingerprint, true),
        };
        let mut response = self.transact(command)?;
        let split = self
            .expect(command, &response, &[Status::Success])
            .and_then(|()| {
                split_read_reply(&mut response.data, with_fingerprint).map_err(|source| {
                    ReaderError::BadReply {
                        port: self.port().to_owned(),
                        command,
                        source: source.into(),
                    }
                })
            });
        // Whatever happened, no fingerprint stays in this buffer.
        response.data.fill(0);
        let reply = split?;

        let card = parse_text_block(&reply.text).map_err(|source| ReaderError::UnreadableCard {
            port: self.port().to_owned(),
            source,
        })?;
        card.validate_number()
            .map_err(|problem| ReaderError::InvalidIdNumber {
                port: self.port().to_owned(),
                kind: card.kind(),
                masked: card.id_number().masked(),
                problem,
            })?;

        let appended_address = if self.config.read_appended_address {
            self.appended_address()?
        } else {
            None
        };
        Ok(CardRead {
            card,
            photo: reply.photo,
            appended_address,
        })
    }

    fn appended_address(&mut self) -> Result<Option<String>, ReaderError> {
        let command = Command::ReadAppendedAddress;
        let response = self.transact(command)?;
        match Status::from_sw3(response.sw3) {
            Status::Success => {
                let address = parse_appended_address(&response.data);
                Ok((!address.is_empty()).then_some(address))
            }
            // No appended address on the card, or a module that cannot read one.
            Status::NoContent | Status::BadCommand => Ok(None),
            status => Err(self.status_error(command, status)),
        }
    }

    fn expect(
        &self,
        command: Command,
        response: &Response,
        accepted: &[Status],
    ) -> Result<(), ReaderError> {
        let status = Status::from_sw3(response.sw3);
        if accepted.contains(&status) {
            Ok(())
        } else {
            Err(self.status_error(command, status))
        }
    }

    fn status_error(&self, command: Command, status: Status) -> ReaderError {
        ReaderError::Status {
            port: self.port().to_owned(),
            command,
            status,
        }
    }

    /// Sends `command` and waits for its reply, retrying silence and bad checksums.
    fn transact(&mut self, command: Command) -> Result<Response, ReaderError> {
        let result = self.transact_inner(command);
        if result.as_ref().is_err_and(ReaderError::is_link_failure) {
            // The reader may have been power-cycled: check it and set it up again next time.
            self.ready = false;
            self.rf_frame_set = false;
        }
        result
    }

    fn transact_inner(&mut self, command: Command) -> Result<Response, ReaderError> {
        let timeout = self.config.timeouts.for_command(command);
        let attempts = self.config.retries.saturating_add(1);
        let frame = command.frame();
        let mut trouble = Trouble::default();
        for _ in 0..attempts {
            // A late reply to an earlier attempt must not be taken for this one's.
            self.transport
                .clear_input()
                .map_err(|source| self.io_error(command, source))?;
            self.decoder.reset();
            self.transport
                .send(&frame)
                .map_err(|source| self.io_error(command, source))?;
            if let Some(response) = self.await_response(command, timeout, &mut trouble)? {
                return Ok(response);
            }
        }
        let port = self.port().to_owned();
        Err(if trouble.checksum_failures > 0 {
            ReaderError::Corrupted {
                port,
                command,
                attempts,
            }
        } else if trouble.stray_bytes > 0 {
            ReaderError::WrongProtocol {
                port,
                command,
                stray_bytes: trouble.stray_bytes,
            }
        } else {
            ReaderError::NoReply {
                port,
                command,
                attempts,
            }
        })
    }

    /// Reads until a reply frame arrives (`Some`), the deadline passes or a frame fails its
    /// checksum (`None`, so the caller retries at once).
    fn await_response(
        &mut self,
        command: Command,
        timeout: Duration,
        trouble: &mut Trouble,
    ) -> Result<Option<Response>, ReaderError> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 512];
        let outcome = loop {
            let now = Instant::now();
            if now >= deadline {
                break None;
            }
            let n = match self.transport.receive(&mut buf, deadline - now) {
                Ok(n) => n,
                Err(source) => return Err(self.io_error(command, source)),
            };
            let mut outcome = None;
            for item in self.decoder.push(&buf[..n]) {
                match item {
                    Ok(frame) => {
                        let len = frame.payload.len();
                        match frame.into_response() {
                            Ok(response) => {
                                outcome = Some(Some(response));
                                break;
                            }
                            Err(_) => trouble.stray_bytes += HEADER_LEN + len + 1,
                        }
                    }
                    Err(FrameError::Checksum { .. }) => {
                        trouble.checksum_failures += 1;
                        outcome = Some(None);
                        break;
                    }
                    Err(FrameError::Garbage { skipped }) => trouble.stray_bytes += skipped,
                    Err(FrameError::BadLength { .. }) => trouble.stray_bytes += HEADER_LEN,
                }
            }
            if let Some(outcome) = outcome {
                break outcome;
            }
        };
        // Card bytes pass through this buffer; do not leave them on the stack.
        buf.fill(0);
        std::hint::black_box(&buf);
        Ok(outcome)
    }

    fn io_error(&self, command: Command, source: io::Error) -> ReaderError {
        ReaderError::Io {
            port: self.port().to_owned(),
            command,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;
    use crate::id_card::frame::{FrameDecoder, Response};
    use crate::id_card::read::encode_read_reply;
    use crate::id_card::samples;
    use crate::id_card::text::encode_text_block;
    use crate::transport::{MemoryTransport, memory_pair};

    /// A scripted device: answers each expected request with canned bytes.
    fn scripted(
        script: Vec<(Command, Vec<u8>)>,
    ) -> (MemoryTransport, thread::JoinHandle<Vec<Command>>) {
        let (host, mut device) = memory_pair("scripted reader");
        let handle = thread::spawn(move || {
            let mut decoder = FrameDecoder::new();
            let mut seen = Vec::new();
            let mut buf = [0u8; 64];
            let mut script = script.into_iter();
            loop {
                let n = match device.receive(&mut buf, Duration::from_secs(5)) {
                    Ok(0) | Err(_) => return seen,
                    Ok(n) => n,
                };
                for frame in decoder.push(&buf[..n]).into_iter().flatten() {
                    let request = frame.into_request().unwrap();
                    let command = Command::from_request(&request).unwrap();
                    seen.push(command);
                    let Some((expected, reply)) = script.next() else {
                        return seen;
                    };
                    assert_eq!(command, expected);
                    device.send(&reply).unwrap();
                }
            }
        });
        (host, handle)
    }

    fn reply(sw3: u8, data: Vec<u8>) -> Vec<u8> {
        Response::new(sw3, data).encode().unwrap()
    }

    fn read_reply() -> Vec<u8> {
        let text = encode_text_block(&samples::resident()).unwrap();
        reply(0x90, encode_read_reply(&text, &[0x5A; 1024], None).unwrap())
    }

    fn config() -> ReaderConfig {
        ReaderConfig {
            timeouts: Timeouts::uniform(Duration::from_secs(2)),
            retries: 1,
            ..ReaderConfig::default()
        }
    }

    #[test]
    fn a_full_read_sends_the_documented_sequence() {
        let (host, device) = scripted(vec![
            (Command::SamStatus, reply(0x90, vec![])),
            (Command::SetMaxRfFrame(0x50), reply(0x90, vec![])),
            (Command::FindCard, reply(0x9F, vec![0; 4])),
            (Command::SelectCard, reply(0x90, vec![0; 8])),
            (Command::ReadText, read_reply()),
            (Command::ReadAppendedAddress, reply(0x91, vec![])),
        ]);
        let mut reader = Reader::new(host, config());
        let read = reader.read_card().unwrap();
        assert_eq!(read.card, samples::resident());
        assert_eq!(read.photo.as_bytes(), &[0x5A; 1024]);
        assert_eq!(read.appended_address, None);
        drop(reader);
        assert_eq!(device.join().unwrap().len(), 6);
    }

    #[test]
    fn a_checksum_failure_is_retried_after_clearing_input() {
        let mut corrupt = reply(0x90, vec![]);
        *corrupt.last_mut().unwrap() ^= 1;
        let (host, device) = scripted(vec![
            (Command::SamStatus, corrupt),
            (Command::SamStatus, reply(0x90, vec![])),
        ]);
        let mut reader = Reader::new(host, config());
        reader.sam_status().unwrap();
        drop(reader);
        assert_eq!(
            device.join().unwrap(),
            vec![Command::SamStatus, Command::SamStatus]
        );
    }

    #[test]
    fn a_status_word_becomes_a_typed_error_naming_the_port() {
        let (host, _device) = scripted(vec![(Command::SamStatus, reply(0x66, vec![]))]);
        let mut reader = Reader::new(host, config());
        let err = reader.sam_status().unwrap_err();
        assert_eq!(err.status(), Some(Status::SamNotAuthorised));
        let text = err.to_string();
        assert!(text.contains("scripted reader (host end)"), "{text}");
        assert!(text.contains("SAM_V没经过授权"), "{text}");
        assert!(!err.is_link_failure());
    }

    #[test]
    fn a_vanished_device_is_an_io_error_with_its_source() {
        let (host, device) = memory_pair("gone");
        drop(device);
        let mut reader = Reader::new(host, config());
        let err = reader.sam_status().unwrap_err();
        assert!(matches!(err, ReaderError::Io { .. }), "{err:?}");
        assert!(std::error::Error::source(&err).is_some());
    }
}
