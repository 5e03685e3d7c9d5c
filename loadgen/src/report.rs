//! What a run measured, one structure for both outputs: `--json` serialises it, the plain
//! text renders it as tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::enroll::EnrollFigures;
use crate::histogram::Histogram;
use crate::ledger::LedgerFigures;
use crate::procstat::Usage;
use crate::recorder::{EndpointFigures, millis};
use crate::scrape::RouteFigures;
use crate::steady::SteadyOutcome;
use crate::storm::StormOutcome;
use crate::verify::StoreCheck;

#[path = "../../bench-support/table.rs"]
#[allow(dead_code)] // `print` is the benches'; the report renders into its own text
mod table;
use table::Table;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Steady,
    Storm,
}

/// Requests over all endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub per_second: f64,
    /// Latency of every answered request together.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// The slowest endpoint's p99 (an endpoint with few requests makes this its maximum).
    pub worst_p99_ms: f64,
}

impl Totals {
    pub fn of(endpoints: &[EndpointFigures], overall: &Histogram) -> Self {
        let summed = endpoints.iter().fold(Self::default(), |sum, e| Self {
            requests: sum.requests + e.requests,
            ok: sum.ok + e.ok,
            failed: sum.failed + e.failed,
            per_second: sum.per_second + e.per_second,
            worst_p99_ms: sum.worst_p99_ms.max(e.p99_ms),
            ..sum
        });
        Self {
            p50_ms: millis(overall.quantile(0.5)),
            p99_ms: millis(overall.quantile(0.99)),
            p999_ms: millis(overall.quantile(0.999)),
            ..summed
        }
    }
}

/// How late booths started what was due: loadgen's own health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Lag {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The run's answers to the questions it was run for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The ledger and the store agree that every submission was stored once.
    pub exactly_once: bool,
    /// Every queue was emptied in time.
    pub drained: bool,
    /// Every failed request was a 429 or 503 with `Retry-After` (what a storm may see).
    pub only_back_off_failures: bool,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.exactly_once && self.drained
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub mode: Mode,
    /// Every instance's address, space-separated.
    pub url: String,
    /// Server instances over the one store.
    pub instances: usize,
    pub booths: u32,
    pub seed: String,
    /// Booth time per real time (`--compress`).
    pub compress: f64,
    /// Booths × compression: the real-time fleet whose requests per second these booths send.
    pub booth_equivalents: f64,
    pub enrollment: EnrollFigures,
    /// Reading where every booth stands (feed cursors, receipt sequence) before the run.
    pub resume_s: f64,
    /// The seconds rates are taken over.
    pub window_s: f64,
    pub endpoints: Vec<EndpointFigures>,
    pub totals: Totals,
    /// The steady run's drain after the window, counted apart.
    pub drain_endpoints: Vec<EndpointFigures>,
    pub lag: Lag,
    pub steady: Option<SteadyOutcome>,
    pub storm: Option<StormOutcome>,
    pub submissions: LedgerFigures,
    pub store_check: Option<StoreCheck>,
    pub server: Option<Usage>,
    pub loadgen: Option<Usage>,
    /// The server's own per-route counts and mean time inside it (needs its metrics token).
    pub server_routes: Vec<RouteFigures>,
    pub verdict: Verdict,
    /// Warnings about the run itself (loadgen fell behind, the request cap was reached).
    pub notes: Vec<String>,
}

fn ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn endpoint_table(endpoints: &[EndpointFigures]) -> String {
    let mut table = Table::new(&[
        "endpoint", "requests", "ok", "failed", "ok/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms",
    ]);
    for e in endpoints {
        table.row(vec![
            e.label.to_owned(),
            e.requests.to_string(),
            e.ok.to_string(),
            e.failed.to_string(),
            format!("{:.1}", e.per_second),
            ms(e.p50_ms),
            ms(e.p99_ms),
            ms(e.p999_ms),
            ms(e.max_ms),
        ]);
    }
    table.render()
}

fn failures_text(endpoints: &[EndpointFigures]) -> String {
    let mut out = String::new();
    for e in endpoints.iter().filter(|e| !e.failures.is_empty()) {
        let listed: Vec<String> = e
            .failures
            .iter()
            .map(|(key, count)| format!("{key}: {count}"))
            .collect();
        let _ = writeln!(out, "  {}: {}", e.label, listed.join(", "));
    }
    out
}

impl Report {
    /// Every failure of the run (window and drain), by key.
    pub fn failures(&self) -> BTreeMap<String, u64> {
        let mut all = BTreeMap::new();
        for e in self.endpoints.iter().chain(&self.drain_endpoints) {
            for (key, count) in &e.failures {
                *all.entry(key.clone()).or_default() += count;
            }
        }
        all
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let mode = match self.mode {
            Mode::Steady => "steady state",
            Mode::Storm => "reconnect storm",
        };
        let _ = writeln!(
            out,
            "loadgen {mode}: {} booths against {}, time compressed {}× (a booth-minute lasts {:.2} s; \
             the request rate of {:.0} booths in real time)",
            self.booths,
            self.url,
            self.compress,
            60.0 / self.compress,
            self.booth_equivalents
        );
        let e = &self.enrollment;
        let _ = writeln!(
            out,
            "enrollment (seed `{}`): {} already enrolled, {} enrolled now in {:.2} s ({:.0} booths/s through the store); \
             listing the fleet {:.2} s, reading where each booth stands {:.2} s",
            self.seed,
            e.already_enrolled,
            e.enrolled_now,
            e.seconds,
            e.booths_per_second,
            e.lookup_seconds,
            self.resume_s
        );
        let _ = writeln!(out, "\nover {:.1} s:", self.window_s);
        out.push_str(&endpoint_table(&self.endpoints));
        let t = &self.totals;
        let _ = writeln!(
            out,
            "total: {} requests, {} ok, {} failed, {:.1} ok/s; every answered request: p50 {} ms, \
             p99 {} ms, p99.9 {} ms (worst endpoint's p99 {} ms)",
            t.requests,
            t.ok,
            t.failed,
            t.per_second,
            ms(t.p50_ms),
            ms(t.p99_ms),
            ms(t.p999_ms),
            ms(t.worst_p99_ms)
        );
        let failures = failures_text(&self.endpoints);
        if !failures.is_empty() {
            let _ = writeln!(out, "failures:\n{failures}");
        }
        if let Some(steady) = &self.steady {
            let _ = writeln!(
                out,
                "drain after the window: {:.2} s, {} submissions still queued",
                steady.drain_s, steady.left_queued
            );
            if !self.drain_endpoints.is_empty() {
                out.push_str(&endpoint_table(&self.drain_endpoints));
                out.push_str(&failures_text(&self.drain_endpoints));
            }
        }
        if let Some(storm) = &self.storm {
            if storm.drained {
                let _ = writeln!(
                    out,
                    "storm: everything drained in {:.2} s (the last queue acknowledged), every pass \
                     (feeds, heartbeat) done in {:.2} s; {} retries",
                    storm.drain_s, storm.complete_s, storm.retries
                );
            } else {
                let _ = writeln!(
                    out,
                    "storm: NOT drained when it stopped after {:.2} s: {} submissions left, {} of {} \
                     booths done; {} retries",
                    storm.elapsed_s,
                    storm.left_queued,
                    storm.booths_done,
                    self.booths,
                    storm.retries
                );
            }
        }
        if self.mode == Mode::Steady {
            let _ = writeln!(
                out,
                "schedule lag (booths starting what was due late): p50 {} ms, p99 {} ms, max {} ms",
                ms(self.lag.p50_ms),
                ms(self.lag.p99_ms),
                ms(self.lag.max_ms)
            );
        }
        let s = &self.submissions;
        let _ = writeln!(
            out,
            "submissions: {} made, {} delivered ({} accepted answers, {} duplicate answers, {} delivered as duplicate only), \
             {} undelivered, {} accepted twice, {} conflict, {} invalid",
            s.made,
            s.delivered,
            s.accepted,
            s.duplicate_answers,
            s.delivered_as_duplicate_only,
            s.undelivered,
            s.accepted_twice,
            s.conflict,
            s.invalid
        );
        if let Some(check) = &self.store_check {
            let _ = writeln!(
                out,
                "store: {} of {} acknowledged found ({} missing); store grew {} → {} (+{})",
                check.found,
                check.acknowledged,
                check.missing,
                check.stored_before,
                check.stored_after,
                check.added()
            );
        }
        let _ = writeln!(
            out,
            "exactly once: {}; drained: {}; failures only 429/503 with Retry-After: {}",
            yes_no(self.verdict.exactly_once),
            yes_no(self.verdict.drained),
            yes_no(self.verdict.only_back_off_failures)
        );
        for (who, usage) in [("server", &self.server), ("loadgen", &self.loadgen)] {
            if let Some(u) = usage {
                let _ = writeln!(
                    out,
                    "{who} (pid {}): {:.2} CPU s ({:.2} cores), peak resident {:.1} MiB during the run ({:.1} MiB since it started)",
                    u.pid, u.cpu_seconds, u.cores, u.peak_rss_mib, u.lifetime_peak_rss_mib
                );
            }
        }
        if !self.server_routes.is_empty() {
            let mut table = Table::new(&[
                "server's /metrics: route",
                "method",
                "answered",
                "mean ms inside",
            ]);
            for route in &self.server_routes {
                table.row(vec![
                    route.route.clone(),
                    route.method.clone(),
                    route.requests.to_string(),
                    format!("{:.2}", route.mean_ms),
                ]);
            }
            out.push_str(&table.render());
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "NO" }
}
