//! An ID card reader in a thread: it answers the host's frames exactly as a SAM module does,
//! with a card that can be placed and lifted, and faults that can be switched at run time.
//!
//! - [`card_file`]: the card it holds, from a sample or a TOML/JSON file.
//! - [`fault`]: the fault modes and their command-line names.
//! - `device`: the answers themselves (pure; no I/O).
//!
//! ```no_run
//! use hardware::id_card::emulator::{self, EmulatedCard, EmulatorConfig, Fault};
//! use hardware::id_card::samples;
//!
//! let emulator = emulator::spawn(EmulatorConfig {
//!     card: Some(EmulatedCard::new(samples::resident())?),
//!     ..EmulatorConfig::default()
//! })?;
//! // A host opens emulator.path() like /dev/ttyUSB0 …
//! emulator.set_fault(Fault::Silent);
//! emulator.remove();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod card_file;
mod device;
pub mod fault;

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use card_file::{CardFileError, EmulatedCard};
pub use device::{AfterRead, ParseAfterReadError};
pub use fault::{FAULT_NAMES, Fault, ParseFaultError};

use self::device::{DeviceState, GARBAGE, NOISE};
use super::command::Command;
use super::frame::FrameDecoder;
use super::sam_id::{SAM_ID_LEN, SamId};
use crate::transport::{Pty, Transport};

/// How often the thread looks at its stop flag while idle or sleeping.
const TICK: Duration = Duration::from_millis(20);

/// The SAM ID printed as `05.01-20101111-0012345678-1234567890`.
pub fn example_sam_id() -> SamId {
    let mut bytes = [0u8; SAM_ID_LEN];
    bytes[0] = 0x05;
    bytes[2] = 0x01;
    bytes[4..8].copy_from_slice(&20_101_111u32.to_le_bytes());
    bytes[8..12].copy_from_slice(&12_345_678u32.to_le_bytes());
    bytes[12..16].copy_from_slice(&1_234_567_890u32.to_le_bytes());
    SamId::new(bytes)
}

/// How the emulated reader starts.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The card on the reader at start; `None` for an empty reader.
    pub card: Option<EmulatedCard>,
    pub fault: Fault,
    pub after_read: AfterRead,
    pub sam_id: SamId,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            card: None,
            fault: Fault::None,
            after_read: AfterRead::default(),
            sam_id: example_sam_id(),
        }
    }
}

/// Starts an emulator on a fresh pseudo-terminal; a host opens [`Emulator::path`].
pub fn spawn(config: EmulatorConfig) -> io::Result<Emulator> {
    spawn_on_pty(Pty::open()?, config)
}

/// Starts an emulator on a pseudo-terminal made by the caller (e.g. one with a stable link).
pub fn spawn_on_pty(pty: Pty, config: EmulatorConfig) -> io::Result<Emulator> {
    let path = pty.path().to_owned();
    let link = pty.link().map(Path::to_owned);
    let mut emulator = start(Link::Pty(Box::new(pty)), config)?;
    emulator.path = Some(path);
    emulator.link = link;
    Ok(emulator)
}

/// Starts an emulator on any transport, e.g. the device end of a
/// [`memory_pair`](crate::transport::memory_pair).
pub fn spawn_on<T: Transport + 'static>(device: T, config: EmulatorConfig) -> io::Result<Emulator> {
    start(Link::Other(Box::new(device)), config)
}

/// A running emulator. Dropping it stops the thread and closes the pseudo-terminal.
#[derive(Debug)]
pub struct Emulator {
    control: EmulatorControl,
    path: Option<PathBuf>,
    link: Option<PathBuf>,
    thread: Option<JoinHandle<()>>,
}

/// Changes a running emulator from any thread; clone it freely.
#[derive(Debug, Clone)]
pub struct EmulatorControl {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<DeviceState>,
    stop: AtomicBool,
}

enum Link {
    Pty(Box<Pty>),
    Other(Box<dyn Transport>),
}

impl Link {
    fn io(&mut self) -> &mut dyn Transport {
        match self {
            Link::Pty(pty) => pty.device(),
            Link::Other(transport) => transport.as_mut(),
        }
    }
}

fn start(link: Link, config: EmulatorConfig) -> io::Result<Emulator> {
    let shared = Arc::new(Shared {
        state: Mutex::new(DeviceState::new(
            config.card,
            config.fault,
            config.after_read,
            config.sam_id,
        )),
        stop: AtomicBool::new(false),
    });
    let thread = thread::Builder::new()
        .name("id-card-emulator".to_owned())
        .spawn({
            let shared = shared.clone();
            move || serve(link, &shared)
        })?;
    Ok(Emulator {
        control: EmulatorControl { shared },
        path: None,
        link: None,
        thread: Some(thread),
    })
}

impl Emulator {
    /// The pseudo-terminal a host opens, e.g. `/dev/pts/7`; `None` on a caller's transport.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The stable link, when the pseudo-terminal was made with one.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// A handle for another thread.
    pub fn control(&self) -> EmulatorControl {
        self.control.clone()
    }

    pub fn place(&self, card: EmulatedCard) {
        self.control.place(card);
    }

    pub fn remove(&self) {
        self.control.remove();
    }

    pub fn set_fault(&self, fault: Fault) {
        self.control.set_fault(fault);
    }

    pub fn commands(&self) -> Vec<Command> {
        self.control.commands()
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.control.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // A panic in the emulator thread has already been reported on stderr.
            let _ = thread.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl EmulatorControl {
    /// Puts a card on the reader (replacing any), as if freshly placed.
    pub fn place(&self, card: EmulatedCard) {
        let mut state = self.lock();
        state.card = Some(card);
        state.halted = false;
    }

    /// Lifts the card.
    pub fn remove(&self) {
        let mut state = self.lock();
        state.card = None;
        state.halted = false;
    }

    pub fn set_fault(&self, fault: Fault) {
        self.lock().fault = fault;
    }

    pub fn fault(&self) -> Fault {
        self.lock().fault
    }

    pub fn set_after_read(&self, after_read: AfterRead) {
        self.lock().after_read = after_read;
    }

    /// The commands received so far (the most recent 10 000), oldest first.
    pub fn commands(&self) -> Vec<Command> {
        self.lock().log.iter().copied().collect()
    }

    pub fn clear_commands(&self) {
        self.lock().log = VecDeque::new();
    }

    fn lock(&self) -> MutexGuard<'_, DeviceState> {
        // The state stays consistent across a panic (every update is a single assignment).
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn serve(mut link: Link, shared: &Shared) {
    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 256];
    while !shared.stop.load(Ordering::SeqCst) {
        let n = match link.io().receive(&mut buf, TICK) {
            Ok(n) => n,
            Err(_) => {
                // A host hanging up is not the emulator's end; wait for the next one.
                thread::sleep(TICK);
                continue;
            }
        };
        for decoded in decoder.push(&buf[..n]) {
            let (reply, fault) = {
                let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
                (state.answer(decoded), state.fault)
            };
            if let Some(reply) = reply {
                deliver(link.io(), reply, fault, &shared.stop);
            }
        }
    }
}

/// Sends a reply the way the current fault dictates.
fn deliver(io: &mut dyn Transport, mut reply: Vec<u8>, fault: Fault, stop: &AtomicBool) {
    let bytes = match fault {
        Fault::Silent => return,
        Fault::Garbage => GARBAGE.to_vec(),
        Fault::Noise => {
            let mut bytes = NOISE.to_vec();
            bytes.append(&mut reply);
            bytes
        }
        Fault::BadChecksum => {
            if let Some(last) = reply.last_mut() {
                *last ^= 0x5A;
            }
            reply
        }
        Fault::Slow(delay) => {
            if !sleep_unless_stopped(delay, stop) {
                return;
            }
            reply
        }
        Fault::None | Fault::NoCard | Fault::RemovedMidRead | Fault::Sam(_) => reply,
    };
    // A host that went away misses this reply, exactly as with a real reader.
    let _ = io.send(&bytes);
}

/// Sleeps for `delay`, waking early (and returning false) when asked to stop.
fn sleep_unless_stopped(delay: Duration, stop: &AtomicBool) -> bool {
    let deadline = Instant::now() + delay;
    loop {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        thread::sleep(TICK.min(deadline - now));
    }
}
