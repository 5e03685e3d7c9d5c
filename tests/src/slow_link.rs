//! A slow village line between the booth and the county: a TCP proxy whose two directions are
//! each one first-in, first-out link of a fixed rate, shared by every connection, as a modem's
//! uplink is. Bytes a program has written queue behind the bytes written before them (a page's
//! chunk already sent delays the heartbeat written after it), so what a booth does to keep its
//! small requests quick shows in what they measure here.
//!
//! Not modelled: propagation delay and loss (see `fault_proxy` for a link that fails).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What travels one way: bytes for a connection's far end, or its end of stream.
enum Piece {
    Bytes(Arc<Mutex<TcpStream>>, Vec<u8>),
    End(Arc<Mutex<TcpStream>>),
}

/// One direction of the line: pieces leave in the order they came, at `bytes_per_s`.
struct Direction {
    queue: mpsc::Sender<Piece>,
    carried: Arc<AtomicU64>,
}

impl Direction {
    fn start(bytes_per_s: u64, stop: Arc<AtomicBool>) -> Self {
        let (queue, pieces) = mpsc::channel::<Piece>();
        let carried = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&carried);
        std::thread::spawn(move || {
            // When the line is next free: a piece waits for the one before it to be sent.
            let mut free_at = Instant::now();
            while let Ok(piece) = pieces.recv() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                match piece {
                    Piece::Bytes(to, bytes) => {
                        let start = free_at.max(Instant::now());
                        let sending =
                            Duration::from_secs_f64(bytes.len() as f64 / bytes_per_s as f64);
                        free_at = start + sending;
                        std::thread::sleep(free_at.saturating_duration_since(Instant::now()));
                        counted.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                        let _ = to.lock().unwrap().write_all(&bytes);
                    }
                    Piece::End(to) => {
                        let _ = to.lock().unwrap().shutdown(Shutdown::Write);
                    }
                }
            }
        });
        Self { queue, carried }
    }
}

/// A running line; stops accepting when dropped.
#[derive(Debug)]
pub struct SlowLink {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    accept: Option<JoinHandle<()>>,
}

impl SlowLink {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream` at `bytes_per_s` each way.
    pub fn start(upstream: SocketAddr, bytes_per_s: u64) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let up = Direction::start(bytes_per_s, Arc::clone(&stop));
        let down = Direction::start(bytes_per_s, Arc::clone(&stop));
        let (up_carried, down_carried) = (Arc::clone(&up.carried), Arc::clone(&down.carried));
        let accepting = Arc::clone(&stop);
        let accept = std::thread::spawn(move || {
            while !accepting.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((booth, _)) => {
                        let _ = connect(booth, upstream, &up.queue, &down.queue);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => return,
                }
            }
        });
        Ok(Self {
            addr,
            stop,
            up: up_carried,
            down: down_carried,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT` for the booth's server address.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes carried towards the county so far.
    pub fn carried_up(&self) -> u64 {
        self.up.load(Ordering::Relaxed)
    }

    /// Bytes carried towards the booth so far.
    pub fn carried_down(&self) -> u64 {
        self.down.load(Ordering::Relaxed)
    }
}

impl Drop for SlowLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Joins `booth` to a new connection to `upstream` through the two directions.
fn connect(
    booth: TcpStream,
    upstream: SocketAddr,
    up: &mpsc::Sender<Piece>,
    down: &mpsc::Sender<Piece>,
) -> io::Result<()> {
    booth.set_nonblocking(false)?;
    let county = TcpStream::connect(upstream)?;
    let (booth_reader, county_reader) = (booth.try_clone()?, county.try_clone()?);
    let (booth, county) = (Arc::new(Mutex::new(booth)), Arc::new(Mutex::new(county)));
    pump(booth_reader, county, up.clone());
    pump(county_reader, booth, down.clone());
    Ok(())
}

/// Reads what one end writes, as fast as it writes it, into the line towards `to`.
fn pump(mut from: TcpStream, to: Arc<Mutex<TcpStream>>, line: mpsc::Sender<Piece>) {
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => {
                    let _ = line.send(Piece::End(to));
                    return;
                }
                Ok(n) => {
                    if line
                        .send(Piece::Bytes(Arc::clone(&to), buffer[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
}
