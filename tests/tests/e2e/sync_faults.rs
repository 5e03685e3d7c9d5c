//! Exactly-once under the faults a village booth meets: the booth killed mid-write, a bad link,
//! the server killed mid-batch, a wrong clock, a full disk, a bad item in the queue.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use booth_tests::booth::{
    Booth, COMMAND, County, Server, enroll_code, eventually, free_port, receipt_of, server_receipts,
};
use booth_tests::fault_proxy::{FaultMix, FaultProxy};
use booth_tests::{Background, run_bin};
use kiosk_core::store::{NewSubmission, Store};
use sync_protocol::submission::SubmissionKind;

/// Deterministic pseudo-random delays, so a failing run can be repeated.
struct Jitter(u64);

impl Jitter {
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % max.max(1)
    }
}

/// Adds `count` complaints straight through the store library (the path `kiosk submit` takes),
/// returning their receipt numbers.
fn fill_queue(booth: &Booth, count: usize, tag: &str) -> BTreeSet<String> {
    let mut store = Store::open(&booth.dir).expect("open the booth's store");
    (0..count)
        .map(|i| {
            let mut new = NewSubmission::new(SubmissionKind::Complaint);
            new.text = Some(format!("{tag} {i}: 村口路灯不亮"));
            store.submit(new).expect("submit").number.to_string()
        })
        .collect()
}

/// Every submission the booth committed, as the booth sees it.
fn booth_receipts(booth: &Booth, candidates: &BTreeSet<String>) -> BTreeSet<String> {
    let store = Store::open(&booth.dir).expect("open the booth's store");
    candidates
        .iter()
        .filter(|r| store.receipt(r).ok().flatten().is_some())
        .cloned()
        .collect()
}

fn assert_exactly_once(county: &Path, expected: &BTreeSet<String>) {
    let on_server = server_receipts(county);
    let twice: Vec<_> = on_server.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "received more than once: {twice:?}");
    let server_set: BTreeSet<String> = on_server.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&server_set).collect();
    let extra: Vec<_> = server_set.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing on server: {missing:?}\nunexpected on server: {extra:?}"
    );
}

fn enrolled_booth(url: &str, county: &Path, dir: &Path) -> Booth {
    let booth = Booth::new(dir);
    booth.enroll(url, &enroll_code(county, "青山村"));
    booth
}

/// SIGKILL at ≥ 75 points while submitting and while syncing (`CRASH_POINTS` raises it for a
/// local soak run); afterwards every receipt that was printed is on the server exactly once,
/// and the server holds nothing the booth did not commit.
#[test]
fn killing_the_booth_mid_submit_and_mid_sync_loses_and_duplicates_nothing() {
    let points: usize = std::env::var("CRASH_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let server = Server::start(county.path(), 0);
    let booth = enrolled_booth(&server.url, county.path(), booth_dir.path());
    let mut jitter = Jitter(0x5eed_1234_abcd_0001);
    let mut printed = BTreeSet::new();
    let mut maybe = BTreeSet::new();
    let mut sync_kills = 0;
    for i in 0..points {
        let text = format!("crash {i}");
        let mut submit = Background::spawn(&[
            "--data-dir",
            booth.dir.to_str().unwrap(),
            "submit",
            "--kind",
            "complaint",
            "--text",
            &text,
            "--json",
        ]);
        std::thread::sleep(Duration::from_millis(jitter.next_ms(60)));
        submit.kill();
        std::thread::sleep(Duration::from_millis(20)); // let the reader thread take the last line
        if let Some(line) = submit
            .stdout()
            .lines()
            .find(|l| l.contains("receipt_number"))
        {
            let value: serde_json::Value = serde_json::from_str(line).expect("submit --json line");
            printed.insert(value["receipt_number"].as_str().unwrap().to_owned());
        }
        if i % 2 == 0 {
            let mut service = booth.spawn_sync();
            std::thread::sleep(Duration::from_millis(jitter.next_ms(400)));
            service.kill();
            sync_kills += 1;
        }
    }
    // Committed but killed before printing: the booth has it, so it must arrive too.
    for seq in 0..points as u64 + 2 {
        let number = sync_protocol::receipt::ReceiptNumber::new(1, seq).to_string();
        maybe.insert(number);
    }
    booth.drain(20);
    let committed = booth_receipts(&booth, &maybe);
    assert!(
        printed.is_subset(&committed),
        "a printed receipt is missing from the booth"
    );
    assert!(
        !printed.is_empty(),
        "no submit finished at all: the kill points are too early to test anything"
    );
    eprintln!(
        "kill points: {points} during submit, {sync_kills} during sync; {} printed, {} committed",
        printed.len(),
        committed.len()
    );
    assert_exactly_once(county.path(), &committed);
    drop(server);
}

/// 2,000 submissions through a proxy that drops, delays, resets mid-response and half-closes.
#[test]
fn two_thousand_submissions_through_a_bad_link_arrive_exactly_once() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let server = Server::start(county.path(), 0);
    let upstream = server.url.trim_start_matches("http://").parse().unwrap();
    let proxy = FaultProxy::start(upstream, FaultMix::NONE, 0xfa17_0001).unwrap();
    let booth = enrolled_booth(&proxy.url(), county.path(), booth_dir.path());
    let receipts = fill_queue(&booth, 2000, "bad link");
    proxy.set_mix(FaultMix {
        drop: 0.1,
        delay: 0.15,
        reset_mid_response: 0.15,
        half_close: 0.05,
    });
    booth.drain(400);
    let stats = proxy.stats();
    let faults = [&stats.dropped, &stats.reset, &stats.half_closed]
        .map(|c| c.load(std::sync::atomic::Ordering::Relaxed));
    assert!(
        faults.iter().all(|&n| n > 0),
        "every fault must have happened at least once: {faults:?}"
    );
    assert_exactly_once(county.path(), &receipts);
    assert_eq!(booth.queue_status()["acknowledged"], 2000);
}

#[test]
fn the_server_killed_mid_batch_and_restarted_loses_and_duplicates_nothing() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Server::start(county.path(), port);
    let booth = enrolled_booth(&server.url, county.path(), booth_dir.path());
    let receipts = fill_queue(&booth, 1500, "server crash");
    let _service = booth.spawn_sync();
    eventually(COMMAND, "the first batches reach the server", || {
        !server_receipts(county.path()).is_empty()
    });
    server.kill();
    let _server = Server::start(county.path(), port);
    eventually(COMMAND, "all 1500 on the server", || {
        server_receipts(county.path()).len() >= receipts.len()
    });
    assert_exactly_once(county.path(), &receipts);
}

#[test]
fn a_booth_whose_clock_is_two_days_off_still_syncs_and_says_so() {
    let county = County::new();
    let server = Server::start(county.path(), 0);
    for skew in ["+2d", "-2d"] {
        let booth_dir = tempfile::tempdir().unwrap();
        let booth = enrolled_booth(&server.url, county.path(), booth_dir.path());
        let dir = booth.dir.to_str().unwrap();
        let faketime = Path::new("faketime");
        let kiosk = booth_tests::kiosk_bin();
        let kiosk = kiosk.to_str().unwrap();
        let submit = run_bin(
            faketime,
            &[
                "-f",
                skew,
                kiosk,
                "--data-dir",
                dir,
                "submit",
                "--kind",
                "complaint",
                "--text",
                "钟不准",
                "--json",
            ],
            COMMAND,
        );
        assert!(submit.success, "{skew}: {submit}");
        let receipt = receipt_of(&submit);
        let sync = run_bin(
            faketime,
            &["-f", skew, kiosk, "--data-dir", dir, "sync", "--once"],
            COMMAND,
        );
        assert!(
            sync.success,
            "{skew}: a wrong clock must not stop the booth\n{sync}"
        );
        assert!(
            sync.stdout.contains("clock is off by 2 days"),
            "{skew}: the technician is told\n{sync}"
        );
        assert_eq!(
            server_receipts(county.path()).get(&receipt),
            Some(&1),
            "{skew}"
        );
    }
}

/// A small filesystem of its own, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                dir.path().to_str().unwrap(),
            ])
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a small tmpfs needs root (CI runs as root)"
        );
        Self { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_refuses_cleanly_and_loses_nothing_already_saved() {
    let county = County::new();
    let server = Server::start(county.path(), 0);
    let disk = SmallDisk::mount("10m");
    let booth = enrolled_booth(&server.url, county.path(), &disk.dir.path().join("booth"));
    // Room the technician can free later.
    let filler = disk.dir.path().join("old-logs");
    std::fs::write(&filler, vec![0u8; 6 * 1024 * 1024]).unwrap();
    let long_text = "路灯".repeat(1500);
    let mut printed = BTreeSet::new();
    let refusal = loop {
        let out = booth.run(&[
            "submit",
            "--kind",
            "complaint",
            "--text",
            &long_text,
            "--json",
        ]);
        if !out.success {
            break out;
        }
        printed.insert(receipt_of(&out));
        assert!(printed.len() < 2000, "the small disk never filled");
    };
    assert_eq!(refusal.stderr.lines().count(), 1, "{refusal}");
    assert!(refusal.stderr.contains("disk is full"), "{refusal}");
    assert!(
        refusal.stdout.is_empty(),
        "no receipt may be printed for a refused submission\n{refusal}"
    );
    let status = booth.queue_status();
    assert_eq!(status["pending"], printed.len(), "{status}");
    std::fs::remove_file(filler).unwrap();
    booth.drain(10);
    assert_exactly_once(county.path(), &printed);
}

#[test]
fn a_quarantined_item_in_the_middle_does_not_hold_up_the_queue() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let server = Server::start(county.path(), 0);
    let booth = enrolled_booth(&server.url, county.path(), booth_dir.path());
    let first = booth.complain("第一条");
    let middle = booth.complain("第二条");
    let last = booth.complain("第三条");

    // The middle one reaches the server with different content under the same id (as a
    // corrupted retry would), so the booth's own upload of it is a conflict.
    let store = Store::open(&booth.dir).unwrap();
    let identity = store.identity().unwrap().expect("enrolled");
    let mut tampered = store
        .due_submissions(store.corrected_now().unwrap(), 10)
        .unwrap()
        .into_iter()
        .find(|s| s.receipt_number == middle)
        .expect("the middle item is queued");
    drop(store);
    // The booth sealed it to the county; the other content goes in the clear, as an older
    // booth would send it (a sealed part and clear fields together are refused outright).
    tampered.sealed = None;
    tampered.text = Some("被篡改的内容".into());
    let key = kiosk_core::identity::load(&booth.dir).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = kiosk_core::sync::client::Client::new(
            &server.url,
            identity.server_pin,
            identity.kiosk_id.clone(),
            key,
            kiosk_core::sync::clock::ClockOffset::new(0),
        )
        .unwrap();
        let batch = sync_protocol::submission::BatchRequest {
            submissions: vec![tampered],
        };
        client
            .upload(&batch)
            .await
            .expect("the tampered upload is accepted");
    });

    let out = booth.run(&["sync", "--once", "--json"]);
    let summary: serde_json::Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(summary["uploaded"], 2, "{out}");
    assert_eq!(summary["quarantined"], 1, "{out}");
    let on_server = server_receipts(county.path());
    assert_eq!(
        (on_server.get(&first), on_server.get(&last)),
        (Some(&1), Some(&1))
    );
    let quarantined = booth.ok(&["queue", "quarantined"]);
    assert!(quarantined.stdout.contains(&middle), "{quarantined}");
    booth.ok(&[
        "queue",
        "discard",
        &middle,
        "--reason",
        "与服务器记录冲突，已电话核实",
    ]);
    let status = booth.queue_status();
    assert_eq!(
        (status["quarantined"].as_u64(), status["discarded"].as_u64()),
        (Some(0), Some(1)),
        "{status}"
    );
}
