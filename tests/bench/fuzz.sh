#!/usr/bin/env bash
# Fuzz throughput: exec/s of the libFuzzer target on one core (pinned) for uvm
# only, uvm+xdp and all three backends (BENCH_SECONDS each, default 10),
# seeded from conformance/. The corpus is kept in memory (-seed_inputs, no
# corpus directory), so the figure is the engine + oracle, not disk writes of
# new inputs. Reference: ubpf's libFuzzer target does ~265k exec/s.
set -uo pipefail
BUILD=${BUILD:-build}
BIN=$(realpath -m "$BUILD/fuzz/bpf_diff")
SECS=${BENCH_SECONDS:-10}
[ -x "$BIN" ] || make -s "$BIN" "$BUILD/fuzz/data2input" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$BUILD/fuzz/data2input" "$work/seeds" conformance >/dev/null 2>&1
ls "$work/seeds" | sed "s|^|$work/seeds/|" | paste -sd, > "$work/seeds.list"
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
# The last row: the uvm with a shape (loops, call chains, map lookups and
# updates, bpf_loop, tail calls: fuzz/shapes.c) in a quarter of the mutations
# instead of the default 1 %, so helpers and maps are a real part of the mix.
for run in uvm:1 uvm,xdp:1 uvm,kernel,xdp:1 uvm:25; do
  backends=${run%%:*} shape_pct=${run##*:}
  line=$(cd "$work" && BPFDIFF_BACKENDS=$backends BPFDIFF_SHAPE_PCT=$shape_pct BPFDIFF_FINDS="$work/finds" \
         "${pin[@]}" "$BIN" -max_total_time="$SECS" -max_len=4096 -seed_inputs=@"$work/seeds.list" 2>&1 |
         grep '^bpf_diff: [0-9]')
  rate=$(sed -n 's/.*(\([0-9]*\) exec\/s).*/\1/p' <<<"$line")
  acc=$(sed -n 's/.*kernel acceptance \([0-9.]*%\).*/\1/p' <<<"$line")
  label=$backends
  [ "$shape_pct" != 1 ] && label="$backends, $shape_pct % shapes"
  printf 'fuzz %-22s %8s exec/s%s\n' "$label" "${rate:-?}" "${acc:+  (kernel acceptance $acc)}"
done
