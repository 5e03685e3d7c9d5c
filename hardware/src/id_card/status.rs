//! SW3 status codes, with their meaning in Chinese and English and what a technician should do.

use std::fmt;

/// The SW3 byte of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 0x90 操作成功.
    Success,
    /// 0x91 证/卡中此项无内容 (no appended address, no fingerprint).
    NoContent,
    /// 0x9F 寻找证/卡成功.
    CardFound,
    /// 0x10 the SAM saw a bad checksum in the host's frame.
    HostChecksum,
    /// 0x11 the SAM saw a bad length in the host's frame.
    HostLength,
    /// 0x21 the SAM does not know the command or its parameters.
    BadCommand,
    /// 0x23 越权操作.
    NotPermitted,
    /// 0x24 无法识别的错误.
    UnknownError,
    /// 0x31 the card failed to authenticate the SAM.
    CardAuthenticationFailed,
    /// 0x32 the SAM failed to authenticate the card.
    SamAuthenticationFailed,
    /// 0x33 信息验证错误.
    VerificationFailed,
    /// 0x40 无法识别的卡类型.
    UnknownCardType,
    /// 0x41 读证/卡操作失败, usually a card lifted during the read.
    ReadFailed,
    /// 0x47 取随机数失败.
    RandomFailed,
    /// 0x60 SAM_V自检失败.
    SamSelfTestFailed,
    /// 0x66 SAM_V没经过授权.
    SamNotAuthorised,
    /// 0x80 寻找证/卡失败: no card on the reader.
    NoCard,
    /// 0x81 选取证/卡失败.
    SelectFailed,
    /// 0xFF 通信故障 (libsamv's own code; a module should not send it).
    CommunicationFailure,
    /// A code no source documents.
    Other(u8),
}

impl Status {
    /// Every documented code, for tables and tests.
    pub const DOCUMENTED: [Status; 19] = [
        Status::Success,
        Status::NoContent,
        Status::CardFound,
        Status::HostChecksum,
        Status::HostLength,
        Status::BadCommand,
        Status::NotPermitted,
        Status::UnknownError,
        Status::CardAuthenticationFailed,
        Status::SamAuthenticationFailed,
        Status::VerificationFailed,
        Status::UnknownCardType,
        Status::ReadFailed,
        Status::RandomFailed,
        Status::SamSelfTestFailed,
        Status::SamNotAuthorised,
        Status::NoCard,
        Status::SelectFailed,
        Status::CommunicationFailure,
    ];

    pub fn from_sw3(sw3: u8) -> Self {
        match sw3 {
            0x90 => Status::Success,
            0x91 => Status::NoContent,
            0x9F => Status::CardFound,
            0x10 => Status::HostChecksum,
            0x11 => Status::HostLength,
            0x21 => Status::BadCommand,
            0x23 => Status::NotPermitted,
            0x24 => Status::UnknownError,
            0x31 => Status::CardAuthenticationFailed,
            0x32 => Status::SamAuthenticationFailed,
            0x33 => Status::VerificationFailed,
            0x40 => Status::UnknownCardType,
            0x41 => Status::ReadFailed,
            0x47 => Status::RandomFailed,
            0x60 => Status::SamSelfTestFailed,
            0x66 => Status::SamNotAuthorised,
            0x80 => Status::NoCard,
            0x81 => Status::SelectFailed,
            0xFF => Status::CommunicationFailure,
            other => Status::Other(other),
        }
    }

    pub fn sw3(self) -> u8 {
        match self {
            Status::Success => 0x90,
            Status::NoContent => 0x91,
            Status::CardFound => 0x9F,
            Status::HostChecksum => 0x10,
            Status::HostLength => 0x11,
            Status::BadCommand => 0x21,
            Status::NotPermitted => 0x23,
            Status::UnknownError => 0x24,
            Status::CardAuthenticationFailed => 0x31,
            Status::SamAuthenticationFailed => 0x32,
            Status::VerificationFailed => 0x33,
            Status::UnknownCardType => 0x40,
            Status::ReadFailed => 0x41,
            Status::RandomFailed => 0x47,
            Status::SamSelfTestFailed => 0x60,
            Status::SamNotAuthorised => 0x66,
            Status::NoCard => 0x80,
            Status::SelectFailed => 0x81,
            Status::CommunicationFailure => 0xFF,
            Status::Other(code) => code,
        }
    }

    /// The module's own wording, as on vendor tools.
    pub fn meaning_zh(self) -> &'static str {
        match self {
            Status::Success => "操作成功",
            Status::NoContent => "证/卡中此项无内容",
            Status::CardFound => "寻找证/卡成功",
            Status::HostChecksum => "接收业务终端数据的校验和错",
            Status::HostLength => "接收业务终端数据的长度错",
            Status::BadCommand => "接收业务终端的命令错误",
            Status::NotPermitted => "越权操作",
            Status::UnknownError => "无法识别的错误",
            Status::CardAuthenticationFailed => "证/卡认证SAM_V失败",
            Status::SamAuthenticationFailed => "SAM_V认证证/卡失败",
            Status::VerificationFailed => "信息验证错误",
            Status::UnknownCardType => "无法识别的卡类型",
            Status::ReadFailed => "读证/卡操作失败",
            Status::RandomFailed => "取随机数失败",
            Status::SamSelfTestFailed => "SAM_V自检失败",
            Status::SamNotAuthorised => "SAM_V没经过授权",
            Status::NoCard => "寻找证/卡失败",
            Status::SelectFailed => "选取证/卡失败",
            Status::CommunicationFailure => "通信故障",
            Status::Other(_) => "未定义的状态码",
        }
    }

    pub fn meaning_en(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::NoContent => "the card has no content for this item",
            Status::CardFound => "card found",
            Status::HostChecksum => "the reader received a frame with a bad checksum",
            Status::HostLength => "the reader received a frame with a bad length",
            Status::BadCommand => "the reader does not know this command",
            Status::NotPermitted => "operation not permitted",
            Status::UnknownError => "unrecognised error",
            Status::CardAuthenticationFailed => "the card failed to authenticate the SAM",
            Status::SamAuthenticationFailed => "the SAM failed to authenticate the card",
            Status::VerificationFailed => "information verification error",
            Status::UnknownCardType => "unknown card type",
            Status::ReadFailed => "reading the card failed (card removed?)",
            Status::RandomFailed => "getting a random number failed",
            Status::SamSelfTestFailed => "SAM self-test failed",
            Status::SamNotAuthorised => "SAM not authorised",
            Status::NoCard => "no card found",
            Status::SelectFailed => "selecting the card failed",
            Status::CommunicationFailure => "communication failure",
            Status::Other(_) => "undocumented status code",
        }
    }

    /// What to do about it, in a few words.
    pub fn advice(self) -> &'static str {
        match self {
            Status::Success | Status::CardFound => "nothing to do",
            Status::NoContent => "the card does not carry this item",
            Status::NoCard => "place the card flat on the reader",
            Status::SelectFailed | Status::RandomFailed => "lift the card and place it again",
            Status::ReadFailed => "keep the card still on the reader until reading finishes",
            Status::HostChecksum | Status::HostLength => {
                "check the cable and the baud rate (115200)"
            }
            Status::BadCommand => "this reader model does not support the command",
            Status::CardAuthenticationFailed
            | Status::SamAuthenticationFailed
            | Status::VerificationFailed => {
                "place the card again; if it keeps failing the card may be damaged or not genuine"
            }
            Status::UnknownCardType => "this is not a resident ID card or permit",
            Status::SamSelfTestFailed => {
                "power-cycle the reader; if it persists, replace the reader"
            }
            Status::SamNotAuthorised => {
                "the reader's SAM module is not authorised: ask the supplier for an authorised reader"
            }
            Status::NotPermitted
            | Status::UnknownError
            | Status::CommunicationFailure
            | Status::Other(_) => "power-cycle the reader and try again",
        }
    }

    /// 0x90 and 0x9F.
    pub fn is_success(self) -> bool {
        matches!(self, Status::Success | Status::CardFound)
    }
}

impl fmt::Display for Status {
    /// `0x80 寻找证/卡失败 (no card found)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#04x} {} ({})",
            self.sw3(),
            self.meaning_zh(),
            self.meaning_en()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        for byte in 0..=u8::MAX {
            assert_eq!(Status::from_sw3(byte).sw3(), byte);
        }
    }

    #[test]
    fn documented_codes_have_their_own_variant() {
        for status in Status::DOCUMENTED {
            assert!(!matches!(status, Status::Other(_)));
            assert_eq!(Status::from_sw3(status.sw3()), status);
        }
        assert_eq!(Status::from_sw3(0x80), Status::NoCard);
        assert_eq!(Status::from_sw3(0x66), Status::SamNotAuthorised);
        assert_eq!(Status::from_sw3(0x12), Status::Other(0x12));
    }

    #[test]
    fn display_shows_code_and_both_languages() {
        assert_eq!(
            Status::NoCard.to_string(),
            "0x80 寻找证/卡失败 (no card found)"
        );
        assert_eq!(
            Status::SamSelfTestFailed.to_string(),
            "0x60 SAM_V自检失败 (SAM self-test failed)"
        );
    }
}
