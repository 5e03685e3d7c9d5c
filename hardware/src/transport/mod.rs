//! Byte transports: the one seam between device protocols and the operating system.
//!
//! Every driver in this crate is generic over [`Transport`], so the same driver code talks to a
//! USB-serial reader on `/dev/ttyUSB0`, to an emulator behind a pseudo-terminal, or to an
//! in-memory pipe in a unit test. A transport moves bytes and knows nothing of frames.

mod memory;
mod pty;
mod serial;
mod usblp;

use std::io;
use std::time::{Duration, Instant};

pub use memory::{MemoryTransport, memory_pair};
pub use pty::Pty;
pub use serial::{OpenError, SerialTransport};
pub use usblp::UsbLpTransport;

/// A bidirectional byte link to one device.
pub trait Transport: Send {
    /// Sends every byte, returning once the OS has taken them all.
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Waits at most `timeout` for bytes and reads what has arrived into `buf`.
    ///
    /// `Ok(0)` means nothing arrived in time; a device that went away is an `Err`
    /// (so callers can tell a silent device from a vanished one).
    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;

    /// Throws away bytes received but not yet read, so a late reply to an abandoned
    /// command is not mistaken for the answer to the next one.
    fn clear_input(&mut self) -> io::Result<()>;

    /// The name shown to a technician in errors, e.g. `/dev/ttyUSB0`.
    fn name(&self) -> &str;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).send(bytes)
    }
    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        (**self).receive(buf, timeout)
    }
    fn clear_input(&mut self) -> io::Result<()> {
        (**self).clear_input()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}

/// Reads exactly `buf.len()` bytes unless `deadline` passes first; returns how many arrived.
pub fn receive_exact_until<T: Transport + ?Sized>(
    transport: &mut T,
    buf: &mut [u8],
    deadline: Instant,
) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        filled += transport.receive(&mut buf[filled..], deadline - now)?;
    }
    Ok(filled)
}
