//! The emulated SAM's answers: request frame in, reply bytes out, with no I/O or timing.

use std::collections::VecDeque;

use super::card_file::EmulatedCard;
use super::fault::Fault;
use crate::id_card::command::Command;
use crate::id_card::frame::{Decoded, FrameError, Response};
use crate::id_card::read::{FINGERPRINT_LEN, encode_appended_address, encode_read_reply};
use crate::id_card::sam_id::SamId;
use crate::id_card::status::Status;

/// How many received commands the log keeps.
const LOG_LIMIT: usize = 10_000;

/// Bytes of a barcode scanner's output: what a reader on the wrong port would see.
pub(super) const GARBAGE: &[u8] = b"6901234567892\r\n";

/// Line noise before a reply; it ends with preamble-like bytes so the host must resynchronise.
pub(super) const NOISE: &[u8] = &[0x00, 0x13, 0xFF, 0xAA, 0x96, 0x69, 0x55, 0xAA, 0xAA];

/// What a reader does with the same card after reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AfterRead {
    /// Find keeps answering "card found" while the card stays.
    StillFound,
    /// Find answers "no card" (0x80) until the card is lifted and placed again, as many
    /// readers do because the card stays halted after a read.
    #[default]
    NoCardUntilLifted,
}

/// [`AfterRead`] names a command line uses: `still-found`, `no-card-until-lifted`.
impl std::str::FromStr for AfterRead {
    type Err = ParseAfterReadError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "still-found" => Ok(AfterRead::StillFound),
            "no-card-until-lifted" => Ok(AfterRead::NoCardUntilLifted),
            other => Err(ParseAfterReadError(other.to_owned())),
        }
    }
}

/// An [`AfterRead`] name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a behaviour after a read: use still-found or no-card-until-lifted")]
pub struct ParseAfterReadError(pub String);

/// The emulated reader's state, shared with the control handle.
#[derive(Debug)]
pub(super) struct DeviceState {
    pub card: Option<EmulatedCard>,
    /// The card was read and, under [`AfterRead::NoCardUntilLifted`], is no longer found.
    pub halted: bool,
    pub fault: Fault,
    pub after_read: AfterRead,
    pub sam_id: SamId,
    pub log: VecDeque<Command>,
}

impl DeviceState {
    pub fn new(
        card: Option<EmulatedCard>,
        fault: Fault,
        after_read: AfterRead,
        sam_id: SamId,
    ) -> Self {
        Self {
            card,
            halted: false,
            fault,
            after_read,
            sam_id,
            log: VecDeque::new(),
        }
    }

    /// The reply to what the decoder produced, before delivery faults; `None` for noise.
    pub fn answer(&mut self, decoded: Decoded) -> Option<Vec<u8>> {
        let response = match decoded {
            Ok(frame) => match frame.into_request() {
                Ok(request) => match Command::from_request(&request) {
                    Some(command) => self.answer_command(command),
                    None => status(Status::BadCommand),
                },
                Err(_) => status(Status::HostLength),
            },
            Err(FrameError::Checksum { .. }) => status(Status::HostChecksum),
            Err(FrameError::BadLength { .. }) => status(Status::HostLength),
            Err(FrameError::Garbage { .. }) => return None,
        };
        // Every reply built here is far below the frame limit; 0x24 stands in if one is not.
        Some(
            response
                .encode()
                .or_else(|_| status(Status::UnknownError).encode())
                .unwrap_or_default(),
        )
    }

    fn answer_command(&mut self, command: Command) -> Response {
        if self.log.len() == LOG_LIMIT {
            self.log.pop_front();
        }
        self.log.push_back(command);
        if let Fault::Sam(code) = self.fault {
            return status(code);
        }
        let card_seen = self.card.is_some() && self.fault != Fault::NoCard;
        match command {
            Command::Reset | Command::SamStatus | Command::SetMaxRfFrame(_) => {
                status(Status::Success)
            }
            Command::SamId => Response::new(Status::Success.sw3(), self.sam_id.as_bytes().to_vec()),
            Command::FindCard if card_seen && !self.halted => {
                Response::new(Status::CardFound.sw3(), vec![0; 4])
            }
            Command::FindCard => status(Status::NoCard),
            Command::SelectCard if card_seen => Response::new(Status::Success.sw3(), vec![0; 8]),
            Command::SelectCard => status(Status::SelectFailed),
            Command::ReadText | Command::ReadWithFingerprint => {
                let with_fingerprint = command == Command::ReadWithFingerprint;
                match &self.card {
                    Some(card) if card_seen && self.fault != Fault::RemovedMidRead => {
                        let fingerprint = [0xF9; FINGERPRINT_LEN];
                        let data = encode_read_reply(
                            card.text_block(),
                            card.photo(),
                            with_fingerprint.then_some(&fingerprint[..]),
                        );
                        if self.after_read == AfterRead::NoCardUntilLifted {
                            self.halted = true;
                        }
                        match data {
                            Ok(data) => Response::new(Status::Success.sw3(), data),
                            Err(_) => status(Status::UnknownError),
                        }
                    }
                    _ => status(Status::ReadFailed),
                }
            }
            Command::ReadAppendedAddress => match &self.card {
                Some(card) if card_seen => match card.appended_address() {
                    Some(address) => match encode_appended_address(address) {
                        Ok(data) => Response::new(Status::Success.sw3(), data),
                        Err(_) => status(Status::UnknownError),
                    },
                    None => status(Status::NoContent),
                },
                _ => status(Status::ReadFailed),
            },
        }
    }
}

fn status(status: Status) -> Response {
    Response::new(status.sw3(), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_card::frame::{Frame, FrameDecoder};
    use crate::id_card::samples;

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace()
            .map(|byte| u8::from_str_radix(byte, 16).unwrap())
            .collect()
    }

    fn device(card: bool) -> DeviceState {
        DeviceState::new(
            card.then(|| EmulatedCard::new(samples::resident()).unwrap()),
            Fault::None,
            AfterRead::NoCardUntilLifted,
            SamId::new([0; 16]),
        )
    }

    fn ask(device: &mut DeviceState, command: Command) -> Vec<u8> {
        let frame = FrameDecoder::new().push(&command.frame()).remove(0);
        device.answer(frame).unwrap()
    }

    #[test]
    fn replies_are_the_published_frames() {
        let mut with_card = device(true);
        assert_eq!(
            ask(&mut with_card, Command::FindCard),
            hex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
        );
        assert_eq!(
            ask(&mut with_card, Command::SelectCard),
            hex("AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C")
        );
        let read = ask(&mut with_card, Command::ReadText);
        assert_eq!(read.len(), 1295);
        assert_eq!(
            read[..14],
            hex("AA AA AA 96 69 05 08 00 00 90 01 00 04 00")[..]
        );
        let mut empty = device(false);
        assert_eq!(
            ask(&mut empty, Command::FindCard),
            hex("AA AA AA 96 69 00 04 00 00 80 84")
        );
        assert_eq!(
            ask(&mut empty, Command::SelectCard),
            hex("AA AA AA 96 69 00 04 00 00 81 85")
        );
        assert_eq!(
            ask(&mut empty, Command::ReadText),
            hex("AA AA AA 96 69 00 04 00 00 41 45")
        );
    }

    #[test]
    fn the_fingerprint_read_is_2321_bytes() {
        let read = ask(&mut device(true), Command::ReadWithFingerprint);
        assert_eq!(read.len(), 2321);
        assert_eq!(
            read[..16],
            hex("AA AA AA 96 69 09 0A 00 00 90 01 00 04 00 04 00")[..]
        );
    }

    #[test]
    fn host_mistakes_get_their_status_words() {
        let mut device = device(true);
        let reply = device
            .answer(Err(FrameError::Checksum {
                received: 0,
                computed: 1,
            }))
            .unwrap();
        assert_eq!(reply, hex("AA AA AA 96 69 00 04 00 00 10 14"));
        let unknown = Ok(Frame {
            payload: vec![0x30, 0x05],
        });
        assert_eq!(
            device.answer(unknown).unwrap(),
            hex("AA AA AA 96 69 00 04 00 00 21 25")
        );
        assert_eq!(device.answer(Err(FrameError::Garbage { skipped: 3 })), None);
    }

    #[test]
    fn a_read_card_hides_until_lifted_when_so_configured() {
        let mut device = device(true);
        ask(&mut device, Command::ReadText);
        assert_eq!(
            ask(&mut device, Command::FindCard),
            hex("AA AA AA 96 69 00 04 00 00 80 84")
        );
        device.after_read = AfterRead::StillFound;
        device.halted = false;
        ask(&mut device, Command::ReadText);
        assert_eq!(ask(&mut device, Command::FindCard)[9], 0x9F);
    }

    #[test]
    fn after_read_names_parse() {
        assert_eq!("still-found".parse(), Ok(AfterRead::StillFound));
        assert_eq!(
            "no-card-until-lifted".parse(),
            Ok(AfterRead::NoCardUntilLifted)
        );
        assert!("sometimes".parse::<AfterRead>().is_err());
    }

    #[test]
    fn content_faults_change_the_answers() {
        let mut device = device(true);
        device.fault = Fault::RemovedMidRead;
        assert_eq!(ask(&mut device, Command::FindCard)[9], 0x9F);
        assert_eq!(ask(&mut device, Command::ReadText)[9], 0x41);
        device.fault = Fault::NoCard;
        assert_eq!(ask(&mut device, Command::FindCard)[9], 0x80);
        device.fault = Fault::Sam(Status::SamNotAuthorised);
        assert_eq!(
            ask(&mut device, Command::SamStatus),
            hex("AA AA AA 96 69 00 04 00 00 66 62")
        );
        assert_eq!(
            Vec::from(device.log.clone()),
            vec![
                Command::FindCard,
                Command::ReadText,
                Command::FindCard,
                Command::SamStatus
            ]
        );
    }
}
