#!/usr/bin/env bash
# make mutants: for every uvm mutant (an injected bug of a real JIT bug class,
# vm/uvm.h UVM_MUTANT_LIST), run a libFuzzer campaign of the differential
# target with that mutant in the uvm against the real backends (xdp and
# kernel; a clean uvm when neither is available), stop at the first
# discrepancy, minimize it, and print a table. Twice by default: seeded with
# the conformance suites (which hit most edge cases at once: that measures
# the seeds) and from an empty corpus (that measures the fuzzer: generator,
# mutator and input normaliser). Exit 0 only when every mutant was detected
# in every table.
#   MUTANT_BUDGET  seconds per mutant (60)      MUTANTS  names to run (all)
#   MUTANT_SEEDS   both (default) | suites | none
#   BPFDIFF_BACKENDS  reference backends (kernel,xdp)
#   MUTANTS_KEEP   directory to copy the minimized finds into
#   MUTANT_MIN_SECONDS  wall-clock bound on minimizing a find (60): a candidate
#                  on which the mutant loops runs the uvm's whole budget
set -uo pipefail
BUILD=${BUILD:-build}
BIN=$(realpath -m "$BUILD/fuzz/bpf_diff_mutants")
BUDGET=${MUTANT_BUDGET:-60}
MIN_SECONDS=${MUTANT_MIN_SECONDS:-60}
case ${MUTANT_SEEDS:-both} in
  both) modes="suites none" ;;
  suites|none) modes=$MUTANT_SEEDS ;;
  *) echo "run_mutants.sh: MUTANT_SEEDS=$MUTANT_SEEDS: expected both, suites or none" >&2; exit 2 ;;
esac
[ -x "$BIN" ] || { echo "run_mutants.sh: $BIN missing (make $BIN)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/bpfdiff-mutants.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Seeds: the conformance suites as fuzz inputs (they hit the edge cases first).
seeds=$work/seeds
mkdir -p "$seeds"
if [[ " $modes " == *" suites "* ]]; then
  [ -x "$BUILD/fuzz/data2input" ] || make -s "$BUILD/fuzz/data2input" >&2
  src=(conformance)
  [ -d ../shared/bpf_conformance/tests ] && src+=(../shared/bpf_conformance/tests)
  "$BUILD/fuzz/data2input" "$seeds" "${src[@]}" 2>/dev/null || true
  [ -n "$(ls -A "$seeds")" ] || { echo "run_mutants.sh: no seeds from ${src[*]}" >&2; exit 2; }
fi

if [ -n "${MUTANTS:-}" ]; then
  names=$(echo "$MUTANTS" | tr ',' ' ')
else
  names=$(BPFDIFF_LIST_MUTANTS=1 "$BIN" 2>/dev/null | cut -f1)
fi
[ -n "$names" ] || { echo "run_mutants.sh: no mutants in $BIN" >&2; exit 2; }

# One table: every mutant from the seeds of mode $1 (suites | none).
run_table() {
  local mode=$1 n=0 d=0 m corpus log start line secs tmin detect insns before sig why
  echo
  if [ "$mode" = suites ]; then
    echo "seeded with the conformance suites ($(ls "$seeds" | wc -l) inputs), budget ${BUDGET} s each:"
  else
    echo "unseeded (empty corpus: the fuzzer alone), budget ${BUDGET} s each:"
  fi
  printf '%-20s | %-9s | %9s | %8s | %10s | %s\n' mutant detected? "detect s" "found" "min insns" signature
  printf '%-20s-+-%-9s-+-%9s-+-%8s-+-%10s-+-%s\n' -------------------- --------- --------- -------- ---------- ---------
  for m in $names; do
    n=$((n + 1))
    corpus=$work/corpus-$mode-$m
    mkdir -p "$corpus" "$work/finds-$mode-$m"
    [ "$mode" = suites ] && cp "$seeds"/* "$corpus"/ 2>/dev/null
    log=$work/log-$mode-$m
    ( cd "$work" && BPFDIFF_MUTANT=$m BPFDIFF_STOP_ON_FIND=1 BPFDIFF_QUIET=1 BPFDIFF_FINDS="$work/finds-$mode-$m" \
        BPFDIFF_MIN_SECONDS=$MIN_SECONDS timeout -k 5 $((BUDGET + MIN_SECONDS + 30)) "$BIN" -max_total_time="$BUDGET" -max_len=4096 -seed=1 \
        -print_final_stats=0 "$corpus" ) >"$log" 2>&1
    line=$(grep -m1 '^BPFDIFF_FIND' "$log")
    if [ -n "$line" ]; then
      d=$((d + 1))
      field() { sed "s/.* $1=\([^ ]*\).*/\1/" <<<"$line"; }
      secs=$(field seconds)
      tmin=$(field min_seconds)
      detect=$(awk -v a="$secs" -v b="$tmin" 'BEGIN { printf "%.1f", a - b }')
      before=$(field insns_before)
      insns=$(field insns)
      sig=$(sed 's/.* signature=//' <<<"$line")
      printf '%-20s | %-9s | %9s | %8s | %10s | %s\n' "$m" yes "$detect" "$before" "$insns" "$sig"
      [ -n "${MUTANTS_KEEP:-}" ] && mkdir -p "$MUTANTS_KEEP/$mode" &&
        cp "$work/finds-$mode-$m"/*.data "$MUTANTS_KEEP/$mode/" 2>/dev/null
    else
      why=$(grep -m1 -E 'ERROR|no backend|unknown' "$log" | cut -c1-60)
      printf '%-20s | %-9s | %9s | %8s | %10s | %s\n' "$m" no ">$BUDGET" - - "${why:-}"
    fi
  done
  echo "mutants ($([ "$mode" = suites ] && echo seeded || echo unseeded)): $d/$n detected"
  [ "$d" -eq "$n" ]
}

echo "detect s: seconds of fuzzing to the first discrepancy; found / min insns: the program's"
echo "instructions when found and after minimizing (an lddw is one)."
ok=0
for mode in $modes; do
  run_table "$mode" || ok=1
done
exit $ok
