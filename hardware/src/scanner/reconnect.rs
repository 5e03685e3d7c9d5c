//! Keeping a serial scanner open across unplugging, re-enumeration and power cycles.
//!
//! A booth runs for months; people knock cables. The scanner is opened by a stable path
//! (a `/dev/serial/by-id/…` link survives the device coming back as `ttyACM1` instead of
//! `ttyACM0`). When a read fails or the path disappears or starts pointing at another node,
//! the port is dropped, `Disconnected` is reported once, and the path is re-opened with
//! bounded exponential back-off until it answers again.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::driver::{Scan, Scanner, ScannerConfig, ScannerError};
use crate::transport::{OpenError, SerialTransport};

/// How often to retry opening a missing scanner: `initial`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        }
    }
}

/// Where the scanner is and how to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectConfig {
    /// The port, ideally a stable link such as `/dev/serial/by-id/usb-…-if00`.
    pub path: String,
    /// Ignored by USB-CDC scanners; RS-232 scanners commonly default to 9600.
    pub baud: u32,
    pub scanner: ScannerConfig,
    pub backoff: Backoff,
}

impl ReconnectConfig {
    /// Default framing and back-off for the scanner at `path`.
    pub fn new(path: impl Into<String>, baud: u32) -> Self {
        Self {
            path: path.into(),
            baud,
            scanner: ScannerConfig::default(),
            backoff: Backoff::default(),
        }
    }
}

/// Why an open port was given up.
#[derive(Debug, thiserror::Error)]
pub enum LinkLost {
    #[error("{0}")]
    Read(#[source] ScannerError),
    #[error(
        "scanner port {path} disappeared: check the scanner's USB cable (the booth reopens it when it returns)"
    )]
    NodeGone { path: String },
    #[error(
        "scanner port {path} now points at a different device node: the scanner was re-plugged (the booth reopens it)"
    )]
    NodeReplaced { path: String },
}

/// What a [`ReconnectingScanner`] has to report.
#[derive(Debug)]
pub enum ScannerEvent {
    /// A code was scanned.
    Scan(Scan),
    /// A code was received but dropped (too long, undecodable); the port is fine.
    Rejected(ScannerError),
    /// The port opened for the first time.
    Connected { port: String },
    /// The port was lost; reported once per loss.
    Disconnected { port: String, cause: LinkLost },
    /// The port opened again after a loss.
    Reconnected { port: String },
}

#[derive(Debug)]
enum State {
    Open {
        // Boxed: the open state is much larger than the closed one.
        scanner: Box<Scanner<SerialTransport>>,
        /// The device node the path resolved to when opened.
        node: Option<PathBuf>,
        checked_at: Instant,
    },
    Closed {
        next_attempt: Instant,
        delay: Duration,
    },
}

/// A scanner opened by path that re-opens itself after the device goes away.
#[derive(Debug)]
pub struct ReconnectingScanner {
    config: ReconnectConfig,
    state: State,
    ever_opened: bool,
    last_open_error: Option<OpenError>,
}

/// How often an idle open port checks that its path still leads to the same node. A
/// read error usually reports the loss first; this catches drivers that just go quiet.
const NODE_CHECK_INTERVAL: Duration = Duration::from_millis(500);

impl ReconnectingScanner {
    /// Opens the scanner now, failing if it is not there (for a technician's command).
    pub fn connect(config: ReconnectConfig) -> Result<Self, OpenError> {
        let state = open(&config)?;
        Ok(Self {
            config,
            state,
            ever_opened: true,
            last_open_error: None,
        })
    }

    /// Starts without the port; the first [`next_event`](Self::next_event) tries to open it
    /// and reports `Connected` once it succeeds (for a booth that boots before the scanner).
    pub fn new(config: ReconnectConfig) -> Self {
        Self {
            state: State::Closed {
                next_attempt: Instant::now(),
                delay: config.backoff.initial,
            },
            config,
            ever_opened: false,
            last_open_error: None,
        }
    }

    /// The configured path.
    pub fn path(&self) -> &str {
        &self.config.path
    }

    /// Whether the port is open now.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// Why the latest attempt to open the port failed, while it stays closed; a technician
    /// needs this when the node is back but, say, has the wrong permissions.
    pub fn last_open_error(&self) -> Option<&OpenError> {
        self.last_open_error.as_ref()
    }

    /// Waits up to `timeout` for something to report: a scan, a dropped code, or a change in
    /// the connection. `None` if nothing happened.
    pub fn next_event(&mut self, timeout: Duration) -> Option<ScannerEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = Instant::now();
            match &mut self.state {
                State::Open {
                    scanner,
                    node,
                    checked_at,
                } => {
                    let slice = deadline
                        .saturating_duration_since(now)
                        .min(NODE_CHECK_INTERVAL);
                    match scanner.next_code(slice) {
                        Ok(Some(scan)) => return Some(ScannerEvent::Scan(scan)),
                        Err(error) if !error.is_link_lost() => {
                            return Some(ScannerEvent::Rejected(error));
                        }
                        Err(error) => return Some(self.lose(LinkLost::Read(error))),
                        Ok(None) => {
                            let now = Instant::now();
                            if now.saturating_duration_since(*checked_at) >= NODE_CHECK_INTERVAL {
                                *checked_at = now;
                                if let Some(cause) = node_changed(&self.config.path, node) {
                                    return Some(self.lose(cause));
                                }
                            }
                        }
                    }
                }
                State::Closed {
                    next_attempt,
                    delay,
                } => {
                    if now >= *next_attempt {
                        match open(&self.config) {
                            Ok(state) => {
                                self.state = state;
                                self.last_open_error = None;
                                let port = self.config.path.clone();
                                let first = !std::mem::replace(&mut self.ever_opened, true);
                                return Some(if first {
                                    ScannerEvent::Connected { port }
                                } else {
                                    ScannerEvent::Reconnected { port }
                                });
                            }
                            Err(error) => {
                                self.last_open_error = Some(error);
                                *next_attempt = now + *delay;
                                *delay = (*delay * 2).min(self.config.backoff.max);
                            }
                        }
                    } else {
                        std::thread::sleep(
                            (*next_attempt).min(deadline).saturating_duration_since(now),
                        );
                    }
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    fn lose(&mut self, cause: LinkLost) -> ScannerEvent {
        // Dropping the old scanner closes its descriptor, so the node can go away for good
        // and the exclusive lock does not block the re-open.
        self.state = State::Closed {
            next_attempt: Instant::now() + self.config.backoff.initial,
            delay: self.config.backoff.initial,
        };
        ScannerEvent::Disconnected {
            port: self.config.path.clone(),
            cause,
        }
    }
}

fn open(config: &ReconnectConfig) -> Result<State, OpenError> {
    let node = std::fs::canonicalize(&config.path).ok();
    let transport = SerialTransport::open(&config.path, config.baud)?;
    Ok(State::Open {
        scanner: Box::new(Scanner::new(transport, config.scanner)),
        node,
        checked_at: Instant::now(),
    })
}

fn node_changed(path: &str, opened: &Option<PathBuf>) -> Option<LinkLost> {
    match std::fs::canonicalize(path) {
        Err(_) => Some(LinkLost::NodeGone {
            path: path.to_owned(),
        }),
        Ok(now) if opened.as_ref().is_some_and(|opened| *opened != now) => {
            Some(LinkLost::NodeReplaced {
                path: path.to_owned(),
            })
        }
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_port_keeps_retrying_with_bounded_back_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ttyNOPE");
        let mut config = ReconnectConfig::new(path.to_str().unwrap(), 9600);
        config.backoff = Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(4),
        };
        assert!(matches!(
            ReconnectingScanner::connect(config.clone()),
            Err(OpenError::NotFound { .. })
        ));
        let mut scanner = ReconnectingScanner::new(config);
        assert!(scanner.next_event(Duration::from_millis(30)).is_none());
        assert!(!scanner.is_connected());
        assert!(matches!(
            scanner.last_open_error(),
            Some(OpenError::NotFound { .. })
        ));
        match &scanner.state {
            State::Closed { delay, .. } => assert_eq!(*delay, Duration::from_millis(4)),
            State::Open { .. } => panic!("opened a missing port"),
        }
    }

    #[test]
    fn a_port_that_appears_later_is_reported_connected_once() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("ttySCAN");
        let mut scanner =
            ReconnectingScanner::new(ReconnectConfig::new(link.to_str().unwrap(), 9600));
        assert!(scanner.next_event(Duration::from_millis(10)).is_none());
        let _pty = crate::transport::Pty::open()
            .unwrap()
            .with_link(&link)
            .unwrap();
        let event = scanner.next_event(Duration::from_secs(10));
        assert!(
            matches!(&event, Some(ScannerEvent::Connected { port }) if port == link.to_str().unwrap()),
            "{event:?}"
        );
        assert!(scanner.is_connected() && scanner.last_open_error().is_none());
    }
}
