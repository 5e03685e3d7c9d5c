//! Staff passwords: argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane, the OWASP
//! minimum), a salt per hash, stored as a PHC string so the parameters can be raised later
//! without breaking old hashes.
//!
//! Every argon2 run goes through a [`PasswordGate`]: at most a few at once on threads of its
//! own, a bounded queue behind them, and [`Busy`] beyond it. Unbounded, each guess took
//! 19 MiB and a thread of its own: 256 wrong guesses in 15 s grew the server from 433 MiB to
//! 4.8 GiB. The hashing functions themselves are private, so no caller can go around it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::oneshot;

use crate::gate::{Gate, HeldAll};

/// The shortest password accepted; long passphrases are the better habit than symbols.
pub const MIN_LENGTH: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is too short: use at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("the password is the same as the user name: choose another")]
    SameAsUsername,
    #[error("cannot draw a random salt: {0}")]
    Random(#[source] getrandom::Error),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Refuses passwords too weak to keep.
pub fn check_strength(username: &str, password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if password.trim().eq_ignore_ascii_case(username.trim()) {
        return Err(PasswordError::SameAsUsername);
    }
    Ok(())
}

/// Hashes a password for storage. Slow on purpose (tens of milliseconds): only through the
/// gate.
fn hash(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `stored`; a stored string that is not a hash matches nothing.
fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a random password: verifying against it costs what a real check costs, so a
/// login for an unknown name takes as long as one with a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut secret = [0u8; 24];
        let _ = getrandom::fill(&mut secret);
        hash(&crate::staff::token::encode(&secret)).unwrap_or_default()
    })
}

/// Too many password checks are running or waiting: the caller says so and asks to retry.
pub use crate::gate::Busy;

/// The one way to run argon2 in a process: `slots` runs at once, each on one of `slots`
/// threads of the gate's own, `queue` more waiting, [`Busy`] for any beyond.
///
/// Own threads rather than the blocking pool: the allocator keeps the 19 MiB a run frees for
/// the thread that freed it, and the blocking pool has up to 512 threads, so runs spread over
/// it grew the server by hundreds of MiB that it never gave back.
#[derive(Debug)]
pub struct PasswordGate {
    gate: Gate,
    runs: AtomicU64,
    workers: mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs jobs until the gate is dropped; a job that panics takes only itself down.
fn work_on(jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let next = jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .recv();
        let Ok(job) = next else { return };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

impl PasswordGate {
    /// `slots` runs at once (at least one) and `queue` waiting.
    pub fn new(slots: usize, queue: usize) -> Self {
        let (jobs, queued) = mpsc::channel::<Job>();
        let queued = Arc::new(Mutex::new(queued));
        let mut size = 0;
        for _ in 0..slots.max(1) {
            let queued = Arc::clone(&queued);
            let spawned = std::thread::Builder::new()
                .name("argon2".into())
                .spawn(move || work_on(&queued));
            match spawned {
                Ok(_) => size += 1,
                Err(error) => tracing::error!(error = %error, "cannot start an argon2 thread"),
            }
        }
        Self {
            // No thread, no place: every check is refused as busy, never left hanging.
            gate: Gate::new(size, queue, None),
            runs: AtomicU64::new(0),
            workers: jobs,
        }
    }

    /// Runs `work` when a slot is free, unless the queue is full.
    async fn run<T, F>(&self, work: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let place = self.gate.enter().await?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        // The place goes with the work: a request dropped meanwhile does not free the slot
        // while argon2 still runs.
        let job: Job = Box::new(move || {
            let _place = place;
            let _ = reply.send(work());
        });
        self.workers.send(job).map_err(|_| Busy)?;
        answer.await.map_err(|_| Busy)
    }

    /// Whether `password` matches `stored`; with no stored hash (an unknown name) the same
    /// work is done against a decoy and the answer is no, so timing does not tell the two
    /// apart.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        self.run(move || match stored {
            Some(stored) => verify(&password, &stored),
            None => {
                let _ = verify(&password, decoy_hash());
                false
            }
        })
        .await
    }

    /// A hash of `password` for storage.
    pub async fn hash(&self, password: String) -> Result<Result<String, PasswordError>, Busy> {
        self.run(move || hash(&password)).await
    }

    /// Checks `password` is strong enough for `username`, then hashes it.
    pub async fn hash_new(
        &self,
        username: String,
        password: String,
    ) -> Result<Result<String, PasswordError>, Busy> {
        self.run(move || {
            check_strength(&username, &password)?;
            hash(&password)
        })
        .await
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.gate.waiting()
    }

    /// argon2 runs started so far.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Takes every slot until the result is dropped (waiting for runs in progress): what a
    /// flood of checks does, on purpose, for tests.
    pub async fn hold_all(&self) -> Result<HeldAll, Busy> {
        self.gate.hold_all().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_ne!(stored, hash("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn weak_passwords_are_refused_with_the_reason() {
        assert!(matches!(
            check_strength("li", "short"),
            Err(PasswordError::TooShort)
        ));
        assert!(matches!(
            check_strength("handler01", "HANDLER01 "),
            Err(PasswordError::SameAsUsername) | Err(PasswordError::TooShort)
        ));
        check_strength("li", "long enough pass").unwrap();
    }

    #[tokio::test]
    async fn the_gate_queues_a_few_and_refuses_the_rest() {
        let gate = Arc::new(PasswordGate::new(1, 2));
        let stored = gate
            .hash("correct horse battery".into())
            .await
            .unwrap()
            .unwrap();
        let held = gate.hold_all().await.unwrap();
        let mut queued = Vec::new();
        for _ in 0..2 {
            let (gate, stored) = (Arc::clone(&gate), stored.clone());
            queued.push(tokio::spawn(async move {
                gate.verify("correct horse battery".into(), Some(stored))
                    .await
            }));
        }
        while gate.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.verify("x".into(), None).await, Err(Busy));
        drop(held);
        for waiting in queued {
            assert_eq!(waiting.await.unwrap(), Ok(true));
        }
        assert_eq!(gate.waiting(), 0);
        assert_eq!(gate.verify("x".into(), None).await, Ok(false));
    }
}
