#!/usr/bin/env bash
# make fuzz: a differential fuzz campaign on all cores.
#   FUZZER=libfuzzer (default: -fork=JOBS) | afl (AFL++: -M main + -S secondaries, synced)
#   FUZZ_TIME seconds (600)   JOBS (nproc)   BPFDIFF_BACKENDS (all available)
#   BPFDIFF_FINDS (corpus: new minimized finds land there as .data)
# Seeds: corpus/, conformance/ and ../shared/bpf_conformance/tests converted by
# data2input, plus the inputs of earlier campaigns ($BUILD/fuzz/queue).
# Prints live progress, an end summary, and draws $OUT/campaign.png (gnuplot).
set -uo pipefail
BUILD=${BUILD:-build}
FUZZER=${FUZZER:-libfuzzer}
FUZZ_TIME=${FUZZ_TIME:-600}
JOBS=${JOBS:-$(nproc)}
F=$BUILD/fuzz
OUT=${OUT:-$F/campaign-$FUZZER-$(date +%Y%m%d-%H%M%S)}
STATS=$OUT/stats
QUEUE=$F/queue          # the fuzzer's growing corpus, kept between campaigns
SEEDS=$OUT/seeds
mkdir -p "$OUT" "$STATS" "$QUEUE" "$SEEDS"
export BPFDIFF_STATS_DIR=$PWD/$STATS
export BPFDIFF_FINDS=${BPFDIFF_FINDS:-$PWD/corpus}

src=()
for d in corpus conformance ../shared/bpf_conformance/tests; do [ -d "$d" ] && src+=("$d"); done
"$F/data2input" "$SEEDS" "${src[@]}" 2>&1 | tail -1

# Sampler: aggregate every process's stats file every 5 s into plot.dat.
aggregate() {
  python3 - "$STATS" "$1" <<'PY'
import glob, sys, time
stats, mode = sys.argv[1], sys.argv[2]
tot = dict(execs=0, kernel_runs=0, kernel_accepted=0, finds_new=0, finds_known=0, nondeterministic=0, errors=0)
run = acc = None
for f in glob.glob(stats + "/stats.*"):
    if f.endswith(".tmp"):
        continue
    kv = dict(l.strip().split("=", 1) for l in open(f) if "=" in l)
    for k in tot:
        tot[k] += int(kv.get(k, 0))
    r = [c == "1" for c in kv.get("forms_run", "")]
    a = [c == "1" for c in kv.get("forms_accepted", "")]
    run = r if run is None else [x or y for x, y in zip(run, r)]
    acc = a if acc is None else [x or y for x, y in zip(acc, a)]
forms = sum(run or [])
kacc = 100.0 * tot["kernel_accepted"] / tot["kernel_runs"] if tot["kernel_runs"] else 0.0
if mode == "line":
    print(tot["execs"], "%.1f" % kacc, tot["finds_new"], tot["finds_known"], forms, sum(acc or []))
else:
    print("execs=%d kernel_acceptance=%.1f%% (%d/%d) discrepancies_new=%d discrepancies_known=%d "
          "nondeterministic=%d errors=%d forms_run=%d/%d forms_kernel_accepted=%d/%d" % (
          tot["execs"], kacc, tot["kernel_accepted"], tot["kernel_runs"], tot["finds_new"], tot["finds_known"],
          tot["nondeterministic"], tot["errors"], forms, len(run or []) or 165, sum(acc or []), len(acc or []) or 165))
PY
}
t0=$(date +%s)
echo "# seconds execs exec_per_s kernel_accept_pct finds_new finds_known forms_run forms_kernel" > "$OUT/plot.dat"
(
  prev=0
  while sleep 5; do
    read -r execs kacc fnew fknown forms formsk < <(aggregate line 2>/dev/null) || continue
    now=$(( $(date +%s) - t0 ))
    rate=$(( (execs - prev) / 5 )); prev=$execs
    echo "$now $execs $rate $kacc $fnew $fknown $forms $formsk" >> "$OUT/plot.dat"
    printf '[%4ds] execs %d (%d/s)  kernel acceptance %s%%  discrepancies new %d known %d  forms %d/165\n' \
      "$now" "$execs" "$rate" "$kacc" "$fnew" "$fknown" "$forms"
  done
) &
sampler=$!
trap 'kill $sampler 2>/dev/null' EXIT

echo "campaign: $FUZZER, $JOBS jobs, ${FUZZ_TIME}s, output $OUT, finds -> $BPFDIFF_FINDS"
case "$FUZZER" in
libfuzzer)
  # -fork: one child per core, restarted with fresh corpus subsets; crashes and
  # timeouts don't stop the campaign. Progress: the sampler's lines above.
  "$F/bpf_diff" -fork="$JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$FUZZ_TIME" -dict=fuzz/bpf_diff.dict -max_len=4096 \
    -artifact_prefix="$OUT/" "$QUEUE" "$SEEDS" > "$OUT/fuzzer.log" 2>&1
  ;;
afl)
  command -v afl-fuzz >/dev/null || { echo "campaign.sh: afl-fuzz not installed (ci/install-deps.sh)" >&2; exit 2; }
  export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
  export AFL_CUSTOM_MUTATOR_LIBRARY=$PWD/$F/afl_mutator.so AFL_SUPPRESS_PRINTING=1
  # Inputs from the last campaigns too (AFL wants one input directory).
  cp -n "$QUEUE"/* "$SEEDS"/ 2>/dev/null
  pids=()
  afl-fuzz -M main -i "$SEEDS" -o "$OUT/afl" -x fuzz/bpf_diff.dict -V "$FUZZ_TIME" -- "$F/bpf_diff_afl" \
    > "$OUT/afl-main.log" 2>&1 &
  pids+=($!)
  for i in $(seq 2 "$JOBS"); do
    afl-fuzz -S "sec$i" -i "$SEEDS" -o "$OUT/afl" -x fuzz/bpf_diff.dict -V "$FUZZ_TIME" -- "$F/bpf_diff_afl" \
      > "$OUT/afl-sec$i.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  cp -n "$OUT"/afl/*/queue/id* "$QUEUE"/ 2>/dev/null
  command -v afl-plot >/dev/null && afl-plot "$OUT/afl/main" "$OUT/afl-plot" >/dev/null 2>&1 &&
    echo "afl-plot: $OUT/afl-plot/index.html"
  ;;
*) echo "campaign.sh: FUZZER must be libfuzzer or afl" >&2; exit 2 ;;
esac
sleep 1
kill $sampler 2>/dev/null
secs=$(( $(date +%s) - t0 ))
summary=$(aggregate summary)
execs=$(sed 's/execs=\([0-9]*\).*/\1/' <<<"$summary")
echo "campaign done: $FUZZER ${secs}s, $((execs / (secs > 0 ? secs : 1))) exec/s, $summary"
if command -v gnuplot >/dev/null && [ "$(wc -l < "$OUT/plot.dat")" -gt 2 ]; then
  gnuplot <<GP 2>/dev/null && echo "picture: $OUT/campaign.png"
set terminal pngcairo size 1000,700 noenhanced
set output "$OUT/campaign.png"
set multiplot layout 3,1 title "bpfdiff $FUZZER campaign, $JOBS jobs, ${secs}s"
set xlabel "seconds"; set grid
set ylabel "exec/s"; plot "$OUT/plot.dat" using 1:3 with lines lw 2 title "exec/s"
set ylabel "count"; set y2label "forms"; set y2tics
plot "$OUT/plot.dat" using 1:5 with steps lw 2 title "new discrepancies", "" using 1:6 with steps title "known", "" using 1:7 axes x1y2 with lines title "forms run (of 165)"
unset y2tics; unset y2label
set ylabel "kernel acceptance %"; set yrange [0:100]; plot "$OUT/plot.dat" using 1:4 with lines lw 2 title "acceptance"
unset multiplot
GP
fi
