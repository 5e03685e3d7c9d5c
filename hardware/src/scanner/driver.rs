//! The serial scanner driver: reads, frames, decodes and filters codes from a [`Transport`].

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use super::dedupe::DuplicateFilter;
use super::framing::{FrameItem, Framer, FramerConfig, Terminator};
use super::text::{self, TextEncoding};
use crate::transport::Transport;

/// How a scanner frames and filters its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannerConfig {
    /// What ends a code on the wire.
    pub terminator: Terminator,
    /// The longest code accepted, in bytes.
    pub max_code_len: usize,
    /// Silence after which a code without its terminator is taken as complete; `None` waits
    /// for the terminator forever. Scanners send a code in one burst, and USB-serial bridges
    /// hold bytes back for at most about 16 ms, so 100 ms never splits a real code.
    pub idle_flush: Option<Duration>,
    /// Repeats of the same code within this window are dropped; `Duration::ZERO` keeps them.
    pub duplicate_window: Duration,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        let framing = FramerConfig::default();
        Self {
            terminator: framing.terminator,
            max_code_len: framing.max_len,
            idle_flush: Some(Duration::from_millis(100)),
            duplicate_window: DuplicateFilter::DEFAULT_WINDOW,
        }
    }
}

/// One scanned code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The decoded text, stray control characters removed; never empty.
    pub text: String,
    /// The bytes as received, terminator removed.
    pub raw: Vec<u8>,
    /// How `raw` was decoded.
    pub encoding: TextEncoding,
    /// When the code was complete.
    pub at: Instant,
}

/// What went wrong reading a scanner.
///
/// [`ScannerError::TooLong`] and [`ScannerError::Undecodable`] concern one code: the driver
/// has already dropped it and keeps working. [`ScannerError::Io`] means the port is gone.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    #[error(
        "scanner on {port} stopped answering: check its USB cable, then reopen the port (the booth retries by itself)"
    )]
    Io {
        port: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "scanner on {port} sent a {len}-byte code, over the {max_len}-byte limit, and it was dropped: check the scanner's suffix setting and baud rate, or raise the limit"
    )]
    TooLong {
        port: String,
        len: usize,
        max_len: usize,
    },
    #[error("scanner on {port} sent a code that was dropped")]
    Undecodable {
        port: String,
        #[source]
        source: text::UndecodableText,
    },
}

impl ScannerError {
    /// Whether the port itself failed, as opposed to one bad code.
    pub fn is_link_lost(&self) -> bool {
        matches!(self, Self::Io { .. })
    }
}

/// A serial or USB-CDC scanner on any [`Transport`].
#[derive(Debug)]
pub struct Scanner<T: Transport> {
    transport: T,
    config: ScannerConfig,
    framer: Framer,
    filter: DuplicateFilter,
    pending: VecDeque<(FrameItem, Instant)>,
    last_byte_at: Instant,
}

impl<T: Transport> Scanner<T> {
    /// A driver reading `transport`. The scanner needs no set-up command: it sends a code
    /// whenever one is read.
    pub fn new(transport: T, config: ScannerConfig) -> Self {
        Self {
            transport,
            framer: Framer::new(FramerConfig {
                terminator: config.terminator,
                max_len: config.max_code_len,
            }),
            filter: DuplicateFilter::new(config.duplicate_window),
            config,
            pending: VecDeque::new(),
            last_byte_at: Instant::now(),
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &ScannerConfig {
        &self.config
    }

    /// The port's name, for messages.
    pub fn name(&self) -> &str {
        self.transport.name()
    }

    /// Waits up to `timeout` for the next code; `Ok(None)` if none was complete in time.
    ///
    /// Bytes of a code still in flight at the timeout stay buffered for the next call.
    pub fn next_code(&mut self, timeout: Duration) -> Result<Option<Scan>, ScannerError> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 512];
        loop {
            if let Some(scan) = self.take_pending()? {
                return Ok(Some(scan));
            }
            let now = Instant::now();
            let idle_deadline = self
                .config
                .idle_flush
                .filter(|_| self.framer.has_partial())
                .map(|idle| self.last_byte_at + idle);
            let wake = idle_deadline.map_or(deadline, |idle| idle.min(deadline));
            // Always read before deciding the line is idle: after a scheduling delay the
            // rest of the code may already be waiting in the kernel.
            let n = self
                .transport
                .receive(&mut buf, wake.saturating_duration_since(now))
                .map_err(|source| ScannerError::Io {
                    port: self.transport.name().to_owned(),
                    source,
                })?;
            let now = Instant::now();
            if n > 0 {
                self.last_byte_at = now;
                let items = self.framer.push(&buf[..n]);
                self.pending
                    .extend(items.into_iter().map(|item| (item, now)));
                if now >= deadline {
                    // A device that never stops sending must not hold the caller past its
                    // timeout, so this is the last read of this call.
                    return self.take_pending();
                }
                continue;
            }
            if idle_deadline.is_some_and(|idle| now >= idle) {
                if let Some(item) = self.framer.flush() {
                    self.pending.push_back((item, now));
                }
                continue;
            }
            if now >= deadline {
                return Ok(None);
            }
        }
    }

    /// Hands the transport back, dropping any partial code.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// The first deliverable code among those already framed.
    fn take_pending(&mut self) -> Result<Option<Scan>, ScannerError> {
        while let Some((item, at)) = self.pending.pop_front() {
            if let Some(scan) = self.accept(item, at)? {
                return Ok(Some(scan));
            }
        }
        Ok(None)
    }

    fn accept(&mut self, item: FrameItem, at: Instant) -> Result<Option<Scan>, ScannerError> {
        let raw = match item {
            FrameItem::Code(raw) => raw,
            FrameItem::TooLong { len, max_len } => {
                return Err(ScannerError::TooLong {
                    port: self.transport.name().to_owned(),
                    len,
                    max_len,
                });
            }
        };
        let decoded = text::decode(&raw).map_err(|source| ScannerError::Undecodable {
            port: self.transport.name().to_owned(),
            source,
        })?;
        if decoded.text.is_empty() || !self.filter.admit(&decoded.text, at) {
            return Ok(None);
        }
        Ok(Some(Scan {
            text: decoded.text,
            raw,
            encoding: decoded.encoding,
            at,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{MemoryTransport, memory_pair};

    const WAIT: Duration = Duration::from_secs(5);

    fn scanner(config: ScannerConfig) -> (Scanner<MemoryTransport>, MemoryTransport) {
        let (host, device) = memory_pair("scanner");
        (Scanner::new(host, config), device)
    }

    #[test]
    fn a_crlf_code_arrives_decoded_with_its_raw_bytes() {
        let (mut s, mut dev) = scanner(ScannerConfig::default());
        dev.send(b"https://x.cn/r/A1?b=2\r\n").unwrap();
        let scan = s.next_code(WAIT).unwrap().unwrap();
        assert_eq!(scan.text, "https://x.cn/r/A1?b=2");
        assert_eq!(scan.raw, b"https://x.cn/r/A1?b=2");
        assert_eq!(scan.encoding, TextEncoding::Utf8);
    }

    #[test]
    fn several_codes_in_one_read_come_out_one_per_call() {
        let (mut s, mut dev) = scanner(ScannerConfig {
            terminator: Terminator::Cr,
            ..ScannerConfig::default()
        });
        dev.send(b"ONE\rTWO\rTHREE\r").unwrap();
        for want in ["ONE", "TWO", "THREE"] {
            assert_eq!(s.next_code(WAIT).unwrap().unwrap().text, want);
        }
    }

    #[test]
    fn silence_is_none_and_a_partial_code_waits_for_its_end() {
        let (mut s, mut dev) = scanner(ScannerConfig {
            idle_flush: None,
            ..ScannerConfig::default()
        });
        assert!(s.next_code(Duration::from_millis(20)).unwrap().is_none());
        dev.send(b"PART").unwrap();
        assert!(s.next_code(Duration::from_millis(20)).unwrap().is_none());
        dev.send(b"IAL\n").unwrap();
        assert_eq!(s.next_code(WAIT).unwrap().unwrap().text, "PARTIAL");
    }

    #[test]
    fn idle_silence_ends_a_code_without_suffix() {
        let (mut s, mut dev) = scanner(ScannerConfig {
            terminator: Terminator::None,
            idle_flush: Some(Duration::from_millis(30)),
            ..ScannerConfig::default()
        });
        dev.send(b"6901234567892").unwrap();
        assert_eq!(s.next_code(WAIT).unwrap().unwrap().text, "6901234567892");
    }

    #[test]
    fn repeats_are_dropped_and_bad_codes_are_errors_that_do_not_stop_the_driver() {
        let (mut s, mut dev) = scanner(ScannerConfig {
            max_code_len: 8,
            duplicate_window: Duration::from_secs(3600),
            ..ScannerConfig::default()
        });
        dev.send(b"SAME\rSAME\r0123456789\r\xff\xfe\rNEXT\r")
            .unwrap();
        assert_eq!(s.next_code(WAIT).unwrap().unwrap().text, "SAME");
        let err = s.next_code(WAIT).unwrap_err();
        assert!(
            matches!(
                err,
                ScannerError::TooLong {
                    len: 10,
                    max_len: 8,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_link_lost());
        assert!(err.to_string().contains("scanner (host end)"), "{err}");
        let err = s.next_code(WAIT).unwrap_err();
        assert!(matches!(err, ScannerError::Undecodable { .. }), "{err:?}");
        assert_eq!(s.next_code(WAIT).unwrap().unwrap().text, "NEXT");
    }

    #[test]
    fn a_device_that_never_pauses_still_lets_the_timeout_pass() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};

        let (mut s, mut dev) = scanner(ScannerConfig {
            terminator: Terminator::None,
            idle_flush: None,
            ..ScannerConfig::default()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let sender = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
                    dev.send(b"noise").unwrap();
                    std::thread::sleep(Duration::from_millis(1));
                }
                stop.load(Ordering::Relaxed)
            }
        });
        assert!(s.next_code(Duration::from_millis(100)).unwrap().is_none());
        stop.store(true, Ordering::Relaxed);
        assert!(
            sender.join().unwrap(),
            "next_code waited for the device to fall silent"
        );
    }

    #[test]
    fn a_vanished_device_is_an_io_error_naming_the_port() {
        let (mut s, dev) = scanner(ScannerConfig::default());
        drop(dev);
        let err = s.next_code(WAIT).unwrap_err();
        assert!(err.is_link_lost());
        assert!(err.to_string().contains("scanner (host end)"), "{err}");
        let transport = s.into_inner();
        assert_eq!(transport.name(), "scanner (host end)");
    }
}
