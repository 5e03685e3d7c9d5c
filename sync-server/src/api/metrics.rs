//! The Prometheus text at `/metrics`: request counts and latencies by route, submission
//! outcomes, and the fleet (kiosks by state, seconds since each was last seen, their queue
//! depth and clock offset from the last heartbeat). Labels carry route templates, kiosk ids,
//! kiosk numbers and village names, never anything personal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sync_protocol::heartbeat::Heartbeat;
use sync_protocol::submission::Outcome;

use crate::domain::fleet::KioskRecord;
use crate::store::StoreStats;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
const OUTCOMES: [Outcome; 4] = [
    Outcome::Accepted,
    Outcome::Duplicate,
    Outcome::Conflict,
    Outcome::Invalid,
];

/// A per-kiosk gauge read from the last heartbeat: name, help, value.
type HeartbeatGauge = (&'static str, &'static str, fn(&Heartbeat) -> f64);

#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
    outcomes: [AtomicU64; 4],
    in_flight: AtomicU64,
}

#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            routes: Mutex::default(),
            outcomes: Default::default(),
            in_flight: AtomicU64::new(0),
        }
    }
}

fn outcome_index(outcome: Outcome) -> usize {
    OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(0)
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "accepted",
        Outcome::Duplicate => "duplicate",
        Outcome::Conflict => "conflict",
        Outcome::Invalid => "invalid",
    }
}

/// Escapes a label value (backslash, quote, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn record_request(&self, route: &str, method: &str, status: u16, latency: Duration) {
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stats = routes
            .entry((route.to_owned(), method.to_owned()))
            .or_default();
        *stats.by_status.entry(status).or_default() += 1;
        let secs = latency.as_secs_f64();
        for (bucket, bound) in stats.buckets.iter_mut().zip(BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
        stats.count += 1;
        stats.sum_secs += secs;
    }

    /// Counts a request as started; the guard counts it finished when dropped.
    pub fn request_started(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Requests being handled now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn record_outcome(&self, outcome: Outcome) {
        self.outcomes[outcome_index(outcome)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn outcome_count(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome_index(outcome)].load(Ordering::Relaxed)
    }

    /// The whole exposition, with the fleet as the store has it now.
    pub fn render(&self, stats: &StoreStats, kiosks: &[KioskRecord], now: DateTime<Utc>) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);

        out.push_str("# HELP sync_submissions_total Submissions answered, by outcome.\n");
        out.push_str("# TYPE sync_submissions_total counter\n");
        for outcome in OUTCOMES {
            let _ = writeln!(
                out,
                "sync_submissions_total{{outcome=\"{}\"}} {}",
                outcome_name(outcome),
                self.outcome_count(outcome)
            );
        }

        out.push_str("# HELP sync_submissions_stored Stored submissions, by status.\n");
        out.push_str("# TYPE sync_submissions_stored gauge\n");
        for (status, count) in &stats.submissions_by_status {
            let _ = writeln!(
                out,
                "sync_submissions_stored{{status=\"{}\"}} {count}",
                status.as_str()
            );
        }

        out.push_str("# HELP sync_kiosks Enrolled kiosks, by state.\n");
        out.push_str("# TYPE sync_kiosks gauge\n");
        let _ = writeln!(
            out,
            "sync_kiosks{{state=\"active\"}} {}",
            stats.kiosks_active
        );
        let _ = writeln!(
            out,
            "sync_kiosks{{state=\"revoked\"}} {}",
            stats.kiosks_revoked
        );

        self.render_fleet(&mut out, kiosks, now);

        out.push_str("# HELP sync_http_requests_in_flight Requests being handled.\n");
        out.push_str("# TYPE sync_http_requests_in_flight gauge\n");
        let _ = writeln!(out, "sync_http_requests_in_flight {}", self.in_flight());

        out.push_str("# HELP sync_uptime_seconds Seconds since the server started.\n");
        out.push_str("# TYPE sync_uptime_seconds gauge\n");
        let _ = writeln!(
            out,
            "sync_uptime_seconds {}",
            self.started.elapsed().as_secs()
        );
        out
    }

    fn render_requests(&self, out: &mut String) {
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.push_str(
            "# HELP sync_http_requests_total HTTP requests, by route, method and status.\n",
        );
        out.push_str("# TYPE sync_http_requests_total counter\n");
        for ((route, method), stats) in routes.iter() {
            for (status, count) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "sync_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
                    label(route)
                );
            }
        }
        out.push_str("# HELP sync_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE sync_http_request_duration_seconds histogram\n");
        for ((route, method), stats) in routes.iter() {
            let labels = format!("route=\"{}\",method=\"{method}\"", label(route));
            for (bound, count) in BUCKETS.iter().zip(stats.buckets) {
                let _ = writeln!(
                    out,
                    "sync_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "sync_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                out,
                "sync_http_request_duration_seconds_sum{{{labels}}} {}",
                stats.sum_secs
            );
            let _ = writeln!(
                out,
                "sync_http_request_duration_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
    }

    fn render_fleet(&self, out: &mut String, kiosks: &[KioskRecord], now: DateTime<Utc>) {
        let active = || kiosks.iter().filter(|k| !k.is_revoked());
        let labels = |k: &KioskRecord| {
            format!(
                "kiosk_id=\"{}\",kiosk_number=\"{}\",village=\"{}\"",
                label(&k.kiosk_id),
                k.kiosk_number,
                label(&k.village.village)
            )
        };
        out.push_str(
            "# HELP sync_kiosk_last_seen_age_seconds Seconds since an active kiosk's last verified request.\n",
        );
        out.push_str("# TYPE sync_kiosk_last_seen_age_seconds gauge\n");
        for kiosk in active() {
            if let Some(seen) = kiosk.last_seen_at {
                let age = (now - seen).num_milliseconds().max(0) as f64 / 1000.0;
                let _ = writeln!(
                    out,
                    "sync_kiosk_last_seen_age_seconds{{{}}} {age}",
                    labels(kiosk)
                );
            }
        }
        let heartbeat_gauges: [HeartbeatGauge; 4] = [
            (
                "sync_kiosk_queue_depth",
                "Unacknowledged submissions on the kiosk, from its last heartbeat.",
                |h| h.queue_depth as f64,
            ),
            (
                "sync_kiosk_quarantined",
                "Quarantined submissions on the kiosk, from its last heartbeat.",
                |h| h.quarantined as f64,
            ),
            (
                "sync_kiosk_oldest_pending_age_seconds",
                "Age of the kiosk's oldest unacknowledged submission, from its last heartbeat.",
                |h| h.oldest_pending_age_s.unwrap_or(0) as f64,
            ),
            (
                "sync_kiosk_clock_offset_seconds",
                "Server time minus kiosk time, from the kiosk's last heartbeat.",
                |h| h.clock_offset_ms as f64 / 1000.0,
            ),
        ];
        for (name, help, value) in heartbeat_gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for kiosk in active() {
                if let Some(record) = &kiosk.last_heartbeat {
                    let _ = writeln!(
                        out,
                        "{name}{{{}}} {}",
                        labels(kiosk),
                        value(&record.heartbeat)
                    );
                }
            }
        }
    }
}

/// A request being handled; see [`Metrics::request_started`].
#[derive(Debug)]
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_outcomes_are_counted() {
        let metrics = Metrics::default();
        metrics.record_request("/healthz", "GET", 200, Duration::from_millis(3));
        metrics.record_request("/healthz", "GET", 200, Duration::from_millis(30));
        metrics.record_outcome(Outcome::Duplicate);
        let text = metrics.render(&StoreStats::default(), &[], Utc::now());
        assert!(text.contains(
            "sync_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "sync_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",le=\"0.005\"} 1"
        ));
        assert!(text.contains("sync_submissions_total{outcome=\"duplicate\"} 1"));
        assert!(text.contains("sync_submissions_total{outcome=\"accepted\"} 0"));
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
