//! The CPU cost of sealing a submission's personal part: on the booth once per submit
//! (`Submission::seal_personal`, RFC 9180 HPKE: an ephemeral X25519 key, one Diffie-Hellman,
//! HKDF, ChaCha20-Poly1305), on the server once per ingested item (`open_personal`).
//! No I/O: compare with the booth's submit (a durable SQLite commit) in `docs/benchmarks.md`.
//!
//! ```text
//! cargo bench -p sync-protocol --bench personal
//! ```
//! `BENCH_CALLS` per run (2000), 9 runs; prints the median and range of the runs' means.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sync_protocol::personal::CountySecret;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{Applicant, Submission, SubmissionKind};

fn sample(seq: u64) -> Submission {
    Submission {
        attachments: Vec::new(),
        supplement_to: None,
        phone_upload: None,
        id: uuid::Uuid::now_v7(),
        kiosk_seq: seq,
        receipt_number: ReceiptNumber::new(7, seq).to_string(),
        kind: SubmissionKind::Application,
        item_code: Some("GX-MZ-001".into()),
        catalog_version: Some(3),
        fields: BTreeMap::from([
            ("household_size".into(), "4".into()),
            (
                "reason".into(),
                "家中老人长期患病，收入不足以维持基本生活".into(),
            ),
        ]),
        text: None,
        rating: None,
        applicant: Some(Applicant {
            name: Some("李秀英".into()),
            id_number: Some("450902196208150028".into()),
            address: Some("凤岭乡石门村三组十七号".into()),
        }),
        contact_phone: Some("13800771234".into()),
        created_at: chrono::Utc::now(),
        sealed: None,
    }
}

/// The mean time of one call of `work` over `calls` calls, for each of `runs` runs.
fn runs(runs: usize, calls: usize, mut work: impl FnMut(usize)) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            for call in 0..calls {
                work(call);
            }
            started.elapsed() / u32::try_from(calls).unwrap_or(u32::MAX)
        })
        .collect()
}

fn report(what: &str, mut means: Vec<Duration>) {
    means.sort();
    println!(
        "{what}: median {:.1} µs per call (runs {:.1}–{:.1} µs)",
        means[means.len() / 2].as_secs_f64() * 1e6,
        means[0].as_secs_f64() * 1e6,
        means[means.len() - 1].as_secs_f64() * 1e6,
    );
}

fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let county = CountySecret::from_seed(&[7; 32]);
    let plain: Vec<Submission> = (1..=calls as u64).map(sample).collect();
    let sealed: Vec<Submission> = plain
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.seal_personal(county.public_key());
            s
        })
        .collect();
    println!("{calls} calls per run, 9 runs, one thread");
    report(
        "clone only (the baseline both include)",
        runs(9, calls, |i| {
            std::hint::black_box(plain[i].clone());
        }),
    );
    report(
        "booth: seal_personal (per submit)",
        runs(9, calls, |i| {
            let mut s = plain[i].clone();
            s.seal_personal(county.public_key());
            std::hint::black_box(s);
        }),
    );
    report(
        "server: open_personal (per ingested item)",
        runs(9, calls, |i| {
            let mut s = sealed[i].clone();
            s.open_personal(&county).unwrap();
            std::hint::black_box(s);
        }),
    );
}
