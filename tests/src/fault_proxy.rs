//! A TCP proxy between a booth and the server that misbehaves like a village link: it drops
//! connections, delays bytes, resets connections in the middle of a response and half-closes
//! them. A fault is drawn for every chunk the booth sends (in practice every request, since
//! HTTP clients keep connections alive), from a seeded random stream, so a failing run can be
//! replayed with the same seed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What happens to one chunk the booth sends, and to the answer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways untouched.
    Pass,
    /// Close the connection instead of forwarding the chunk.
    Drop,
    /// Forward the chunk after holding it this long.
    Delay(Duration),
    /// Forward the chunk; forward `after` bytes of what the server answers, then reset the
    /// booth's connection. The server has processed the request; the booth never learns the
    /// outcome.
    ResetMidResponse { after: usize },
    /// Forward the chunk, then half-close towards the booth (FIN) and swallow the answer.
    HalfClose,
}

/// How faults are drawn for each chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultMix {
    /// Probability of each fault; the rest pass.
    pub drop: f64,
    pub delay: f64,
    pub reset_mid_response: f64,
    pub half_close: f64,
}

impl FaultMix {
    pub const NONE: Self = Self {
        drop: 0.0,
        delay: 0.0,
        reset_mid_response: 0.0,
        half_close: 0.0,
    };
}

/// Counts of what the proxy did.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub connections: AtomicU64,
    pub dropped: AtomicU64,
    pub delayed: AtomicU64,
    pub reset: AtomicU64,
    pub half_closed: AtomicU64,
}

struct Shared {
    upstream: SocketAddr,
    mix: Mutex<FaultMix>,
    rng: Mutex<u64>,
    stop: AtomicBool,
    stats: ProxyStats,
}

/// A running proxy; stops accepting when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .finish()
    }
}

impl FaultProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream`.
    pub fn start(upstream: SocketAddr, mix: FaultMix, seed: u64) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            upstream,
            mix: Mutex::new(mix),
            rng: Mutex::new(seed | 1),
            stop: AtomicBool::new(false),
            stats: ProxyStats::default(),
        });
        let accept_shared = shared.clone();
        let accept = std::thread::spawn(move || accept_loop(&listener, &accept_shared));
        Ok(Self {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT` for the booth's `--server`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mix(&self, mix: FaultMix) {
        *self.shared.mix.lock().unwrap() = mix;
    }

    pub fn stats(&self) -> &ProxyStats {
        &self.shared.stats
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                let conn_shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, &conn_shared);
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// xorshift64*: deterministic per seed, good enough to pick faults.
fn next_unit(shared: &Shared) -> f64 {
    let mut state = shared.rng.lock().unwrap();
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    let value = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
    (value >> 11) as f64 / (1u64 << 53) as f64
}

fn draw(shared: &Shared) -> Fault {
    let mix = *shared.mix.lock().unwrap();
    let roll = next_unit(shared);
    let detail = next_unit(shared);
    let mut edge = mix.drop;
    if roll < edge {
        shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
        return Fault::Drop;
    }
    edge += mix.delay;
    if roll < edge {
        shared.stats.delayed.fetch_add(1, Ordering::Relaxed);
        return Fault::Delay(Duration::from_millis(20 + (detail * 400.0) as u64));
    }
    edge += mix.reset_mid_response;
    if roll < edge {
        shared.stats.reset.fetch_add(1, Ordering::Relaxed);
        // Cut inside the headers or inside the body.
        return Fault::ResetMidResponse {
            after: (detail * 300.0) as usize,
        };
    }
    edge += mix.half_close;
    if roll < edge {
        shared.stats.half_closed.fetch_add(1, Ordering::Relaxed);
        return Fault::HalfClose;
    }
    Fault::Pass
}

/// What the answer path must do, set by the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Forward,
    /// Forward this many more bytes, then reset.
    CutAfter(usize),
    /// Swallow everything.
    Swallow,
}

fn serve(client: TcpStream, shared: &Arc<Shared>) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5))?;
    let answer = Arc::new(Mutex::new(Answer::Forward));
    let requests = {
        let (client, server, answer, shared) = (
            client.try_clone()?,
            server.try_clone()?,
            answer.clone(),
            shared.clone(),
        );
        std::thread::spawn(move || forward_requests(client, server, &answer, &shared))
    };
    forward_answers(server, client, &answer);
    let _ = requests.join();
    Ok(())
}

fn forward_requests(
    mut client: TcpStream,
    mut server: TcpStream,
    answer: &Mutex<Answer>,
    shared: &Shared,
) {
    let mut buf = [0u8; 8192];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match draw(shared) {
            Fault::Pass => {}
            Fault::Drop => {
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
                return;
            }
            Fault::Delay(d) => std::thread::sleep(d),
            Fault::ResetMidResponse { after } => *answer.lock().unwrap() = Answer::CutAfter(after),
            Fault::HalfClose => {
                *answer.lock().unwrap() = Answer::Swallow;
                if server.write_all(&buf[..n]).is_ok() {
                    // Give the request time to reach the server before the booth hears FIN.
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = client.shutdown(Shutdown::Write);
                continue;
            }
        }
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

fn forward_answers(mut server: TcpStream, mut client: TcpStream, answer: &Mutex<Answer>) {
    let mut buf = [0u8; 8192];
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mode = *answer.lock().unwrap();
        match mode {
            Answer::Forward => {
                if client.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Answer::Swallow => {}
            Answer::CutAfter(left) => {
                let _ = client.write_all(&buf[..n.min(left)]);
                if n >= left {
                    // SO_LINGER 0 turns the close into a reset once every handle is gone.
                    let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = server.shutdown(Shutdown::Both);
                    return;
                }
                *answer.lock().unwrap() = Answer::CutAfter(left - n);
            }
        }
    }
    let _ = client.shutdown(Shutdown::Write);
}
