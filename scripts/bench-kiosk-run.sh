#!/usr/bin/env bash
# `kiosk run` as a booth runs it (release build, winit with the software renderer) on a virtual
# 1080×1920 display, measured from outside the process:
#
#   - start to window: from exec to the booth window mapped on the display (median of RUNS);
#   - resident memory (VmRSS) and proportional set size (Pss, what the process costs the machine
#     once shared libraries are split among their users) 3 s after start;
#   - the same after CYCLES navigation cycles tapped with xdotool (Home → Service guides → the
#     first item → Back → Home), to show that memory does not grow with use.
#
# The booth is enrolled with a county server on loopback holding the seed catalogue, so the
# pages show real data. Needs: xvfb xdotool x11-utils x11-apps imagemagick (apt-get install …).
#
#   scripts/bench-kiosk-run.sh                  # RUNS=5 CYCLES=1000, the release build
#   PROFILE=booth scripts/bench-kiosk-run.sh    # the booth build (size-optimised, LTO)
#   RUNS=3 CYCLES=100 scripts/bench-kiosk-run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
cycles=${CYCLES:-1000}
for tool in Xvfb xdpyinfo xdotool xwd convert; do
  command -v "$tool" >/dev/null || { echo "needs $tool: apt-get install xvfb xdotool x11-apps imagemagick" >&2; exit 1; }
done

# PROFILE=booth measures the size-optimised build a booth runs (Cargo.toml [profile.booth]).
profile=${PROFILE:-release}
cargo build --profile "$profile" --quiet -p kiosk --features winit
cargo build --release --quiet -p sync-server
target=${CARGO_TARGET_DIR:-$PWD/target}
kiosk=$target/$profile/kiosk
server=$target/release/sync-server
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The county server with the seed catalogue, and the booth enrolled with it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The key file personal data is sealed with: outside the data directory, owner-only.
export SYNC_SERVER_KEY_FILE=$work/county-keys.json
"$server" --data-dir "$work/county" keys init >/dev/null
"$server" --data-dir "$work/county" catalog import sync-server/seed/catalog.json >/dev/null
"$server" --data-dir "$work/county" serve --listen "127.0.0.1:$port" >"$work/server.out" 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
code=$("$server" --data-dir "$work/county" enroll-code --village 石桥村 --township 凤岭乡 --county 示范县 --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["code"])')
"$kiosk" --data-dir "$work/booth" enroll --server "http://127.0.0.1:$port" --code "$code" --technician-pin 1234 >/dev/null
"$kiosk" --data-dir "$work/booth" sync --once >/dev/null
cat >"$work/booth.toml" <<EOF
data_dir = "$work/booth"
language = "zh_CN"
EOF

n=90
while [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
# -noreset: the bench starts the booth several times; a resetting server refuses clients for a moment.
Xvfb ":$n" -screen 0 1080x1920x24 -nolisten tcp -noreset >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do xdpyinfo -display ":$n" >/dev/null 2>&1 && break; sleep 0.1; done
export DISPLAY=":$n" SLINT_BACKEND=winit-software RUST_LOG=info,kiosk::app::context=debug

memory() { # PID → "rss_kib pss_kib"
  local rss pss
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status")
  pss=$(awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup")
  echo "$rss $pss"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

start_booth() { # → sets booth_pid and start_ms
  local t0 t1
  t0=$(date +%s%N)
  "$kiosk" run --config "$work/booth.toml" >"$work/kiosk.out" 2>"$work/kiosk.log" &
  booth_pid=$!
  pids+=("$booth_pid")
  until xdotool search --onlyvisible --class kiosk >/dev/null 2>&1; do
    kill -0 "$booth_pid" 2>/dev/null || { cat "$work/kiosk.log" >&2; echo "kiosk run exited" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  start_ms=$(( (t1 - t0) / 1000000 ))
}
stop_booth() { kill "$booth_pid"; wait "$booth_pid" 2>/dev/null || true; }

starts=()
for _ in $(seq "$runs"); do
  start_booth
  starts+=("$start_ms")
  stop_booth
done

# Where the pages put their buttons at 1080×1920 with the seed catalogue (see
# target/bench-kiosk-run-item.png after a run): the Service guides tile, the first guide, that
# guide's Back, and the list's Home.
tap() { xdotool mousemove "$1" "$2" click 1; sleep "${TAP_PAUSE:-0.05}"; }
cycle() {
  tap 270 560   # Home: 办事指南
  tap 540 900   # Service guides: the first item
  tap 540 1860  # the item: 返回 (back to the list)
  tap 810 1860  # the list: 首页 (Home)
}

start_booth
sleep 3
read -r rss_start pss_start < <(memory "$booth_pid")
# One cycle by hand, with a picture of the guide it opens: proof the taps land.
tap 270 560; tap 540 900; sleep 0.5
xwd -root -silent | convert xwd:- "$target/bench-kiosk-run-item.png"
tap 540 1860; tap 810 1860
warm=$(( cycles < 10 ? cycles : 10 ))
for _ in $(seq "$warm"); do cycle; done
read -r rss_warm pss_warm < <(memory "$booth_pid")
for _ in $(seq $((warm + 1)) "$cycles"); do cycle; done
sleep 1
read -r rss_end pss_end < <(memory "$booth_pid")
xwd -root -silent | convert xwd:- "$target/bench-kiosk-run-end.png"
pages=$(grep -c "page opened" "$work/kiosk.log" || true)
# Where the resident memory is: RSS by mapping (file, [heap], or anonymous), largest first.
breakdown=$(awk '
  /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anonymous]"; next }
  /^Rss:/ { rss[name] += $2 }
  END { for (n in rss) printf "%8.1f  %s\n", rss[n] / 1024, n }
' "/proc/$booth_pid/smaps" | sort -rn | awk 'NR <= 12')   # not head: SIGPIPE under pipefail
stop_booth

echo "kiosk run ($profile build, $(du -m "$kiosk" | cut -f1) MB file), winit + software renderer, Xvfb 1080×1920; $runs starts, $cycles navigation cycles"
echo "start to window (ms), median of $runs: $(printf '%s\n' "${starts[@]}" | median)  (all: ${starts[*]})"
printf '%-40s %10s %10s\n' "resident memory" "RSS MiB" "PSS MiB"
printf '%-40s %10s %10s\n' "3 s after start" "$(mib "$rss_start")" "$(mib "$pss_start")"
printf '%-40s %10s %10s\n' "after $warm cycles" "$(mib "$rss_warm")" "$(mib "$pss_warm")"
printf '%-40s %10s %10s\n' "after $cycles cycles" "$(mib "$rss_end")" "$(mib "$pss_end")"
echo "pages opened (from the booth's log): $pages"
echo "RSS by mapping at the end (MiB):"
echo "$breakdown"
echo "pictures: $target/bench-kiosk-run-item.png (the first cycle's guide), $target/bench-kiosk-run-end.png (the end)"
