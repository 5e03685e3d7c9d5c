//! Enrollment codes, kiosks, revocation, last seen and heartbeats.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_protocol::enroll::Village;
use sync_protocol::heartbeat::Heartbeat;
use sync_protocol::receipt::MAX_KIOSK_NUMBER;

use super::connection::{failed, from_json, millis, time, to_json};
use super::filter::Filter;
use crate::domain::access::Scope;
use crate::domain::fleet::{self, HeartbeatRecord, KioskRecord};
use crate::store::paging::{self, Paged};
use crate::store::staff::{FleetCounts, FleetPage, FleetQuery, FleetSummary, FleetSummaryQuery};
use crate::store::{
    EnrollClaim, EnrollRefusal, Enrollment, KioskRef, NewEnrollCode, Replacement, RevokeOutcome,
    StoreError, StoreResult,
};

const KIOSK_COLUMNS: &str = "kiosk_id, kiosk_number, public_key, county, township, village, \
     app_version, enrolled_at, revoked_at, last_seen_at, heartbeat, heartbeat_at, replaced_by";

/// How far a chain of replacements is followed; a longer one means hand-edited rows.
const MAX_REPLACEMENT_CHAIN: usize = 64;

/// A kiosk row as SQLite gives it, before the conversions that can find it corrupt.
struct KioskRow {
    kiosk_id: String,
    kiosk_number: i64,
    public_key: Vec<u8>,
    village: Village,
    app_version: String,
    enrolled_at: i64,
    revoked_at: Option<i64>,
    last_seen_at: Option<i64>,
    heartbeat: Option<String>,
    heartbeat_at: Option<i64>,
    replaced_by: Option<String>,
}

fn kiosk_row(row: &Row<'_>) -> rusqlite::Result<KioskRow> {
    Ok(KioskRow {
        kiosk_id: row.get(0)?,
        kiosk_number: row.get(1)?,
        public_key: row.get(2)?,
        village: Village {
            county: row.get(3)?,
            township: row.get(4)?,
            village: row.get(5)?,
        },
        app_version: row.get(6)?,
        enrolled_at: row.get(7)?,
        revoked_at: row.get(8)?,
        last_seen_at: row.get(9)?,
        heartbeat: row.get(10)?,
        heartbeat_at: row.get(11)?,
        replaced_by: row.get(12)?,
    })
}

impl KioskRow {
    fn into_record(self) -> StoreResult<KioskRecord> {
        let corrupt = |what: &str| StoreError::Corrupt {
            what: format!("kiosk {}: {what}", self.kiosk_id),
        };
        let public_key: [u8; 32] = self
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("public key length"))?;
        let kiosk_number = u32::try_from(self.kiosk_number).map_err(|_| corrupt("kiosk number"))?;
        let last_heartbeat = match (self.heartbeat.as_deref(), self.heartbeat_at) {
            (Some(text), Some(at)) => Some(HeartbeatRecord {
                heartbeat: from_json::<Heartbeat>("a heartbeat", text)?,
                received_at: time(at)?,
            }),
            _ => None,
        };
        Ok(KioskRecord {
            kiosk_number,
            public_key,
            village: self.village,
            app_version: self.app_version,
            enrolled_at: time(self.enrolled_at)?,
            revoked_at: self.revoked_at.map(time).transpose()?,
            replaced_by: self.replaced_by,
            last_seen_at: self.last_seen_at.map(time).transpose()?,
            last_heartbeat,
            kiosk_id: self.kiosk_id,
        })
    }
}

pub(super) fn create_enroll_code(conn: &Connection, code: &NewEnrollCode) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO enroll_codes (code_key, county, township, village, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            code.code_key,
            code.village.county,
            code.village.township,
            code.village.village,
            millis(code.created_at),
            millis(code.expires_at),
        ],
    )
    .map_err(failed("store an enrollment code"))?;
    Ok(())
}

pub(super) fn enroll(
    conn: &Connection,
    claim: &EnrollClaim,
) -> StoreResult<Result<Enrollment, EnrollRefusal>> {
    let code = conn
        .query_row(
            "SELECT county, township, village, expires_at, used_by FROM enroll_codes
             WHERE code_key = ?1",
            [&claim.code_key],
            |row| {
                Ok((
                    Village {
                        county: row.get(0)?,
                        township: row.get(1)?,
                        village: row.get(2)?,
                    },
                    row.get::<_, i64>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()
        .map_err(failed("look up an enrollment code"))?;
    let Some((village, expires_at, used_by)) = code else {
        return Ok(Err(EnrollRefusal::UnknownCode));
    };
    // Before expiry: a booth retrying after a lost answer may come back hours later.
    if let Some(used_by) = used_by {
        let earlier = find(conn, &KioskRef::Id(used_by))?;
        return Ok(match earlier {
            Some(kiosk) if kiosk.public_key == claim.public_key => Ok(Enrollment::Repeated(kiosk)),
            _ => Err(EnrollRefusal::AlreadyUsed),
        });
    }
    if expires_at <= millis(claim.now) {
        return Ok(Err(EnrollRefusal::Expired(time(expires_at)?)));
    }
    let holder: Option<String> = conn
        .query_row(
            "SELECT kiosk_id FROM kiosks WHERE public_key = ?1",
            [claim.public_key.as_slice()],
            |row| row.get(0),
        )
        .optional()
        .map_err(failed("look up a public key"))?;
    if let Some(kiosk_id) = holder {
        return Ok(Err(EnrollRefusal::KeyAlreadyEnrolled(kiosk_id)));
    }
    let handed_over = match &claim.replaces {
        None => None,
        Some(replacement) => match predecessor(conn, replacement)? {
            Ok(predecessor) => predecessor,
            Err(refusal) => return Ok(Err(refusal)),
        },
    };
    let number = match &handed_over {
        Some(predecessor) => i64::from(predecessor.kiosk_number),
        None => {
            // Numbers are never reused, not even a revoked kiosk's: its receipts stay unique.
            let number: i64 = conn
                .query_row(
                    "SELECT COALESCE(MAX(kiosk_number), 0) + 1 FROM kiosks",
                    [],
                    |row| row.get(0),
                )
                .map_err(failed("pick a kiosk number"))?;
            if number > i64::from(MAX_KIOSK_NUMBER) {
                return Ok(Err(EnrollRefusal::FleetFull));
            }
            number
        }
    };
    // The claim is conditional, so even a backend without a single writer cannot use a code
    // twice.
    let claimed = conn
        .execute(
            "UPDATE enroll_codes SET used_at = ?2, used_by = ?3
             WHERE code_key = ?1 AND used_at IS NULL",
            params![claim.code_key, millis(claim.now), claim.kiosk_id],
        )
        .map_err(failed("claim an enrollment code"))?;
    if claimed != 1 {
        return Ok(Err(EnrollRefusal::AlreadyUsed));
    }
    if let Some(predecessor) = &handed_over {
        // Retired first: the number has one active holder at every step.
        conn.execute(
            "UPDATE kiosks SET revoked_at = ?2, replaced_by = ?3
             WHERE kiosk_id = ?1 AND revoked_at IS NULL",
            params![predecessor.kiosk_id, millis(claim.now), claim.kiosk_id],
        )
        .map_err(failed("retire a replaced kiosk"))?;
    }
    conn.execute(
        "INSERT INTO kiosks (kiosk_id, kiosk_number, public_key, county, township, village,
                             app_version, enrolled_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            claim.kiosk_id,
            number,
            claim.public_key.as_slice(),
            village.county,
            village.township,
            village.village,
            claim.app_version,
            millis(claim.now),
        ],
    )
    .map_err(failed("create a kiosk"))?;
    if let Some(predecessor) = &handed_over {
        // The booth's statuses feed starts over under its new id and so delivers every
        // change of the submissions it made as the old kiosk again.
        for (table, operation) in [
            ("submissions", "hand submissions to the new kiosk"),
            ("status_changes", "hand the statuses feed to the new kiosk"),
        ] {
            conn.execute(
                &format!("UPDATE {table} SET kiosk_id = ?2 WHERE kiosk_id = ?1"),
                params![predecessor.kiosk_id, claim.kiosk_id],
            )
            .map_err(failed(operation))?;
        }
    }
    let kiosk =
        find(conn, &KioskRef::Id(claim.kiosk_id.clone()))?.ok_or_else(|| StoreError::Corrupt {
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

/// The kiosk whose number the enrolling booth takes over, if any (rules: [`Replacement`]).
fn predecessor(
    conn: &Connection,
    replacement: &Replacement,
) -> StoreResult<Result<Option<KioskRecord>, EnrollRefusal>> {
    let Some(proven) = find(conn, &KioskRef::Id(replacement.kiosk_id.clone()))? else {
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
        let Some(next) = find(conn, &KioskRef::Id(successor))? else {
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

pub(super) fn find(conn: &Connection, kiosk: &KioskRef) -> StoreResult<Option<KioskRecord>> {
    // Every signed request runs one of these: the SQL is built once and the statement kept
    // prepared on the connection.
    static BY_ID: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {KIOSK_COLUMNS} FROM kiosks WHERE kiosk_id = ?1"));
    // The number's active holder, else its latest.
    static BY_NUMBER: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {KIOSK_COLUMNS} FROM kiosks WHERE kiosk_number = ?1
             ORDER BY revoked_at IS NULL DESC, enrolled_at DESC, rowid DESC LIMIT 1"
        )
    });
    let row = match kiosk {
        KioskRef::Id(id) => conn
            .prepare_cached(&BY_ID)
            .and_then(|mut statement| statement.query_row([id], kiosk_row)),
        KioskRef::Number(number) => conn
            .prepare_cached(&BY_NUMBER)
            .and_then(|mut statement| statement.query_row([number], kiosk_row)),
    };
    row.optional()
        .map_err(failed("look up a kiosk"))?
        .map(KioskRow::into_record)
        .transpose()
}

pub(super) fn list(conn: &Connection) -> StoreResult<Vec<KioskRecord>> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT {KIOSK_COLUMNS} FROM kiosks ORDER BY kiosk_number, enrolled_at, rowid"
        ))
        .map_err(failed("list kiosks"))?;
    let rows = statement
        .query_map([], kiosk_row)
        .map_err(failed("list kiosks"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("list kiosks"))?;
    rows.into_iter().map(KioskRow::into_record).collect()
}

/// The kiosks in `query.scope`: one page by kiosk number.
pub(super) fn fleet_page(conn: &Connection, query: &FleetQuery) -> StoreResult<FleetPage> {
    let numbers = page_numbers(conn, query)?;
    let kiosks = match (numbers.items.first(), numbers.items.last()) {
        (Some(first), Some(last)) => {
            let mut filter = scope_filter(&query.scope);
            let (first, last) = (
                filter.bind(i64::from(*first)),
                filter.bind(i64::from(*last)),
            );
            filter.add(format!("kiosk_number BETWEEN {first} AND {last}"));
            kiosks_where(
                conn,
                &filter,
                "ORDER BY kiosk_number, enrolled_at, rowid",
                "list kiosks",
            )?
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
pub(super) fn fleet_summary(
    conn: &Connection,
    query: &FleetSummaryQuery,
) -> StoreResult<FleetSummary> {
    Ok(FleetSummary {
        counts: fleet_counts(conn, query)?,
        alerting: alerting(conn, query)?,
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
fn page_numbers(conn: &Connection, query: &FleetQuery) -> StoreResult<Paged<u32, u32>> {
    let mut filter = scope_filter(&query.scope);
    let order = filter.seek(&["kiosk_number"], false, &query.page, |number| {
        vec![Box::new(i64::from(*number))]
    });
    let mut statement = conn
        .prepare(&format!(
            "SELECT DISTINCT kiosk_number FROM kiosks {} ORDER BY {order} LIMIT {}",
            filter.clause(),
            u64::from(query.limit.max(1)) + 1
        ))
        .map_err(failed("list kiosks"))?;
    let numbers = statement
        .query_map(filter.params(), |row| row.get::<_, i64>(0))
        .map_err(failed("list kiosks"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("list kiosks"))?;
    let keyed = numbers
        .into_iter()
        .map(|number| {
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

fn kiosks_where(
    conn: &Connection,
    filter: &Filter,
    tail: &str,
    operation: &'static str,
) -> StoreResult<Vec<KioskRecord>> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT {KIOSK_COLUMNS} FROM kiosks {} {tail}",
            filter.clause()
        ))
        .map_err(failed(operation))?;
    let rows = statement
        .query_map(filter.params(), kiosk_row)
        .map_err(failed(operation))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed(operation))?;
    rows.into_iter().map(KioskRow::into_record).collect()
}

/// The alert rules of [`fleet::alerts`] over the columns, as SQL conditions on an active
/// kiosk, with their parameters bound in `filter`: offline, paper out, paper near its end,
/// queue not draining, quarantined.
fn alert_conditions(filter: &mut Filter, now: DateTime<Utc>) -> [String; 5] {
    let offline_before = filter.bind(millis(now - fleet::OFFLINE_ALERT_AFTER));
    let online_since = filter.bind(millis(now - fleet::ONLINE_WITHIN));
    [
        format!("COALESCE(last_seen_at, enrolled_at) < {offline_before}"),
        "paper_alert = 'paper_out'".to_owned(),
        "paper_alert = 'paper_near_end'".to_owned(),
        format!("queue_stuck AND last_seen_at >= {online_since}"),
        "quarantined > 0".to_owned(),
    ]
}

fn fleet_counts(conn: &Connection, query: &FleetSummaryQuery) -> StoreResult<FleetCounts> {
    let mut filter = scope_filter(&query.scope);
    let [offline, paper_out, near_end, stuck, quarantined] =
        alert_conditions(&mut filter, query.now);
    let active =
        |condition: &str| format!("COUNT(*) FILTER (WHERE revoked_at IS NULL AND {condition})");
    let sql = format!(
        "SELECT COUNT(*) FILTER (WHERE revoked_at IS NULL),
                COUNT(*) FILTER (WHERE revoked_at IS NOT NULL), {}, {}, {}, {}, {}
         FROM kiosks {}",
        active(&offline),
        active(&paper_out),
        active(&near_end),
        active(&stuck),
        active(&quarantined),
        filter.clause()
    );
    let counts: [i64; 7] = conn
        .query_row(&sql, filter.params(), |row| {
            Ok([
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ])
        })
        .map_err(failed("count kiosks"))?;
    let [
        active,
        retired,
        offline,
        paper_out,
        paper_near_end,
        queue_not_draining,
        quarantined,
    ] = counts.map(i64::unsigned_abs);
    Ok(FleetCounts {
        active,
        retired,
        offline,
        paper_out,
        paper_near_end,
        queue_not_draining,
        quarantined,
    })
}

fn alerting(conn: &Connection, query: &FleetSummaryQuery) -> StoreResult<Vec<KioskRecord>> {
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
        conn,
        &filter,
        &format!(
            "ORDER BY ({offline} OR {paper_out} OR {stuck}) DESC, kiosk_number LIMIT {}",
            query.alert_limit
        ),
        "list alerting kiosks",
    )
}

pub(super) fn revoke(
    conn: &Connection,
    kiosk: &KioskRef,
    now: DateTime<Utc>,
) -> StoreResult<RevokeOutcome> {
    let Some(found) = find(conn, kiosk)? else {
        return Ok(RevokeOutcome::NotFound);
    };
    if found.is_revoked() {
        return Ok(RevokeOutcome::AlreadyRevoked(found));
    }
    conn.execute(
        "UPDATE kiosks SET revoked_at = ?2 WHERE kiosk_id = ?1 AND revoked_at IS NULL",
        params![found.kiosk_id, millis(now)],
    )
    .map_err(failed("revoke a kiosk"))?;
    Ok(RevokeOutcome::Revoked(KioskRecord {
        revoked_at: Some(time(millis(now))?),
        ..found
    }))
}

pub(super) fn touch(conn: &Connection, kiosk_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    // MAX: a slow request finishing late must not move last-seen backwards.
    conn.execute(
        "UPDATE kiosks SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?2) WHERE kiosk_id = ?1",
        params![kiosk_id, millis(now)],
    )
    .map_err(failed("record when a kiosk was seen"))?;
    Ok(())
}

/// Keeps the heartbeat; when its update report differs from the last one, settles the
/// rollouts (an automatic pause or completion) in the same transaction.
pub(super) fn record_heartbeat(
    conn: &Connection,
    kiosk_id: &str,
    heartbeat: &Heartbeat,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let before = find(conn, &KioskRef::Id(kiosk_id.to_owned()))?
        .and_then(|kiosk| kiosk.last_heartbeat)
        .and_then(|last| last.heartbeat.update);
    let alerts = fleet::heartbeat_alerts(heartbeat);
    conn.execute(
        "UPDATE kiosks SET heartbeat = ?2, heartbeat_at = ?3,
                last_seen_at = MAX(COALESCE(last_seen_at, 0), ?3),
                paper_alert = ?4, queue_stuck = ?5, quarantined = ?6
         WHERE kiosk_id = ?1",
        params![
            kiosk_id,
            to_json(heartbeat)?,
            millis(now),
            alerts.paper.map(|alert| alert.kind()),
            alerts.queue_stuck,
            i64::try_from(alerts.quarantined).unwrap_or(i64::MAX),
        ],
    )
    .map_err(failed("record a heartbeat"))?;
    if heartbeat.update.is_some() && heartbeat.update != before {
        super::releases::settle_rollouts(conn, now)?;
    }
    Ok(())
}
