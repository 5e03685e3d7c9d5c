//! One run, start to end: check the target, open the store, enroll, warm up, start or find
//! the server, load it, count, check exactly-once, stop what was started, report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use loadgen::api::{Api, HttpConfig};
use loadgen::backoff::Policy;
use loadgen::booth::{Booth, Fleet};
use loadgen::cursors::{self, Cursors};
use loadgen::enroll::{self, BoothIdentity};
use loadgen::ledger::Ledger;
use loadgen::procstat::{Usage, Watch};
use loadgen::recorder::{Recorder, millis};
use loadgen::report::{Lag, Mode, Report, Totals, Verdict};
use loadgen::scrape;
use loadgen::spawn::{SpawnConfig, SpawnedServer};
use loadgen::steady::{self, SteadyConfig};
use loadgen::store::{self, OpenedStore, StoreSpec};
use loadgen::storm::{self, StormConfig};
use loadgen::submissions::{Catalogue, Factory};
use loadgen::target::Target;
use loadgen::verify;

use super::{Args, ModeArg};

/// How often the server's and loadgen's memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// How often progress goes to stderr during a run.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// What the run found; `None` for `enroll`, which prints its own line.
pub async fn run(args: &Args) -> anyhow::Result<Option<Report>> {
    args.check()?;
    // First, so a URL that is not loopback is refused before anything is opened.
    let given = args
        .url
        .iter()
        .map(|url| Target::loopback(url))
        .collect::<Result<Vec<_>, _>>()?;
    if args.mode != ModeArg::Enroll && given.is_empty() && !args.spawn_server {
        bail!("say where the server is: --url http://127.0.0.1:PORT, or --spawn-server");
    }
    let spec = StoreSpec {
        data_dir: args.data_dir.clone(),
        url: args.store_url(),
    };
    let opened = store::open(&spec, &args.key_file)
        .await
        .context("cannot open the server's store")?;
    let store = Arc::clone(&opened.store);

    eprintln!(
        "loadgen: enrolling {} booths (seed `{}`) …",
        args.booths, args.seed
    );
    let (mut identities, enrollment) =
        enroll::enroll_fleet(&*store, &args.seed, args.booths, args.concurrency).await?;
    eprintln!(
        "loadgen: {} already enrolled, {} enrolled now in {:.2} s ({:.0} booths/s)",
        enrollment.already_enrolled,
        enrollment.enrolled_now,
        enrollment.seconds,
        enrollment.booths_per_second
    );
    if args.mode == ModeArg::Enroll {
        return Ok(None);
    }

    let catalogue = Arc::new(Catalogue::load(&*store).await?);
    eprintln!("loadgen: reading where each booth stands (feeds, receipt sequence) …");
    let resuming = std::time::Instant::now();
    let mut cursors = cursors::resume(&*store, &mut identities).await?;
    let resume_s = resuming.elapsed().as_secs_f64();
    if args.cold_cursors {
        cursors.fill(Cursors::default());
    }
    let stored_before = verify::stored(&*store).await?;

    let mut spawned = Vec::new();
    if args.spawn_server {
        let token = loadgen::spawn::new_token()?;
        for instance in 1..=args.instances {
            match spawn(args, &spec, instance, &token).await {
                Ok(server) => spawned.push(server),
                Err(err) => {
                    stop_all(spawned).await?;
                    return Err(err);
                }
            }
        }
    }
    let run = load(
        args,
        &opened,
        identities,
        cursors,
        catalogue,
        (enrollment, resume_s),
        stored_before,
        given,
        &spawned,
    );
    // Ctrl-C or SIGTERM ends the run early, but the server loadgen started still stops.
    let outcome = tokio::select! {
        outcome = run => outcome,
        () = interrupted() => Err(anyhow::anyhow!("interrupted: the run was stopped before its end")),
    };
    stop_all(spawned).await?;
    outcome.map(Some)
}

async fn stop_all(servers: Vec<SpawnedServer>) -> anyhow::Result<()> {
    for server in servers {
        server
            .stop()
            .await
            .context("stopping the server loadgen started")?;
    }
    Ok(())
}

/// Starts instance `instance` (from 1) of the servers over `spec`'s store.
async fn spawn(
    args: &Args,
    spec: &StoreSpec,
    instance: usize,
    metrics_token: &str,
) -> anyhow::Result<SpawnedServer> {
    let program = match &args.server_bin {
        Some(path) => path.clone(),
        None => beside_me("sync-server")?,
    };
    let log = args
        .server_log
        .clone()
        .unwrap_or_else(|| sibling(&spec.data_dir, "loadgen-server.log"));
    let log = if args.instances > 1 {
        numbered(&log, instance)
    } else {
        log
    };
    eprintln!(
        "loadgen: starting {} (log: {}) …",
        program.display(),
        log.display()
    );
    let server = SpawnedServer::start(&SpawnConfig {
        program,
        data_dir: spec.data_dir.clone(),
        key_file: args.key_file.clone(),
        store: spec.url.clone(),
        log,
        serve_args: args.server_arg.clone(),
        metrics_token: metrics_token.to_owned(),
    })
    .await?;
    eprintln!(
        "loadgen: server pid {} listening on {}",
        server.pid, server.url
    );
    Ok(server)
}

/// `server.log` → `server-2.log`: one log per instance.
fn numbered(log: &Path, instance: usize) -> PathBuf {
    let stem = log
        .file_stem()
        .map_or_else(|| "server".into(), |s| s.to_string_lossy().into_owned());
    let name = match log.extension() {
        Some(ext) => format!("{stem}-{instance}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{instance}"),
    };
    log.with_file_name(name)
}

/// `name` in the directory of the running executable (`target/release/`).
fn beside_me(name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find loadgen's own path")?;
    let dir = me.parent().context("loadgen's path has no directory")?;
    Ok(dir.join(name))
}

/// `name` beside `dir` (in its parent), not inside the server's data directory.
fn sibling(dir: &Path, name: &str) -> PathBuf {
    dir.parent()
        .map_or_else(|| PathBuf::from(name), |parent| parent.join(name))
}

#[allow(clippy::too_many_arguments)] // the run's pieces, assembled once by `run`
async fn load(
    args: &Args,
    opened: &OpenedStore,
    identities: Vec<BoothIdentity>,
    cursors: Vec<Cursors>,
    catalogue: Arc<Catalogue>,
    (enrollment, resume_s): (enroll::EnrollFigures, f64),
    stored_before: u64,
    given: Vec<Target>,
    spawned: &[SpawnedServer],
) -> anyhow::Result<Report> {
    let targets = if spawned.is_empty() {
        given
    } else {
        spawned
            .iter()
            .map(|server| Target::loopback(&server.url))
            .collect::<Result<Vec<_>, _>>()?
    };
    let url = targets
        .iter()
        .map(|target| target.base.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let instances = targets.len();
    let api = Api::new(
        targets,
        HttpConfig {
            pool: args.pool,
            ..HttpConfig::default()
        },
    )?;
    let server_pids: Vec<u32> = if spawned.is_empty() {
        args.server_pid.clone()
    } else {
        spawned.iter().map(|s| s.pid).collect()
    };
    let token = match (spawned.first(), &args.metrics_token_file) {
        (Some(server), _) => Some(server.metrics_token.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let metrics_before = match &token {
        Some(token) => Some(scrape::read_all(&api, token).await?),
        None => None,
    };

    let seal_to = (!args.no_seal).then(|| opened.county_key.clone());
    let fleet = Arc::new(Fleet {
        api,
        ledger: Ledger::default(),
        factory: Factory::new(catalogue, seal_to),
        batch: args.batch,
    });
    let booths: Vec<Booth> = identities
        .into_iter()
        .zip(cursors)
        .map(|(identity, cursors)| Booth::new(identity, cursors))
        .collect();
    let load = Arc::new(Recorder::new(args.max_requests));
    let drain = Arc::new(Recorder::new(args.max_requests));
    let seed = seed_number(&args.seed);
    let mode = match args.mode {
        ModeArg::Storm => Mode::Storm,
        ModeArg::Steady | ModeArg::Enroll => Mode::Steady,
    };

    let booths = if mode == Mode::Storm {
        eprintln!(
            "loadgen: queueing {} submissions on each of {} booths (a day's outage) …",
            args.queued,
            booths.len()
        );
        storm::queue_a_day(&fleet, booths, args.queued, seed).await?
    } else {
        booths
    };

    let server_watches = server_pids
        .iter()
        .map(|&pid| Watch::start(pid, SAMPLE_EVERY))
        .collect::<Result<Vec<_>, _>>()
        .context("cannot watch the server process (--server-pid)")?;
    let own_watch = Watch::start(std::process::id(), SAMPLE_EVERY).ok();
    let progress = tokio::spawn(report_progress(Arc::clone(&load)));
    eprintln!(
        "loadgen: {} with {} booths for up to {:.0} s …",
        match mode {
            Mode::Steady => "steady state",
            Mode::Storm => "reconnect storm",
        },
        booths.len(),
        args.duration().as_secs_f64()
    );
    let backoff = Policy::default();
    let (steady, storm, window) = match mode {
        Mode::Steady => {
            let outcome = steady::run(
                Arc::clone(&fleet),
                booths,
                SteadyConfig {
                    duration: args.duration(),
                    compress: args.compress,
                    per_day: args.submissions_per_day,
                    start_hour: args.start_hour,
                    drain_timeout: Duration::from_secs_f64(args.drain_timeout),
                    seed,
                    backoff,
                },
                Arc::clone(&load),
                Arc::clone(&drain),
            )
            .await;
            (Some(outcome), None, outcome.window_s)
        }
        Mode::Storm => {
            let outcome = storm::run(
                Arc::clone(&fleet),
                booths,
                StormConfig {
                    limit: args.duration(),
                    compress: args.compress,
                    backoff,
                    seed,
                },
                Arc::clone(&load),
            )
            .await;
            (None, Some(outcome), outcome.elapsed_s)
        }
    };
    progress.abort();
    let server = Usage::sum(server_watches.into_iter().filter_map(Watch::finish));
    let loadgen = own_watch.and_then(Watch::finish);
    let server_routes = match (&token, metrics_before) {
        (Some(token), Some(before)) => before.since(&scrape::read_all(&fleet.api, token).await?),
        _ => Vec::new(),
    };

    eprintln!("loadgen: checking every submission in the store …");
    let submissions = fleet.ledger.figures();
    let store_check = verify::check(
        &*opened.store,
        fleet.ledger.delivered_by_kiosk(),
        stored_before,
    )
    .await?;

    let window = Duration::from_secs_f64(window.max(f64::MIN_POSITIVE));
    let endpoints = load.figures(window);
    // The drain's rates over the drain's own time.
    let drain_window = steady.map_or(window, |s| Duration::from_secs_f64(s.drain_s.max(1e-3)));
    let drain_endpoints = drain.figures(drain_window);
    let lag = Lag {
        p50_ms: millis(load.lag().quantile(0.5)),
        p99_ms: millis(load.lag().quantile(0.99)),
        max_ms: millis(load.lag().max()),
    };
    let capped = steady.is_some_and(|s| s.capped) || storm.is_some_and(|s| s.capped);
    let verdict = Verdict {
        exactly_once: submissions.exactly_once() && store_check.exactly_once(),
        drained: steady.is_none_or(|s| s.left_queued == 0) && storm.is_none_or(|s| s.drained),
        only_back_off_failures: load.other_failures() + drain.other_failures() == 0,
    };
    let mut notes = Vec::new();
    let period_ms = 60_000.0 / args.compress;
    if mode == Mode::Steady && lag.p99_ms > 0.1 * period_ms {
        notes.push(format!(
            "booths started their minute's work late (lag p99 {:.0} ms of a {period_ms:.0} ms booth-minute): \
             the load offered was below nominal; loadgen or the machine could not keep up",
            lag.p99_ms
        ));
    }
    if capped {
        notes.push(format!(
            "the request cap ({}) was reached: booths stopped early",
            args.max_requests
        ));
    }
    if server_pids.is_empty() {
        notes.push(
            "no --server-pid or --spawn-server: the server's CPU and memory were not measured"
                .into(),
        );
    }
    if catalogue_empty(&fleet) {
        notes.push("the store has no catalogue: no applications or evaluations were made (import one with `sync-server catalog import`)".into());
    }
    Ok(Report {
        mode,
        url,
        instances,
        booths: args.booths,
        seed: args.seed.clone(),
        compress: args.compress,
        booth_equivalents: f64::from(args.booths) * args.compress,
        enrollment,
        resume_s,
        window_s: window.as_secs_f64(),
        totals: Totals::of(&endpoints, load.overall()),
        endpoints,
        drain_endpoints,
        lag,
        steady,
        storm,
        submissions,
        store_check: Some(store_check),
        server,
        loadgen,
        server_routes,
        verdict,
        notes,
    })
}

fn catalogue_empty(fleet: &Fleet) -> bool {
    fleet.factory.catalogue().is_empty()
}

/// The seed text as a number for the booths' random sources.
fn seed_number(seed: &str) -> u64 {
    seed.bytes().fold(0xCBF2_9CE4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01B3)
    })
}

async fn report_progress(load: Arc<Recorder>) {
    let started = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval(PROGRESS_EVERY);
    ticks.tick().await;
    let mut last_ok = 0;
    loop {
        ticks.tick().await;
        let (sent, ok) = load.progress();
        eprintln!(
            "loadgen: {:>5.0} s: {sent} requests, {ok} ok ({:.0} ok/s lately)",
            started.elapsed().as_secs_f64(),
            (ok - last_ok) as f64 / PROGRESS_EVERY.as_secs_f64()
        );
        last_ok = ok;
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn interrupted() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
