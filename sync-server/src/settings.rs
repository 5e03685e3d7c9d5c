//! Limits and timeouts of the HTTP API, with the production defaults.

use std::time::Duration;

use crate::api::rate_limit::EnrollLimits;
use crate::api::scraper::ScraperToken;
use crate::domain::access::{LockPolicy, SessionLifetime};
use crate::domain::review::KindRules;

/// The largest request body accepted (a full batch of long submissions is far below it).
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Bodies above this get 413 `body_too_large` before anything else is looked at.
    pub body_limit: usize,
    /// A request still running after this gets 408 (and its work is dropped).
    pub request_timeout: Duration,
    pub enroll_limits: EnrollLimits,
    /// Feed pages hold this many items unless the booth asks for fewer.
    pub default_page: u32,
    /// `last_seen` is written at most this often per kiosk; every signed request counts as a
    /// sighting, and writing each one would add a commit to every feed read.
    pub last_seen_every: Duration,
    /// Staff login attempts per client address and in total (refunded when one succeeds).
    pub login_limits: EnrollLimits,
    /// How failed passwords lock an account.
    pub lock_policy: LockPolicy,
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
    /// The bearer token `/metrics` asks for; `None`: `/metrics` answers nobody.
    pub metrics_token: Option<ScraperToken>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            enroll_limits: EnrollLimits::default(),
            default_page: 100,
            last_seen_every: Duration::from_secs(15),
            login_limits: EnrollLimits {
                per_address: 20,
                global: 200,
                window: Duration::from_secs(300),
            },
            lock_policy: LockPolicy::default(),
            session_lifetime: SessionLifetime::default(),
            secure_cookies: false,
            review_rules: KindRules::default(),
            due_soon_days: 3,
            follow_up_days: crate::domain::ratings::DEFAULT_FOLLOW_UP_DAYS,
            public_url: None,
            metrics_token: None,
        }
    }
}
