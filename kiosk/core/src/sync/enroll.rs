//! Enrollment: a new key pair, a one-time code, and the identity the server hands back — made
//! crash-safe with a small journal in `DATA/enroll-pending/`.
//!
//! The order matters because the server's side cannot be undone: once it accepted the code,
//! the code is spent and only the key sent with it will ever verify.
//! 1. The new key is written to `enroll-pending/identity.key` (with the code it is for) BEFORE
//!    the request. The booth's current key and identity stay untouched, so a refused or failed
//!    enrollment leaves a working booth working. Running `kiosk enroll` again with the same
//!    code re-sends the same key instead of making another.
//! 2. The server's answer is written to `enroll-pending/enrolled.json` as soon as it is read.
//! 3. Finishing installs the key as `DATA/identity.key` (atomic rename), stores the identity and
//!    clock offset in the database, then removes the journal. Each step is idempotent: a crash
//!    anywhere in 3 is completed by [`finish_pending`], which the sync commands call first.
//!
//! Re-enrolling: when the booth has an identity and its key file loads, the request carries
//! `replaces` (the old key's signature, see `sync_protocol::enroll`). The server then keeps
//! the booth's kiosk number and hands the old kiosk's submissions and status feed to the new
//! one, so receipts already printed and submissions still queued stay valid; the status feed
//! starts over under the new id and re-delivers their progress. Without the old key (lost,
//! new disk) the booth gets a new number, and what it still queued under the old number is
//! refused and quarantined: drain the queue (`kiosk sync --once`) before such a re-enrollment.
//! Retrying with the same code re-sends the same request, and the server answers a repeated
//! code and key with the original answer, so a lost answer is never a spent code.
//!
//! Pinning: an enrollment given the county server's certificate pin (from the QR code, or its
//! first digits typed) trusts only a certificate that matches, and stores the whole pin of the
//! one that did with the identity; from then on the sync client trusts that key alone.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync_protocol::ErrorCode;
use sync_protocol::enroll::{EnrollRequest, EnrollResponse, normalize_code};
use sync_protocol::pin::{CertPin, PinPrefix};

use super::client::{ClientConfig, check_server_url, post_enroll};
use super::clock::{ClockOffset, human_duration};
use super::error::SyncError;
use crate::atomic_file;
use crate::identity::{self, KeyError};
use crate::store::{Identity, Store, StoreError};

/// The journal directory inside the data directory.
pub const PENDING_DIR: &str = "enroll-pending";
const CODE_FILE: &str = "code";
const ANSWER_FILE: &str = "enrolled.json";

/// Why an enrollment did not complete. One line each, saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    #[error("the enrollment code is empty: type the code county staff gave you (like ABCD-EFGH)")]
    EmptyCode,
    /// The server refused the code or the request (`enroll_code_used`, `_expired`, `_invalid`…).
    #[error(transparent)]
    Refused(SyncError),
    #[error("too many enrollment attempts at this server: wait {} and try again", human_duration(*.retry_after))]
    RateLimited { retry_after: Duration },
    #[error("the county server at {server} failed (HTTP {status}): try again in a few minutes")]
    ServerFailed { server: String, status: u16 },
    /// Unreachable, unexpected answers, bad URL.
    #[error(transparent)]
    Server(SyncError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the enrollment journal {path}: check the data directory is writable")]
    Journal {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a database task of the enrollment failed")]
    Task(#[source] tokio::task::JoinError),
}

impl From<SyncError> for EnrollError {
    fn from(err: SyncError) -> Self {
        match err {
            SyncError::Unavailable {
                code: Some(ErrorCode::RateLimited),
                retry_after,
                ..
            }
            | SyncError::Unavailable {
                status: 429,
                retry_after,
                ..
            } => Self::RateLimited {
                retry_after: retry_after.unwrap_or(Duration::from_secs(60)),
            },
            SyncError::Unavailable { server, status, .. } => Self::ServerFailed { server, status },
            SyncError::Rejected { .. } => Self::Refused(err),
            other => Self::Server(other),
        }
    }
}

/// What the journal keeps between the server's answer and the finished enrollment.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    server_url: String,
    /// Absent from journals written before pins.
    #[serde(default)]
    server_pin: Option<CertPin>,
    clock_offset_ms: i64,
    response: EnrollResponse,
}

/// Enrolls the booth in `data_dir` with `server_url` using a one-time `code`, replacing any
/// earlier identity only once the server accepted. Returns the stored identity; the learned
/// clock offset is stored too.
pub async fn enroll(
    data_dir: &Path,
    server_url: &str,
    code: &str,
) -> Result<Identity, EnrollError> {
    enroll_with(data_dir, server_url, None, code, ClientConfig::default()).await
}

/// [`enroll`] trusting only a server certificate that matches `pin` (https only); the whole pin
/// is stored with the identity.
pub async fn enroll_pinned(
    data_dir: &Path,
    server_url: &str,
    pin: Option<&PinPrefix>,
    code: &str,
) -> Result<Identity, EnrollError> {
    enroll_with(data_dir, server_url, pin, code, ClientConfig::default()).await
}

/// [`enroll_pinned`] with explicit timeouts.
pub async fn enroll_with(
    data_dir: &Path,
    server_url: &str,
    pin: Option<&PinPrefix>,
    code: &str,
    config: ClientConfig,
) -> Result<Identity, EnrollError> {
    let code = normalize_code(code);
    if code.is_empty() {
        return Err(EnrollError::EmptyCode);
    }
    check_server_url(server_url).map_err(EnrollError::Server)?;
    // An answer from an earlier run that crashed before finishing is completed first.
    finish_pending_blocking(data_dir.to_owned()).await?;

    let previous = {
        let data_dir = data_dir.to_owned();
        tokio::task::spawn_blocking(move || previous_with_key(&data_dir))
            .await
            .map_err(EnrollError::Task)??
    };
    let pending = data_dir.join(PENDING_DIR);
    let key = pending_key(&pending, &code)?;
    let version = crate::update::running_release();
    let request = match &previous {
        Some((identity, old_key)) => {
            EnrollRequest::replacing(&code, &key, &identity.kiosk_id, old_key, version)
        }
        None => EnrollRequest::new(&code, &key, version),
    };
    let clock = ClockOffset::default();
    let (response, server_pin) = match post_enroll(server_url, pin, &request, &clock, config).await
    {
        Ok(answer) => answer,
        Err(err) => {
            if matches!(err, SyncError::Rejected { .. }) {
                // The code is spent, expired or unknown: this key will never be enrolled.
                let _ = fs::remove_dir_all(&pending);
            }
            return Err(err.into());
        }
    };
    let answer = Answer {
        server_url: server_url.trim().trim_end_matches('/').to_owned(),
        server_pin,
        clock_offset_ms: clock.get_ms(),
        response,
    };
    write_durably(
        &pending.join(ANSWER_FILE),
        &serde_json::to_vec_pretty(&answer).map_err(|err| EnrollError::Journal {
            path: pending.join(ANSWER_FILE),
            source: std::io::Error::other(err),
        })?,
    )?;
    finish_pending_blocking(data_dir.to_owned())
        .await?
        .ok_or_else(|| EnrollError::Journal {
            path: pending.join(ANSWER_FILE),
            source: std::io::Error::new(ErrorKind::NotFound, "the answer vanished"),
        })
}

/// The identity a re-enrollment would replace, as [`previous_identity`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    pub identity: Identity,
    /// The identity's key loads, so the enrollment proves it and the server keeps the kiosk
    /// number (unless that kiosk was revoked by staff or is unknown to the server).
    pub key_loads: bool,
}

/// The booth's current identity, after finishing any interrupted enrollment; what
/// [`enroll`] will replace. `None` for a booth never enrolled.
pub fn previous_identity(data_dir: &Path) -> Result<Option<Previous>, EnrollError> {
    finish_pending(data_dir)?;
    let Some(identity) = Store::open(data_dir)?.identity()? else {
        return Ok(None);
    };
    Ok(Some(Previous {
        key_loads: identity::load(data_dir).is_ok(),
        identity,
    }))
}

/// The current identity with its key, when both are there. A key that does not load
/// (missing, readable by others, malformed) proves nothing: the enrollment is a plain one.
fn previous_with_key(
    data_dir: &Path,
) -> Result<Option<(Identity, ed25519_dalek::SigningKey)>, EnrollError> {
    let Some(identity) = Store::open(data_dir)?.identity()? else {
        return Ok(None);
    };
    Ok(identity::load(data_dir).ok().map(|key| (identity, key)))
}

/// Completes an enrollment whose answer was received but not yet fully stored (a crash or
/// power cut in between). Returns the identity it stored, `None` when there was nothing to
/// finish. Call it before loading the key or the identity.
pub fn finish_pending(data_dir: &Path) -> Result<Option<Identity>, EnrollError> {
    let pending = data_dir.join(PENDING_DIR);
    let answer_path = pending.join(ANSWER_FILE);
    let text = match fs::read(&answer_path) {
        Ok(text) => text,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(EnrollError::Journal {
                path: answer_path,
                source,
            });
        }
    };
    let answer: Answer = serde_json::from_slice(&text).map_err(|err| EnrollError::Journal {
        path: answer_path.clone(),
        source: std::io::Error::other(err),
    })?;
    let key = identity::load(&pending)?;
    identity::store(data_dir, &key)?;
    let identity = Identity {
        kiosk_id: answer.response.kiosk_id,
        kiosk_number: answer.response.kiosk_number,
        village: answer.response.village,
        server_url: answer.server_url,
        server_id: answer.response.server_id,
        // The server's clock: the booth's may be days off.
        enrolled_at: answer.response.server_time,
        server_pin: answer.server_pin,
    };
    let mut store = Store::open(data_dir)?;
    store.set_identity(&identity)?;
    store.set_clock_offset_ms(answer.clock_offset_ms)?;
    // From now on every submission is sealed to the county before it is written.
    if let Some(key) = &answer.response.county_key {
        store.set_county_key(key)?;
    }
    // As stored (times lose their nanoseconds), so callers compare like with like.
    let identity = store.identity()?.unwrap_or(identity);
    drop(store);
    fs::remove_dir_all(&pending).map_err(|source| EnrollError::Journal {
        path: pending,
        source,
    })?;
    Ok(Some(identity))
}

async fn finish_pending_blocking(data_dir: PathBuf) -> Result<Option<Identity>, EnrollError> {
    tokio::task::spawn_blocking(move || finish_pending(&data_dir))
        .await
        .map_err(EnrollError::Task)?
}

/// The key for `code`: the one already sent with this code if a previous run got that far,
/// otherwise a new one.
fn pending_key(pending: &Path, code: &str) -> Result<ed25519_dalek::SigningKey, EnrollError> {
    let journal = |source| EnrollError::Journal {
        path: pending.to_owned(),
        source,
    };
    let same_code = fs::read_to_string(pending.join(CODE_FILE)).is_ok_and(|saved| saved == code);
    if same_code && let Ok(key) = identity::load(pending) {
        return Ok(key);
    }
    match fs::remove_dir_all(pending) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => return Err(journal(err)),
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(pending)
        .map_err(journal)?;
    let key = identity::generate_and_store(pending)?;
    write_durably(&pending.join(CODE_FILE), code.as_bytes())?;
    Ok(key)
}

/// The journal's files are whole or absent, readable by the booth only.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), EnrollError> {
    atomic_file::write(path, bytes, atomic_file::PRIVATE).map_err(|source| EnrollError::Journal {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::StatusCode;
    use sync_protocol::paths;

    use super::*;
    use crate::sync::client::Client;
    use crate::sync::stub_server::{Scripted, StubServer, StubState, unused_addr};

    async fn county(codes: &[&str]) -> StubServer {
        let state = StubState {
            enroll_codes: codes.iter().map(|c| normalize_code(c)).collect(),
            ..StubState::default()
        };
        StubServer::start(Arc::new(Mutex::new(state))).await
    }

    fn stored_identity(data_dir: &Path) -> Option<Identity> {
        Store::open(data_dir).unwrap().identity().unwrap()
    }

    #[tokio::test]
    async fn an_enrolled_booth_has_its_key_and_identity_and_can_sign() {
        let dir = tempfile::tempdir().unwrap();
        let server = county(&["ABCD-EFGH"]).await;
        let identity = enroll(dir.path(), &format!("{}/", server.url()), "abcd efgh")
            .await
            .unwrap();
        assert_eq!(identity.kiosk_id, "k-1");
        assert_eq!(identity.kiosk_number, 41);
        assert_eq!(identity.village.village, "覃李村");
        assert_eq!(identity.server_url, server.url());
        assert_eq!(stored_identity(dir.path()), Some(identity.clone()));
        assert!(!dir.path().join(PENDING_DIR).exists());

        let key = identity::load(dir.path()).unwrap();
        assert_eq!(
            server.state.lock().unwrap().enrolled_keys,
            [key.verifying_key()]
        );
        let client = Client::new(
            &identity.server_url,
            identity.server_pin,
            identity.kiosk_id,
            key,
            ClockOffset::default(),
        )
        .unwrap();
        let page: sync_protocol::feed::FeedPage<serde_json::Value> = client
            .feed_page(sync_protocol::feed::Feed::Notices, &Default::default())
            .await
            .unwrap();
        assert!(page.items.is_empty());
    }

    #[tokio::test]
    async fn a_refused_re_enrollment_leaves_the_working_booth_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let server = county(&["ABCD-EFGH"]).await;
        let first = enroll(dir.path(), &server.url(), "ABCD-EFGH")
            .await
            .unwrap();
        let key = identity::load(dir.path()).unwrap();
        let err = enroll(dir.path(), &server.url(), "ABCD-EFGH")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "this code was already used: ask county staff for a new one"
        );
        assert_eq!(
            identity::load(dir.path()).unwrap().to_bytes(),
            key.to_bytes()
        );
        assert_eq!(stored_identity(dir.path()), Some(first));
        assert!(!dir.path().join(PENDING_DIR).exists());
    }

    #[tokio::test]
    async fn re_enrolling_replaces_key_and_identity() {
        let dir = tempfile::tempdir().unwrap();
        let server = county(&["AAAA-AAAA", "BBBB-BBBB"]).await;
        enroll(dir.path(), &server.url(), "AAAA-AAAA")
            .await
            .unwrap();
        let old_key = identity::load(dir.path()).unwrap();
        let second = enroll(dir.path(), &server.url(), "BBBB-BBBB")
            .await
            .unwrap();
        assert_eq!(second.kiosk_id, "k-2");
        let new_key = identity::load(dir.path()).unwrap();
        assert_ne!(new_key.to_bytes(), old_key.to_bytes());
        assert_eq!(
            server.state.lock().unwrap().enrolled_keys[1],
            new_key.verifying_key()
        );
        assert_eq!(stored_identity(dir.path()), Some(second));
    }

    #[tokio::test]
    async fn a_retry_after_a_network_failure_sends_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let down = format!("http://{}", unused_addr());
        let err = enroll(dir.path(), &down, "ABCD-EFGH").await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot reach the county server at http://127.0.0.1:"),
            "{err}"
        );
        let pending_key = identity::load(&dir.path().join(PENDING_DIR)).unwrap();
        assert!(stored_identity(dir.path()).is_none());

        let server = county(&["ABCD-EFGH"]).await;
        enroll(dir.path(), &server.url(), "ABCD-EFGH")
            .await
            .unwrap();
        assert_eq!(
            server.state.lock().unwrap().enrolled_keys,
            [pending_key.verifying_key()]
        );
    }

    #[tokio::test]
    async fn a_crash_after_the_answer_is_finished_on_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let pending = dir.path().join(PENDING_DIR);
        // What `enroll` leaves behind when the power goes right after the answer was read.
        let key = pending_key(&pending, "ABCDEFGH").unwrap();
        let county = sync_protocol::personal::CountySecret::from_seed(&[4; 32]);
        let answer = Answer {
            server_url: "http://127.0.0.1:9".into(),
            server_pin: None,
            clock_offset_ms: 172_800_000,
            response: EnrollResponse {
                kiosk_id: "k-9".into(),
                kiosk_number: 9,
                village: sync_protocol::enroll::Village {
                    county: "县".into(),
                    township: "乡".into(),
                    village: "村".into(),
                },
                server_id: "county-1".into(),
                server_time: chrono::Utc::now(),
                county_key: Some(county.public_key().clone()),
            },
        };
        write_durably(
            &pending.join(ANSWER_FILE),
            &serde_json::to_vec(&answer).unwrap(),
        )
        .unwrap();

        let identity = finish_pending(dir.path()).unwrap().unwrap();
        assert_eq!(identity.kiosk_id, "k-9");
        assert_eq!(
            identity::load(dir.path()).unwrap().to_bytes(),
            key.to_bytes()
        );
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.identity().unwrap(), Some(identity));
        assert_eq!(store.clock_offset_ms().unwrap(), 172_800_000);
        assert_eq!(
            store.county_key().unwrap().as_ref(),
            Some(county.public_key()),
            "submissions are sealed from the first one on"
        );
        assert!(!pending.exists());
        assert!(finish_pending(dir.path()).unwrap().is_none());
    }

    /// A county server that records every enrollment request and answers from `answers`
    /// in turn (the last one repeats).
    struct Recorder {
        url: String,
        requests: Arc<Mutex<Vec<EnrollRequest>>>,
    }

    async fn recording_county(answers: Vec<(StatusCode, String)>) -> Recorder {
        let requests = Arc::new(Mutex::new(Vec::<EnrollRequest>::new()));
        let seen = Arc::clone(&requests);
        let answers = Arc::new(Mutex::new(answers));
        let app = axum::Router::new().route(
            paths::ENROLL,
            axum::routing::post(move |body: axum::body::Bytes| {
                let seen = Arc::clone(&seen);
                let answers = Arc::clone(&answers);
                async move {
                    seen.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                    let mut answers = answers.lock().unwrap();
                    let (status, body) = if answers.len() > 1 {
                        answers.remove(0)
                    } else {
                        answers[0].clone()
                    };
                    (
                        status,
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Recorder { url, requests }
    }

    fn answer(kiosk_id: &str, kiosk_number: u32) -> (StatusCode, String) {
        let response = EnrollResponse {
            kiosk_id: kiosk_id.into(),
            kiosk_number,
            village: sync_protocol::enroll::Village {
                county: "上林县".into(),
                township: "白圩镇".into(),
                village: "覃李村".into(),
            },
            server_id: "county-1".into(),
            server_time: chrono::Utc::now(),
            county_key: None,
        };
        (StatusCode::OK, serde_json::to_string(&response).unwrap())
    }

    fn enrolled_as(
        data_dir: &Path,
        kiosk_id: &str,
        kiosk_number: u32,
    ) -> ed25519_dalek::SigningKey {
        let key = identity::generate_and_store(data_dir).unwrap();
        let mut store = Store::open(data_dir).unwrap();
        store
            .set_identity(&Identity {
                kiosk_id: kiosk_id.into(),
                kiosk_number,
                village: sync_protocol::enroll::Village {
                    county: "上林县".into(),
                    township: "白圩镇".into(),
                    village: "覃李村".into(),
                },
                server_url: "http://127.0.0.1:9".into(),
                server_id: "county-1".into(),
                enrolled_at: chrono::Utc::now(),
                server_pin: None,
            })
            .unwrap();
        key
    }

    #[tokio::test]
    async fn re_enrolling_proves_the_previous_identity_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let old_key = enrolled_as(dir.path(), "k-old", 7);
        assert_eq!(
            previous_identity(dir.path())
                .unwrap()
                .map(|p| (p.identity.kiosk_id, p.key_loads)),
            Some(("k-old".to_owned(), true))
        );
        let county = recording_county(vec![answer("k-new", 7)]).await;
        let identity = enroll(dir.path(), &county.url, "ABCD-EFGH").await.unwrap();
        assert_eq!(
            (identity.kiosk_id.as_str(), identity.kiosk_number),
            ("k-new", 7)
        );

        let requests = county.requests.lock().unwrap().clone();
        let [request] = &requests[..] else {
            panic!("one request, got {requests:?}");
        };
        let new_key = identity::load(dir.path()).unwrap();
        assert_eq!(request.verified_key(), Some(new_key.verifying_key()));
        assert_eq!(
            request.replaces.as_ref().map(|r| r.kiosk_id.as_str()),
            Some("k-old")
        );
        assert!(request.replacement_verifies(&old_key.verifying_key()));
        assert_ne!(new_key.to_bytes(), old_key.to_bytes());
    }

    #[tokio::test]
    async fn without_its_old_key_the_booth_enrolls_plainly() {
        let dir = tempfile::tempdir().unwrap();
        enrolled_as(dir.path(), "k-old", 7);
        fs::remove_file(identity::key_path(dir.path())).unwrap();
        assert_eq!(
            previous_identity(dir.path()).unwrap().map(|p| p.key_loads),
            Some(false)
        );
        let county = recording_county(vec![answer("k-new", 8)]).await;
        enroll(dir.path(), &county.url, "ABCD-EFGH").await.unwrap();
        let requests = county.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].replaces, None);

        let fresh = tempfile::tempdir().unwrap();
        assert_eq!(previous_identity(fresh.path()).unwrap(), None);
    }

    #[tokio::test]
    async fn a_retry_with_the_same_code_sends_the_very_same_request() {
        // The server took the first request but its answer was lost (here: a 502 from a
        // proxy); a real server answers the repeat with the original identity.
        let dir = tempfile::tempdir().unwrap();
        enrolled_as(dir.path(), "k-old", 7);
        let county = recording_county(vec![
            (
                StatusCode::BAD_GATEWAY,
                serde_json::to_string(&sync_protocol::ErrorBody::new(
                    ErrorCode::Internal,
                    "upstream went away",
                ))
                .unwrap(),
            ),
            answer("k-new", 7),
        ])
        .await;
        let err = enroll(dir.path(), &county.url, "ABCD-EFGH")
            .await
            .unwrap_err();
        assert!(
            matches!(err, EnrollError::ServerFailed { status: 502, .. }),
            "{err:?}"
        );
        assert_eq!(
            stored_identity(dir.path()).map(|i| i.kiosk_id),
            Some("k-old".to_owned()),
            "the booth keeps working as before"
        );
        let identity = enroll(dir.path(), &county.url, "abcd-efgh").await.unwrap();
        assert_eq!(identity.kiosk_id, "k-new");
        let requests = county.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0], requests[1], "same code, same key, same proofs");
    }

    #[tokio::test]
    async fn rate_limits_and_empty_codes_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let server = county(&[]).await;
        server.script(
            paths::ENROLL,
            Scripted::error(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited)
                .with_header("retry-after", "30"),
        );
        let err = enroll(dir.path(), &server.url(), "ABCD-EFGH")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "too many enrollment attempts at this server: wait 30 s and try again"
        );
        let err = enroll(dir.path(), &server.url(), " - ").await.unwrap_err();
        assert!(matches!(err, EnrollError::EmptyCode), "{err:?}");
        // Nothing is written for a URL that cannot work.
        let fresh = tempfile::tempdir().unwrap();
        let err = enroll(fresh.path(), "county", "ABCD-EFGH")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is not a server URL"), "{err}");
        assert!(!fresh.path().join(PENDING_DIR).exists());
    }
}
