//! Real-time status: the `DLE EOT n` requests and their one-byte replies.
//!
//! Every reply has the fixed bits `0xx1xx10` (so "all fine" is `0x12`); a byte without them is
//! not an ESC/POS status reply at all, which means the wrong device, protocol or baud rate.

/// The four real-time status requests, `DLE EOT n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusRequest {
    /// n = 1: online/offline.
    Printer,
    /// n = 2: why the printer is offline (cover, paper end, error).
    OfflineCause,
    /// n = 3: which error (cutter, unrecoverable, auto-recoverable).
    ErrorCause,
    /// n = 4: roll paper sensors (near end, end).
    RollPaper,
}

impl StatusRequest {
    pub const ALL: [StatusRequest; 4] = [
        StatusRequest::Printer,
        StatusRequest::OfflineCause,
        StatusRequest::ErrorCause,
        StatusRequest::RollPaper,
    ];

    /// The `n` of `DLE EOT n`.
    pub fn n(self) -> u8 {
        match self {
            StatusRequest::Printer => 1,
            StatusRequest::OfflineCause => 2,
            StatusRequest::ErrorCause => 3,
            StatusRequest::RollPaper => 4,
        }
    }

    pub fn from_n(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.n() == n)
    }

    /// `10 04 n` — without the trailing `00` the `escpos` crate adds.
    pub fn bytes(self) -> [u8; 3] {
        [0x10, 0x04, self.n()]
    }
}

/// Whether `byte` has the fixed bits of a `DLE EOT` reply (`0xx1xx10`).
pub fn is_status_reply(byte: u8) -> bool {
    byte & 0b1001_0011 == 0b0001_0010
}

/// A reply byte without the `0xx1xx10` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("status reply {byte:#04x} to DLE EOT {n} lacks the 0xx1xx10 pattern")]
pub struct NotAStatusReply {
    pub n: u8,
    pub byte: u8,
}

/// The printer's state from the replies to all four requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrinterStatus {
    pub online: bool,
    pub cover_open: bool,
    /// No paper: printing stopped, or the roll-end sensor sees none.
    pub paper_end: bool,
    /// A few metres left on the roll; printing still works.
    pub paper_near_end: bool,
    pub cutter_error: bool,
    /// Mechanical / recoverable error (Citizen: black mark detection).
    pub mechanical_error: bool,
    /// Needs a power cycle or service.
    pub unrecoverable_error: bool,
    /// Clears by itself, e.g. the print head cooling down.
    pub auto_recoverable_error: bool,
}

impl Default for PrinterStatus {
    /// Online with nothing wrong.
    fn default() -> Self {
        Self {
            online: true,
            cover_open: false,
            paper_end: false,
            paper_near_end: false,
            cutter_error: false,
            mechanical_error: false,
            unrecoverable_error: false,
            auto_recoverable_error: false,
        }
    }
}

const fn bit(byte: u8, n: u8) -> bool {
    byte & (1 << n) != 0
}

impl PrinterStatus {
    /// Decodes the replies to `DLE EOT 1`, `2`, `3` and `4`, in that order.
    pub fn from_replies(replies: [u8; 4]) -> Result<Self, NotAStatusReply> {
        for (request, byte) in StatusRequest::ALL.into_iter().zip(replies) {
            if !is_status_reply(byte) {
                return Err(NotAStatusReply {
                    n: request.n(),
                    byte,
                });
            }
        }
        let [printer, offline, error, paper] = replies;
        Ok(Self {
            online: !bit(printer, 3),
            cover_open: bit(offline, 2),
            paper_end: bit(offline, 5) || paper & 0x60 != 0,
            paper_near_end: paper & 0x0C != 0,
            cutter_error: bit(error, 3),
            mechanical_error: bit(error, 2),
            unrecoverable_error: bit(error, 5),
            auto_recoverable_error: bit(error, 6),
        })
    }

    /// The replies a printer in this state sends to `DLE EOT 1..4` (what the emulator answers).
    pub fn replies(&self) -> [u8; 4] {
        let set = |on: bool, mask: u8| if on { mask } else { 0 };
        let any_error = self.cutter_error
            || self.mechanical_error
            || self.unrecoverable_error
            || self.auto_recoverable_error;
        [
            0x12 | set(!self.online, 0x08),
            0x12 | set(self.cover_open, 0x04) | set(self.paper_end, 0x20) | set(any_error, 0x40),
            0x12 | set(self.mechanical_error, 0x04)
                | set(self.cutter_error, 0x08)
                | set(self.unrecoverable_error, 0x20)
                | set(self.auto_recoverable_error, 0x40),
            0x12 | set(self.paper_near_end, 0x0C) | set(self.paper_end, 0x60),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(replies: [u8; 4]) -> PrinterStatus {
        PrinterStatus::from_replies(replies).unwrap()
    }

    #[test]
    fn requests_are_dle_eot_n() {
        let bytes: Vec<[u8; 3]> = StatusRequest::ALL.iter().map(|r| r.bytes()).collect();
        assert_eq!(
            bytes,
            [
                [0x10, 0x04, 1],
                [0x10, 0x04, 2],
                [0x10, 0x04, 3],
                [0x10, 0x04, 4]
            ]
        );
        assert_eq!(StatusRequest::from_n(3), Some(StatusRequest::ErrorCause));
        assert_eq!(StatusRequest::from_n(5), None);
    }

    #[test]
    fn all_ok_is_0x12_everywhere() {
        assert_eq!(status([0x12; 4]), PrinterStatus::default());
        assert_eq!(PrinterStatus::default().replies(), [0x12; 4]);
    }

    #[test]
    fn each_bit_decodes_to_its_flag() {
        let ok = PrinterStatus::default();
        let cases: [([u8; 4], PrinterStatus); 10] = [
            (
                [0x1A, 0x12, 0x12, 0x12],
                PrinterStatus {
                    online: false,
                    ..ok
                },
            ),
            (
                [0x12, 0x16, 0x12, 0x12],
                PrinterStatus {
                    cover_open: true,
                    ..ok
                },
            ),
            (
                [0x12, 0x32, 0x12, 0x12],
                PrinterStatus {
                    paper_end: true,
                    ..ok
                },
            ),
            (
                [0x12, 0x12, 0x12, 0x72],
                PrinterStatus {
                    paper_end: true,
                    ..ok
                },
            ),
            (
                [0x12, 0x12, 0x12, 0x1E],
                PrinterStatus {
                    paper_near_end: true,
                    ..ok
                },
            ),
            (
                [0x12, 0x12, 0x12, 0x16],
                PrinterStatus {
                    paper_near_end: true,
                    ..ok
                },
            ),
            (
                [0x12, 0x12, 0x1A, 0x12],
                PrinterStatus {
                    cutter_error: true,
                    ..ok
                },
            ),
            (
                [0x12, 0x12, 0x16, 0x12],
                PrinterStatus {
                    mechanical_error: true,
                    ..ok
                },
            ),
            (
                [0x12, 0x12, 0x32, 0x12],
                PrinterStatus {
                    unrecoverable_error: true,
                    ..ok
                },
            ),
            (
                [0x12, 0x12, 0x52, 0x12],
                PrinterStatus {
                    auto_recoverable_error: true,
                    ..ok
                },
            ),
        ];
        for (replies, expected) in cases {
            assert_eq!(status(replies), expected, "{replies:02x?}");
        }
    }

    #[test]
    fn bits_outside_the_defined_ones_are_ignored() {
        // Bit 2 of n=1 is the drawer pin, bit 3 of n=2 the FEED button, bits 5/6 of n=1 Epson extras.
        assert_eq!(
            status([0x16 | 0x60, 0x1A, 0x12, 0x12]),
            PrinterStatus::default()
        );
    }

    #[test]
    fn a_byte_without_the_fixed_bits_is_rejected_naming_the_request() {
        for bad in [0x00, 0x13, 0x10, 0x02, 0x92, 0xFF] {
            assert!(!is_status_reply(bad), "{bad:#04x}");
        }
        assert_eq!(
            PrinterStatus::from_replies([0x12, 0x12, 0x00, 0x12]),
            Err(NotAStatusReply { n: 3, byte: 0x00 })
        );
    }

    #[test]
    fn replies_round_trip_through_decoding() {
        let ok = PrinterStatus::default();
        for status in [
            PrinterStatus {
                online: false,
                cover_open: true,
                ..ok
            },
            PrinterStatus {
                online: false,
                paper_end: true,
                paper_near_end: true,
                ..ok
            },
            PrinterStatus {
                cutter_error: true,
                unrecoverable_error: true,
                ..ok
            },
            PrinterStatus {
                auto_recoverable_error: true,
                mechanical_error: true,
                ..ok
            },
        ] {
            assert_eq!(PrinterStatus::from_replies(status.replies()), Ok(status));
        }
    }
}
