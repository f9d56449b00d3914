#!/usr/bin/env bash
# make mutants: for every uvm mutant (an injected bug of a real JIT bug class,
# vm/uvm.h UVM_MUTANT_LIST), run a libFuzzer campaign of the differential
# target with that mutant in the uvm against the real backends (xdp and
# kernel; a clean uvm when neither is available), stop at the first
# discrepancy, minimize it, and print a table. Exit 0 only when every
# mutant was detected.
#   MUTANT_BUDGET  seconds per mutant (60)      MUTANTS  names to run (all)
#   BPFDIFF_BACKENDS  reference backends (kernel,xdp)
set -uo pipefail
BUILD=${BUILD:-build}
BIN=$(realpath -m "$BUILD/fuzz/bpf_diff_mutants")
BUDGET=${MUTANT_BUDGET:-60}
[ -x "$BIN" ] || { echo "run_mutants.sh: $BIN missing (make $BIN)" >&2; exit 2; }
[ -x "$BUILD/fuzz/data2input" ] || make -s "$BUILD/fuzz/data2input" >&2
work=$(mktemp -d "${TMPDIR:-/tmp}/bpfdiff-mutants.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Seeds: the conformance suites as fuzz inputs (they hit the edge cases first).
seeds=$work/seeds
mkdir -p "$seeds"
src=(conformance)
[ -d ../shared/bpf_conformance/tests ] && src+=(../shared/bpf_conformance/tests)
"$BUILD/fuzz/data2input" "$seeds" "${src[@]}" 2>/dev/null || true

if [ -n "${MUTANTS:-}" ]; then
  names=$(echo "$MUTANTS" | tr ',' ' ')
else
  names=$(BPFDIFF_LIST_MUTANTS=1 "$BIN" 2>/dev/null | cut -f1)
fi
[ -n "$names" ] || { echo "run_mutants.sh: no mutants in $BIN" >&2; exit 2; }

printf '%-20s | %-9s | %8s | %10s | %s\n' mutant detected? seconds "min insns" signature
printf '%-20s-+-%-9s-+-%8s-+-%10s-+-%s\n' -------------------- --------- -------- ---------- ---------
n=0 d=0
for m in $names; do
  n=$((n + 1))
  corpus=$work/corpus-$m
  mkdir -p "$corpus" "$work/finds-$m"
  cp "$seeds"/* "$corpus"/ 2>/dev/null
  log=$work/log-$m
  start=$(date +%s.%N)
  ( cd "$work" && BPFDIFF_MUTANT=$m BPFDIFF_STOP_ON_FIND=1 BPFDIFF_QUIET=1 BPFDIFF_FINDS="$work/finds-$m" \
      timeout -k 5 $((BUDGET + 30)) "$BIN" -max_total_time="$BUDGET" -max_len=4096 -seed=1 \
      -print_final_stats=0 "$corpus" ) >"$log" 2>&1
  line=$(grep -m1 '^BPFDIFF_FIND' "$log")
  if [ -n "$line" ]; then
    d=$((d + 1))
    secs=$(sed 's/.* seconds=\([^ ]*\).*/\1/' <<<"$line")
    insns=$(sed 's/.* insns=\([^ ]*\).*/\1/' <<<"$line")
    sig=$(sed 's/.* signature=//' <<<"$line")
    printf '%-20s | %-9s | %8.1f | %10s | %s\n' "$m" yes "$secs" "$insns" "$sig"
    [ -n "${MUTANTS_KEEP:-}" ] && mkdir -p "$MUTANTS_KEEP" && cp "$work/finds-$m"/*.data "$MUTANTS_KEEP/" 2>/dev/null
  else
    why=$(grep -m1 -E 'ERROR|no backend|unknown' "$log" | cut -c1-60)
    printf '%-20s | %-9s | %8s | %10s | %s\n' "$m" no ">$BUDGET" - "${why:-}"
  fi
done
echo "mutants: $d/$n detected"
[ "$d" -eq "$n" ]
