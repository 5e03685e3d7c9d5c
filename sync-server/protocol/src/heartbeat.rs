//! The booth's health report, sent every minute.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST /api/v1/heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// Submissions not yet acknowledged (pending or sent).
    pub queue_depth: u64,
    /// Age of the oldest unacknowledged submission, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_pending_age_s: Option<u64>,
    pub quarantined: u64,
    pub devices: DeviceHealth,
    pub app_version: String,
    pub disk_free_bytes: u64,
    pub uptime_s: u64,
    /// Server time minus booth time, as last learned, in milliseconds.
    pub clock_offset_ms: i64,
    /// The booth's updater, once the booth has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::release::UpdateReport>,
}

/// What the booth knows of its devices.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceHealth {
    /// `None` when no printer is configured or it did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer: Option<PrinterHealth>,
    pub reader_present: bool,
    pub scanner_present: bool,
}

/// The printer's last status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterHealth {
    pub online: bool,
    pub paper_end: bool,
    pub paper_near_end: bool,
    pub cover_open: bool,
}

/// `200` answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    pub server_time: DateTime<Utc>,
    /// The key booths seal personal data to ([`crate::personal`]): how a booth enrolled before
    /// sealing existed learns it. Absent from servers that predate sealing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county_key: Option<crate::personal::CountyKey>,
    /// The release the county wants this booth to run; absent when it wants nothing new (no
    /// rollout includes the booth). See [`crate::release::ReleaseTarget`] for why it rides
    /// here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<crate::release::ReleaseTarget>,
}
