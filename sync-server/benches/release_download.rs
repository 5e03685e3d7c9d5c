//! The county server's cost of serving one release bundle to many booths: the real
//! `sync-server serve` binary in its own process (so its CPU time and memory are its own), a
//! signed bundle uploaded with `sync-server release upload`, a rollout to every booth, and
//! BENCH_BOOTHS enrolled booths each downloading the bundle with a signed `GET`, all at once.
//!
//! ```text
//! cargo bench -p sync-server --bench release_download                       # 3 runs, 100 booths, 25 MiB
//! BENCH_RUNS=1 BENCH_BOOTHS=20 BENCH_BUNDLE_MIB=5 cargo bench -p sync-server --bench release_download
//! ```
//!
//! Two set-ups per run, each over the same booths:
//! 1. **open**: `--max-downloads` = the booths, `--download-kib-per-s 0`: every booth at once,
//!    as fast as loopback goes; what serving costs the server per GiB, and its memory with
//!    that many bodies streaming.
//! 2. **county defaults** (`--max-downloads 4`, 256 KiB/s each): the booths beyond four are
//!    answered 503 with `Retry-After` and come back; this measures how many were turned away on
//!    the first try and that memory stays flat (the bodies are not finished: each booth stops
//!    after its first MiB, as a cut link would, so the run stays short).
//!
//! Booths and server share the machine's cores; the booths only read and count bytes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use ed25519_dalek::SigningKey;
use sync_protocol::paths;
use sync_protocol::signing::{self, RequestParts};

use common::harness::{self, BenchResult, Stats, env_number};
use common::server::{enroll_over_http, village};

const SERVER: &str = env!("CARGO_BIN_EXE_sync-server");

fn main() -> BenchResult {
    let runs = env_number("BENCH_RUNS", 3)?;
    let booths = env_number("BENCH_BOOTHS", 100)?;
    let bundle_mib = env_number("BENCH_BUNDLE_MIB", 25)?;
    let scratch = harness::scratch_dir("release-download-")?;
    println!(
        "release download: {runs} run(s), {booths} booths, a {bundle_mib} MiB bundle; {} cores; scratch on {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        harness::describe_disk(scratch.path())
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    let county = County::new(scratch.path(), bundle_mib)?;
    let mut open = Vec::new();
    let mut capped = Vec::new();
    for run in 1..=runs {
        let server = county.serve(&[
            "--max-downloads",
            &booths.to_string(),
            "--download-kib-per-s",
            "0",
        ])?;
        let enrolled = runtime.block_on(county.enroll(&server, booths))?;
        let before = server.usage();
        let measured = runtime.block_on(download_all(&server, &county, &enrolled, None))?;
        let usage = server.usage().since(&before);
        println!(
            "run {run} open: {} booths took {:.2} s, {:.0} MiB/s together; download median {:.2} s, p90 {:.2} s; server CPU {:.2} s ({:.2} s per GiB served); server peak RSS {} MiB; {} refused",
            booths,
            measured.wall.as_secs_f64(),
            measured.bytes as f64 / 1_048_576.0 / measured.wall.as_secs_f64(),
            measured.downloads.median.as_secs_f64(),
            measured.downloads.p90.as_secs_f64(),
            usage.cpu.as_secs_f64(),
            usage.cpu.as_secs_f64() / (measured.bytes as f64 / 1_073_741_824.0),
            usage.peak_rss_kib / 1024,
            measured.refused,
        );
        open.push((measured, usage));
        drop(server);

        let server = county.serve(&[])?;
        let measured =
            runtime.block_on(download_all(&server, &county, &enrolled, Some(1 << 20)))?;
        let usage = server.usage();
        println!(
            "run {run} county defaults: {} of {} booths answered 503 with Retry-After at once; the rest got their first MiB in median {:.2} s; server peak RSS {} MiB",
            measured.refused,
            booths,
            measured.downloads.median.as_secs_f64(),
            usage.peak_rss_kib / 1024,
        );
        capped.push((measured, usage));
    }

    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!("\nmedians over {runs} run(s):");
    println!(
        "  open: {:.0} MiB/s to {booths} booths together, server CPU {:.2} s per GiB served, server peak RSS {:.0} MiB",
        median(
            open.iter()
                .map(|(m, _)| m.bytes as f64 / 1_048_576.0 / m.wall.as_secs_f64())
                .collect()
        ),
        median(
            open.iter()
                .map(|(m, u)| u.cpu.as_secs_f64() / (m.bytes as f64 / 1_073_741_824.0))
                .collect()
        ),
        median(
            open.iter()
                .map(|(_, u)| u.peak_rss_kib as f64 / 1024.0)
                .collect()
        ),
    );
    println!(
        "  county defaults: {:.0} of {booths} booths told to come back, server peak RSS {:.0} MiB",
        median(capped.iter().map(|(m, _)| m.refused as f64).collect()),
        median(
            capped
                .iter()
                .map(|(_, u)| u.peak_rss_kib as f64 / 1024.0)
                .collect()
        ),
    );
    Ok(())
}

/// A county's data directory with the seed catalogue, a release key and one uploaded bundle.
struct County {
    data: PathBuf,
    key_file: PathBuf,
    bundle_sha256: String,
    bundle_bytes: u64,
}

impl County {
    fn new(dir: &Path, bundle_mib: usize) -> BenchResult<Self> {
        let data = dir.join("county");
        let key_file = dir.join("county-keys.json");
        let county = Self {
            data,
            key_file,
            bundle_sha256: String::new(),
            bundle_bytes: 0,
        };
        county.cli(&["keys", "init"])?;
        let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/seed/catalog.json");
        county.cli(&["catalog", "import", seed])?;

        let release_key = SigningKey::from_bytes(&[42; 32]);
        let keys = dir.join("release-keys");
        std::fs::write(
            &keys,
            format!("{}\n", booth_release::PublicKey::of(&release_key)),
        )?;
        let files = dir.join("release-files");
        std::fs::create_dir_all(files.join("bin"))?;
        // Compressed already, as a real app binary in a bundle nearly is: bytes that do not repeat.
        let mut app = vec![0u8; bundle_mib * 1_048_576];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for byte in &mut app {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        std::fs::write(files.join("bin/kiosk"), &app)?;
        let spec = booth_release::ReleaseSpec {
            version: "9.0.0".parse()?,
            min_version: "0.0.1".parse()?,
            supersedes_highest: None,
            store: booth_release::StoreSchemas {
                reads: booth_release::SchemaRange::new(1, 99).ok_or("a schema range")?,
                writes: 1,
            },
            introduces_keys: vec![],
            retires_keys: vec![],
            notes: None,
        };
        let bundle = dir.join("release.bundle");
        booth_release::pack(
            &files,
            &spec,
            &[&release_key],
            std::fs::File::create(&bundle)?,
        )?;
        let bytes = std::fs::read(&bundle)?;
        use sha2::Digest as _;
        let sha256: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let keys_arg = keys.to_str().ok_or("a UTF-8 path")?;
        county.cli(&[
            "--release-keys",
            keys_arg,
            "release",
            "upload",
            bundle.to_str().ok_or("a UTF-8 path")?,
        ])?;
        county.cli(&["rollout", "create", "9.0.0", "--percent", "100"])?;
        Ok(Self {
            bundle_sha256: sha256,
            bundle_bytes: bytes.len() as u64,
            ..county
        })
    }

    fn cli(&self, args: &[&str]) -> BenchResult<String> {
        let out = Command::new(SERVER)
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--key-file")
            .arg(&self.key_file)
            .args(args)
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "sync-server {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `sync-server serve` with `extra` options, once it listens.
    fn serve(&self, extra: &[&str]) -> BenchResult<Running> {
        let mut child = Command::new(SERVER)
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--key-file")
            .arg(&self.key_file)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("the server's stdout")?;
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let url = loop {
            let line = lines
                .next()
                .ok_or("the server ended before it listened")??;
            if let Some(at) = line.split("listening on ").nth(1) {
                break at.split_whitespace().next().unwrap_or(at).to_owned();
            }
        };
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let url = if url.starts_with("http") {
            url
        } else {
            format!("http://{url}")
        };
        Ok(Running { child, url })
    }

    /// Enrolls `booths` booths over HTTP, each with its own code and key.
    async fn enroll(
        &self,
        server: &Running,
        booths: usize,
    ) -> BenchResult<Vec<(SigningKey, String)>> {
        let http = reqwest::Client::new();
        let mut enrolled = Vec::with_capacity(booths);
        for _ in 0..booths {
            let out = self.cli(&["enroll-code", "--village", &village().village, "--json"])?;
            let code: serde_json::Value = serde_json::from_str(&out)?;
            let code = code["code"]
                .as_str()
                .ok_or("enroll-code --json printed no code")?;
            let (key, answer) = enroll_over_http(&http, &server.url, code).await?;
            enrolled.push((key, answer.kiosk_id));
        }
        Ok(enrolled)
    }
}

struct Running {
    child: Child,
    url: String,
}

struct Usage {
    cpu: Duration,
    peak_rss_kib: u64,
}

impl Usage {
    /// CPU time since `before`; the peak memory stays the process's.
    fn since(self, before: &Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(before.cpu),
            ..self
        }
    }
}

impl Running {
    /// The server process's CPU time so far and its peak resident memory.
    fn usage(&self) -> Usage {
        let pid = self.child.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let peak_rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Usage {
            cpu: Duration::from_millis((ticks(11) + ticks(12)) * 10),
            peak_rss_kib,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Measured {
    wall: Duration,
    bytes: u64,
    refused: usize,
    downloads: Stats,
}

/// Every booth asks for the bundle at once; each reads it whole, or only `stop_after` bytes.
async fn download_all(
    server: &Running,
    county: &County,
    booths: &[(SigningKey, String)],
    stop_after: Option<u64>,
) -> BenchResult<Measured> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let path = format!("{}/{}", paths::RELEASES, county.bundle_sha256);
    let started = Instant::now();
    let tasks: Vec<_> = booths
        .iter()
        .map(|(key, kiosk_id)| {
            let headers = signing::sign(
                key,
                kiosk_id,
                &RequestParts {
                    method: "GET",
                    path: &path,
                    query: "",
                    body: b"",
                },
                Utc::now().timestamp(),
                &signing::new_nonce(),
            );
            let request = http
                .get(format!("{}{path}", server.url))
                .header(signing::CONTENT_DIGEST, headers.content_digest)
                .header(signing::SIGNATURE_INPUT, headers.signature_input)
                .header(signing::SIGNATURE, headers.signature);
            tokio::spawn(async move {
                let asked = Instant::now();
                let mut response = request.send().await.map_err(|e| e.to_string())?;
                let status = response.status();
                if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                    if response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .is_none()
                    {
                        return Err("503 without Retry-After".to_owned());
                    }
                    return Ok(None);
                }
                if !status.is_success() {
                    return Err(format!("the server answered {status}"));
                }
                let mut bytes = 0u64;
                while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
                    bytes += chunk.len() as u64;
                    if stop_after.is_some_and(|enough| bytes >= enough) {
                        break;
                    }
                }
                Ok(Some((asked.elapsed(), bytes)))
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut bytes = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await?? {
            Some((took, got)) => {
                if stop_after.is_none() && got != county.bundle_bytes {
                    return Err(
                        format!("a booth got {got} of {} bytes", county.bundle_bytes).into(),
                    );
                }
                times.push(took);
                bytes += got;
            }
            None => refused += 1,
        }
    }
    if times.is_empty() {
        return Err("no booth got the bundle".into());
    }
    Ok(Measured {
        wall: started.elapsed(),
        bytes,
        refused,
        downloads: Stats::of(times),
    })
}
