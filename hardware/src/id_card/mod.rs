//! Resident ID card readers: SAM modules speaking GA 467 (`AA AA AA 96 69` frames) over a
//! serial port, and an emulator of one.
//!
//! Map of the module:
//! - [`frame`]: the frame codec in both directions and the streaming [`FrameDecoder`].
//! - [`command`]: the commands the booth sends and their exact bytes.
//! - [`status`]: SW3 status words with Chinese and English meaning and advice.
//! - [`sam_id`]: the SAM ID as printed on the reader's label.
//! - [`read`]: the layout of read replies (text, photo, fingerprint) and the appended address.
//! - [`text`]: the 256-byte text block of all card kinds, parsed and built.
//! - [`card`]: the typed card (resident ID, HK/Macao/Taiwan permit, foreign permanent
//!   resident 2017 and 2023), gender, validity, photo; `Debug` redacts personal fields.
//! - [`id_number`]: GB 11643 validation and the masked [`IdNumber`].
//! - [`nation`]: 民族 codes.
//! - [`driver`]: [`Reader`], which runs commands with timeouts and retries, reads cards and
//!   polls for them.
//! - [`samples`]: made-up cards of every kind with valid numbers.
//! - [`emulator`]: a reader on a pseudo-terminal, with placeable cards and fault modes.
//!
//! Everything but `driver` and `emulator` is pure: bytes in, typed values out.

pub mod card;
pub mod command;
pub mod driver;
pub mod emulator;
pub mod frame;
pub mod id_number;
pub mod nation;
pub mod read;
pub mod sam_id;
pub mod samples;
pub mod status;
pub mod text;

pub use card::{
    Card, CardKind, CardRead, ForeignCard2017, ForeignCard2023, Gender, Photo, ResidencePermit,
    ResidentCard, ValidUntil,
};
pub use command::Command;
pub use driver::{PollEvent, ReadCommand, Reader, ReaderConfig, ReaderError, Timeouts};
pub use frame::{Frame, FrameDecoder, FrameError, Request, Response};
pub use id_number::{IdNumber, IdNumberError};
pub use nation::Nation;
pub use sam_id::SamId;
pub use status::Status;
