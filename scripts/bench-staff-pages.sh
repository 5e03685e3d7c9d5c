#!/usr/bin/env bash
# Staff page views under load: a logged-in member's pages served by the release `sync-server` on
# loopback, driven by wrk from a second process (2 threads, CONNECTIONS connections, DURATION
# per run, RUNS runs; the median of the runs' requests per second and latencies is printed).
#
# Pages: the password page (`/staff/password`: session and template only, what every page pays
# at least) and the inbox (`/staff/inbox`) of an empty store (its scoped queries, not their size).
# Every view resumes the session from the store: this measures what that costs, not how the
# inbox scales with submissions.
#
#   scripts/bench-staff-pages.sh
#   RUNS=3 DURATION=5s scripts/bench-staff-pages.sh
#   SERVER=/path/to/another/sync-server scripts/bench-staff-pages.sh   # compare two builds
#
# Needs: wrk curl python3 (apt-get install wrk curl).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-8}
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool: apt-get install wrk curl python3" >&2; exit 1; }
done

if [ -z "${SERVER:-}" ]; then
  cargo build --release --quiet -p sync-server
  SERVER=${CARGO_TARGET_DIR:-$PWD/target}/release/sync-server
fi
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# The key file personal data is sealed with: outside the data directory, owner-only.
export SYNC_SERVER_KEY_FILE=$work/county-keys.json
"$SERVER" --data-dir "$work/county" keys init >/dev/null
"$SERVER" --data-dir "$work/county" catalog import sync-server/seed/catalog.json >/dev/null
password="bench password 123"
printf '%s\n' "$password" |
  "$SERVER" --data-dir "$work/county" staff add --user bench --role viewer --scope '*' --name 测试 --password-stdin >/dev/null
"$SERVER" --data-dir "$work/county" serve --listen "127.0.0.1:$port" >"$work/server.out" 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 100); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# Log in as a browser would: the form's token cookie and field, then the session cookie.
jar=$work/cookies
token=$(curl -fsS -c "$jar" "$url/staff/login" | sed -n 's/.*name="login_token" value="\([^"]*\)".*/\1/p')
curl -fsS -o /dev/null -b "$jar" -c "$jar" -H "Origin: $url" \
  --data-urlencode "login_token=$token" --data-urlencode "next=/staff/" \
  --data-urlencode "username=bench" --data-urlencode "password=$password" "$url/staff/login"
session=$(awk '$6 == "staff_session" { print $7 }' "$jar")
[ -n "$session" ] || { echo "login failed: no staff_session cookie" >&2; exit 1; }
# wrk counts a redirect (to the login page, say) as success: each page must answer 200 first.
pages=(/staff/password /staff/inbox)
for page in "${pages[@]}"; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -b "staff_session=$session" "$url$page")
  [ "$code" = 200 ] || { echo "$page answers $code with the session, not 200" >&2; exit 1; }
done

# wrk's own summary, reduced to requests/s and the latency percentiles, median over runs.
measure() {
  local path=$1
  for _ in $(seq "$runs"); do
    wrk -t2 -c"$connections" -d"$duration" --latency -H "Cookie: staff_session=$session" "$url$path"
  done | python3 -c '
import re, statistics, sys
text = sys.stdin.read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = [float(x) for x in re.findall(r"Requests/sec:\s+([\d.]+)", text)]
p50 = [ms(v, u) for v, u in re.findall(r"\n\s+50%\s+([\d.]+)(us|ms|s)", text)]
p99 = [ms(v, u) for v, u in re.findall(r"\n\s+99%\s+([\d.]+)(us|ms|s)", text)]
errors = re.findall(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit("wrk saw non-2xx answers: " + ", ".join(errors))
print(f"{sys.argv[1]:<16} {statistics.median(rps):>9.0f} req/s   p50 {statistics.median(p50):6.2f} ms   p99 {statistics.median(p99):6.2f} ms   ({len(rps)} runs)")
' "$path"
}
echo "sync-server: $SERVER"
echo "wrk: 2 threads, $connections connections, $duration per run"
for page in "${pages[@]}"; do measure "$page"; done
