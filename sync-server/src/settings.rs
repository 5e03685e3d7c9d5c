//! Limits and timeouts of the HTTP API, with the production defaults.

use std::path::PathBuf;
use std::time::Duration;

use crate::api::admission::AdmissionSettings;
use crate::api::rate_limit::EnrollLimits;
use crate::api::scraper::ScraperToken;
use crate::domain::access::SessionLifetime;
use crate::domain::review::KindRules;
use crate::release_keys::ReleaseKeys;
use crate::staff::login_limit::LoginLimits;

/// The largest request body accepted (a full batch of long submissions is far below it).
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Bodies above this get 413 `body_too_large` before anything else is looked at.
    pub body_limit: usize,
    /// A request still running after this gets 408 (and its work is dropped).
    pub request_timeout: Duration,
    pub enroll_limits: EnrollLimits,
    /// Views and uploads of the one-time phone upload page, per client address
    /// ([`crate::phone_upload`]).
    pub phone_upload_limits: EnrollLimits,
    /// Feed pages hold this many items unless the booth asks for fewer.
    pub default_page: u32,
    /// `last_seen` is written at most this often per kiosk; every signed request counts as a
    /// sighting, and writing each one would add a commit to every feed read.
    pub last_seen_every: Duration,
    /// A scope's fleet summary (counts and alerting booths) is counted at most this often
    /// per instance ([`crate::store::fleet_summaries`]); zero counts it on every view.
    pub fleet_summary_keep: Duration,
    /// Guessing staff passwords (login and the own-password page): per address, per name and
    /// address, per name, per remembered browser.
    pub login_limits: LoginLimits,
    /// argon2 runs at once, and requests waiting for one beyond them (then 503).
    pub password_slots: usize,
    pub password_queue: usize,
    /// A connection that has not sent a whole request head this long after it opened (or
    /// after its last response) is closed: slow or idle clients cannot hold sockets.
    pub header_timeout: Duration,
    /// Connections served at once (TLS handshakes included); more wait in the kernel's
    /// backlog. Keep it well below the process's open-file limit (`ulimit -n`): the store and
    /// the logs need descriptors too.
    pub max_connections: usize,
    /// Signed booth requests worked on at once, and those waiting for a turn (then 503).
    pub admission: AdmissionSettings,
    pub session_lifetime: SessionLifetime,
    /// Cookies get `Secure`: set when the server speaks TLS.
    pub secure_cookies: bool,
    /// The review chain and time limit of complaints and consultations (applications take
    /// theirs from the catalogue).
    pub review_rules: KindRules,
    /// An open submission due within this many days is flagged "due soon".
    pub due_soon_days: u32,
    /// Working days staff have to call back a 不满意/非常不满意 rating and fix its cause.
    pub follow_up_days: u32,
    /// The address booths reach this server at (`https://county.example.cn:8443`), put in
    /// enrollment QR codes; `None`: the address the administrator's browser used.
    pub public_url: Option<String>,
    /// The pin of the certificate served (`sync_protocol::pin`), put in enrollment QR codes
    /// for an https address; `None` without TLS.
    pub tls_pin: Option<sync_protocol::pin::CertPin>,
    /// The bearer token `/metrics` asks for; `None`: `/metrics` answers nobody.
    pub metrics_token: Option<ScraperToken>,
    /// Release bundles: the keys uploads are checked against, where they are kept, and how
    /// booths download them.
    pub releases: ReleaseSettings,
    /// Which database holds the store: the data directory's SQLite file, or PostgreSQL.
    pub store: StoreChoice,
    /// The folder submissions' files are kept in (`crate::files`);
    /// `None`: `files/` in the data directory (set by `server::open_state`; states built by
    /// hand in tests use the temporary folder).
    pub files: Option<String>,
}

/// Where the server's store lives.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum StoreChoice {
    /// `server.sqlite3` in the data directory: one instance, nothing to install.
    #[default]
    Sqlite,
    /// A PostgreSQL database (`postgres://user@host:port/db`), which several instances share.
    Postgres(String),
}

impl std::fmt::Debug for StoreChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite => f.write_str("Sqlite"),
            // The URL may carry a password.
            Self::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// A `--store` value that is neither `sqlite` nor a PostgreSQL URL.
#[derive(Debug, thiserror::Error)]
#[error(
    "store `{0}` is not one this server knows: give `sqlite` (the data directory's file, the default) or a PostgreSQL URL such as postgres://sync@db.example.cn/sync"
)]
pub struct UnknownStore(String);

impl std::str::FromStr for StoreChoice {
    type Err = UnknownStore;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("sqlite") {
            Ok(Self::Sqlite)
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Self::Postgres(text.to_owned()))
        } else {
            // Never echo a value that might hold a password.
            let shown: String = text
                .split(['@', '?'])
                .next()
                .unwrap_or("")
                .chars()
                .take(40)
                .collect();
            Err(UnknownStore(shown))
        }
    }
}

/// What the server does with release bundles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSettings {
    /// The release public keys every upload is verified against (never a signing key).
    pub keys: ReleaseKeys,
    /// Where bundles are kept; `None`: `releases/` in the data directory (set by
    /// `server::open_state`).
    pub dir: Option<PathBuf>,
    /// The largest bundle accepted.
    pub max_bundle_bytes: u64,
    /// Bundle downloads served at once, server-wide; one more is answered 503 with
    /// `Retry-After`.
    pub max_downloads: usize,
    /// Bytes per second each download is sent at; 0 for no limit.
    pub download_rate: u64,
    /// How long an upload may take from its first byte (the usual request timeout is for
    /// small requests).
    pub upload_timeout: Duration,
}

/// The largest bundle accepted unless `--max-bundle-mib` says otherwise: what a booth takes
/// (`booth_release::Limits::default().max_total_bytes`).
pub const DEFAULT_MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;
/// Downloads at once unless `--max-downloads` says otherwise.
pub const DEFAULT_MAX_DOWNLOADS: usize = 4;
/// Bytes per second per download unless `--download-kib-per-s` says otherwise: 256 KiB/s.
pub const DEFAULT_DOWNLOAD_RATE: u64 = 256 * 1024;

impl Default for ReleaseSettings {
    fn default() -> Self {
        Self {
            keys: ReleaseKeys::none(std::path::Path::new(crate::release_keys::DEFAULT)),
            dir: None,
            max_bundle_bytes: DEFAULT_MAX_BUNDLE_BYTES,
            max_downloads: DEFAULT_MAX_DOWNLOADS,
            download_rate: DEFAULT_DOWNLOAD_RATE,
            upload_timeout: Duration::from_secs(600),
        }
    }
}

/// Connections served at once unless `--max-connections` says otherwise: far more than a
/// county's booths and staff keep open, and room below the usual limit of 1024 open files.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

impl Default for Settings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            enroll_limits: EnrollLimits::default(),
            phone_upload_limits: crate::phone_upload::DEFAULT_LIMITS,
            default_page: 100,
            last_seen_every: Duration::from_secs(15),
            fleet_summary_keep: Duration::from_secs(15),
            login_limits: LoginLimits::default(),
            password_slots: cores,
            password_queue: 4 * cores,
            header_timeout: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            admission: AdmissionSettings::for_cores(cores),
            session_lifetime: SessionLifetime::default(),
            secure_cookies: false,
            review_rules: KindRules::default(),
            due_soon_days: 3,
            follow_up_days: crate::domain::ratings::DEFAULT_FOLLOW_UP_DAYS,
            public_url: None,
            tls_pin: None,
            metrics_token: None,
            releases: ReleaseSettings::default(),
            files: None,
            store: StoreChoice::Sqlite,
        }
    }
}
