#!/usr/bin/env bash
# xdp backend speed: ns per guest instruction (loop benchmark: test_run duration / guest insns)
# and whole 10-instruction cases per second on one core. Needs root (BPF_PROG_TEST_RUN).
set -euo pipefail
BUILD=${BUILD:-build}
bench=$BUILD/bench/xdp_bench
[ -x "$bench" ] || make -s "$bench" BUILD="$BUILD"
# One core, so the cases/s figure is per core.
if command -v taskset >/dev/null; then exec taskset -c 0 "$bench" "$@"; fi
exec "$bench" "$@"
