//! A TCP proxy between a booth and the server that misbehaves like a village link: it drops
//! connections, delays bytes, resets connections in the middle of a response and half-closes
//! them. Faults are chosen per connection from a seeded random stream, so a failing run can be
//! replayed with the same seed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What happens to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways untouched.
    Pass,
    /// Close the client's connection at once, before any byte reaches the server.
    Drop,
    /// Forward, but hold each chunk for this long.
    Delay(Duration),
    /// Forward the request; forward `after` bytes of the response, then reset (RST) the client.
    /// The server has processed the request: the booth never learns the outcome.
    ResetMidResponse { after: usize },
    /// Forward the request, then half-close towards the client (FIN) without any response.
    HalfClose,
}

/// How faults are drawn for each new connection.
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
                let fault = draw(shared);
                let conn_shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, fault, &conn_shared);
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

fn serve(client: TcpStream, fault: Fault, shared: &Shared) -> io::Result<()> {
    client.set_nonblocking(false)?;
    if fault == Fault::Drop {
        return client.shutdown(Shutdown::Both);
    }
    let server = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5))?;
    let (client_read, server_write) = (client.try_clone()?, server.try_clone()?);
    let delay = match fault {
        Fault::Delay(d) => Some(d),
        _ => None,
    };
    let upstream = std::thread::spawn(move || pipe(client_read, server_write, delay, None));
    match fault {
        Fault::HalfClose => {
            // Let the request reach the server, then tell the booth "no more bytes".
            std::thread::sleep(Duration::from_millis(50));
            let _ = client.shutdown(Shutdown::Write);
            let mut sink = [0u8; 4096];
            let mut server = server;
            server.set_read_timeout(Some(Duration::from_secs(10)))?;
            while matches!(server.read(&mut sink), Ok(n) if n > 0) {}
        }
        Fault::ResetMidResponse { after } => {
            pipe(server, client.try_clone()?, None, Some(after))?;
            socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO))?;
            drop(client);
        }
        _ => pipe(server, client, delay, None)?,
    }
    let _ = upstream.join();
    Ok(())
}

/// Copies `from` to `to` until EOF, or until `limit` bytes have gone through.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    delay: Option<Duration>,
    limit: Option<usize>,
) -> io::Result<()> {
    let mut buf = [0u8; 8192];
    let mut passed = 0usize;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
        let n = match limit {
            Some(limit) if passed + n >= limit => {
                let _ = to.write_all(&buf[..limit - passed]);
                return Ok(());
            }
            _ => n,
        };
        passed += n;
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    Ok(())
}
