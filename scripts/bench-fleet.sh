#!/usr/bin/env bash
# Fleet capacity of `sync-server`: loadgen's simulated booths against the release server on
# loopback, both on this machine's cores (docs/benchmarks.md, "Fleet capacity (loadgen)"). One
# instance on its SQLite store by default; with STORE=postgres://…, INSTANCES servers (2) over
# one PostgreSQL database, each booth always at the same instance. Every run's JSON report is
# kept in OUT; the medians of RUNS runs are printed as a Markdown table.
#
#   scripts/bench-fleet.sh steady    # the full mix at increasing fleet sizes (LADDER)
#   scripts/bench-fleet.sh storm     # BOOTHS booths back at once with QUEUED submissions each
#   RUNS=1 DURATION=20 LADDER="2000 8000" scripts/bench-fleet.sh steady     # quick
#   STORE=$(scripts/test-postgres) scripts/bench-fleet.sh steady             # 2 instances on PG
#
# steady: LADDER lists fleet sizes in booths; a size above MAX_BOOTHS (20000) runs MAX_BOOTHS
# simulated booths with time compressed by size/MAX_BOOTHS: the same requests per second, and
# the store's fleet and loadgen's memory stay those of 20,000 booths. One store for the whole
# ladder, enrolled once.
# storm: a fresh store each run (each run enrolls BOOTHS booths and stores BOOTHS × QUEUED).
#
# Other settings: RUNS (3), DURATION (steady window, 60 s; storm limit, 900 s), BOOTHS (14000),
# QUEUED (20), OUT (out/bench-fleet/<mode>-<time>), SERVER_ARGS (more `serve` options),
# STORE (a PostgreSQL URL whose role may create databases: each county gets a fresh database
# beside the URL's, dropped at the end), INSTANCES (servers over a PostgreSQL store, 2).
# Needs: python3; psql for STORE.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: scripts/bench-fleet.sh steady|storm}
runs=${RUNS:-3}
max_booths=${MAX_BOOTHS:-20000}
out=${OUT:-out/bench-fleet/$mode-$(date -u +%Y%m%dT%H%M%SZ)}
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 1; }

cargo build --release --quiet -p loadgen -p sync-server
bin=${CARGO_TARGET_DIR:-$PWD/target}/release
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
server_args=()
for arg in ${SERVER_ARGS:-}; do server_args+=(--server-arg "$arg"); done
store=${STORE:-}
instances=1
databases=()
if [ -n "$store" ]; then
  command -v psql >/dev/null || { echo "STORE needs psql (Debian: postgresql-client)" >&2; exit 1; }
  instances=${INSTANCES:-2}
  trap 'for db in "${databases[@]}"; do psql "${store%/*}/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
fi

# The store of the county in DIR, as SYNC_SERVER_STORE: unset for SQLite (the file in its
# data directory), a fresh database for PostgreSQL.
use_store_for() {
  unset SYNC_SERVER_STORE
  [ -n "$store" ] || return 0
  local db
  db=fleet_bench_$$_$(basename "$1" | tr -c 'a-z0-9\n' _)
  psql "${store%/*}/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  databases+=("$db")
  export SYNC_SERVER_STORE="${store%/*}/$db"
}

# A county store with the seed catalogue and one notice for every village. SYNC_SERVER_STORE
# (set by the caller for PostgreSQL) reaches every command below, loadgen and its servers.
county() {
  local dir=$1
  mkdir -m 700 -p "$dir"
  "$bin/sync-server" --data-dir "$dir/data" --key-file "$dir/keys.json" keys init >/dev/null
  "$bin/sync-server" --data-dir "$dir/data" --key-file "$dir/keys.json" \
    catalog import sync-server/seed/catalog.json >/dev/null
  "$bin/sync-server" --data-dir "$dir/data" --key-file "$dir/keys.json" \
    notice add --title 秋季征兵 --body 适龄青年请到乡武装部报名 >/dev/null
}

# CPU seconds all PostgreSQL processes have used (0 without STORE): the database's share of
# the work, which loadgen's own figures (the server processes) leave out.
# Backends end with their connections, so this counts the postmaster's reaped children too.
postgres_cpu() {
  [ -n "$store" ] || { echo 0; return; }
  python3 - <<'PY'
import os
tick = os.sysconf("SC_CLK_TCK")
procs = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        continue
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    procs[int(pid)] = (name, int(fields[1]), [int(x) for x in fields[11:15]])
masters = [p for p, (n, ppid, _) in procs.items() if n == "postgres" and procs.get(ppid, ("",))[0] != "postgres"]
total = 0
for master in masters:
    total += sum(procs[master][2])  # its own and its reaped children's user and system time
    total += sum(sum(t[:2]) for p, (n, ppid, t) in procs.items() if ppid == master)
print(total / tick)
PY
}

loadgen() {
  local dir=$1 report=$2 cpu_before
  shift 2
  echo "+ loadgen $*" >&2
  cpu_before=$(postgres_cpu)
  # Exit status 2 (something not stored once, or not drained) is a result to report, not a
  # reason to stop the ladder.
  "$bin/loadgen" "$@" --data-dir "$dir/data" --key-file "$dir/keys.json" --spawn-server \
    --server-log "$dir/server-$(basename "$report" .json).log" --instances "$instances" \
    "${server_args[@]}" --json \
    >"$report" || [ $? -eq 2 ]
  python3 - "$report" "$cpu_before" "$(postgres_cpu)" <<'PY'
import json, sys
path, before, after = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
with open(path) as f:
    r = json.load(f)
r["postgres_cpu_seconds"] = after - before
with open(path, "w") as f:
    json.dump(r, f, indent=1)
PY
  echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
}

case $mode in
steady)
  duration=${DURATION:-60}
  use_store_for "$work/county"
  county "$work/county"
  # Enroll the largest fleet once, so every step finds its booths already there.
  "$bin/loadgen" enroll --booths "$max_booths" --data-dir "$work/county/data" \
    --key-file "$work/county/keys.json" 2>&1 | tail -1
  for size in ${LADDER:-2000 5000 10000 20000 40000 80000 160000}; do
    booths=$((size < max_booths ? size : max_booths))
    compress=$(python3 -c "print($size / $booths)")
    for run in $(seq 1 "$runs"); do
      loadgen "$work/county" "$out/steady-$size-$run.json" steady --booths "$booths" \
        --compress "$compress" --duration "$duration"
    done
  done
  ;;
storm)
  duration=${DURATION:-900}
  for run in $(seq 1 "$runs"); do
    use_store_for "$work/storm-$run"
    county "$work/storm-$run"
    loadgen "$work/storm-$run" "$out/storm-$run.json" storm --booths "${BOOTHS:-14000}" \
      --queued "${QUEUED:-20}" --duration "$duration"
    rm -rf "$work/storm-$run"
  done
  ;;
*)
  echo "usage: scripts/bench-fleet.sh steady|storm" >&2
  exit 1
  ;;
esac

echo "reports in $out" >&2
python3 - "$out" "$mode" <<'PY'
import glob, json, statistics, sys
out, mode = sys.argv[1], sys.argv[2]
reports = {}
for path in sorted(glob.glob(f"{out}/{mode}-*.json")):
    with open(path) as f:
        r = json.load(f)
    key = round(r["booth_equivalents"]) if mode == "steady" else "storm"
    reports.setdefault(key, []).append(r)
med = lambda xs: statistics.median(xs) if xs else float("nan")
def endpoint(r, name):
    return next((e for e in r["endpoints"] if e["endpoint"] == name), None)
def failures(r):
    total = {}
    for e in r["endpoints"] + r["drain_endpoints"]:
        for k, v in e["failures"].items():
            total[k] = total.get(k, 0) + v
    return total
if mode == "steady":
    print("| booths (simulated × compression) | runs | answered/s | all requests p50 / p99 / p99.9 ms | p99 ms heartbeat | p99 ms feeds (slowest) | p99 ms submissions | failed | lag p99 ms | server cores | server CPU µs per request | PostgreSQL cores | server peak MiB | loadgen cores | exactly once |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for size in sorted(reports):
        rs = reports[size]
        hb = [endpoint(r, "heartbeat")["p99_ms"] for r in rs]
        feeds = [max(endpoint(r, f)["p99_ms"] for f in ("catalog", "notices", "statuses")) for r in rs]
        subs = [e["p99_ms"] for r in rs if (e := endpoint(r, "submissions"))]
        t = [r["totals"] for r in rs]
        print(f"| {size:,} ({rs[0]['booths']:,} × {rs[0]['compress']:g}) | {len(rs)} "
              f"| {med([x['per_second'] for x in t]):,.0f} "
              f"| {med([x['p50_ms'] for x in t]):.1f} / {med([x['p99_ms'] for x in t]):.1f} / {med([x['p999_ms'] for x in t]):.1f} "
              f"| {med(hb):.1f} | {med(feeds):.1f} | {med(subs):.1f} "
              f"| {med([x['failed'] for x in t]):,.0f} "
              f"| {med([r['lag']['p99_ms'] for r in rs]):.0f} "
              f"| {med([r['server']['cores'] for r in rs]):.2f} "
              f"| {med([r['server']['cpu_seconds'] * 1e6 / max(r['totals']['ok'], 1) for r in rs]):.0f} "
              f"| {med([r.get('postgres_cpu_seconds', 0) / max(r['window_s'], 1e-3) for r in rs]):.2f} "
              f"| {med([r['server']['peak_rss_mib'] for r in rs]):.0f} "
              f"| {med([r['loadgen']['cores'] for r in rs]):.2f} "
              f"| {sum(r['verdict']['exactly_once'] for r in rs)}/{len(rs)} |")
    for size in sorted(reports):
        for i, r in enumerate(reports[size], 1):
            if failures(r):
                print(f"- {size:,}, run {i}: failures {failures(r)}")
else:
    rs = reports.get("storm", [])
    print("| run | booths × queued | enrolled booths/s | drained in s | all passes done in s | retries | failures | server cores | server peak MiB | loadgen cores | exactly once |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|")
    for i, r in enumerate(rs, 1):
        s = r["storm"]
        print(f"| {i} | {r['booths']:,} × {r['submissions']['made'] // max(r['booths'], 1)} "
              f"| {r['enrollment']['booths_per_second']:,.0f} | {s['drain_s']:.1f} | {s['complete_s']:.1f} | {s['retries']:,} "
              f"| {failures(r) or 'none'} | {r['server']['cores']:.2f} | {r['server']['peak_rss_mib']:.0f} "
              f"| {r['loadgen']['cores']:.2f} | {'yes' if r['verdict']['exactly_once'] and s['drained'] else 'NO'} |")
    if rs:
        print(f"| median | | {med([r['enrollment']['booths_per_second'] for r in rs]):,.0f} "
              f"| {med([r['storm']['drain_s'] for r in rs]):.1f} | {med([r['storm']['complete_s'] for r in rs]):.1f} "
              f"| {med([r['storm']['retries'] for r in rs]):,.0f} | | {med([r['server']['cores'] for r in rs]):.2f} "
              f"| {med([r['server']['peak_rss_mib'] for r in rs]):.0f} | {med([r['loadgen']['cores'] for r in rs]):.2f} | |")
PY
