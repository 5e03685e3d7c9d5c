//! HTTPS for `sync-server serve`: the certificate chain and key from PEM files
//! ([`server_config`]), and [`TlsListener`], whose connections are served once their TLS
//! handshake finished.
//!
//! The pin booths trust the server by ([`certificate_pin`], `sync_protocol::pin`): `serve`
//! records the one of the certificate it serves in the data directory ([`PIN_FILE`]), where
//! `enroll-code` reads it to put it in enrollment QR codes.
//!
//! Handshakes run in tasks of their own under a deadline ([`HANDSHAKE_TIMEOUT`]), and finished
//! connections reach the server through a channel: a client that connects and says nothing, or
//! a phone on a poor line, holds up only its own task, never the accepting of others. Each
//! takes its place under the server's cap on connections before it is accepted (see
//! [`crate::connections`]).
//!
//! rustls with the `ring` provider: no OpenSSL on the server, and no aws-lc-rs to build.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

use sync_protocol::pin::CertPin;

use crate::connections::{self, Accept, Accepted, Backoff, ConnectionGauge};

/// In the data directory: the pin of the certificate the last `serve` served (`sha256:…`);
/// absent after a `serve` without TLS.
pub const PIN_FILE: &str = "tls-pin";

/// A handshake not finished by then is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at most; further connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 256;
/// Finished connections waiting for the server to take them.
const READY_QUEUE: usize = 64;

/// Why the certificate or key cannot be used; each names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "cannot read the TLS certificate {path}: {source}: pass the certificate file to --tls-cert"
    )]
    ReadCert {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the TLS key {path}: {source}: pass the private key file to --tls-key")]
    ReadKey {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----): pass the certificate chain in PEM to --tls-cert"
    )]
    NoCert { path: String },
    #[error(
        "{path} is not a valid PEM file ({reason}): pass the certificate chain in PEM to --tls-cert"
    )]
    BadCert { path: String, reason: String },
    #[error(
        "{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): pass the certificate's private key in PEM to --tls-key"
    )]
    NoKey { path: String },
    #[error(
        "{path} is not a valid PEM file ({reason}): pass the certificate's private key in PEM to --tls-key"
    )]
    BadKey { path: String, reason: String },
    #[error(
        "the first certificate in {path} cannot be read ({source}): pass the server's certificate (PEM) first in the file"
    )]
    Unreadable {
        path: String,
        #[source]
        source: sync_protocol::pin::NotACertificate,
    },
    #[error(
        "cannot record the certificate's pin in {path}: {source}: check the data directory is writable"
    )]
    RecordPin {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} does not hold a certificate pin (sha256:…): restart `sync-server serve` to write it again"
    )]
    BadPinFile {
        path: String,
        #[source]
        source: sync_protocol::pin::PinError,
    },
    #[error(
        "the key in {key} cannot serve the certificate in {cert} ({source}): pass the private key the certificate was issued for"
    )]
    Mismatch {
        cert: String,
        key: String,
        #[source]
        source: rustls::Error,
    },
}

/// The certificate chain in a PEM file, the server's own certificate first.
fn read_chain(cert_path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let cert = cert_path.display().to_string();
    let cert_pem = std::fs::read(cert_path).map_err(|source| TlsError::ReadCert {
        path: cert.clone(),
        source,
    })?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::BadCert {
            path: cert.clone(),
            reason: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCert { path: cert });
    }
    Ok(chain)
}

/// The pin of the server's certificate (the first in the PEM file): what booths trust.
pub fn certificate_pin(cert_path: &Path) -> Result<CertPin, TlsError> {
    let chain = read_chain(cert_path)?;
    CertPin::of_certificate(&chain[0]).map_err(|source| TlsError::Unreadable {
        path: cert_path.display().to_string(),
        source,
    })
}

/// Writes (or, without TLS, removes) [`PIN_FILE`] in `data_dir`.
pub fn record_pin(data_dir: &Path, pin: Option<&CertPin>) -> Result<(), TlsError> {
    let path = data_dir.join(PIN_FILE);
    let failed = |source| TlsError::RecordPin {
        path: path.display().to_string(),
        source,
    };
    match pin {
        Some(pin) => std::fs::write(&path, format!("{pin}\n")).map_err(failed),
        None => match std::fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(failed(error)),
            _ => Ok(()),
        },
    }
}

/// The pin the last `serve` recorded in `data_dir`; `None` if it served no TLS (or never ran).
pub fn recorded_pin(data_dir: &Path) -> Result<Option<CertPin>, TlsError> {
    let path = data_dir.join(PIN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|source| TlsError::BadPinFile {
                path: path.display().to_string(),
                source,
            }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TlsError::RecordPin {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// The TLS configuration for a certificate chain (leaf first) and its private key, both PEM.
pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let cert = cert_path.display().to_string();
    let key = key_path.display().to_string();
    let chain = read_chain(cert_path)?;
    let key_pem = std::fs::read(key_path).map_err(|source| TlsError::ReadKey {
        path: key.clone(),
        source,
    })?;
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|error| match error {
        pem::Error::NoItemsFound => TlsError::NoKey { path: key.clone() },
        other => TlsError::BadKey {
            path: key.clone(),
            reason: other.to_string(),
        },
    })?;
    // The provider named, not the process default: which one that is depends on which
    // features other crates in the build happen to enable.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mismatch = |source| TlsError::Mismatch {
        cert: cert.clone(),
        key: key.clone(),
        source,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(mismatch)?;
    // The server speaks HTTP/1.1 only (axum without its http2 feature).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TCP listener whose connections are served once their TLS handshake finished.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
    local_addr: SocketAddr,
}

impl fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsListener")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        Self::with_timeout(tcp, config, HANDSHAKE_TIMEOUT)
    }

    /// [`Self::new`] with another handshake deadline.
    pub fn with_timeout(
        tcp: TcpListener,
        config: Arc<ServerConfig>,
        handshake_timeout: Duration,
    ) -> io::Result<Self> {
        Ok(Self {
            local_addr: tcp.local_addr()?,
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshake_timeout,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts accepting (in a task: call it inside the runtime), each connection taking a
    /// place under `gauge`'s cap before it is accepted and keeping it through its handshake.
    pub(crate) fn start(self, gauge: ConnectionGauge) -> TlsIncoming {
        let (done, ready) = mpsc::channel(READY_QUEUE);
        let accepting = tokio::spawn(accept_loop(self, gauge, done));
        TlsIncoming { ready, accepting }
    }
}

/// Connections whose handshake finished, as the accept loop hands them over.
pub(crate) struct TlsIncoming {
    ready: mpsc::Receiver<Accepted<TlsStream<TcpStream>>>,
    accepting: JoinHandle<()>,
}

impl Drop for TlsIncoming {
    fn drop(&mut self) {
        // Closes the socket: a stopped server accepts nothing more.
        self.accepting.abort();
    }
}

impl Accept for TlsIncoming {
    type Io = TlsStream<TcpStream>;

    async fn next(&mut self) -> Accepted<Self::Io> {
        match self.ready.recv().await {
            Some(connection) => connection,
            None => {
                // Only if the accept loop panicked; the server then serves what it has.
                tracing::error!("the TLS accept loop stopped: no new connections are taken");
                std::future::pending().await
            }
        }
    }
}

async fn accept_loop(
    listener: TlsListener,
    gauge: ConnectionGauge,
    done: mpsc::Sender<Accepted<TlsStream<TcpStream>>>,
) {
    let TlsListener {
        tcp,
        acceptor,
        handshake_timeout,
        ..
    } = listener;
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let mut pause = Backoff::default();
    while !done.is_closed() {
        let place = gauge.place().await;
        let Ok(handshake) = Arc::clone(&handshakes).acquire_owned().await else {
            return;
        };
        let (stream, remote) = connections::accept(&tcp, &mut pause).await;
        let (acceptor, done) = (acceptor.clone(), done.clone());
        tokio::spawn(async move {
            let _handshake = handshake;
            match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                Ok(Ok(io)) => {
                    // Fails only when the server has stopped: the connection just closes.
                    let _ = done.send(Accepted { io, remote, place }).await;
                }
                // Scanners, and browsers that do not trust the certificate, end up here.
                Ok(Err(error)) => tracing::debug!(error = %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(
                    timeout_s = handshake_timeout.as_secs(),
                    "TLS handshake timed out"
                ),
            }
        });
    }
}
