//! A serial scanner on a pseudo-terminal, for tests, demos and technicians without hardware.
//!
//! The emulator owns a [`Pty`] on its own thread and "types" codes into it the way a scanner
//! does: payload bytes, then the configured suffix, at a chosen pace. Codes given at start are
//! sent first; more can be queued at any time, from any thread, through the handle.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::transport::{Pty, Transport};

/// The suffix the emulated scanner sends after each code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Suffix {
    Cr,
    Lf,
    /// CR LF, the Honeywell RS-232 plug-and-play default.
    #[default]
    CrLf,
    /// Nothing: the host must frame codes by silence.
    None,
}

impl Suffix {
    /// The names [`parse_suffix`] accepts, for command-line help.
    pub const NAMES: [&'static str; 4] = ["cr", "lf", "crlf", "none"];

    /// The bytes sent after each code.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Self::Cr => b"\r",
            Self::Lf => b"\n",
            Self::CrLf => b"\r\n",
            Self::None => b"",
        }
    }
}

impl fmt::Display for Suffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cr => "cr",
            Self::Lf => "lf",
            Self::CrLf => "crlf",
            Self::None => "none",
        })
    }
}

/// A suffix or encoding name that is not recognised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scanner {what} `{given}`: use one of {choices}")]
pub struct ParseNameError {
    /// "suffix" or "encoding".
    pub what: &'static str,
    /// What was given.
    pub given: String,
    /// The accepted names, comma-separated.
    pub choices: &'static str,
}

/// Parses a suffix name as typed on a command line: `cr`, `lf`, `crlf` or `none`.
pub fn parse_suffix(name: &str) -> Result<Suffix, ParseNameError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "cr" => Ok(Suffix::Cr),
        "lf" => Ok(Suffix::Lf),
        "crlf" | "cr-lf" | "cr+lf" => Ok(Suffix::CrLf),
        "none" | "" => Ok(Suffix::None),
        _ => Err(ParseNameError {
            what: "suffix",
            given: name.to_owned(),
            choices: "cr, lf, crlf, none",
        }),
    }
}

impl FromStr for Suffix {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_suffix(s)
    }
}

/// How the emulated scanner encodes the text of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeEncoding {
    #[default]
    Utf8,
    /// GB18030, as in codes printed by older Chinese systems.
    Gb18030,
}

impl CodeEncoding {
    /// The names [`parse_encoding`] accepts, for command-line help.
    pub const NAMES: [&'static str; 2] = ["utf8", "gb18030"];

    /// `text` in this encoding.
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Self::Utf8 => text.as_bytes().to_vec(),
            // GB18030 covers all of Unicode, so nothing is replaced.
            Self::Gb18030 => encoding_rs::GB18030.encode(text).0.into_owned(),
        }
    }
}

impl fmt::Display for CodeEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Utf8 => "utf8",
            Self::Gb18030 => "gb18030",
        })
    }
}

/// Parses an encoding name as typed on a command line: `utf8` or `gb18030` (also `utf-8`,
/// `gbk`).
pub fn parse_encoding(name: &str) -> Result<CodeEncoding, ParseNameError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "utf8" | "utf-8" => Ok(CodeEncoding::Utf8),
        "gb18030" | "gbk" | "gb2312" => Ok(CodeEncoding::Gb18030),
        _ => Err(ParseNameError {
            what: "encoding",
            given: name.to_owned(),
            choices: "utf8, gb18030",
        }),
    }
}

impl FromStr for CodeEncoding {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_encoding(s)
    }
}

/// How the emulated scanner behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorConfig {
    /// Sent after each code.
    pub suffix: Suffix,
    /// How [`ScannerEmulator::scan`] and the start-up codes encode text.
    pub encoding: CodeEncoding,
    /// Pause after each code before the next one is sent.
    pub between_codes: Duration,
    /// Pause after each byte, to mimic a slow line; zero sends a code in one write.
    pub per_byte: Duration,
    /// Also publish the port under this stable name, like `/dev/serial/by-id/…`.
    pub link: Option<PathBuf>,
    /// Codes to send as soon as the emulator starts.
    pub codes: Vec<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            suffix: Suffix::default(),
            encoding: CodeEncoding::default(),
            between_codes: Duration::from_millis(200),
            per_byte: Duration::ZERO,
            link: None,
            codes: Vec::new(),
        }
    }
}

#[derive(Debug)]
enum Command {
    Send(Vec<u8>),
    Stop,
}

/// The emulator has stopped (or its thread failed), so it cannot scan any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the scanner emulator has stopped: start a new one")]
pub struct EmulatorStopped;

/// A cloneable way to queue codes from another thread (e.g. one reading stdin).
#[derive(Debug, Clone)]
pub struct EmulatorSender {
    tx: Sender<Command>,
    encoding: CodeEncoding,
}

impl EmulatorSender {
    /// Queues `text`, encoded with the emulator's encoding.
    pub fn scan(&self, text: &str) -> Result<(), EmulatorStopped> {
        self.scan_as(text, self.encoding)
    }

    /// Queues `text` in the given encoding.
    pub fn scan_as(&self, text: &str, encoding: CodeEncoding) -> Result<(), EmulatorStopped> {
        self.scan_bytes(encoding.encode(text))
    }

    /// Queues raw payload bytes (the suffix is still added), e.g. noise or an over-long code.
    pub fn scan_bytes(&self, payload: Vec<u8>) -> Result<(), EmulatorStopped> {
        self.tx
            .send(Command::Send(payload))
            .map_err(|_| EmulatorStopped)
    }
}

/// A running scanner emulator. Dropping it stops the thread and closes the pseudo-terminal,
/// which the host sees as the device being unplugged.
#[derive(Debug)]
pub struct ScannerEmulator {
    path: PathBuf,
    link: Option<PathBuf>,
    sender: EmulatorSender,
    stopping: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

/// Starts an emulator on a fresh pseudo-terminal.
pub fn spawn(config: EmulatorConfig) -> io::Result<ScannerEmulator> {
    let mut pty = Pty::open()?;
    if let Some(link) = &config.link {
        pty = pty.with_link(link)?;
    }
    let path = pty.path().to_owned();
    let link = pty.link().map(Path::to_owned);
    let (tx, rx) = mpsc::channel();
    let stopping = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let sender = EmulatorSender {
        tx,
        encoding: config.encoding,
    };
    for code in &config.codes {
        // The receiver is alive until the thread below starts, so this cannot fail.
        let _ = sender.scan(code);
    }
    let thread = std::thread::Builder::new()
        .name(format!("scanner emulator {}", path.display()))
        .spawn({
            let stopping = stopping.clone();
            let sent = sent.clone();
            move || {
                Typist {
                    pty,
                    rx,
                    config,
                    stopping,
                    sent,
                    queue: VecDeque::new(),
                }
                .run()
            }
        })?;
    Ok(ScannerEmulator {
        path,
        link,
        sender,
        stopping,
        sent,
        thread: Some(thread),
    })
}

impl ScannerEmulator {
    /// The port a host opens, e.g. `/dev/pts/7`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stable link, if one was asked for.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// Queues `text` in the emulator's encoding.
    pub fn scan(&self, text: &str) -> Result<(), EmulatorStopped> {
        self.sender.scan(text)
    }

    /// Queues `text` in the given encoding.
    pub fn scan_as(&self, text: &str, encoding: CodeEncoding) -> Result<(), EmulatorStopped> {
        self.sender.scan_as(text, encoding)
    }

    /// Queues raw payload bytes (the suffix is still added).
    pub fn scan_bytes(&self, payload: Vec<u8>) -> Result<(), EmulatorStopped> {
        self.sender.scan_bytes(payload)
    }

    /// A handle for queueing codes from another thread.
    pub fn sender(&self) -> EmulatorSender {
        self.sender.clone()
    }

    /// How many codes have been written to the port so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    /// Stops typing, closes the port and reports whether the thread failed to write.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        self.stopping.store(true, Ordering::SeqCst);
        // The thread may already have ended; then there is nobody to tell.
        let _ = self.sender.tx.send(Command::Stop);
        match self.thread.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("scanner emulator thread panicked")),
        }
    }
}

impl Drop for ScannerEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

#[derive(Debug)]
struct Typist {
    pty: Pty,
    rx: Receiver<Command>,
    config: EmulatorConfig,
    stopping: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    queue: VecDeque<Vec<u8>>,
}

impl Typist {
    fn run(mut self) -> io::Result<()> {
        loop {
            let Some(payload) = self.queue.pop_front() else {
                match self.rx.recv() {
                    Ok(Command::Send(payload)) => self.queue.push_back(payload),
                    Ok(Command::Stop) | Err(_) => return Ok(()),
                }
                continue;
            };
            let mut wire = payload;
            wire.extend_from_slice(self.config.suffix.bytes());
            if self.config.per_byte.is_zero() {
                self.pty.device().send(&wire)?;
            } else {
                for (i, byte) in wire.iter().enumerate() {
                    if i > 0 && !self.pause(self.config.per_byte) {
                        return Ok(());
                    }
                    self.pty.device().send(&[*byte])?;
                }
            }
            self.sent.fetch_add(1, Ordering::SeqCst);
            if !self.pause(self.config.between_codes) {
                return Ok(());
            }
        }
    }

    /// Waits `duration` while queueing codes that arrive; false once asked to stop.
    fn pause(&mut self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Command::Send(payload)) => self.queue.push_back(payload),
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
                Err(RecvTimeoutError::Timeout) => return true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_and_encoding_names_parse() {
        for name in Suffix::NAMES {
            assert_eq!(parse_suffix(name).unwrap().to_string(), name);
        }
        assert_eq!(parse_suffix("CRLF").unwrap().bytes(), b"\r\n");
        assert_eq!(parse_suffix("none").unwrap().bytes(), b"");
        let err = parse_suffix("tab").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown scanner suffix `tab`: use one of cr, lf, crlf, none"
        );
        for name in CodeEncoding::NAMES {
            assert_eq!(parse_encoding(name).unwrap().to_string(), name);
        }
        assert_eq!(parse_encoding("GBK").unwrap(), CodeEncoding::Gb18030);
        assert!(parse_encoding("big5").is_err());
    }

    #[test]
    fn gb18030_encoding_gives_the_national_standard_bytes() {
        assert_eq!(
            CodeEncoding::Gb18030.encode("中文A"),
            [0xD6, 0xD0, 0xCE, 0xC4, b'A']
        );
        assert_eq!(CodeEncoding::Utf8.encode("中"), "中".as_bytes());
    }

    #[test]
    fn codes_reach_the_host_with_the_suffix_and_per_byte_pacing() {
        let emulator = spawn(EmulatorConfig {
            suffix: Suffix::Lf,
            per_byte: Duration::from_millis(1),
            codes: vec!["AB".into()],
            ..EmulatorConfig::default()
        })
        .unwrap();
        let mut host =
            crate::transport::SerialTransport::open(emulator.path().to_str().unwrap(), 9600)
                .unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 16];
        while got.len() < 3 && Instant::now() < deadline {
            let n = host.receive(&mut buf, Duration::from_millis(200)).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"AB\n");
        while emulator.sent() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(emulator.sent(), 1);
        emulator.stop().unwrap();
    }
}
