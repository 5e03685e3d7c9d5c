//! `loadgen` against the real `sync-server serve` on 127.0.0.1: a few seconds of the steady
//! state, then a small reconnect storm, each checked from its JSON report and, independently,
//! from the server's own `submissions list`: the report's counts add up, every submission
//! made is stored, none twice. Then the check must bite: a run whose booths the server does
//! not know stores nothing, and loadgen must say so.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use booth_tests::booth::{County, Server, import_catalog, key_file, server_cli, server_receipts};
use booth_tests::{Finished, run_loadgen};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(300);

fn loadgen(county: &Path, args: &[&str]) -> Finished {
    let keys = key_file(county);
    let mut full = vec![
        "--data-dir",
        county.to_str().expect("utf-8 path"),
        "--key-file",
        keys.to_str().expect("utf-8 path"),
        "--json",
    ];
    full.extend_from_slice(args);
    run_loadgen(&full, LIMIT)
}

fn report(out: &Finished) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("no JSON report ({e})\n{out}"))
}

fn number(value: &Value, pointer: &str) -> u64 {
    value
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} missing from the report: {value:#}"))
}

fn endpoint<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|e| e["endpoint"] == name)
        .unwrap_or_else(|| panic!("no {name} endpoint in {report:#}"))
}

/// Every endpoint's requests are its answers plus its failures, and there are no failures
/// (nothing else loads this server); returns the requests per endpoint.
fn counts_add_up(report: &Value) -> BTreeMap<String, u64> {
    let mut requests = BTreeMap::new();
    for section in ["endpoints", "drain_endpoints"] {
        for e in report[section].as_array().expect(section) {
            let (sent, ok, failed) = (
                number(e, "/requests"),
                number(e, "/ok"),
                number(e, "/failed"),
            );
            assert_eq!(sent, ok + failed, "{section} {e:#}");
            let listed: u64 = e["failures"]
                .as_object()
                .expect("failures")
                .values()
                .map(|n| n.as_u64().expect("a count"))
                .sum();
            assert_eq!(failed, listed, "failures by key add up: {e:#}");
            assert_eq!(failed, 0, "no failures on an idle loopback server: {e:#}");
            if section == "endpoints" {
                requests.insert(e["endpoint"].as_str().expect("name").to_owned(), sent);
            }
        }
    }
    let totals = &report["totals"];
    assert_eq!(
        number(totals, "/requests"),
        requests.values().sum::<u64>(),
        "totals"
    );
    requests
}

/// The run stored each of its submissions exactly once, by the report.
fn stored_once(report: &Value) -> u64 {
    let made = number(report, "/submissions/made");
    assert!(made > 0, "the run made submissions: {report:#}");
    assert_eq!(number(report, "/submissions/delivered"), made);
    assert_eq!(number(report, "/submissions/undelivered"), 0);
    assert_eq!(number(report, "/submissions/accepted_twice"), 0);
    assert_eq!(number(report, "/submissions/conflict"), 0);
    assert_eq!(number(report, "/submissions/invalid"), 0);
    // Every delivered one was accepted once (nothing failed, so no resend found a copy).
    assert_eq!(number(report, "/submissions/accepted"), made);
    let check = &report["store_check"];
    assert_eq!(number(check, "/acknowledged"), made);
    assert_eq!(number(check, "/found"), made);
    assert_eq!(number(check, "/missing"), 0);
    assert_eq!(
        number(check, "/stored_after") - number(check, "/stored_before"),
        made,
        "the store grew by exactly the submissions made"
    );
    assert_eq!(report["verdict"]["exactly_once"], true);
    assert_eq!(report["verdict"]["drained"], true);
    made
}

/// What the server itself lists: every receipt once, `expected` in all.
fn server_holds_each_once(county: &Path, expected: u64) {
    let receipts = server_receipts(county);
    let twice: Vec<_> = receipts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "receipts stored more than once: {twice:?}"
    );
    assert_eq!(
        receipts.len() as u64,
        expected,
        "submissions the server lists"
    );
}

#[test]
fn steady_state_and_a_storm_store_every_submission_exactly_once() {
    let county = County::new();
    import_catalog(county.path());
    server_cli(
        county.path(),
        &[
            "notice",
            "add",
            "--title",
            "秋季征兵",
            "--body",
            "适龄青年请到乡武装部报名",
        ],
    );
    let server = Server::start(county.path(), 0);

    // Steady: 12 booths, a booth-minute every 0.1 s for 4 s (40 booth-minutes each), many
    // submissions a day so that a few seconds bring some.
    let out = loadgen(
        county.path(),
        &[
            "steady",
            "--url",
            &server.url,
            "--booths",
            "12",
            "--compress",
            "600",
            "--duration",
            "4",
            "--submissions-per-day",
            "300",
        ],
    );
    assert!(out.success, "{out}");
    let steady = report(&out);
    assert_eq!(steady["mode"], "steady");
    assert_eq!(number(&steady, "/enrollment/enrolled_now"), 12);
    let requests = counts_add_up(&steady);
    let heartbeats = requests["heartbeat"];
    // Up to 12 booths × 40 booth-minutes; a slow debug server on a busy machine makes fewer
    // (speed is measured, never asserted), but every booth makes at least its first pass.
    assert!(heartbeats >= 12, "heartbeats: {heartbeats}\n{steady:#}");
    for feed in ["catalog", "notices", "statuses"] {
        // Each pass pulls every feed before its heartbeat (pages: at least one each).
        assert!(requests[feed] >= heartbeats, "{feed}: {requests:?}");
    }
    let steady_made = stored_once(&steady);
    assert!(
        number(endpoint(&steady, "submissions"), "/ok") > 0,
        "uploads were made in the window"
    );
    server_holds_each_once(county.path(), steady_made);

    // A small storm: the same seed finds the 12 booths again (their keys re-derived, their
    // receipt sequences continued) and enrolls 8 more; every booth returns with 8 queued.
    let out = loadgen(
        county.path(),
        &[
            "storm",
            "--url",
            &server.url,
            "--booths",
            "20",
            "--queued",
            "8",
            "--duration",
            "120",
        ],
    );
    assert!(out.success, "{out}");
    let storm = report(&out);
    assert_eq!(number(&storm, "/enrollment/already_enrolled"), 12);
    assert_eq!(number(&storm, "/enrollment/enrolled_now"), 8);
    let requests = counts_add_up(&storm);
    assert_eq!(
        requests["healthz"], 20,
        "each booth probed once and found the server"
    );
    assert_eq!(requests["heartbeat"], 20, "one pass each");
    assert_eq!(number(&storm, "/storm/booths_done"), 20);
    assert_eq!(number(&storm, "/storm/left_queued"), 0);
    assert_eq!(storm["storm"]["drained"], true);
    assert_eq!(stored_once(&storm), 20 * 8);
    server_holds_each_once(county.path(), steady_made + 20 * 8);
    server.stop();
}

#[test]
fn a_run_whose_submissions_are_not_stored_fails() {
    // The booths are enrolled into one county's store but sent to another county's server,
    // which knows none of them: nothing is stored, and the run must not pass.
    let enrolled_here = County::new();
    import_catalog(enrolled_here.path());
    let served_there = County::new();
    let server = Server::start(served_there.path(), 0);
    let out = loadgen(
        enrolled_here.path(),
        &[
            "storm",
            "--url",
            &server.url,
            "--booths",
            "3",
            "--queued",
            "2",
            "--duration",
            "5",
        ],
    );
    assert_eq!(out.code, Some(2), "measured, and found wanting\n{out}");
    let failed = report(&out);
    assert_eq!(failed["verdict"]["exactly_once"], false);
    assert_eq!(failed["verdict"]["drained"], false);
    assert_eq!(number(&failed, "/submissions/delivered"), 0);
    assert_eq!(number(&failed, "/submissions/undelivered"), 6);
    let refusals = &endpoint(&failed, "submissions")["failures"];
    assert!(
        refusals.get("401 unknown_kiosk").is_some(),
        "the server's refusal is counted by status and code: {refusals:#}"
    );
    server.stop();

    // And nothing but loopback is ever loaded.
    let refused = loadgen(
        enrolled_here.path(),
        &["steady", "--url", "http://192.0.2.10:8080", "--booths", "1"],
    );
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("not a loopback address"),
        "{refused}"
    );
}

/// A throwaway schema in the tests' PostgreSQL (`SYNC_SERVER_TEST_POSTGRES`, as `./test` sets
/// it; else the local server's `sync_server_tests`), made and dropped with `psql`.
struct PostgresSchema {
    base: String,
    name: String,
}

impl PostgresSchema {
    fn create() -> Self {
        let base = std::env::var("SYNC_SERVER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/sync_server_tests".into());
        let (server, database) = base.rsplit_once('/').expect("a database in the URL");
        let database = database.split('?').next().unwrap_or(database);
        // The database exists once any PostgreSQL test has run; this one may be first.
        let _ = psql(
            &format!("{server}/postgres"),
            &format!("CREATE DATABASE {database}"),
        );
        let name = format!("e2e_fleet_{}", std::process::id());
        let made = psql(&base, &format!("CREATE SCHEMA {name}"));
        assert!(
            made.status.success(),
            "cannot make a schema in the tests' PostgreSQL at {base} (start PostgreSQL or set \
             SYNC_SERVER_TEST_POSTGRES): {}",
            String::from_utf8_lossy(&made.stderr)
        );
        Self { base, name }
    }

    /// What `--store` takes: the database with `search_path` set to this schema.
    fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-csearch_path%3D{}",
            self.base, self.name
        )
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        let _ = psql(
            &self.base,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) -> std::process::Output {
    std::process::Command::new("psql")
        .args([url, "-qAtc", sql])
        .output()
        .expect("run psql (Debian: postgresql-client)")
}

#[test]
fn two_instances_on_one_postgres_store_carry_the_fleet_exactly_once() {
    let county = County::new();
    let schema = PostgresSchema::create();
    let url = schema.url();
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sync-server/seed/catalog.json"
    );
    server_cli(county.path(), &["--store", &url, "catalog", "import", seed]);
    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("server.log");
    let server_bin = booth_tests::server_bin();
    let spawned = |mode: &[&str]| {
        let mut args = vec![
            "--store",
            &url,
            "--spawn-server",
            "--instances",
            "2",
            "--server-bin",
            server_bin.to_str().expect("utf-8 path"),
            "--server-log",
            log.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(mode);
        loadgen(county.path(), &args)
    };

    let out = spawned(&[
        "steady",
        "--booths",
        "12",
        "--compress",
        "600",
        "--duration",
        "4",
        "--submissions-per-day",
        "300",
    ]);
    assert!(out.success, "{out}");
    let steady = report(&out);
    assert_eq!(number(&steady, "/instances"), 2);
    counts_add_up(&steady);
    let steady_made = stored_once(&steady);
    // Booth i talks to instance i mod 2: both served booths.
    for instance in 1..=2 {
        let path = logs.path().join(format!("server-{instance}.log"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            text.contains("/api/v1/heartbeat"),
            "instance {instance} answered heartbeats:\n{text}"
        );
    }

    // A storm through both: the same booths again, each back with 5 queued.
    let out = spawned(&[
        "storm",
        "--booths",
        "12",
        "--queued",
        "5",
        "--duration",
        "120",
    ]);
    assert!(out.success, "{out}");
    let storm = report(&out);
    assert_eq!(number(&storm, "/enrollment/already_enrolled"), 12);
    counts_add_up(&storm);
    assert_eq!(stored_once(&storm), 12 * 5);
    let stored = number(&storm, "/store_check/stored_after");
    assert_eq!(stored, steady_made + 12 * 5, "the store holds each once");
}
