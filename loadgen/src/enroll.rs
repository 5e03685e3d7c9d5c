//! Bulk enrollment straight into the store, and finding an enrolled fleet again.
//!
//! Each booth gets a one-time code and is enrolled with it through the `Store` trait, as
//! `POST /api/v1/enroll` would after checking the booth's proof: the same rows, the same kiosk
//! numbering, without an HTTP route a production server would have to open. Codes are issued
//! here and used at once; their key is random (no code is ever typed).
//!
//! Booths whose derived key is already enrolled are found by their public key and kept, so a
//! second run with the same seed drives the same kiosks. The store's writer batches
//! concurrent calls into one commit, so enrollment runs `concurrency` booths at a time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use sync_protocol::enroll::Village;
use sync_server::domain::fleet::KioskRecord;
use sync_server::store::{EnrollClaim, EnrollRefusal, NewEnrollCode, Store, StoreError};

use crate::keys::booth_key;

/// The app version simulated booths enroll and report with.
pub const APP_VERSION: &str = "loadgen";

/// Villages per township in the hierarchy simulated booths are enrolled under.
const VILLAGES_PER_TOWNSHIP: u32 = 20;

/// One simulated booth as the server knows it.
#[derive(Clone)]
pub struct BoothIdentity {
    pub index: u32,
    pub key: SigningKey,
    pub kiosk_id: String,
    pub kiosk_number: u32,
    pub village: String,
    /// The `kiosk_seq` of this booth's next submission: past everything the store holds.
    pub next_seq: u64,
}

impl std::fmt::Debug for BoothIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoothIdentity")
            .field("index", &self.index)
            .field("kiosk_id", &self.kiosk_id)
            .field("kiosk_number", &self.kiosk_number)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("booth {index}: the store refused its enrollment: {refusal}")]
    Refused {
        index: u32,
        #[source]
        refusal: EnrollRefusal,
    },
    #[error(
        "booth {index}'s key is enrolled as kiosk {kiosk_id}, which is revoked: run with another --seed"
    )]
    Revoked { index: u32, kiosk_id: String },
    #[error("the system's random number generator failed")]
    Random(#[source] getrandom::Error),
}

/// What enrollment did.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EnrollFigures {
    /// Booths whose key was enrolled by an earlier run.
    pub already_enrolled: u32,
    pub enrolled_now: u32,
    /// The enrollment itself (codes and claims), not the lookups around it.
    pub seconds: f64,
    pub booths_per_second: f64,
    /// Listing the fleet to find the booths already enrolled.
    pub lookup_seconds: f64,
}

/// The village of booth `index`: one booth per village, twenty villages per township.
pub fn village_of(index: u32) -> Village {
    Village {
        county: "压测县".into(),
        township: format!("压测{:04}乡", index / VILLAGES_PER_TOWNSHIP),
        village: format!("压测{index:05}村"),
    }
}

/// Booths `0..count` under `seed`, enrolled where they are not yet, `concurrency` store calls
/// at a time.
pub async fn enroll_fleet(
    store: &dyn Store,
    seed: &str,
    count: u32,
    concurrency: usize,
) -> Result<(Vec<BoothIdentity>, EnrollFigures), EnrollError> {
    let looking = Instant::now();
    let enrolled: HashMap<[u8; 32], KioskRecord> = store
        .list_kiosks()
        .await?
        .into_iter()
        .map(|kiosk| (kiosk.public_key, kiosk))
        .collect();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for index in 0..count {
        let key = booth_key(seed, index);
        match enrolled.get(&key.verifying_key().to_bytes()) {
            Some(kiosk) if kiosk.is_revoked() => {
                return Err(EnrollError::Revoked {
                    index,
                    kiosk_id: kiosk.kiosk_id.clone(),
                });
            }
            Some(kiosk) => found.push((index, key, kiosk.clone())),
            None => missing.push((index, key)),
        }
    }
    let lookup = looking.elapsed();

    let enrolling = Instant::now();
    let already_enrolled = found.len() as u32;
    let enrolled_now = missing.len() as u32;
    let new: Vec<(u32, SigningKey, KioskRecord)> = stream::iter(missing)
        .map(|(index, key)| async move {
            let kiosk = enroll_one(store, index, &key, Utc::now()).await?;
            Ok::<_, EnrollError>((index, key, kiosk))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let took = enrolling.elapsed();

    let mut booths: Vec<BoothIdentity> = found
        .into_iter()
        .map(|(index, key, kiosk)| identity(index, key, kiosk))
        .collect();
    booths.extend(
        new.into_iter()
            .map(|(index, key, kiosk)| identity(index, key, kiosk)),
    );
    booths.sort_by_key(|booth| booth.index);
    let figures = EnrollFigures {
        already_enrolled,
        enrolled_now,
        seconds: took.as_secs_f64(),
        booths_per_second: if enrolled_now == 0 {
            0.0
        } else {
            f64::from(enrolled_now) / took.as_secs_f64().max(f64::MIN_POSITIVE)
        },
        lookup_seconds: lookup.as_secs_f64(),
    };
    Ok((booths, figures))
}

/// A booth as enrolled; its next sequence number is found with its statuses
/// ([`crate::cursors::resume`]).
fn identity(index: u32, key: SigningKey, kiosk: KioskRecord) -> BoothIdentity {
    BoothIdentity {
        index,
        key,
        kiosk_id: kiosk.kiosk_id,
        kiosk_number: kiosk.kiosk_number,
        village: kiosk.village.village,
        next_seq: 1,
    }
}

/// A code for the booth's village, claimed at once with the booth's key.
async fn enroll_one(
    store: &dyn Store,
    index: u32,
    key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<KioskRecord, EnrollError> {
    let code_key = random_code_key()?;
    store
        .create_enroll_code(NewEnrollCode {
            code_key: code_key.clone(),
            village: village_of(index),
            created_at: now,
            expires_at: now + Duration::from_secs(3600),
        })
        .await?;
    // As the route keeps it: whole milliseconds.
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let enrollment = store
        .enroll_kiosk(EnrollClaim {
            code_key,
            kiosk_id: uuid::Uuid::now_v7().to_string(),
            public_key: key.verifying_key().to_bytes(),
            app_version: APP_VERSION.into(),
            now,
            replaces: None,
        })
        .await?
        .map_err(|refusal| EnrollError::Refused { index, refusal })?;
    Ok(enrollment.into_kiosk())
}

/// 256 random bits in the code key's shape (64 hex digits): unguessable like a real code's
/// key, and never one a typed code maps to, which needs the server's code secret.
fn random_code_key() -> Result<String, EnrollError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(EnrollError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
