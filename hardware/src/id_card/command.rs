//! The host → SAM commands the booth uses, as CMD/PARA pairs.

use std::fmt;

use super::frame::{PREAMBLE, Request, checksum};

/// The max RF frame size hev-idcard-reader sets once after the status check.
pub const DEFAULT_MAX_RF_FRAME: u8 = 0x50;

/// A command the booth sends to the SAM module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `10 FF` 复位SAM.
    Reset,
    /// `11 FF` SAM状态检测.
    SamStatus,
    /// `12 FF` 读SAM管理信息 (the SAM ID printed on the reader).
    SamId,
    /// `20 01` 寻找证/卡.
    FindCard,
    /// `20 02` 选取证/卡.
    SelectCard,
    /// `30 01` 读固定信息: text and photo.
    ReadText,
    /// `30 10` text, photo and fingerprint. The driver only sends it when configured to, and
    /// throws the fingerprint block away.
    ReadWithFingerprint,
    /// `30 03` 读追加住址.
    ReadAppendedAddress,
    /// `61 FF nn` sets the largest RF frame the SAM uses towards the card.
    SetMaxRfFrame(u8),
}

impl Command {
    /// Every command, for tables and tests.
    pub const ALL: [Command; 9] = [
        Command::Reset,
        Command::SamStatus,
        Command::SamId,
        Command::FindCard,
        Command::SelectCard,
        Command::ReadText,
        Command::ReadWithFingerprint,
        Command::ReadAppendedAddress,
        Command::SetMaxRfFrame(DEFAULT_MAX_RF_FRAME),
    ];

    /// The CMD and PARA bytes.
    pub fn code(self) -> (u8, u8) {
        match self {
            Command::Reset => (0x10, 0xFF),
            Command::SamStatus => (0x11, 0xFF),
            Command::SamId => (0x12, 0xFF),
            Command::FindCard => (0x20, 0x01),
            Command::SelectCard => (0x20, 0x02),
            Command::ReadText => (0x30, 0x01),
            Command::ReadWithFingerprint => (0x30, 0x10),
            Command::ReadAppendedAddress => (0x30, 0x03),
            Command::SetMaxRfFrame(_) => (0x61, 0xFF),
        }
    }

    /// The request as a frame value.
    pub fn request(self) -> Request {
        let (command, parameter) = self.code();
        let data = match self {
            Command::SetMaxRfFrame(size) => vec![size],
            _ => Vec::new(),
        };
        Request {
            command,
            parameter,
            data,
        }
    }

    /// The full frame on the wire, e.g. `AA AA AA 96 69 00 03 20 01 22` for [`Command::FindCard`].
    pub fn frame(self) -> Vec<u8> {
        let request = self.request();
        // At most three payload bytes, so the length always fits and needs no error path.
        let length = [0, 3 + request.data.len() as u8];
        let mut frame = PREAMBLE.to_vec();
        frame.extend_from_slice(&length);
        frame.push(request.command);
        frame.push(request.parameter);
        frame.extend_from_slice(&request.data);
        let chk = checksum(&frame[PREAMBLE.len()..]);
        frame.push(chk);
        frame
    }

    /// Recognises a request the emulator received; `None` for commands this crate does not know.
    pub fn from_request(request: &Request) -> Option<Command> {
        let command = match (request.command, request.parameter) {
            (0x10, 0xFF) => Command::Reset,
            (0x11, 0xFF) => Command::SamStatus,
            (0x12, 0xFF) => Command::SamId,
            (0x20, 0x01) => Command::FindCard,
            (0x20, 0x02) => Command::SelectCard,
            (0x30, 0x01) => Command::ReadText,
            (0x30, 0x10) => Command::ReadWithFingerprint,
            (0x30, 0x03) => Command::ReadAppendedAddress,
            (0x61, 0xFF) => match request.data.as_slice() {
                [size] => Command::SetMaxRfFrame(*size),
                _ => return None,
            },
            _ => return None,
        };
        match command {
            Command::SetMaxRfFrame(_) => Some(command),
            _ if request.data.is_empty() => Some(command),
            _ => None,
        }
    }

    /// What the command does, for technicians.
    pub fn describe(self) -> &'static str {
        match self {
            Command::Reset => "reset SAM",
            Command::SamStatus => "SAM status check",
            Command::SamId => "read SAM ID",
            Command::FindCard => "find card",
            Command::SelectCard => "select card",
            Command::ReadText => "read card text and photo",
            Command::ReadWithFingerprint => "read card with fingerprint",
            Command::ReadAppendedAddress => "read appended address",
            Command::SetMaxRfFrame(_) => "set max RF frame size",
        }
    }
}

impl fmt::Display for Command {
    /// `find card (20 01)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (command, parameter) = self.code();
        write!(f, "{} ({command:02X} {parameter:02X})", self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_card::frame::FrameDecoder;

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace()
            .map(|byte| u8::from_str_radix(byte, 16).unwrap())
            .collect()
    }

    #[test]
    fn frames_match_the_published_byte_strings() {
        let table = [
            (Command::Reset, "AA AA AA 96 69 00 03 10 FF EC"),
            (Command::SamStatus, "AA AA AA 96 69 00 03 11 FF ED"),
            (Command::SamId, "AA AA AA 96 69 00 03 12 FF EE"),
            (Command::FindCard, "AA AA AA 96 69 00 03 20 01 22"),
            (Command::SelectCard, "AA AA AA 96 69 00 03 20 02 21"),
            (Command::ReadText, "AA AA AA 96 69 00 03 30 01 32"),
            (
                Command::ReadAppendedAddress,
                "AA AA AA 96 69 00 03 30 03 30",
            ),
            (
                Command::ReadWithFingerprint,
                "AA AA AA 96 69 00 03 30 10 23",
            ),
            (
                Command::SetMaxRfFrame(0x50),
                "AA AA AA 96 69 00 04 61 FF 50 CA",
            ),
        ];
        for (command, expected) in table {
            assert_eq!(command.frame(), hex(expected), "{command}");
            assert_eq!(command.request().encode().unwrap(), hex(expected));
        }
    }

    #[test]
    fn every_command_decodes_back_to_itself() {
        for command in Command::ALL {
            let frame = FrameDecoder::new()
                .push(&command.frame())
                .remove(0)
                .unwrap();
            let request = frame.into_request().unwrap();
            assert_eq!(Command::from_request(&request), Some(command));
        }
    }

    #[test]
    fn unknown_pairs_and_stray_data_are_not_commands() {
        let unknown = Request {
            command: 0x30,
            parameter: 0x05,
            data: vec![],
        };
        assert_eq!(Command::from_request(&unknown), None);
        let with_data = Request {
            command: 0x20,
            parameter: 0x01,
            data: vec![1],
        };
        assert_eq!(Command::from_request(&with_data), None);
    }

    #[test]
    fn display_names_the_bytes() {
        assert_eq!(Command::FindCard.to_string(), "find card (20 01)");
    }
}
