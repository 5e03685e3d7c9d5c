//! The booth's identity (one row) and its small settings (a key/value table).

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use sync_protocol::enroll::Village;
use sync_protocol::feed::Feed;
use sync_protocol::personal::CountyKey;

use super::error::{Fault, StoreError};
use super::model::{DeviceReport, Identity};
use super::sql;

const CLOCK_OFFSET_MS: &str = "clock_offset_ms";
const RETENTION_AFTER_ACK_S: &str = "retention_after_ack_s";
const LAST_SEQ: &str = "last_seq";
const DEVICE_HEALTH: &str = "device_health";
const COUNTY_KEY: &str = "county_key";

pub(crate) fn identity(conn: &Connection) -> Result<Option<Identity>, Fault> {
    let row = conn
        .query_row(
            "SELECT kiosk_id, kiosk_number, county, township, village, server_url, server_id,
                    enrolled_at, server_pin
             FROM identity WHERE singleton = 1",
            [],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u32>(1)?,
                    Village {
                        county: row.get(2)?,
                        township: row.get(3)?,
                        village: row.get(4)?,
                    },
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, String>(7)?,
                    row.get::<_, Option<String>>(8)?,
                ))
            },
        )
        .optional()?;
    row.map(
        |(kiosk_id, kiosk_number, village, server_url, server_id, enrolled_at, pin)| {
            Ok(Identity {
                kiosk_id,
                kiosk_number,
                village,
                server_url,
                server_id,
                enrolled_at: sql::parse_time(&enrolled_at)?,
                server_pin: pin
                    .map(|pin| pin.parse().map_err(|e| Fault::decode("server_pin", e)))
                    .transpose()?,
            })
        },
    )
    .transpose()
}

/// Replaces the identity. Feeds that belong to the old one start over: all of them for a
/// different server install, the status feed for a different kiosk id on the same server.
pub(crate) fn set_identity(conn: &Connection, identity: &Identity) -> Result<(), Fault> {
    if identity.kiosk_number > sync_protocol::receipt::MAX_KIOSK_NUMBER {
        return Err(StoreError::KioskNumberOutOfRange(identity.kiosk_number).into());
    }
    if let Some(old) = self::identity(conn)? {
        if old.server_id != identity.server_id {
            conn.execute_batch(
                "DELETE FROM feed_cursors; DELETE FROM catalog; DELETE FROM notices;",
            )?;
        } else if old.kiosk_id != identity.kiosk_id {
            conn.execute(
                "DELETE FROM feed_cursors WHERE feed = ?1",
                [Feed::Statuses.as_str()],
            )?;
        }
    }
    conn.execute(
        "INSERT OR REPLACE INTO identity
             (singleton, kiosk_id, kiosk_number, county, township, village, server_url,
              server_id, enrolled_at, server_pin)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            identity.kiosk_id,
            identity.kiosk_number,
            identity.village.county,
            identity.village.township,
            identity.village.village,
            identity.server_url,
            identity.server_id,
            sql::time_text(identity.enrolled_at),
            identity.server_pin.map(|pin| pin.to_string()),
        ],
    )?;
    Ok(())
}

fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()
}

fn put(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

fn get_number<T>(conn: &Connection, key: &'static str) -> Result<T, Fault>
where
    T: std::str::FromStr + Default,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match get(conn, key)? {
        Some(text) => text.parse().map_err(|e| Fault::decode(key, e)),
        None => Ok(T::default()),
    }
}

/// The devices as last checked (`kiosk devices check`, later the booth app), with when.
pub(crate) fn device_health(conn: &Connection) -> Result<Option<DeviceReport>, Fault> {
    get(conn, DEVICE_HEALTH)?
        .map(|text| serde_json::from_str(&text).map_err(|e| Fault::decode(DEVICE_HEALTH, e)))
        .transpose()
}

pub(crate) fn set_device_health(conn: &Connection, report: &DeviceReport) -> Result<(), Fault> {
    let text = serde_json::to_string(report).map_err(|e| Fault::decode(DEVICE_HEALTH, e))?;
    put(conn, DEVICE_HEALTH, &text)?;
    Ok(())
}

/// The key submissions are sealed to, once the server told it.
pub(crate) fn county_key(conn: &Connection) -> Result<Option<CountyKey>, Fault> {
    get(conn, COUNTY_KEY)?
        .map(|text| text.parse().map_err(|e| Fault::decode(COUNTY_KEY, e)))
        .transpose()
}

/// Stores the key; whether it changed.
pub(crate) fn set_county_key(conn: &Connection, key: &CountyKey) -> Result<bool, Fault> {
    if county_key(conn)?.as_ref() == Some(key) {
        return Ok(false);
    }
    put(conn, COUNTY_KEY, &key.to_string())?;
    Ok(true)
}

pub(crate) fn clock_offset_ms(conn: &Connection) -> Result<i64, Fault> {
    get_number(conn, CLOCK_OFFSET_MS)
}

/// Writes only when the value changes: the sync client learns the offset on every response.
pub(crate) fn set_clock_offset_ms(conn: &Connection, offset_ms: i64) -> Result<(), Fault> {
    if clock_offset_ms(conn)? != offset_ms {
        put(conn, CLOCK_OFFSET_MS, &offset_ms.to_string())?;
    }
    Ok(())
}

/// How long an acknowledged submission keeps the applicant's identity; zero (the default)
/// drops it in the transaction that records the acknowledgement.
pub(crate) fn retention_after_ack(conn: &Connection) -> Result<Duration, Fault> {
    Ok(Duration::from_secs(get_number(
        conn,
        RETENTION_AFTER_ACK_S,
    )?))
}

pub(crate) fn set_retention_after_ack(conn: &Connection, keep: Duration) -> Result<(), Fault> {
    put(conn, RETENTION_AFTER_ACK_S, &keep.as_secs().to_string())?;
    Ok(())
}

/// The last sequence number issued. It never goes back, not even on re-enrollment, so
/// `kiosk_seq` stays unique within this booth's data.
pub(crate) fn last_seq(conn: &Connection) -> Result<u64, Fault> {
    get_number(conn, LAST_SEQ)
}

pub(crate) fn set_last_seq(conn: &Connection, seq: u64) -> Result<(), Fault> {
    put(conn, LAST_SEQ, &seq.to_string())?;
    Ok(())
}
