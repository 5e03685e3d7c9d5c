//! The machine facts a heartbeat carries: free disk under the data directory and uptime.

use std::path::Path;

/// Bytes available to the booth (not root's reserve) on the filesystem holding `path`; 0 when
/// it cannot be read, which the county's fleet view shows as a problem anyway.
pub fn disk_free_bytes(path: &Path) -> u64 {
    rustix::fs::statvfs(path)
        .map(|stats| stats.f_bavail.saturating_mul(stats.f_frsize))
        .unwrap_or(0)
}

/// Seconds since the machine booted, from `/proc/uptime`; 0 when unreadable.
pub fn uptime_secs() -> u64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|text| parse_uptime(&text))
        .unwrap_or(0)
}

fn parse_uptime(text: &str) -> Option<u64> {
    let first = text.split_whitespace().next()?;
    let secs: f64 = first.parse().ok()?;
    // Truncation is the point: whole seconds.
    (secs.is_finite() && secs >= 0.0).then_some(secs as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_is_the_first_number() {
        assert_eq!(parse_uptime("12345.67 54321.00\n"), Some(12345));
        assert_eq!(parse_uptime("garbage"), None);
        assert_eq!(parse_uptime(""), None);
    }

    #[test]
    fn the_real_machine_reports_something() {
        let dir = tempfile::tempdir().unwrap();
        assert!(disk_free_bytes(dir.path()) > 0);
        assert_eq!(disk_free_bytes(&dir.path().join("missing")), 0);
        assert!(uptime_secs() > 0);
    }
}
