//! Bundle downloads must never starve what booths are for: a 20 MiB bundle sent to 200 booths
//! at once is 4 GiB through the county's uplink, and submission uploads and heartbeats queue
//! behind it. Two limits, both options of `serve`:
//!
//! - [`DownloadGate`]: at most N downloads at once, server-wide (4 by default). One more is
//!   answered at once with 503 and `Retry-After` rather than queued: a queued download would
//!   hold a connection and a task for minutes, and the booth's updater retries on its own
//!   schedule anyway (it resumes where it stopped, with `Range`).
//! - [`paced_file`]: each download is sent at most R bytes per second (256 KiB/s by default,
//!   0 for no limit), by a token bucket over one-second windows, from the file in chunks
//!   through a channel of one chunk: when the booth reads slower than that, the reader waits
//!   for it (backpressure), so a slow booth costs one chunk of memory, never the bundle.
//!
//! Four downloads at 256 KiB/s use 1 MiB/s (8 Mbit/s) of the uplink at most, whatever the
//! number of booths waiting; at that rate a 20 MiB bundle takes 80 s per booth, and 200
//! booths get it within about 70 minutes, well inside the days a rollout runs.

use std::io::{self, SeekFrom};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::Frame;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;

/// The cap on downloads served at once.
#[derive(Debug, Clone)]
pub struct DownloadGate {
    places: Arc<Semaphore>,
    max: usize,
}

/// One download's place under the cap, held until its body is dropped.
#[derive(Debug)]
pub struct DownloadPlace(#[allow(dead_code)] OwnedSemaphorePermit);

impl DownloadGate {
    pub fn new(max: usize) -> Self {
        Self {
            places: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// A place if one is free now; `None` when the cap is reached.
    pub fn try_enter(&self) -> Option<DownloadPlace> {
        Arc::clone(&self.places)
            .try_acquire_owned()
            .ok()
            .map(DownloadPlace)
    }

    /// Downloads being served now.
    pub fn busy(&self) -> usize {
        self.max - self.places.available_permits()
    }
}

/// The largest piece read from the file at once.
const CHUNK: u64 = 64 * 1024;

/// A body streaming `length` bytes of the file at `path` from `start`, at most `rate` bytes
/// per second (0: as fast as the booth reads), holding `place` until it ends. The file is
/// opened before this returns, so a missing file is an error here and not a cut-off body.
pub async fn paced_file(
    path: PathBuf,
    start: u64,
    length: u64,
    rate: u64,
    place: DownloadPlace,
) -> io::Result<Body> {
    let mut file = tokio::fs::File::open(&path).await?;
    file.seek(SeekFrom::Start(start)).await?;
    // One chunk in flight: the reader waits for the booth.
    let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(1);
    // A chunk never larger than a quarter second's worth, so the pace is smooth.
    let chunk = if rate == 0 {
        CHUNK
    } else {
        (rate / 4).clamp(1024, CHUNK)
    };
    tokio::spawn(async move {
        let _place = place;
        let mut bucket = TokenBucket::new(rate);
        let mut left = length;
        let mut buffer = vec![0u8; usize::try_from(chunk).unwrap_or(64 * 1024)];
        while left > 0 {
            let want = usize::try_from(left.min(chunk)).unwrap_or(buffer.len());
            let read = match file.read(&mut buffer[..want]).await {
                Ok(0) => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the bundle file is shorter than its size",
                )),
                Ok(read) => Ok(read),
                Err(error) => Err(error),
            };
            let read = match read {
                Ok(read) => read,
                Err(error) => {
                    tracing::error!(%error, path = %path.display(), "a bundle download failed");
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            };
            bucket.take(read as u64).await;
            left -= read as u64;
            if sender
                .send(Ok(Bytes::copy_from_slice(&buffer[..read])))
                .await
                .is_err()
            {
                // The booth went away; it resumes later with Range.
                return;
            }
        }
    });
    Ok(Body::new(ChannelBody { receiver }))
}

/// A byte budget refilled at `rate` bytes per second, at most one second's worth held.
#[derive(Debug)]
struct TokenBucket {
    rate: u64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u64) -> Self {
        Self {
            rate,
            tokens: rate as f64,
            last: Instant::now(),
        }
    }

    /// Waits until `bytes` may be sent.
    async fn take(&mut self, bytes: u64) {
        if self.rate == 0 {
            return;
        }
        let rate = self.rate as f64;
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * rate).min(rate);
        self.last = now;
        self.tokens -= bytes as f64;
        if self.tokens < 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(-self.tokens / rate)).await;
            self.tokens = 0.0;
            self.last = Instant::now();
        }
    }
}

/// The receiving end of [`paced_file`]'s channel as an HTTP body.
struct ChannelBody {
    receiver: mpsc::Receiver<io::Result<Bytes>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| chunk.map(Frame::data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_lets_in_its_number_and_frees_places_on_drop() {
        let gate = DownloadGate::new(2);
        let first = gate.try_enter().expect("a place");
        let _second = gate.try_enter().expect("a place");
        assert!(gate.try_enter().is_none());
        assert_eq!(gate.busy(), 2);
        drop(first);
        assert!(gate.try_enter().is_some());
    }

    #[tokio::test]
    async fn the_bucket_paces_to_its_rate() {
        let mut bucket = TokenBucket::new(1_000_000);
        let start = Instant::now();
        // The first second's worth goes at once, the next 500 000 bytes take half a second.
        for _ in 0..6 {
            bucket.take(250_000).await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((0.45..0.8).contains(&took), "{took}");
        let mut unlimited = TokenBucket::new(0);
        let start = Instant::now();
        unlimited.take(u64::MAX).await;
        assert!(
            start.elapsed() < Duration::from_millis(5),
            "no limit: no wait"
        );
    }
}
