//! `sync-server serve [--listen ADDR] [--tls-cert PEM --tls-key PEM] [--allow-plain-http]
//! [--public-url URL] [--follow-up-days N] [--max-connections N] [--metrics-token-file FILE]
//! [--max-bundle-mib N] [--max-downloads N] [--download-kib-per-s N] [--log-format compact|json]`.
//! The release keys come from the global `--release-keys` (see `sync-server --help`).
//!
//! Refuses to start without the key file (`--key-file`, see `keys init`), or with one that
//! lies in the data directory, is open to group or others, or is not this database's.
//!
//! Prints `listening on http://ADDR` (`https://` with TLS) on stdout once the store is open
//! and the socket bound (with the real port when `--listen` asks for port 0), then serves
//! until SIGINT/SIGTERM.
//!
//! Under systemd (`Type=notify`, `$NOTIFY_SOCKET` set) it sends `READY=1` with
//! `STATUS=listening on URL` at that moment, and `STOPPING=1` when SIGTERM arrives; requests in
//! flight then finish, for at most the request timeout plus 5 s (35 s), before it exits.
//!
//! Plain HTTP only on a loopback address unless `--allow-plain-http` says a proxy in front
//! does TLS: staff passwords and villagers' applications must not cross a network in clear.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail, ensure};
use sync_server::api::admission::AdmissionSettings;
use sync_server::api::scraper::ScraperToken;
use sync_server::data_dir::{self, DataDir};
use sync_server::key_file::{KeyFile, KeyLock};
use sync_server::release_keys::ReleaseKeys;
use sync_server::server;
use sync_server::settings::{self, ReleaseSettings, Settings};
use sync_server::tls::{self, TlsListener};
use systemd_notify::{Notifier, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Compact,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback: only behind a proxy that does TLS.
    #[arg(long, conflicts_with = "tls_cert")]
    allow_plain_http: bool,
    /// The address booths reach this server at, put in the enrollment QR codes of the staff
    /// fleet page [default: the address the administrator's browser used].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// A file holding the bearer token the Prometheus scraper sends for `/metrics` (readable
    /// by this user only; at least 22 characters) [default: `/metrics` answers nobody].
    #[arg(long, value_name = "FILE")]
    metrics_token_file: Option<PathBuf>,
    /// How log lines on stderr look.
    #[arg(long, value_enum, default_value_t = LogFormat::Compact)]
    log_format: LogFormat,
    /// Connections served at once (more wait in the kernel's backlog); lowered to fit the
    /// open-file limit (`ulimit -n`) if that leaves no room for them.
    #[arg(long, value_name = "N", default_value_t = sync_server::settings::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Signed booth requests worked on at once [default: 32 per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_in_flight: Option<u32>,
    /// Signed booth requests that may wait for a turn; more are answered 503 with
    /// Retry-After at once [default: 4 times --max-in-flight].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1_048_576))]
    admission_queue: Option<u32>,
    /// The longest a signed booth request waits for a turn before it is answered 503 with
    /// Retry-After, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    admission_wait_ms: u64,
    /// Working days staff have to call back and fix a 不满意/非常不满意 rating.
    #[arg(long, value_name = "N", default_value_t = sync_server::domain::ratings::DEFAULT_FOLLOW_UP_DAYS)]
    follow_up_days: u32,
    /// The largest release bundle staff may upload, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = settings::DEFAULT_MAX_BUNDLE_BYTES / (1024 * 1024))]
    max_bundle_mib: u64,
    /// Release bundle downloads served at once; booths beyond get 503 with Retry-After and
    /// come back (they resume with Range), so downloads never crowd out uploads and
    /// heartbeats.
    #[arg(long, value_name = "N", default_value_t = settings::DEFAULT_MAX_DOWNLOADS)]
    max_downloads: usize,
    /// The folder submissions' files (photographed pages) are kept in. Default: files/ in
    /// the data directory. Every instance on one PostgreSQL store must name the same folder
    /// (a network mount).
    #[arg(long, value_name = "FOLDER|S3-URL")]
    files: Option<String>,
    /// The pace of each bundle download, in KiB per second; 0 for no limit.
    #[arg(long, value_name = "KIB", default_value_t = settings::DEFAULT_DOWNLOAD_RATE / 1024)]
    download_kib_per_s: u64,
}

impl Args {
    /// The admission bounds the options give, the defaults for this machine where they say
    /// nothing.
    fn admission(&self) -> AdmissionSettings {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let defaults = AdmissionSettings::for_cores(cores);
        let in_flight = self
            .max_in_flight
            .map_or(defaults.in_flight, |n| n as usize);
        AdmissionSettings {
            in_flight,
            queue: self.admission_queue.map_or(4 * in_flight, |n| n as usize),
            wait: std::time::Duration::from_millis(self.admission_wait_ms),
        }
    }

    pub fn json_logs(&self) -> bool {
        self.log_format == LogFormat::Json
    }

    pub async fn run(&self, paths: &super::Paths) -> anyhow::Result<()> {
        // Read first: a service whose notify socket is unusable must fail at once, not be
        // killed by systemd's start timeout.
        let notifier = Notifier::from_env()?.map(std::sync::Arc::new);
        // Before anything is bound or opened: a wrong file is the first thing reported.
        let (tls, tls_pin) = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => (
                Some(tls::server_config(cert, key)?),
                Some(tls::certificate_pin(cert)?),
            ),
            _ => (None, None),
        };
        let public_url = self.public_url.as_deref().map(public_url).transpose()?;
        let metrics_token = self
            .metrics_token_file
            .as_deref()
            .map(metrics_token)
            .transpose()?;
        let listener = server::bind(&self.listen).await.with_context(|| {
            format!(
                "cannot listen on {}: pick a free address with --listen",
                self.listen
            )
        })?;
        let address = listener.local_addr()?;
        if tls.is_none() && !self.allow_plain_http && !address.ip().is_loopback() {
            bail!(
                "refusing plain HTTP on {address}, which is not a loopback address: pass \
                 --tls-cert and --tls-key to serve HTTPS, or --allow-plain-http behind a proxy \
                 that does TLS"
            );
        }
        // After the checks above, so a refused address leaves the data directory untouched.
        let data_dir = DataDir::create(&paths.data_dir)?;
        // For `enroll-code`, which puts it in the QR codes booths enroll with.
        tls::record_pin(data_dir.path(), tls_pin.as_ref())?;
        // Held until the process ends: no rotation while this server seals with the keys.
        let _lock = KeyLock::shared(data_dir.path())?;
        let keys = KeyFile::load(&paths.key_file, data_dir.path())?.keys()?;
        let release_keys = ReleaseKeys::load(&paths.release_keys)?;
        let no_release_keys = release_keys.keys.is_empty();
        let settings = Settings {
            releases: ReleaseSettings {
                keys: release_keys,
                max_bundle_bytes: self.max_bundle_mib.saturating_mul(1024 * 1024),
                max_downloads: self.max_downloads,
                download_rate: self.download_kib_per_s.saturating_mul(1024),
                ..ReleaseSettings::default()
            },
            secure_cookies: tls.is_some(),
            public_url,
            tls_pin,
            follow_up_days: self.follow_up_days,
            max_connections: self.max_connections,
            admission: self.admission(),
            metrics_token,
            store: paths.store.clone(),
            files: self.files.clone(),
            ..Settings::default()
        };
        let state = server::open_state(data_dir.path(), keys, settings).await?;
        tracing::info!(data_dir = %data_dir.path().display(), server_id = state.server_id(), tls = tls.is_some(), "store open");
        if no_release_keys {
            tracing::warn!(file = %paths.release_keys.display(), "no release public keys: uploads of release bundles are refused");
        }
        if let Some(pin) = &tls_pin {
            tracing::info!(%pin, "booths pin this certificate");
        }
        let on_stop = notifier.clone();
        let shutdown = async move {
            server::shutdown_signal().await;
            notify(
                on_stop.as_deref(),
                &[
                    State::Stopping,
                    State::Status("stopping: finishing requests in flight"),
                ],
            );
        };
        match tls {
            Some(config) => {
                let listener = TlsListener::new(listener, config)?;
                ready(&format!("https://{address}"), notifier.as_deref())?;
                server::serve_tls(listener, state, shutdown).await?;
            }
            None => {
                ready(&format!("http://{address}"), notifier.as_deref())?;
                server::serve(listener, state, shutdown).await?;
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// The line scripts wait for, and READY for systemd: the store is open and the socket bound.
fn ready(url: &str, notifier: Option<&Notifier>) -> anyhow::Result<()> {
    let line = format!("listening on {url}");
    println!("{line}");
    std::io::stdout().flush()?;
    notify(notifier, &[State::Ready, State::Status(&line)]);
    Ok(())
}

/// A notification systemd did not get is logged: the server serves all the same, and systemd
/// acts on the silence (its start timeout).
fn notify(notifier: Option<&Notifier>, states: &[State<'_>]) {
    if let Some(notifier) = notifier
        && let Err(err) = notifier.notify(states)
    {
        tracing::warn!(%err, "systemd not notified");
    }
}

fn metrics_token(path: &Path) -> anyhow::Result<ScraperToken> {
    data_dir::check_private_file(path)?;
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the metrics token file {}: pass --metrics-token-file a file this user can read",
            path.display()
        )
    })?;
    ScraperToken::new(&text).with_context(|| format!("--metrics-token-file {}", path.display()))
}

fn public_url(text: &str) -> anyhow::Result<String> {
    let url = text.trim().trim_end_matches('/');
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    ensure!(
        host.is_some_and(|host| !host.is_empty() && !host.contains(char::is_whitespace)),
        "--public-url `{text}` is not an address booths can use: write it like https://county.example.cn:8443"
    );
    Ok(url.to_owned())
}
