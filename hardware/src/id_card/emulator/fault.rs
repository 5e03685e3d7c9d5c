//! What can go wrong on the emulated reader, and the names a command line uses for it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::id_card::status::Status;

/// A fault the emulated reader shows until it is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Everything works.
    #[default]
    None,
    /// Find answers 0x80 even with a card placed (the card is not seen).
    NoCard,
    /// Find and select succeed; every read answers 0x41 as if the card were lifted mid-read.
    RemovedMidRead,
    /// Every reply's checksum byte is wrong.
    BadChecksum,
    /// Every command answers this SW3 (e.g. 0x66 SAM not authorised, 0x60 self-test failed).
    Sam(Status),
    /// Every reply is sent this late.
    Slow(Duration),
    /// Noise bytes precede every reply.
    Noise,
    /// Bytes of another protocol are sent instead of every reply.
    Garbage,
    /// Nothing is ever sent.
    Silent,
}

/// The fault names [`Fault::from_str`] accepts, for help text.
pub const FAULT_NAMES: &[&str] = &[
    "none",
    "no-card",
    "removed-mid-read",
    "bad-checksum",
    "sam-not-authorised",
    "sam-self-test",
    "sam:<hex SW3>",
    "slow:<duration, e.g. 800ms or 2s>",
    "noise",
    "garbage",
    "silent",
];

/// A fault name that is not one of [`FAULT_NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an ID card reader fault: use none, no-card, removed-mid-read, bad-checksum, sam-not-authorised, sam-self-test, sam:<hex>, slow:<800ms>, noise, garbage or silent"
)]
pub struct ParseFaultError(pub String);

impl FromStr for Fault {
    type Err = ParseFaultError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name = text.trim().to_ascii_lowercase();
        let err = || ParseFaultError(text.trim().to_owned());
        let fault = match name.as_str() {
            "none" | "ok" => Fault::None,
            "no-card" => Fault::NoCard,
            "removed-mid-read" => Fault::RemovedMidRead,
            "bad-checksum" => Fault::BadChecksum,
            "sam-not-authorised" | "sam-not-authorized" => Fault::Sam(Status::SamNotAuthorised),
            "sam-self-test" => Fault::Sam(Status::SamSelfTestFailed),
            "noise" => Fault::Noise,
            "garbage" => Fault::Garbage,
            "silent" => Fault::Silent,
            _ => {
                if let Some(code) = name.strip_prefix("sam:") {
                    let code = code.trim_start_matches("0x");
                    let sw3 = u8::from_str_radix(code, 16).map_err(|_| err())?;
                    Fault::Sam(Status::from_sw3(sw3))
                } else if let Some(delay) = name.strip_prefix("slow:") {
                    Fault::Slow(parse_duration(delay).ok_or_else(err)?)
                } else {
                    return Err(err());
                }
            }
        };
        Ok(fault)
    }
}

/// `800ms`, `2s`, `1.5s` or a bare number of milliseconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.trim().parse().ok().map(Duration::from_millis);
    }
    if let Some(seconds) = text.strip_suffix('s') {
        let seconds: f64 = seconds.trim().parse().ok()?;
        return Duration::try_from_secs_f64(seconds).ok();
    }
    text.parse().ok().map(Duration::from_millis)
}

impl fmt::Display for Fault {
    /// The name [`Fault::from_str`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::None => f.write_str("none"),
            Fault::NoCard => f.write_str("no-card"),
            Fault::RemovedMidRead => f.write_str("removed-mid-read"),
            Fault::BadChecksum => f.write_str("bad-checksum"),
            Fault::Sam(Status::SamNotAuthorised) => f.write_str("sam-not-authorised"),
            Fault::Sam(Status::SamSelfTestFailed) => f.write_str("sam-self-test"),
            Fault::Sam(status) => write!(f, "sam:{:02x}", status.sw3()),
            Fault::Slow(delay) => write!(f, "slow:{}ms", delay.as_millis()),
            Fault::Noise => f.write_str("noise"),
            Fault::Garbage => f.write_str("garbage"),
            Fault::Silent => f.write_str("silent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_names_parse() {
        let table = [
            ("no-card", Fault::NoCard),
            ("removed-mid-read", Fault::RemovedMidRead),
            ("bad-checksum", Fault::BadChecksum),
            ("sam-not-authorised", Fault::Sam(Status::SamNotAuthorised)),
            ("sam-not-authorized", Fault::Sam(Status::SamNotAuthorised)),
            ("sam-self-test", Fault::Sam(Status::SamSelfTestFailed)),
            ("sam:0x31", Fault::Sam(Status::CardAuthenticationFailed)),
            ("sam:24", Fault::Sam(Status::UnknownError)),
            ("slow:800ms", Fault::Slow(Duration::from_millis(800))),
            ("slow:2s", Fault::Slow(Duration::from_secs(2))),
            ("slow:1.5s", Fault::Slow(Duration::from_millis(1500))),
            ("slow:250", Fault::Slow(Duration::from_millis(250))),
            ("garbage", Fault::Garbage),
            ("noise", Fault::Noise),
            ("silent", Fault::Silent),
            ("none", Fault::None),
            (" Silent ", Fault::Silent),
        ];
        for (name, fault) in table {
            assert_eq!(name.parse::<Fault>(), Ok(fault), "{name}");
        }
    }

    #[test]
    fn names_round_trip_through_display() {
        for fault in [
            Fault::None,
            Fault::NoCard,
            Fault::RemovedMidRead,
            Fault::BadChecksum,
            Fault::Sam(Status::SamNotAuthorised),
            Fault::Sam(Status::SamSelfTestFailed),
            Fault::Sam(Status::ReadFailed),
            Fault::Slow(Duration::from_millis(800)),
            Fault::Noise,
            Fault::Garbage,
            Fault::Silent,
        ] {
            assert_eq!(fault.to_string().parse::<Fault>(), Ok(fault));
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        for bad in ["smoke", "slow:fast", "sam:zz", "slow:-1s", ""] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert!(err.to_string().contains("no-card"), "{err}");
        }
    }
}
