#!/usr/bin/env bash
# make fuzz: a differential fuzz campaign on all cores.
#   FUZZER=libfuzzer (default: -fork=JOBS) | afl (AFL++: -M main + -S secondaries, synced)
#   FUZZ_TIME seconds (600)   JOBS (nproc)   BPFDIFF_BACKENDS (all available)
#   BPFDIFF_FINDS (corpus: new minimized finds land there as .data)
#   OUT (build/fuzz/campaign-FUZZER-DATE)   PIDFILE (build/fuzz/campaign.pid)
#   TARGET (bpf_diff; bpf_diff_mutants with BPFDIFF_MUTANT=NAME fuzzes a uvm mutant)
#   QUEUE (build/fuzz/queue: the growing corpus, kept between campaigns)
#   SEED_PATHS (corpus conformance ../shared/bpf_conformance/tests: .data seeds)
#   VERIFIER_ORACLE (1: at the end, every input in QUEUE -- the inputs that gave new
#     coverage -- is replayed with the verifier-state oracle; 0: not). In the
#     fuzzers themselves BPFDIFF_VERIFIER_ORACLE=N (every Nth input) is off by
#     default: the traced run's hook would feed the fuzzer coverage of its own.
# Seeds: corpus/, conformance/ and ../shared/bpf_conformance/tests converted by
# data2input, plus the inputs of earlier campaigns ($BUILD/fuzz/queue).
# Prints live progress, an end summary, and draws $OUT/campaign.png (gnuplot).
#
# Lifecycle:
# - Ctrl-C (SIGINT to the process group), SIGTERM or SIGHUP stop the campaign
#   within seconds: the fuzzers get SIGINT, every find already written stays,
#   the summary is printed; exit 130 (143 for SIGTERM).
# - The fuzzers run in a process group of their own; a watchdog kills that
#   group when this script dies, even by SIGKILL, so no fuzzer or sampler is
#   left behind. PIDFILE (pid, fuzzers' process group, OUT) is locked while a
#   campaign lives: a second one is refused; a stale one's leftovers are stopped.
# - OUT is locked too: two campaigns never share one.
# - A find that could not be written (full disk) stops the campaign with the
#   count of finds lost; exit 1.
# - libFuzzer's temporary directories (libFuzzerTemp.*) are removed.
set -uo pipefail
BUILD=${BUILD:-build}
FUZZER=${FUZZER:-libfuzzer}
FUZZ_TIME=${FUZZ_TIME:-600}
JOBS=${JOBS:-$(nproc)}
TARGET=${TARGET:-bpf_diff}
abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
F=$(abs "$BUILD/fuzz")
OUT=$(abs "${OUT:-$F/campaign-$FUZZER-$(date +%Y%m%d-%H%M%S)}")
PIDFILE=$(abs "${PIDFILE:-$F/campaign.pid}")
STATS=$OUT/stats
QUEUE=$(abs "${QUEUE:-$F/queue}") # the fuzzer's growing corpus, kept between campaigns
SEEDS=$OUT/seeds
FTMP=$OUT/tmp           # TMPDIR of the fuzzers (libFuzzer -fork's libFuzzerTemp.*)
die() { echo "campaign.sh: $*" >&2; exit 2; }
case "$FUZZER" in libfuzzer | afl) ;; *) die "FUZZER must be libfuzzer or afl" ;; esac
[[ $FUZZ_TIME =~ ^[0-9]+$ && $FUZZ_TIME -gt 0 ]] || die "FUZZ_TIME must be a positive number of seconds, not '$FUZZ_TIME'"
[[ $JOBS =~ ^[0-9]+$ && $JOBS -gt 0 ]] || die "JOBS must be a positive number, not '$JOBS'"
[ -x "$F/$TARGET" ] || die "$F/$TARGET is not built (make fuzz-build)"
mkdir -p "$OUT" "$STATS" "$QUEUE" "$SEEDS" "$FTMP" "$(dirname "$PIDFILE")" || die "cannot create $OUT"
export BPFDIFF_STATS_DIR=$STATS
BPFDIFF_FINDS=$(abs "${BPFDIFF_FINDS:-corpus}")
export BPFDIFF_FINDS

# One campaign per pidfile, one per OUT. The lock descriptors are closed for
# the fuzzers (8>&- 9>&-), so a lock dies with this script.
exec 8>>"$PIDFILE.lock" && flock -n 8 || {
  read -r opid _ oout < "$PIDFILE" 2>/dev/null
  die "a campaign is running (pid ${opid:-?}, output ${oout:-?}): stop it first (kill -INT ${opid:-PID})"
}
exec 9>>"$OUT/.lock" && flock -n 9 || die "$OUT is in use by another campaign"
if [ -s "$PIDFILE" ]; then # stale: its driver died without cleaning up
  read -r opid opgid oout < "$PIDFILE"
  if [[ ${opgid:-} =~ ^[0-9]+$ ]] && pgrep -g "$opgid" -f 'bpf_diff|afl-fuzz' > /dev/null; then
    echo "campaign.sh: stopping what the dead campaign $opid left running (process group $opgid)"
    kill -KILL -- "-$opgid" 2> /dev/null
  fi
fi
# libFuzzer temporary directories whose fuzzer is gone (here and in older OUTs).
for d in "${TMPDIR:-/tmp}"/libFuzzerTemp.* "$FTMP"/libFuzzerTemp.* "$F"/campaign-*/tmp/libFuzzerTemp.*; do
  [ -e "$d" ] || continue
  pid=${d##*libFuzzerTemp.}; pid=${pid//[!0-9]/}
  [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null || rm -rf "$d"
done
echo "$$ - $OUT" > "$PIDFILE"

src=()
for d in ${SEED_PATHS:-corpus conformance ../shared/bpf_conformance/tests}; do [ -e "$d" ] && src+=("$d"); done
"$F/data2input" "$SEEDS" "${src[@]}" 2>&1 | tail -1

# Sums over every process's stats file: `aggregate line|summary|unwritten`.
# (awk, not python: the driver checks every second and must stay cheap.)
shopt -s nullglob
aggregate() {
  local f files=()
  for f in "$STATS"/stats.*; do [[ $f == *.tmp ]] || files+=("$f"); done
  awk -v mode="$1" -F= '
    function sort(a, n,   i, j, v) { # insertion sort (mawk has no asort)
      for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    }
    $1 == "forms_run" || $1 == "forms_accepted" {
      n = length($2); if (n > nforms) nforms = n
      for (i = 1; i <= n; i++) if (substr($2, i, 1) == "1") seen[$1, i] = 1
      next
    }
    $1 == "write_error" { if (why == "") why = substr($0, 13); next }
    NF == 2 { t[$1] += $2 }
    END {
      for (i = 1; i <= nforms; i++) { run += seen["forms_run", i]; acc += seen["forms_accepted", i] }
      if (!nforms) nforms = 165
      kacc = t["kernel_runs"] ? 100.0 * t["kernel_accepted"] / t["kernel_runs"] : 0
      if (mode == "line")
        printf "%d %.1f %d %d %d %d %d\n", t["execs"], kacc, t["finds_new"], t["finds_known"], run, acc, nforms
      else if (mode == "unwritten")
        printf "%d %s\n", t["finds_unwritten"], why
      else {
        printf "execs=%d kernel_acceptance=%.1f%% (%d/%d) discrepancies_new=%d discrepancies_known=%d " \
          "nondeterministic=%d errors=%d finds_not_written=%d forms_run=%d/%d forms_kernel_accepted=%d/%d\n",
          t["execs"], kacc, t["kernel_accepted"], t["kernel_runs"], t["finds_new"], t["finds_known"],
          t["nondeterministic"], t["errors"], t["finds_unwritten"], run, nforms, acc, nforms
        # Per shape (fuzz/shapes.h; "(none)": inputs without one) and the
        # features each backend ran ok (bpf_diff.c stats files).
        n = 0
        for (k in t) if (k ~ /^shape_runs\./) names[++n] = substr(k, 12)
        sort(names, n)
        if (n) {
          printf "per-shape kernel acceptance:\n  %-16s %10s %10s %10s %8s\n", "shape", "inputs", "kernel", "accepted", "accept%"
          for (i = 1; i <= n; i++) {
            s = names[i]; kr = t["shape_kernel_runs." s]; ka = t["shape_kernel_accepted." s]
            printf "  %-16s %10d %10d %10d %8s\n", s, t["shape_runs." s], kr, ka, kr ? sprintf("%.1f%%", 100.0 * ka / kr) : "-"
          }
        }
        m = 0
        for (k in t) if (k ~ /^feature_ok\./) feats[++m] = substr(k, 12)
        sort(feats, m)
        if (m) {
          printf "features run ok (runs per backend):\n"
          for (i = 1; i <= m; i++) printf "  %-40s %10d%s\n", feats[i], t["feature_ok." feats[i]], t["feature_ok." feats[i]] ? "" : "  NOT REACHED"
        }
      }
    }' "${files[@]}" /dev/null
}
t0=$(date +%s)
echo "# seconds execs exec_per_s kernel_accept_pct finds_new finds_known forms_run forms_kernel" > "$OUT/plot.dat"
driver=$$
# Sampler: progress lines and plot.dat every 5 s, while the driver lives.
(
  prev=0
  while kill -0 "$driver" 2> /dev/null && sleep 5; do
    read -r execs kacc fnew fknown forms formsk nforms < <(aggregate line 2> /dev/null) || continue
    now=$(($(date +%s) - t0))
    rate=$(((execs - prev) / 5)); prev=$execs
    echo "$now $execs $rate $kacc $fnew $fknown $forms $formsk" >> "$OUT/plot.dat"
    printf '[%4ds] execs %d (%d/s)  kernel acceptance %s%%  discrepancies new %d known %d  forms %d/%d\n' \
      "$now" "$execs" "$rate" "$kacc" "$fnew" "$fknown" "$forms" "$nforms"
  done
) 8>&- 9>&- &
sampler=$!
disown "$sampler"

# The fuzzers, in a session and process group of their own (setsid keeps the
# pid: it is the group's id), out of reach of the terminal's Ctrl-C, which
# this script forwards.
echo "campaign: $FUZZER, $JOBS jobs, ${FUZZ_TIME}s, output $OUT, finds -> $BPFDIFF_FINDS"
case "$FUZZER" in
libfuzzer)
  # -fork: one child per core, restarted with fresh corpus subsets; crashes and
  # timeouts don't stop the campaign. Progress: the sampler's lines above.
  TMPDIR=$FTMP setsid "$F/$TARGET" -fork="$JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$FUZZ_TIME" -dict=fuzz/bpf_diff.dict -max_len=4096 \
    -artifact_prefix="$OUT/" "$QUEUE" "$SEEDS" > "$OUT/fuzzer.log" 2>&1 8>&- 9>&- &
  ;;
afl)
  command -v afl-fuzz > /dev/null || die "afl-fuzz not installed (ci/install-deps.sh)"
  export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
  export AFL_CUSTOM_MUTATOR_LIBRARY=$F/afl_mutator.so AFL_SUPPRESS_PRINTING=1
  # Inputs from the last campaigns too (AFL wants one input directory).
  cp -n "$QUEUE"/* "$SEEDS"/ 2> /dev/null
  TMPDIR=$FTMP setsid bash -c '
    OUT=$1 SEEDS=$2 TIME=$3 JOBS=$4 BIN=$5
    afl-fuzz -M main -i "$SEEDS" -o "$OUT/afl" -x fuzz/bpf_diff.dict -V "$TIME" -- "$BIN" > "$OUT/afl-main.log" 2>&1 &
    for i in $(seq 2 "$JOBS"); do
      afl-fuzz -S "sec$i" -i "$SEEDS" -o "$OUT/afl" -x fuzz/bpf_diff.dict -V "$TIME" -- "$BIN" > "$OUT/afl-sec$i.log" 2>&1 &
    done
    wait; wait' afl "$OUT" "$SEEDS" "$FUZZ_TIME" "$JOBS" "$F/${TARGET}_afl" 8>&- 9>&- &
  ;;
esac
fpid=$!
echo "$$ $fpid $OUT" > "$PIDFILE"
# Watchdog: if this script dies (even by SIGKILL), nothing it started lives on.
(
  trap '' INT HUP # Ctrl-C is for the driver, which stops everything in order
  while kill -0 "$driver" 2> /dev/null; do sleep 1; done
  kill -KILL -- "-$fpid" "$sampler" 2> /dev/null
) 8>&- 9>&- > /dev/null 2>&1 &
watchdog=$!
disown "$watchdog"

stop_signal=""
trap 'stop_signal=INT' INT
trap 'stop_signal=TERM' TERM
trap 'stop_signal=HUP' HUP
stop_reason=""
while kill -0 "$fpid" 2> /dev/null; do
  sleep 1 &
  wait $! 2> /dev/null # returns at once when a trapped signal arrives
  if [ -n "$stop_signal" ]; then
    stop_reason="stopped by SIG$stop_signal"
    break
  fi
  read -r unwritten why < <(aggregate unwritten 2> /dev/null) || unwritten=0
  if [ "${unwritten:-0}" -gt 0 ]; then
    stop_reason="finds could not be written"
    break
  fi
done
# Signals to the fuzzers themselves, never to the shells between them: libFuzzer
# -fork runs each job as `sh -c`, and a shell killed by SIGINT reads as a crash.
# A libFuzzer job gets SIGINT: it finishes its input (and its find, bpf_diff.c)
# and exits. The -fork parent ignores SIGINT while jobs run (system()) and gets
# SIGTERM: it exits at once and removes its temporary directory. afl-fuzz stops
# on SIGINT and stops its targets itself. Repeated for what starts in between;
# returns 1 while a fuzzer is left.
interrupt_fuzzers() {
  local pid exe left=0
  for pid in $(pgrep -g "$fpid"); do
    exe=$(readlink "/proc/$pid/exe" 2> /dev/null) || continue
    if [ "$FUZZER" = afl ] && [ "$exe" = "$afl_exe" ]; then
      kill -INT "$pid" 2> /dev/null; left=1
    elif [ "$FUZZER" = libfuzzer ] && [ "$exe" = "$target_exe" ]; then
      kill "-$([ "$pid" = "$fpid" ] && echo TERM || echo INT)" "$pid" 2> /dev/null; left=1
    fi
  done
  return $left
}
if [ -n "$stop_reason" ]; then
  target_exe=$(readlink -f "$F/$TARGET")
  afl_exe=$(command -v afl-fuzz > /dev/null && readlink -f "$(command -v afl-fuzz)")
  for _ in $(seq 40); do # 10 s, then whatever is left is killed
    interrupt_fuzzers && break
    sleep 0.25
  done
fi
kill -KILL -- "-$fpid" 2> /dev/null # leftovers: a symbolizer, a shell
wait "$fpid" 2> /dev/null
kill -KILL "$sampler" "$watchdog" 2> /dev/null
rm -rf "$FTMP"
[ "$FUZZER" = afl ] && cp -n "$OUT"/afl/*/queue/id* "$QUEUE"/ 2> /dev/null

# The verifier-state oracle (harness/oracle.h) over the inputs the campaign kept:
# a replay, so its traced uvm runs add nothing to the fuzzers' coverage, and
# every new-coverage input is judged once. Its finds land in BPFDIFF_FINDS.
oracle_summary=""
if [ "${VERIFIER_ORACLE:-1}" != 0 ] && [ -z "$stop_signal" ] && [ "$TARGET" = bpf_diff ] && [ -x "$F/bpf_diff_replay" ]; then
  oracle_summary=$(BPFDIFF_VERIFIER_ORACLE=1 BPFDIFF_MIN_RUNS=${BPFDIFF_MIN_RUNS:-400} "$F/bpf_diff_replay" "$QUEUE" 2> /dev/null 8>&- 9>&- |
    sed -n 's/^bpf_diff: \([0-9]*\) execs.*verifier oracle: \([^,]*, [0-9]* unsound\).*/verifier oracle over the \1 inputs in the queue: \2/p')
fi

secs=$(($(date +%s) - t0))
summary=$(aggregate summary)
execs=$(sed -n '1s/execs=\([0-9]*\).*/\1/p' <<< "$summary")
echo "campaign done${stop_reason:+ ($stop_reason)}: $FUZZER ${secs}s, $((execs / (secs > 0 ? secs : 1))) exec/s, $summary"
[ -n "$oracle_summary" ] && echo "$oracle_summary"
if [ "$FUZZER" = afl ] && command -v afl-plot > /dev/null && afl-plot "$OUT/afl/main" "$OUT/afl-plot" > /dev/null 2>&1; then
  echo "afl-plot: $OUT/afl-plot/index.html"
fi
if command -v gnuplot > /dev/null && [ "$(wc -l < "$OUT/plot.dat")" -gt 2 ]; then
  gnuplot << GP 2> /dev/null && echo "picture: $OUT/campaign.png"
set terminal pngcairo size 1000,700 noenhanced
set output "$OUT/campaign.png"
set multiplot layout 3,1 title "bpfdiff $FUZZER campaign, $JOBS jobs, ${secs}s"
set xlabel "seconds"; set grid
set ylabel "exec/s"; plot "$OUT/plot.dat" using 1:3 with lines lw 2 title "exec/s"
set ylabel "count"; set y2label "forms"; set y2tics
plot "$OUT/plot.dat" using 1:5 with steps lw 2 title "new discrepancies", "" using 1:6 with steps title "known", "" using 1:7 axes x1y2 with lines title "forms run"
unset y2tics; unset y2label
set ylabel "kernel acceptance %"; set yrange [0:100]; plot "$OUT/plot.dat" using 1:4 with lines lw 2 title "acceptance"
unset multiplot
GP
fi
rm -f "$PIDFILE"
read -r unwritten why < <(aggregate unwritten 2> /dev/null) || unwritten=0
if [ "${unwritten:-0}" -gt 0 ]; then
  echo "campaign.sh: ERROR: $unwritten finds could not be written to $BPFDIFF_FINDS${why:+ ($why)}" >&2
  exit 1
fi
case "$stop_signal" in INT) exit 130 ;; TERM) exit 143 ;; HUP) exit 129 ;; esac
exit 0
