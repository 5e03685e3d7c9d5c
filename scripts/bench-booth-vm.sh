#!/usr/bin/env bash
# The booth image under QEMU: power-on to first frame, kill -9 to ready, and the app's memory
# after the villager flow on the LinuxKMS path (docs/benchmarks.md, "The booth image").
# Usage: RUNS=3 scripts/bench-booth-vm.sh   (builds the image first if needed; out/bench-vm/)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/packages.sh
need_packages "${IMAGE_PACKAGES[@]}" "${PACKAGE_BUILD_PACKAGES[@]}"
image=$(scripts/booth-image/build --debs-out out/debs)
cargo build --quiet -p booth-tests --bin booth-vm-bench -p kiosk -p sync-server
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-target}")
sed -n 1,5p "$image/manifest.txt"
exec "$target_dir/debug/booth-vm-bench" "$image" out/bench-vm "${RUNS:-3}"
