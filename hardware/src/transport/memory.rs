//! An in-memory, full-duplex pipe for unit tests and in-process emulators.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::Transport;

#[derive(Debug, Default)]
struct Channel {
    state: Mutex<ChannelState>,
    readable: Condvar,
}

#[derive(Debug, Default)]
struct ChannelState {
    bytes: VecDeque<u8>,
    writer_closed: bool,
}

/// One end of a [`memory_pair`]. Dropping it makes the other end's reads fail with
/// `BrokenPipe` once the bytes already sent are drained, like an unplugged device.
#[derive(Debug)]
pub struct MemoryTransport {
    name: String,
    incoming: Arc<Channel>,
    outgoing: Arc<Channel>,
}

/// Two connected ends: what one sends, the other receives.
pub fn memory_pair(name: &str) -> (MemoryTransport, MemoryTransport) {
    let a_to_b = Arc::new(Channel::default());
    let b_to_a = Arc::new(Channel::default());
    (
        MemoryTransport {
            name: format!("{name} (host end)"),
            incoming: b_to_a.clone(),
            outgoing: a_to_b.clone(),
        },
        MemoryTransport {
            name: format!("{name} (device end)"),
            incoming: a_to_b,
            outgoing: b_to_a,
        },
    )
}

impl Transport for MemoryTransport {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut state = self.outgoing.state.lock().map_err(|_| poisoned())?;
        state.bytes.extend(bytes);
        self.outgoing.readable.notify_all();
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = Instant::now() + timeout;
        let mut state = self.incoming.state.lock().map_err(|_| poisoned())?;
        loop {
            if !state.bytes.is_empty() {
                let n = buf.len().min(state.bytes.len());
                for (slot, byte) in buf.iter_mut().zip(state.bytes.drain(..n)) {
                    *slot = byte;
                }
                return Ok(n);
            }
            if state.writer_closed {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the other end of the pipe was closed",
                ));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(0);
            }
            state = self
                .incoming
                .readable
                .wait_timeout(state, deadline - now)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    fn clear_input(&mut self) -> io::Result<()> {
        self.incoming
            .state
            .lock()
            .map_err(|_| poisoned())?
            .bytes
            .clear();
        Ok(())
    }

    fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for MemoryTransport {
    fn drop(&mut self) {
        if let Ok(mut state) = self.outgoing.state.lock() {
            state.writer_closed = true;
            self.outgoing.readable.notify_all();
        }
    }
}

fn poisoned() -> io::Error {
    io::Error::other("memory pipe lock poisoned by a panicking thread")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_cross_in_both_directions() {
        let (mut host, mut device) = memory_pair("test");
        host.send(b"ping").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            device.receive(&mut buf, Duration::from_millis(10)).unwrap(),
            4
        );
        assert_eq!(&buf[..4], b"ping");
        device.send(b"pong").unwrap();
        assert_eq!(
            host.receive(&mut buf, Duration::from_millis(10)).unwrap(),
            4
        );
    }

    #[test]
    fn silence_is_zero_and_hangup_is_an_error() {
        let (mut host, device) = memory_pair("test");
        let mut buf = [0u8; 4];
        assert_eq!(host.receive(&mut buf, Duration::from_millis(5)).unwrap(), 0);
        drop(device);
        let err = host
            .receive(&mut buf, Duration::from_millis(5))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
