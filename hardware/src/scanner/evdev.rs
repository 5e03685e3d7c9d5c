//! Reading a keyboard-mode scanner from `/dev/input` (feature `evdev`).
//!
//! A thin adapter: it opens the event node, grabs it so the scanner's keystrokes do not reach
//! the console or another program, and feeds the events to [`KeyDecoder`]. Open it by its
//! stable name, `/dev/input/by-id/usb-<vendor>_<product>-event-kbd`; a udev rule giving the
//! booth's group access to that node saves running as root.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use super::dedupe::DuplicateFilter;
use super::keyboard::{KeyDecoder, KeyEvent, KeyItem};

/// How a keyboard-mode scanner is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HidConfig {
    /// The longest code accepted, in characters.
    pub max_code_len: usize,
    /// Repeats of the same code within this window are dropped; `Duration::ZERO` keeps them.
    pub duplicate_window: Duration,
    /// Silence after which a code without Enter is taken as complete; `None` waits for Enter.
    pub idle_flush: Option<Duration>,
}

impl Default for HidConfig {
    fn default() -> Self {
        Self {
            max_code_len: KeyDecoder::default().max_len(),
            duplicate_window: DuplicateFilter::DEFAULT_WINDOW,
            idle_flush: None,
        }
    }
}

/// What went wrong with a keyboard-mode scanner.
#[derive(Debug, thiserror::Error)]
pub enum HidError {
    #[error(
        "cannot open input device {path}: check it exists (ls /dev/input/by-id) and that this user may read it (udev rule or group `input`)"
    )]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot take input device {path} for exclusive use: stop the program holding it (fuser -v {path})"
    )]
    Grab {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("input device {path} stopped answering: check the scanner's USB cable and reopen it")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "scanner on {path} typed a {len}-character code, over the {max_len}-character limit, and it was dropped"
    )]
    TooLong {
        path: String,
        len: usize,
        max_len: usize,
    },
}

/// A keyboard-mode scanner read through evdev.
#[derive(Debug)]
pub struct HidScanner {
    path: String,
    device: ::evdev::Device,
    decoder: KeyDecoder,
    filter: DuplicateFilter,
    config: HidConfig,
    pending: VecDeque<(KeyItem, Instant)>,
    last_key_at: Instant,
}

/// How long to wait between polls of a non-blocking input node; scanners type a character
/// every few milliseconds, and the kernel queues events meanwhile.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

impl HidScanner {
    /// Opens and grabs the input device at `path`.
    pub fn open(path: &str, config: HidConfig) -> Result<Self, HidError> {
        let open_error = |source| HidError::Open {
            path: path.to_owned(),
            source,
        };
        let mut device = ::evdev::Device::open(path).map_err(open_error)?;
        device.grab().map_err(|source| HidError::Grab {
            path: path.to_owned(),
            source,
        })?;
        // Non-blocking so `next_code` can honour its timeout without a second thread.
        device.set_nonblocking(true).map_err(open_error)?;
        Ok(Self {
            path: path.to_owned(),
            device,
            decoder: KeyDecoder::new(config.max_code_len),
            filter: DuplicateFilter::new(config.duplicate_window),
            config,
            pending: VecDeque::new(),
            last_key_at: Instant::now(),
        })
    }

    /// The device path, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Waits up to `timeout` for the next code; `Ok(None)` if none was complete in time.
    pub fn next_code(&mut self, timeout: Duration) -> Result<Option<String>, HidError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(code) = self.take_pending()? {
                return Ok(Some(code));
            }
            let read = self.read_events()?;
            let now = Instant::now();
            if read {
                self.last_key_at = now;
                if now >= deadline {
                    // A device that never stops typing must not hold the caller past its
                    // timeout.
                    return self.take_pending();
                }
                continue;
            }
            if let Some(idle) = self.config.idle_flush
                && self.decoder.has_partial()
                && now >= self.last_key_at + idle
            {
                self.pending
                    .extend(self.decoder.flush().map(|item| (item, now)));
                continue;
            }
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(POLL_INTERVAL.min(deadline - now));
        }
    }

    /// Releases the grab and hands the device back.
    pub fn into_inner(mut self) -> ::evdev::Device {
        // The grab also ends when the descriptor closes, so a failure here is harmless.
        let _ = self.device.ungrab();
        self.device
    }

    fn take_pending(&mut self) -> Result<Option<String>, HidError> {
        while let Some((item, at)) = self.pending.pop_front() {
            match item {
                KeyItem::Code(code) if self.filter.admit(&code, at) => return Ok(Some(code)),
                KeyItem::Code(_) => {}
                KeyItem::TooLong { len, max_len } => {
                    return Err(HidError::TooLong {
                        path: self.path.clone(),
                        len,
                        max_len,
                    });
                }
            }
        }
        Ok(None)
    }

    /// Reads what the kernel has queued; false if nothing was waiting.
    fn read_events(&mut self) -> Result<bool, HidError> {
        let events = match self.device.fetch_events() {
            Ok(events) => events,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(source) => {
                return Err(HidError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let now = Instant::now();
        let mut any = false;
        for event in events {
            any = true;
            let item = self.decoder.push_event(KeyEvent {
                kind: event.event_type().0,
                code: event.code(),
                value: event.value(),
            });
            self.pending.extend(item.map(|item| (item, now)));
        }
        Ok(any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_input_device_names_itself_and_the_fix() {
        let err =
            HidScanner::open("/dev/input/by-id/no-such-scanner", HidConfig::default()).unwrap_err();
        assert!(matches!(err, HidError::Open { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("/dev/input/by-id/no-such-scanner") && text.contains("udev rule"),
            "{text}"
        );
    }
}
