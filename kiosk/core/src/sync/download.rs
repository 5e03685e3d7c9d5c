//! Downloading a release bundle the county targets at this booth: `GET /api/v1/releases/{bundle}`,
//! signed like every request, streamed to a `.partial` file and never held in memory.
//!
//! A rural link drops: whatever arrived stays on disk (fsynced), and the next attempt asks
//! only for the rest with `Range: bytes=<len>-`. The bundle's name is its SHA-256, so the bytes
//! cannot change between attempts and no `If-Range` is needed; the whole file is hashed once
//! it is complete, and a mismatch (a corrupt partial left by a crash, a proxy's mangling)
//! throws it away and starts over once before giving up.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header;
use sha2::{Digest, Sha256};
use sync_protocol::paths;
use sync_protocol::release::ReleaseTarget;
use tokio::sync::watch;

use super::client::Client;
use super::error::SyncError;

/// What a busy server without `Retry-After` costs: its own default.
const DEFAULT_BUSY_WAIT: Duration = Duration::from_secs(60);

/// Submissions before bundles: the engine holds a [`UploadTurn`] while it uploads, and a
/// download reads no further chunk until every turn is over (the link's bandwidth goes to the
/// villagers' submissions; TCP holds the bundle's bytes meanwhile).
#[derive(Debug, Clone)]
pub struct UploadsFirst(Arc<watch::Sender<u32>>);

impl Default for UploadsFirst {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

/// An upload in progress; dropping it ends the turn.
#[derive(Debug)]
pub struct UploadTurn(Arc<watch::Sender<u32>>);

impl Drop for UploadTurn {
    fn drop(&mut self) {
        self.0.send_modify(|uploads| *uploads -= 1);
    }
}

impl UploadsFirst {
    pub fn upload(&self) -> UploadTurn {
        self.0.send_modify(|uploads| *uploads += 1);
        UploadTurn(Arc::clone(&self.0))
    }

    /// Returns once no upload is in progress.
    pub async fn clear(&self) {
        let mut seen = self.0.subscribe();
        let _ = seen.wait_for(|uploads| *uploads == 0).await;
    }
}

/// How a download is getting on, shared with whoever reports it (the heartbeat) and kept
/// across attempts (a cut's bytes count too).
#[derive(Debug, Clone, Default)]
pub struct DownloadProgress {
    on_disk: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    uploads_first: UploadsFirst,
}

impl DownloadProgress {
    /// A download that pauses while `uploads` has an upload in progress.
    pub fn yielding_to(&self, uploads: &UploadsFirst) -> Self {
        Self {
            uploads_first: uploads.clone(),
            ..self.clone()
        }
    }

    /// Bytes of the bundle in the partial file now.
    pub fn on_disk(&self) -> u64 {
        self.on_disk.load(Ordering::Relaxed)
    }

    /// Every body byte the server sent, over all attempts, thrown away or kept.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// A bundle on disk whose size and SHA-256 are the target's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub size: u64,
    /// Body bytes received by this call (a resume receives only the rest).
    pub received: u64,
    /// Where this call started: what an earlier, cut attempt left.
    pub resumed_from: u64,
    /// Times the partial file was thrown away and fetched from the start.
    pub restarts: u32,
}

/// Why a bundle could not be downloaded (this time).
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(
        "the county server is sending as many release bundles as it may: the booth asks again in {} s",
        .retry_after.as_secs()
    )]
    Busy { retry_after: Duration },
    #[error(
        "release bundle {bundle} is no longer targeted at this booth: the next heartbeat names the release to download"
    )]
    NotTargeted { bundle: String },
    #[error(
        "the county server sent more than the announced {size} bytes of release bundle {bundle}: the download is dropped; ask county staff to check the release"
    )]
    TooLong { bundle: String, size: u64 },
    #[error(
        "release bundle {bundle} downloaded again from the start is still not what was announced ({got_size} of {size} bytes, SHA-256 {got_digest}): ask county staff to check the release on the server"
    )]
    Mismatch {
        bundle: String,
        size: u64,
        got_size: u64,
        got_digest: String,
    },
    #[error("cannot write the release bundle {}: {source}; check the data partition", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl DownloadError {
    /// Worth trying again later without anyone doing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Sync(err) => err.is_retryable(),
            Self::Busy { .. } | Self::TooLong { .. } | Self::Io { .. } => true,
            Self::NotTargeted { .. } | Self::Mismatch { .. } => false,
        }
    }

    /// The wait the server asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Busy { retry_after } => Some(*retry_after),
            Self::Sync(err) => err.retry_after(),
            _ => None,
        }
    }
}

/// How one request ended short of a complete file.
enum Fetch {
    Done,
    /// 416: the server says the partial is already past the end.
    Unsatisfiable,
}

impl Client {
    /// Downloads `target`'s bundle into `partial`, resuming what is there; on success the file
    /// holds exactly the bundle (the caller renames it). See [`DownloadProgress`].
    pub async fn download_release(
        &self,
        target: &ReleaseTarget,
        partial: &Path,
    ) -> Result<Downloaded, DownloadError> {
        self.download_release_with(target, partial, &DownloadProgress::default())
            .await
    }

    /// [`Self::download_release`], reporting into `progress`.
    pub async fn download_release_with(
        &self,
        target: &ReleaseTarget,
        partial: &Path,
        progress: &DownloadProgress,
    ) -> Result<Downloaded, DownloadError> {
        let io_error = |source| DownloadError::Io {
            path: partial.to_owned(),
            source,
        };
        let received_before = progress.received();
        let mut resumed_from = None;
        let mut restarts = 0;
        let mut restarted_for_range = false;
        let mut restarted_for_digest = false;
        loop {
            let mut have = file_len(partial).map_err(io_error)?;
            if have > target.size {
                remove(partial).map_err(io_error)?;
                have = 0;
            }
            progress.on_disk.store(have, Ordering::Relaxed);
            resumed_from.get_or_insert(have);
            if have < target.size {
                match self.fetch(target, partial, have, progress).await? {
                    Fetch::Done => {}
                    Fetch::Unsatisfiable if !restarted_for_range => {
                        restarted_for_range = true;
                        restarts += 1;
                        remove(partial).map_err(io_error)?;
                        continue;
                    }
                    Fetch::Unsatisfiable => {
                        return Err(self
                            .protocol_error(
                                &paths::release(&target.bundle),
                                416,
                                "a range from 0 is not satisfiable",
                            )
                            .into());
                    }
                }
            }
            let path = partial.to_owned();
            let (got_size, got_digest) = tokio::task::spawn_blocking(move || hash_file(&path))
                .await
                .map_err(|err| io_error(io::Error::other(err)))?
                .map_err(io_error)?;
            if got_size == target.size && got_digest == target.bundle {
                return Ok(Downloaded {
                    size: got_size,
                    received: progress.received() - received_before,
                    resumed_from: resumed_from.unwrap_or(0),
                    restarts,
                });
            }
            remove(partial).map_err(io_error)?;
            progress.on_disk.store(0, Ordering::Relaxed);
            if restarted_for_digest {
                return Err(DownloadError::Mismatch {
                    bundle: target.bundle.clone(),
                    size: target.size,
                    got_size,
                    got_digest,
                });
            }
            tracing::warn!(
                bundle = %target.bundle,
                got_size,
                "the downloaded release bundle does not match its announced SHA-256; downloading it again from the start"
            );
            restarted_for_digest = true;
            restarts += 1;
        }
    }

    /// One request: appends what the server sends after `have` bytes, fsyncs what arrived
    /// even when the transfer breaks, so the next attempt resumes from it.
    async fn fetch(
        &self,
        target: &ReleaseTarget,
        partial: &Path,
        mut have: u64,
        progress: &DownloadProgress,
    ) -> Result<Fetch, DownloadError> {
        let io_error = |source| DownloadError::Io {
            path: partial.to_owned(),
            source,
        };
        let path = paths::release(&target.bundle);
        let range = (have > 0).then(|| (header::RANGE, format!("bytes={have}-")));
        let mut response = self
            .signed_stream(&path, range.as_slice(), self.download_timeout())
            .await?;
        let status = response.status();
        let file = match status {
            StatusCode::PARTIAL_CONTENT if have > 0 => {
                let content_range = response
                    .headers()
                    .get(header::CONTENT_RANGE)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("");
                if !content_range.starts_with(&format!("bytes {have}-")) {
                    let detail =
                        format!("a resume from byte {have} answered with range `{content_range}`");
                    return Err(self.protocol_error(&path, 206, &detail).into());
                }
                OpenOptions::new().append(true).open(partial)
            }
            StatusCode::OK => {
                // A server (or proxy) that ignores `Range` sends everything again: the
                // partial's bytes are sent twice, and counted so.
                have = 0;
                File::create(partial)
            }
            StatusCode::RANGE_NOT_SATISFIABLE => return Ok(Fetch::Unsatisfiable),
            StatusCode::NOT_FOUND => {
                return Err(DownloadError::NotTargeted {
                    bundle: target.bundle.clone(),
                });
            }
            _ => {
                let err = self.error_of(&path, response).await;
                return Err(match err {
                    SyncError::Unavailable {
                        status: 503 | 429,
                        retry_after,
                        ..
                    } => DownloadError::Busy {
                        retry_after: retry_after.unwrap_or(DEFAULT_BUSY_WAIT),
                    },
                    other => other.into(),
                });
            }
        }
        .map_err(io_error)?;
        progress.on_disk.store(have, Ordering::Relaxed);

        // Chunks are small and the disk is local: written in place rather than on the
        // blocking pool, which would cost more than the write. The fsync goes there.
        let mut file = file;
        let streamed: Result<(), DownloadError> = async {
            loop {
                progress.uploads_first.clear().await;
                let Some(chunk) = response
                    .chunk()
                    .await
                    .map_err(|err| self.network_error(err))?
                else {
                    break;
                };
                progress
                    .received
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                let len = chunk.len() as u64;
                if have + len > target.size {
                    return Err(DownloadError::TooLong {
                        bundle: target.bundle.clone(),
                        size: target.size,
                    });
                }
                file.write_all(&chunk).map_err(io_error)?;
                have += len;
                progress.on_disk.store(have, Ordering::Relaxed);
            }
            Ok(())
        }
        .await;
        let synced = tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(|err| io_error(io::Error::other(err)))?
            .map_err(io_error);
        if let Err(DownloadError::TooLong { .. }) = &streamed {
            // Which bytes are wrong is unknown: start over next time.
            remove(partial).map_err(io_error)?;
            progress.on_disk.store(0, Ordering::Relaxed);
        }
        streamed?;
        synced?;
        Ok(Fetch::Done)
    }
}

fn file_len(path: &Path) -> io::Result<u64> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.len()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(err) => Err(err),
    }
}

fn remove(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// The file's size and SHA-256 (lowercase hex), read in pieces.
pub(crate) fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((size, format!("{:x}", hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::StatusCode as Status;
    use ed25519_dalek::SigningKey;
    use sync_protocol::ErrorCode;

    use super::*;
    use crate::sync::clock::ClockOffset;
    use crate::sync::stub_server::{Scripted, StubServer, StubState};

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3u8; 32])
    }

    /// 300 KiB of bytes that are not all alike, and the target naming them.
    fn bundle() -> (Vec<u8>, ReleaseTarget) {
        let bytes: Vec<u8> = (0..300 * 1024u32).map(|n| (n * 7 % 251) as u8).collect();
        let target = ReleaseTarget {
            version: "1.3.0".parse().unwrap(),
            bundle: format!("{:x}", Sha256::digest(&bytes)),
            size: bytes.len() as u64,
        };
        (bytes, target)
    }

    async fn serving(bytes: &[u8], target: &ReleaseTarget) -> StubServer {
        let mut state = StubState {
            key: Some(key().verifying_key()),
            ..StubState::default()
        };
        state.releases.insert(target.bundle.clone(), bytes.to_vec());
        StubServer::start(Arc::new(Mutex::new(state))).await
    }

    fn client(server: &StubServer) -> Client {
        Client::new(&server.url(), None, "k-1", key(), ClockOffset::default()).unwrap()
    }

    #[tokio::test]
    async fn a_download_waits_while_an_upload_is_in_progress() {
        let uploads = UploadsFirst::default();
        uploads.clear().await;
        let turn = uploads.upload();
        let second = uploads.upload();
        let waiting = tokio::time::timeout(Duration::from_millis(50), uploads.clear()).await;
        assert!(waiting.is_err(), "held back while uploads run");
        drop(turn);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), uploads.clear())
                .await
                .is_err()
        );
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), uploads.clear())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_bundle_is_downloaded_whole_and_checked() {
        let (bytes, target) = bundle();
        let server = serving(&bytes, &target).await;
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("b.bundle.partial");
        let done = client(&server)
            .download_release(&target, &partial)
            .await
            .unwrap();
        assert_eq!(done.size, target.size);
        assert_eq!(
            (done.received, done.resumed_from, done.restarts),
            (target.size, 0, 0)
        );
        assert_eq!(std::fs::read(&partial).unwrap(), bytes);
        assert_eq!(server.state.lock().unwrap().release_ranges, [None]);
    }

    #[tokio::test]
    async fn a_download_cut_after_half_resumes_with_range_and_counts_its_overhead() {
        let (bytes, target) = bundle();
        let server = serving(&bytes, &target).await;
        let half = target.size / 2;
        server
            .state
            .lock()
            .unwrap()
            .cut_releases_after
            .push_back(half);
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("b.bundle.partial");
        let client = client(&server);
        let progress = DownloadProgress::default();
        let cut = client
            .download_release_with(&target, &partial, &progress)
            .await
            .unwrap_err();
        assert!(
            matches!(&cut, DownloadError::Sync(err) if err.is_network()),
            "{cut:?}"
        );
        assert!(cut.is_retryable());
        assert_eq!(
            std::fs::metadata(&partial).unwrap().len(),
            half,
            "kept, fsynced"
        );
        assert_eq!(progress.on_disk(), half);

        let done = client
            .download_release_with(&target, &partial, &progress)
            .await
            .unwrap();
        assert_eq!(done.resumed_from, half);
        assert_eq!(done.received, target.size - half);
        assert_eq!(std::fs::read(&partial).unwrap(), bytes);
        let state = server.state.lock().unwrap();
        assert_eq!(state.release_ranges, [None, Some(format!("bytes={half}-"))]);
        // The "download resume overhead": what crossed the wire beyond the bundle.
        let overhead = progress.received() - target.size;
        assert_eq!(overhead, 0, "a resume sends no byte twice");
        assert_eq!(state.release_bytes_sent, target.size);
    }

    #[tokio::test]
    async fn a_wrong_bundle_is_fetched_again_once_then_refused_and_deleted() {
        let (mut bytes, target) = bundle();
        bytes[1000] ^= 1;
        let server = serving(&bytes, &target).await;
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("b.bundle.partial");
        let err = client(&server)
            .download_release(&target, &partial)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DownloadError::Mismatch { got_size, .. } if got_size == target.size),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert!(!partial.exists());
        assert_eq!(server.state.lock().unwrap().release_ranges, [None, None]);
    }

    #[tokio::test]
    async fn a_corrupt_partial_is_replaced_after_one_restart() {
        let (bytes, target) = bundle();
        let server = serving(&bytes, &target).await;
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("b.bundle.partial");
        std::fs::write(&partial, vec![0u8; 1000]).unwrap();
        let done = client(&server)
            .download_release(&target, &partial)
            .await
            .unwrap();
        assert_eq!((done.resumed_from, done.restarts), (1000, 1));
        assert_eq!(
            done.received,
            target.size - 1000 + target.size,
            "the rest, then everything"
        );
        assert_eq!(std::fs::read(&partial).unwrap(), bytes);
    }

    #[tokio::test]
    async fn range_not_satisfiable_restarts_from_zero() {
        let (bytes, target) = bundle();
        let server = serving(&bytes, &target).await;
        server.script(
            &paths::release(&target.bundle),
            Scripted {
                status: Status::RANGE_NOT_SATISFIABLE,
                headers: vec![("content-range", format!("bytes */{}", target.size))],
                body: String::new(),
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("b.bundle.partial");
        std::fs::write(&partial, &bytes[..10]).unwrap();
        let done = client(&server)
            .download_release(&target, &partial)
            .await
            .unwrap();
        assert_eq!(done.restarts, 1);
        assert_eq!(server.state.lock().unwrap().release_ranges, [None]);
        assert_eq!(std::fs::read(&partial).unwrap(), bytes);
    }

    #[tokio::test]
    async fn busy_gone_and_too_long_are_told_apart() {
        let (bytes, target) = bundle();
        let server = serving(&bytes, &target).await;
        let path = paths::release(&target.bundle);
        server.script(
            &path,
            Scripted::error(Status::SERVICE_UNAVAILABLE, ErrorCode::RateLimited)
                .with_header("retry-after", "7"),
        );
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("b.bundle.partial");
        let client = client(&server);
        let busy = client
            .download_release(&target, &partial)
            .await
            .unwrap_err();
        assert!(
            matches!(busy, DownloadError::Busy { retry_after } if retry_after == Duration::from_secs(7)),
            "{busy:?}"
        );
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(7)));

        let gone = ReleaseTarget {
            bundle: "0".repeat(64),
            ..target.clone()
        };
        let err = client.download_release(&gone, &partial).await.unwrap_err();
        assert!(matches!(err, DownloadError::NotTargeted { .. }), "{err:?}");
        assert!(err.to_string().contains("no longer targeted"), "{err}");

        let short = ReleaseTarget {
            size: target.size - 10,
            ..target.clone()
        };
        let err = client.download_release(&short, &partial).await.unwrap_err();
        assert!(matches!(err, DownloadError::TooLong { .. }), "{err:?}");
        assert!(!partial.exists());
    }
}
