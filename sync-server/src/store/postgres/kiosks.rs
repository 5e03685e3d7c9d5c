//! Enrollment codes, kiosks, revocation, last seen and heartbeats.
//!
//! Concurrency (SQLite has one writer; here transactions run side by side at READ COMMITTED):
//! an enrollment locks its code's row first (`FOR UPDATE`), so enrollments with one code run
//! one after the other and the later one sees the code used; then it takes the kiosk numbers'
//! advisory lock before it reads the public keys, the predecessor or the highest number, so
//! two enrollments with different codes cannot pick one number, enroll one key twice, or both
//! take over one predecessor.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_protocol::enroll::Village;
use sync_protocol::heartbeat::Heartbeat;
use sync_protocol::receipt::MAX_KIOSK_NUMBER;
use tokio_postgres::Row;

use super::PostgresStore;
use super::connection::{Feed, failed, lock_feed};
use super::filter::Filter;
use crate::domain::access::Scope;
use crate::domain::fleet::{self, HeartbeatRecord, KioskRecord};
use crate::store::paging::{self, Paged};
use crate::store::staff::{FleetCounts, FleetPage, FleetQuery, FleetSummary, FleetSummaryQuery};
use crate::store::values::{from_json, stored_now, to_json};
use crate::store::{
    EnrollClaim, EnrollRefusal, Enrollment, KioskRef, NewEnrollCode, Replacement, RevokeOutcome,
    StoreError, StoreResult, StoreStats,
};

const KIOSK_COLUMNS: &str = "kiosk_id, kiosk_number, public_key, county, township, village, \
     app_version, enrolled_at, revoked_at, last_seen_at, heartbeat, heartbeat_at, replaced_by";

/// How far a chain of replacements is followed; a longer one means hand-edited rows.
const MAX_REPLACEMENT_CHAIN: usize = 64;

/// A kiosk row read with [`KIOSK_COLUMNS`].
fn kiosk_record(row: &Row) -> StoreResult<KioskRecord> {
    let kiosk_id: String = row.get(0);
    let corrupt = |what: &str| StoreError::Corrupt {
        what: format!("kiosk {kiosk_id}: {what}"),
    };
    let public_key: [u8; 32] = row
        .get::<_, &[u8]>(2)
        .try_into()
        .map_err(|_| corrupt("public key length"))?;
    let kiosk_number = u32::try_from(row.get::<_, i64>(1)).map_err(|_| corrupt("kiosk number"))?;
    let heartbeat: Option<&str> = row.get(10);
    let heartbeat_at: Option<DateTime<Utc>> = row.get(11);
    let last_heartbeat = match (heartbeat, heartbeat_at) {
        (Some(text), Some(received_at)) => Some(HeartbeatRecord {
            heartbeat: from_json::<Heartbeat>("a heartbeat", text)?,
            received_at,
        }),
        _ => None,
    };
    Ok(KioskRecord {
        kiosk_number,
        public_key,
        village: Village {
            county: row.get(3),
            township: row.get(4),
            village: row.get(5),
        },
        app_version: row.get(6),
        enrolled_at: row.get(7),
        revoked_at: row.get(8),
        replaced_by: row.get(12),
        last_seen_at: row.get(9),
        last_heartbeat,
        kiosk_id,
    })
}

pub(super) async fn server_id(store: &PostgresStore) -> StoreResult<String> {
    let client = store.client().await?;
    client
        .query_opt("SELECT value FROM meta WHERE key = 'server_id'", &[])
        .await
        .map_err(failed("read the server id"))?
        .map(|row| row.get::<_, String>(0))
        .ok_or_else(|| StoreError::Corrupt {
            what: "the server id is missing".into(),
        })
}

pub(super) async fn create_enroll_code(
    store: &PostgresStore,
    code: NewEnrollCode,
) -> StoreResult<()> {
    let client = store.client().await?;
    create_code(&client, &code).await
}

pub(super) async fn enroll_kiosk(
    store: &PostgresStore,
    claim: EnrollClaim,
) -> StoreResult<Result<Enrollment, EnrollRefusal>> {
    let mut client = store.client().await?;
    let tx = client
        .transaction()
        .await
        .map_err(failed("start an enrollment"))?;
    let outcome = enroll(&tx, &claim).await?;
    // A refusal changed nothing: committing it or not is the same.
    tx.commit().await.map_err(failed("commit an enrollment"))?;
    Ok(outcome)
}

async fn enroll(
    tx: &impl GenericClient,
    claim: &EnrollClaim,
) -> StoreResult<Result<Enrollment, EnrollRefusal>> {
    // FOR UPDATE: a concurrent enrollment with this code waits here until this one ends, and
    // then reads the code as this one left it.
    let code = tx
        .query_opt(
            "SELECT county, township, village, expires_at, used_by FROM enroll_codes
             WHERE code_key = $1 FOR UPDATE",
            &[&claim.code_key],
        )
        .await
        .map_err(failed("look up an enrollment code"))?;
    let Some(code) = code else {
        return Ok(Err(EnrollRefusal::UnknownCode));
    };
    let village = Village {
        county: code.get(0),
        township: code.get(1),
        village: code.get(2),
    };
    let expires_at: DateTime<Utc> = code.get(3);
    let used_by: Option<String> = code.get(4);
    // Before expiry: a booth retrying after a lost answer may come back hours later.
    if let Some(used_by) = used_by {
        let earlier = find(tx, &KioskRef::Id(used_by)).await?;
        return Ok(match earlier {
            Some(kiosk) if kiosk.public_key == claim.public_key => Ok(Enrollment::Repeated(kiosk)),
            _ => Err(EnrollRefusal::AlreadyUsed),
        });
    }
    if expires_at <= stored_now(claim.now) {
        return Ok(Err(EnrollRefusal::Expired(expires_at)));
    }
    lock_enrollment(tx, claim.replaces.as_ref()).await?;
    let holder = tx
        .query_opt(
            "SELECT kiosk_id FROM kiosks WHERE public_key = $1",
            &[&claim.public_key.as_slice()],
        )
        .await
        .map_err(failed("look up a public key"))?;
    if let Some(holder) = holder {
        return Ok(Err(EnrollRefusal::KeyAlreadyEnrolled(holder.get(0))));
    }
    let handed_over = match &claim.replaces {
        None => None,
        Some(replacement) => match predecessor(tx, replacement).await? {
            Ok(predecessor) => predecessor,
            Err(refusal) => return Ok(Err(refusal)),
        },
    };
    let number = match &handed_over {
        Some(predecessor) => i64::from(predecessor.kiosk_number),
        None => match next_number(tx).await? {
            Some(number) => number,
            None => return Ok(Err(EnrollRefusal::FleetFull)),
        },
    };
    let now = stored_now(claim.now);
    // Conditional, like SQLite's: the row lock above already makes it the only claim.
    let claimed = tx
        .execute(
            "UPDATE enroll_codes SET used_at = $2, used_by = $3
             WHERE code_key = $1 AND used_at IS NULL",
            &[&claim.code_key, &now, &claim.kiosk_id],
        )
        .await
        .map_err(failed("claim an enrollment code"))?;
    if claimed != 1 {
        return Ok(Err(EnrollRefusal::AlreadyUsed));
    }
    if let Some(predecessor) = &handed_over {
        // Retired first: the number has one active holder at every step.
        tx.execute(
            "UPDATE kiosks SET revoked_at = $2, replaced_by = $3
             WHERE kiosk_id = $1 AND revoked_at IS NULL",
            &[&predecessor.kiosk_id, &now, &claim.kiosk_id],
        )
        .await
        .map_err(failed("retire a replaced kiosk"))?;
    }
    tx.execute(
        "INSERT INTO kiosks (kiosk_id, kiosk_number, public_key, county, township, village,
                             app_version, enrolled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &claim.kiosk_id,
            &number,
            &claim.public_key.as_slice(),
            &village.county,
            &village.township,
            &village.village,
            &claim.app_version,
            &now,
        ],
    )
    .await
    .map_err(failed("create a kiosk"))?;
    if let Some(predecessor) = &handed_over {
        hand_over(tx, &predecessor.kiosk_id, &claim.kiosk_id).await?;
    }
    let kiosk = find(tx, &KioskRef::Id(claim.kiosk_id.clone()))
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            what: "a kiosk vanished right after its creation".into(),
        })?;
    Ok(Ok(match handed_over {
        Some(predecessor) => Enrollment::Replacement {
            kiosk,
            replaced: predecessor.kiosk_id,
        },
        None => Enrollment::New(kiosk),
    }))
}

/// Takes the locks an enrollment holds to its end: the statuses feed of the number it may
/// take over (its entries move to the new id, so no change of that number is in flight while
/// they do), then the kiosk numbers' lock, in the order [`Feed`] sets.
async fn lock_enrollment(
    tx: &impl GenericClient,
    replaces: Option<&Replacement>,
) -> StoreResult<()> {
    if let Some(replacement) = replaces {
        // A kiosk's number never changes, and a chain of replacements keeps one number.
        let number = tx
            .query_opt(
                "SELECT kiosk_number FROM kiosks WHERE kiosk_id = $1",
                &[&replacement.kiosk_id],
            )
            .await
            .map_err(failed("look up a replaced kiosk"))?;
        if let Some(number) = number {
            lock_feed(tx, Feed::Statuses(number.get(0))).await?;
        }
    }
    lock_feed(tx, Feed::KioskNumbers).await
}

/// The next kiosk number, `None` when every number is taken (call it under the kiosk
/// numbers' lock).
async fn next_number(tx: &impl GenericClient) -> StoreResult<Option<i64>> {
    // Numbers are never reused, not even a revoked kiosk's: its receipts stay unique.
    let number: i64 = tx
        .query_one("SELECT COALESCE(MAX(kiosk_number), 0) + 1 FROM kiosks", &[])
        .await
        .map_err(failed("pick a kiosk number"))?
        .get(0);
    Ok((number <= i64::from(MAX_KIOSK_NUMBER)).then_some(number))
}

/// Moves the replaced kiosk's submissions and statuses feed to its successor. The booth's
/// statuses feed starts over under its new id and so delivers every change of the
/// submissions it made as the old kiosk again. The submissions keep their own village.
async fn hand_over(tx: &impl GenericClient, from: &str, to: &str) -> StoreResult<()> {
    for (sql, operation) in [
        (
            "UPDATE submissions SET kiosk_id = $2 WHERE kiosk_id = $1",
            "hand submissions to the new kiosk",
        ),
        (
            "UPDATE status_changes SET kiosk_id = $2 WHERE kiosk_id = $1",
            "hand the statuses feed to the new kiosk",
        ),
    ] {
        tx.execute(sql, &[&from, &to])
            .await
            .map_err(failed(operation))?;
    }
    Ok(())
}

/// The kiosk whose number the enrolling booth takes over, if any (rules: [`Replacement`]).
async fn predecessor(
    tx: &impl GenericClient,
    replacement: &Replacement,
) -> StoreResult<Result<Option<KioskRecord>, EnrollRefusal>> {
    let Some(proven) = find(tx, &KioskRef::Id(replacement.kiosk_id.clone())).await? else {
        return Ok(Ok(None));
    };
    if replacement.proven_key != Some(proven.public_key) {
        return Ok(Err(EnrollRefusal::ReplacementNotProven(proven.kiosk_id)));
    }
    if !proven.is_revoked() {
        return Ok(Ok(Some(proven)));
    }
    let mut current = proven;
    for _ in 0..MAX_REPLACEMENT_CHAIN {
        let Some(successor) = current.replaced_by.clone() else {
            // Revoked by staff.
            return Ok(Ok(None));
        };
        let Some(next) = find(tx, &KioskRef::Id(successor)).await? else {
            return Ok(Ok(None));
        };
        if !next.is_revoked() {
            let never_used = next.last_seen_at.is_none();
            return Ok(Ok(never_used.then_some(next)));
        }
        current = next;
    }
    Ok(Ok(None))
}

pub(super) async fn find_kiosk(
    store: &PostgresStore,
    kiosk: &KioskRef,
) -> StoreResult<Option<KioskRecord>> {
    let client = store.client().await?;
    find(&client, kiosk).await
}

pub(super) async fn list_kiosks(store: &PostgresStore) -> StoreResult<Vec<KioskRecord>> {
    let client = store.client().await?;
    list(&client).await
}

pub(super) async fn revoke_kiosk(
    store: &PostgresStore,
    kiosk: &KioskRef,
    now: DateTime<Utc>,
) -> StoreResult<RevokeOutcome> {
    let client = store.client().await?;
    revoke(&client, kiosk, now).await
}

pub(super) async fn touch_kiosk(
    store: &PostgresStore,
    kiosk_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let client = store.client().await?;
    // GREATEST (which skips a NULL): a slow request finishing late must not move last-seen
    // backwards.
    client
        .execute(
            "UPDATE kiosks SET last_seen_at = GREATEST(last_seen_at, $2) WHERE kiosk_id = $1",
            &[&kiosk_id, &stored_now(now)],
        )
        .await
        .map_err(failed("record when a kiosk was seen"))?;
    Ok(())
}

/// Keeps the heartbeat; when its update report differs from the last one, settles the
/// rollouts (an automatic pause or completion) in the same transaction.
pub(super) async fn record_heartbeat(
    store: &PostgresStore,
    kiosk_id: &str,
    heartbeat: &Heartbeat,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut client = store.client().await?;
    let tx = client
        .transaction()
        .await
        .map_err(failed("start recording a heartbeat"))?;
    // FOR UPDATE: two heartbeats of one kiosk compare with each other's report in turn, as
    // under SQLite's single writer, so a change of report is settled once.
    let before = tx
        .query_opt(
            "SELECT heartbeat FROM kiosks WHERE kiosk_id = $1 FOR UPDATE",
            &[&kiosk_id],
        )
        .await
        .map_err(failed("record a heartbeat"))?
        .and_then(|row| row.get::<_, Option<String>>(0))
        .map(|text| from_json::<Heartbeat>("a heartbeat", &text))
        .transpose()?
        .and_then(|last| last.update);
    let now = stored_now(now);
    let alerts = fleet::heartbeat_alerts(heartbeat);
    tx.execute(
        "UPDATE kiosks SET heartbeat = $2, heartbeat_at = $3,
                last_seen_at = GREATEST(last_seen_at, $3),
                paper_alert = $4, queue_stuck = $5, quarantined = $6
         WHERE kiosk_id = $1",
        &[
            &kiosk_id,
            &to_json(heartbeat)?,
            &now,
            &alerts.paper.map(|alert| alert.kind()),
            &alerts.queue_stuck,
            &i64::try_from(alerts.quarantined).unwrap_or(i64::MAX),
        ],
    )
    .await
    .map_err(failed("record a heartbeat"))?;
    if heartbeat.update.is_some() && heartbeat.update != before {
        super::releases::settle_rollouts(&tx, now).await?;
    }
    tx.commit().await.map_err(failed("commit a heartbeat"))
}

pub(super) async fn stats(store: &PostgresStore) -> StoreResult<StoreStats> {
    let client = store.client().await?;
    let kiosks = client
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE revoked_at IS NULL),
                    COUNT(*) FILTER (WHERE revoked_at IS NOT NULL)
             FROM kiosks",
            &[],
        )
        .await
        .map_err(failed("count kiosks"))?;
    let (active, revoked): (i64, i64) = (kiosks.get(0), kiosks.get(1));
    let counts = client
        .query(
            // Cases only. Supplements are taken off rather than filtered out: the first
            // count reads only the status index, the second only the few supplements' rows.
            "SELECT a.status, a.n - COALESCE(p.n, 0)
             FROM (SELECT status, COUNT(*) AS n FROM submissions GROUP BY status) a
             LEFT JOIN (SELECT status, COUNT(*) AS n FROM submissions
                        WHERE supplement_to IS NOT NULL GROUP BY status) p USING (status)
             WHERE a.n > COALESCE(p.n, 0)
             ORDER BY a.status",
            &[],
        )
        .await
        .map_err(failed("count submissions"))?;
    Ok(StoreStats {
        kiosks_active: active.unsigned_abs(),
        kiosks_revoked: revoked.unsigned_abs(),
        submissions_by_status: counts
            .iter()
            .map(|row| {
                let status = super::submissions::parse_status(row.get(0))?;
                Ok((status, row.get::<_, i64>(1).unsigned_abs()))
            })
            .collect::<StoreResult<_>>()?,
    })
}

// ── shared with the other modules (staff, releases) ──

/// By number: the number's active kiosk, else the one enrolled last.
pub(super) async fn find(
    client: &impl GenericClient,
    kiosk: &KioskRef,
) -> StoreResult<Option<KioskRecord>> {
    let row = match kiosk {
        KioskRef::Id(id) => {
            client
                .query_opt(
                    &format!("SELECT {KIOSK_COLUMNS} FROM kiosks WHERE kiosk_id = $1"),
                    &[id],
                )
                .await
        }
        // The number's active holder, else its latest.
        KioskRef::Number(number) => {
            client
                .query_opt(
                    &format!(
                        "SELECT {KIOSK_COLUMNS} FROM kiosks WHERE kiosk_number = $1
                     ORDER BY revoked_at IS NULL DESC, enrolled_at DESC, row_seq DESC LIMIT 1"
                    ),
                    &[&i64::from(*number)],
                )
                .await
        }
    };
    row.map_err(failed("look up a kiosk"))?
        .as_ref()
        .map(kiosk_record)
        .transpose()
}

/// All kiosks, by number (a replaced kiosk before the one that took its number).
pub(super) async fn list(client: &impl GenericClient) -> StoreResult<Vec<KioskRecord>> {
    kiosks_where(
        client,
        &Filter::default(),
        "ORDER BY kiosk_number, enrolled_at, row_seq",
        "list kiosks",
    )
    .await
}

/// The kiosks in `query.scope`: one page by kiosk number; SQLite's in PostgreSQL's SQL.
pub(super) async fn fleet_page(
    client: &impl GenericClient,
    query: &FleetQuery,
) -> StoreResult<FleetPage> {
    let numbers = page_numbers(client, query).await?;
    let kiosks = match (numbers.items.first(), numbers.items.last()) {
        (Some(first), Some(last)) => {
            let mut filter = scope_filter(&query.scope);
            let (first, last) = (
                filter.bind(i64::from(*first)),
                filter.bind(i64::from(*last)),
            );
            filter.add(format!("kiosk_number BETWEEN {first} AND {last}"));
            kiosks_where(
                client,
                &filter,
                "ORDER BY kiosk_number, enrolled_at, row_seq",
                "list kiosks",
            )
            .await?
        }
        _ => Vec::new(),
    };
    Ok(FleetPage {
        kiosks,
        previous: numbers.previous,
        next: numbers.next,
    })
}

/// The counts of `query.scope`'s kiosks and its first alerting ones (see [`FleetSummary`]).
pub(super) async fn fleet_summary(
    client: &impl GenericClient,
    query: &FleetSummaryQuery,
) -> StoreResult<FleetSummary> {
    Ok(FleetSummary {
        counts: fleet_counts(client, query).await?,
        alerting: alerting(client, query).await?,
    })
}

fn scope_filter(scope: &Scope) -> Filter {
    let (county, township, village) = scope.parts();
    let mut filter = Filter::default();
    filter.equal("county", county.map(str::to_owned));
    filter.equal("township", township.map(str::to_owned));
    filter.equal("village", village.map(str::to_owned));
    filter
}

/// The kiosk numbers of the page (a replaced kiosk shares its successor's: a page holds
/// whole numbers, so the key is the number alone).
async fn page_numbers(
    client: &impl GenericClient,
    query: &FleetQuery,
) -> StoreResult<Paged<u32, u32>> {
    let mut filter = scope_filter(&query.scope);
    let order = filter.seek(&["kiosk_number"], false, &query.page, |number| {
        vec![Box::new(i64::from(*number))]
    });
    let rows = client
        .query(
            &format!(
                "SELECT DISTINCT kiosk_number FROM kiosks {} ORDER BY {order} LIMIT {}",
                filter.clause(),
                u64::from(query.limit.max(1)) + 1
            ),
            &filter.params(),
        )
        .await
        .map_err(failed("list kiosks"))?;
    let keyed = rows
        .iter()
        .map(|row| {
            let number: i64 = row.get(0);
            let number = u32::try_from(number).map_err(|_| StoreError::Corrupt {
                what: format!("kiosk number {number}"),
            })?;
            Ok((number, number))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(paging::assemble(
        keyed,
        &query.page,
        query.limit.max(1) as usize,
    ))
}

async fn kiosks_where(
    client: &impl GenericClient,
    filter: &Filter,
    tail: &str,
    operation: &'static str,
) -> StoreResult<Vec<KioskRecord>> {
    client
        .query(
            &format!(
                "SELECT {KIOSK_COLUMNS} FROM kiosks {} {tail}",
                filter.clause()
            ),
            &filter.params(),
        )
        .await
        .map_err(failed(operation))?
        .iter()
        .map(kiosk_record)
        .collect()
}

/// The alert rules of [`fleet::alerts`] over the columns, as SQL conditions on an active
/// kiosk, with their parameters bound in `filter`: offline, paper out, paper near its end,
/// queue not draining, quarantined.
fn alert_conditions(filter: &mut Filter, now: DateTime<Utc>) -> [String; 5] {
    let offline_before = filter.bind(now - fleet::OFFLINE_ALERT_AFTER);
    let online_since = filter.bind(now - fleet::ONLINE_WITHIN);
    [
        format!("COALESCE(last_seen_at, enrolled_at) < {offline_before}"),
        "paper_alert = 'paper_out'".to_owned(),
        "paper_alert = 'paper_near_end'".to_owned(),
        format!("queue_stuck AND last_seen_at >= {online_since}"),
        "quarantined > 0".to_owned(),
    ]
}

async fn fleet_counts(
    client: &impl GenericClient,
    query: &FleetSummaryQuery,
) -> StoreResult<FleetCounts> {
    let mut filter = scope_filter(&query.scope);
    let [offline, paper_out, near_end, stuck, quarantined] =
        alert_conditions(&mut filter, query.now);
    let active =
        |condition: &str| format!("COUNT(*) FILTER (WHERE revoked_at IS NULL AND {condition})");
    let row = client
        .query_one(
            &format!(
                "SELECT COUNT(*) FILTER (WHERE revoked_at IS NULL),
                        COUNT(*) FILTER (WHERE revoked_at IS NOT NULL), {}, {}, {}, {}, {}
                 FROM kiosks {}",
                active(&offline),
                active(&paper_out),
                active(&near_end),
                active(&stuck),
                active(&quarantined),
                filter.clause()
            ),
            &filter.params(),
        )
        .await
        .map_err(failed("count kiosks"))?;
    let count = |index: usize| row.get::<_, i64>(index).unsigned_abs();
    Ok(FleetCounts {
        active: count(0),
        retired: count(1),
        offline: count(2),
        paper_out: count(3),
        paper_near_end: count(4),
        queue_not_draining: count(5),
        quarantined: count(6),
    })
}

async fn alerting(
    client: &impl GenericClient,
    query: &FleetSummaryQuery,
) -> StoreResult<Vec<KioskRecord>> {
    if query.alert_limit == 0 {
        return Ok(Vec::new());
    }
    let mut filter = scope_filter(&query.scope);
    let [offline, paper_out, near_end, stuck, quarantined] =
        alert_conditions(&mut filter, query.now);
    filter.add("revoked_at IS NULL");
    filter.add(format!(
        "({offline} OR {paper_out} OR {near_end} OR {stuck} OR {quarantined})"
    ));
    kiosks_where(
        client,
        &filter,
        &format!(
            "ORDER BY ({offline} OR {paper_out} OR {stuck}) DESC, kiosk_number LIMIT {}",
            query.alert_limit
        ),
        "list alerting kiosks",
    )
    .await
}

/// Revokes the number's active kiosk (inside the caller's transaction).
pub(super) async fn revoke(
    client: &impl GenericClient,
    kiosk: &KioskRef,
    now: DateTime<Utc>,
) -> StoreResult<RevokeOutcome> {
    let Some(found) = find(client, kiosk).await? else {
        return Ok(RevokeOutcome::NotFound);
    };
    if found.is_revoked() {
        return Ok(RevokeOutcome::AlreadyRevoked(found));
    }
    let now = stored_now(now);
    let revoked = client
        .execute(
            "UPDATE kiosks SET revoked_at = $2 WHERE kiosk_id = $1 AND revoked_at IS NULL",
            &[&found.kiosk_id, &now],
        )
        .await
        .map_err(failed("revoke a kiosk"))?;
    if revoked == 1 {
        return Ok(RevokeOutcome::Revoked(KioskRecord {
            revoked_at: Some(now),
            ..found
        }));
    }
    // Revoked (or replaced) by a concurrent call since the look-up: the first revocation
    // stands.
    Ok(match find(client, &KioskRef::Id(found.kiosk_id)).await? {
        Some(kiosk) => RevokeOutcome::AlreadyRevoked(kiosk),
        None => RevokeOutcome::NotFound,
    })
}

/// Stores a new enrollment code (inside the caller's transaction).
pub(super) async fn create_code(
    client: &impl GenericClient,
    code: &NewEnrollCode,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO enroll_codes (code_key, county, township, village, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &code.code_key,
                &code.village.county,
                &code.village.township,
                &code.village.village,
                &stored_now(code.created_at),
                &stored_now(code.expires_at),
            ],
        )
        .await
        .map_err(failed("store an enrollment code"))?;
    Ok(())
}
