//! Enrollment codes, kiosks, revocation, last seen and heartbeats.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_protocol::enroll::Village;
use sync_protocol::heartbeat::Heartbeat;
use sync_protocol::receipt::MAX_KIOSK_NUMBER;

use super::connection::{failed, from_json, millis, time, to_json};
use crate::store::{
    EnrollClaim, EnrollRefusal, HeartbeatRecord, KioskRecord, KioskRef, NewEnrollCode,
    RevokeOutcome, StoreError, StoreResult,
};

const KIOSK_COLUMNS: &str = "kiosk_id, kiosk_number, public_key, county, township, village, \
     app_version, enrolled_at, revoked_at, last_seen_at, heartbeat, heartbeat_at";

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
) -> StoreResult<Result<KioskRecord, EnrollRefusal>> {
    let code = conn
        .query_row(
            "SELECT county, township, village, expires_at, used_at FROM enroll_codes
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
                    row.get::<_, Option<i64>>(4)?,
                ))
            },
        )
        .optional()
        .map_err(failed("look up an enrollment code"))?;
    let Some((village, expires_at, used_at)) = code else {
        return Ok(Err(EnrollRefusal::UnknownCode));
    };
    if used_at.is_some() {
        return Ok(Err(EnrollRefusal::AlreadyUsed));
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
    let kiosk =
        find(conn, &KioskRef::Id(claim.kiosk_id.clone()))?.ok_or_else(|| StoreError::Corrupt {
            what: "a kiosk vanished right after its creation".into(),
        })?;
    Ok(Ok(kiosk))
}

pub(super) fn find(conn: &Connection, kiosk: &KioskRef) -> StoreResult<Option<KioskRecord>> {
    let row = match kiosk {
        KioskRef::Id(id) => conn.query_row(
            &format!("SELECT {KIOSK_COLUMNS} FROM kiosks WHERE kiosk_id = ?1"),
            [id],
            kiosk_row,
        ),
        KioskRef::Number(number) => conn.query_row(
            &format!("SELECT {KIOSK_COLUMNS} FROM kiosks WHERE kiosk_number = ?1"),
            [number],
            kiosk_row,
        ),
    };
    row.optional()
        .map_err(failed("look up a kiosk"))?
        .map(KioskRow::into_record)
        .transpose()
}

pub(super) fn list(conn: &Connection) -> StoreResult<Vec<KioskRecord>> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT {KIOSK_COLUMNS} FROM kiosks ORDER BY kiosk_number"
        ))
        .map_err(failed("list kiosks"))?;
    let rows = statement
        .query_map([], kiosk_row)
        .map_err(failed("list kiosks"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("list kiosks"))?;
    rows.into_iter().map(KioskRow::into_record).collect()
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

pub(super) fn record_heartbeat(
    conn: &Connection,
    kiosk_id: &str,
    heartbeat: &Heartbeat,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE kiosks SET heartbeat = ?2, heartbeat_at = ?3,
                last_seen_at = MAX(COALESCE(last_seen_at, 0), ?3)
         WHERE kiosk_id = ?1",
        params![kiosk_id, to_json(heartbeat)?, millis(now)],
    )
    .map_err(failed("record a heartbeat"))?;
    Ok(())
}
