//! A printer emulator behind a pseudo-terminal: decodes what a host prints, answers status
//! requests from a settable fault state, and files each cut receipt as text and PNG.
//!
//! ```no_run
//! # use hardware::printer::emulator::{self, EmulatorConfig, Fault};
//! let printer = emulator::spawn(EmulatorConfig::default())?;
//! // A host opens printer.path() like /dev/ttyUSB0 …
//! printer.set_fault(Fault::PaperEnd);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::decode::{Assembler, DecodedReceipt, Decoder, Event};
use super::paper::PaperWidth;
use super::render;
use super::status::{PrinterStatus, StatusRequest};
use crate::transport::{Pty, Transport};

/// How often the emulator thread looks at its stop flag while the line is quiet.
const POLL: Duration = Duration::from_millis(50);

/// A condition the emulated printer reports through `DLE EOT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fault {
    #[default]
    None,
    PaperEnd,
    NearEnd,
    CoverOpen,
    Offline,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::None,
        Fault::PaperEnd,
        Fault::NearEnd,
        Fault::CoverOpen,
        Fault::Offline,
    ];

    /// The command-line name: `none`, `paper-end`, `near-end`, `cover-open`, `offline`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::PaperEnd => "paper-end",
            Fault::NearEnd => "near-end",
            Fault::CoverOpen => "cover-open",
            Fault::Offline => "offline",
        }
    }

    /// The state a real printer is in with this fault.
    pub fn status(self) -> PrinterStatus {
        let ok = PrinterStatus::default();
        match self {
            Fault::None => ok,
            Fault::PaperEnd => PrinterStatus {
                online: false,
                paper_end: true,
                ..ok
            },
            Fault::NearEnd => PrinterStatus {
                paper_near_end: true,
                ..ok
            },
            Fault::CoverOpen => PrinterStatus {
                online: false,
                cover_open: true,
                ..ok
            },
            Fault::Offline => PrinterStatus {
                online: false,
                ..ok
            },
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name that is not one of [`Fault::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown printer fault `{given}`: use none, paper-end, near-end, cover-open or offline")]
pub struct UnknownFault {
    pub given: String,
}

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Fault::ALL
            .into_iter()
            .find(|fault| fault.name() == wanted)
            .ok_or_else(|| UnknownFault {
                given: s.to_owned(),
            })
    }
}

/// How to run the emulator.
#[derive(Debug, Clone, Default)]
pub struct EmulatorConfig {
    pub width: PaperWidth,
    /// Where `receipt-NNNN.txt` and `.png` go; `None` keeps receipts in memory only.
    pub output_dir: Option<PathBuf>,
    /// A stable name for the port, e.g. `/tmp/ttyPRINTER`.
    pub link: Option<PathBuf>,
    pub fault: Fault,
    /// Ignore status requests, like a printer on `usblp` or at the wrong baud rate.
    pub silent: bool,
}

/// Counts of what the emulator received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmulatorStats {
    pub bytes_received: usize,
    pub status_requests: usize,
    /// Decoded events other than status requests: anything that would put ink on paper
    /// or change how it is printed.
    pub print_events: usize,
}

/// Why the emulator stopped.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("printer emulator lost its pseudo-terminal {port}")]
    Pty {
        port: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "printer emulator cannot write {path}: check the output directory exists and is writable"
    )]
    Output {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("printer emulator cannot draw receipt {path}")]
    Picture {
        path: PathBuf,
        #[source]
        source: png::EncodingError,
    },
    #[error("printer emulator thread panicked")]
    Panicked,
}

#[derive(Debug, Default)]
struct State {
    fault: Fault,
    silent: bool,
    receipts: Vec<DecodedReceipt>,
    files: Vec<PathBuf>,
    stats: EmulatorStats,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave State inconsistent; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running emulator. Dropping it stops the thread and closes the pseudo-terminal.
#[derive(Debug)]
pub struct EmulatorHandle {
    path: PathBuf,
    link: Option<PathBuf>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<(), EmulatorError>>>,
}

/// Opens a pseudo-terminal and starts emulating a printer on it.
pub fn spawn(config: EmulatorConfig) -> io::Result<EmulatorHandle> {
    let mut pty = Pty::open()?;
    if let Some(link) = &config.link {
        pty = pty.with_link(link)?;
    }
    let mut next_number = 1;
    if let Some(dir) = &config.output_dir {
        std::fs::create_dir_all(dir)?;
        next_number = last_receipt_number(dir)? + 1;
    }
    let shared = Arc::new(Shared::default());
    {
        let mut state = shared.lock();
        state.fault = config.fault;
        state.silent = config.silent;
    }
    let path = pty.path().to_owned();
    let link = config.link.clone();
    let worker = Worker {
        pty,
        shared: shared.clone(),
        decoder: Decoder::new(),
        assembler: Assembler::new(config.width),
        width: config.width,
        output_dir: config.output_dir,
        next_number,
    };
    let thread = thread::Builder::new()
        .name("printer-emulator".to_owned())
        .spawn(move || worker.run())?;
    Ok(EmulatorHandle {
        path,
        link,
        shared,
        thread: Some(thread),
    })
}

/// The highest NNNN among `receipt-NNNN.txt` in `dir`, so a restart does not overwrite.
fn last_receipt_number(dir: &Path) -> io::Result<u32> {
    let mut highest = 0;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let number = name
            .to_str()
            .and_then(|n| n.strip_prefix("receipt-"))
            .and_then(|n| n.strip_suffix(".txt"))
            .and_then(|n| n.parse::<u32>().ok());
        highest = highest.max(number.unwrap_or(0));
    }
    Ok(highest)
}

impl EmulatorHandle {
    /// The port a host opens (`/dev/pts/N`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stable link, if configured.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    pub fn set_fault(&self, fault: Fault) {
        self.shared.lock().fault = fault;
    }

    pub fn fault(&self) -> Fault {
        self.shared.lock().fault
    }

    /// Stop (true) or resume (false) answering status requests.
    pub fn set_silent(&self, silent: bool) {
        self.shared.lock().silent = silent;
    }

    /// Every receipt cut so far.
    pub fn receipts(&self) -> Vec<DecodedReceipt> {
        self.shared.lock().receipts.clone()
    }

    /// Waits until `count` receipts have been cut or `timeout` passes; returns those cut.
    pub fn wait_for_receipts(&self, count: usize, timeout: Duration) -> Vec<DecodedReceipt> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.receipts.len() < count && !self.is_finished() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, (deadline - now).min(POLL))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        state.receipts.clone()
    }

    /// Files written so far, `.txt` then `.png` for each receipt.
    pub fn written_files(&self) -> Vec<PathBuf> {
        self.shared.lock().files.clone()
    }

    pub fn stats(&self) -> EmulatorStats {
        self.shared.lock().stats
    }

    /// Whether the emulator thread has ended (stopped, or failed: see [`Self::stop`]).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the emulator and reports why it ended if not because it was asked to.
    pub fn stop(mut self) -> Result<(), EmulatorError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), EmulatorError> {
        self.shared.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or(Err(EmulatorError::Panicked)),
            None => Ok(()),
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

struct Worker {
    pty: Pty,
    shared: Arc<Shared>,
    decoder: Decoder,
    assembler: Assembler,
    width: PaperWidth,
    output_dir: Option<PathBuf>,
    next_number: u32,
}

impl Worker {
    fn run(mut self) -> Result<(), EmulatorError> {
        let mut buf = [0u8; 4096];
        while !self.shared.stop.load(Ordering::Relaxed) {
            let n = self
                .pty
                .device()
                .receive(&mut buf, POLL)
                .map_err(|source| EmulatorError::Pty {
                    port: self.pty.path().display().to_string(),
                    source,
                })?;
            if n == 0 {
                continue;
            }
            self.shared.lock().stats.bytes_received += n;
            for event in self.decoder.push(&buf[..n]) {
                self.handle(&event)?;
            }
        }
        Ok(())
    }

    fn handle(&mut self, event: &Event) -> Result<(), EmulatorError> {
        if let Event::StatusRequest(n) = event {
            let reply = {
                let mut state = self.shared.lock();
                state.stats.status_requests += 1;
                let replies = state.fault.status().replies();
                StatusRequest::from_n(*n)
                    .filter(|_| !state.silent)
                    .map(|request| replies[usize::from(request.n()) - 1])
            };
            if let Some(byte) = reply {
                self.pty
                    .device()
                    .send(&[byte])
                    .map_err(|source| EmulatorError::Pty {
                        port: self.pty.path().display().to_string(),
                        source,
                    })?;
            }
            return Ok(());
        }
        self.shared.lock().stats.print_events += 1;
        if let Some(receipt) = self.assembler.push(event) {
            self.file(&receipt)?;
            let mut state = self.shared.lock();
            state.receipts.push(receipt);
            self.shared.changed.notify_all();
        }
        Ok(())
    }

    fn file(&mut self, receipt: &DecodedReceipt) -> Result<(), EmulatorError> {
        let Some(dir) = &self.output_dir else {
            return Ok(());
        };
        let stem = dir.join(format!("receipt-{:04}", self.next_number));
        self.next_number += 1;
        let text_path = stem.with_extension("txt");
        let png_path = stem.with_extension("png");
        let picture =
            render::png(receipt, self.width).map_err(|source| EmulatorError::Picture {
                path: png_path.clone(),
                source,
            })?;
        // The PNG first: a watcher keyed on the .txt then always finds both.
        write(&png_path, &picture)?;
        write(&text_path, render::text(receipt, self.width).as_bytes())?;
        self.shared.lock().files.extend([text_path, png_path]);
        Ok(())
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), EmulatorError> {
    std::fs::write(path, bytes).map_err(|source| EmulatorError::Output {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_parse_and_print() {
        for fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>().unwrap(), fault);
            assert_eq!(fault.to_string(), fault.name());
        }
        assert_eq!("Paper_End".parse::<Fault>().unwrap(), Fault::PaperEnd);
        let err = "jam".parse::<Fault>().unwrap_err().to_string();
        assert!(err.contains("`jam`") && err.contains("cover-open"), "{err}");
    }

    #[test]
    fn faults_answer_the_reference_status_bytes() {
        assert_eq!(Fault::None.status().replies(), [0x12, 0x12, 0x12, 0x12]);
        assert_eq!(Fault::Offline.status().replies(), [0x1A, 0x12, 0x12, 0x12]);
        assert_eq!(
            Fault::CoverOpen.status().replies(),
            [0x1A, 0x16, 0x12, 0x12]
        );
        assert_eq!(Fault::PaperEnd.status().replies(), [0x1A, 0x32, 0x12, 0x72]);
        assert_eq!(Fault::NearEnd.status().replies(), [0x12, 0x12, 0x12, 0x1E]);
    }

    #[test]
    fn numbering_continues_after_existing_receipts() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(last_receipt_number(dir.path()).unwrap(), 0);
        std::fs::write(dir.path().join("receipt-0007.txt"), "").unwrap();
        std::fs::write(dir.path().join("receipt-0009.png"), "").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "").unwrap();
        assert_eq!(last_receipt_number(dir.path()).unwrap(), 7);
    }
}
