#!/usr/bin/env bash
# Guest kernels under qemu (TCG here): for every prepared guest, boot to a ready
# agent (target <= 10 s) and cases/s after boot with 1,000 ten-instruction
# cases, on the interpreter (target >= 500/s) and the JIT (target >= 300/s);
# then the bpf_conformance suite + conformance/ + corpus/ on every guest
# backend in one run, and fuzzing with one guest backend in the mix (exec/s,
# BENCH_SECONDS, default 10). Guests it starts live in a private runtime dir
# and are stopped on exit. Prepare them with `make guests`.
set -uo pipefail
BUILD=${BUILD:-build}
BIN=$(realpath -m "$BUILD/bpfdiff")
GUESTS=$(realpath -m "${BPFDIFF_GUEST_DIR:-$BUILD/guest}")
SUITE=${BPF_CONFORMANCE:-../shared/bpf_conformance/tests}
SECS=${BENCH_SECONDS:-10}
work=$(mktemp -d)
export BPFDIFF_RUNTIME_DIR=$work/run BPFDIFF_GUEST_DIR=$GUESTS
arches=()
for a in arm64 s390x ppc64le x86_64; do [ -f "$GUESTS/$a/initramfs.cpio.gz" ] && arches+=("$a"); done
cleanup() { [ ${#arches[@]} -gt 0 ] && "$BIN" guest stop "${arches[@]}" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
if [ ${#arches[@]} -eq 0 ]; then echo "guest: no guest prepared in $GUESTS (make guests), skipped"; exit 0; fi

mkdir -p "$work/cases"
for i in $(seq 1 1000); do
  printf -- '-- asm\nmov r0, %d\nmov r1, 3\nadd r0, r1\nmul r0, 5\nxor r0, 0x55\nlsh r0, 3\nrsh r0, 1\nsub r0, r1\nor r0, 1\nexit\n' "$i" >"$work/cases/c$i.data"
done
rate() { # backend -> "N cases/s"
  local line
  line=$("$BIN" run -q -b "$1" "$work/cases" 2>/dev/null | tail -1)
  sed -n 's/^\([0-9]*\) cases in \([0-9.]*\) s.*/\1 \2/p' <<<"$line" | awk '{ printf "%d", $1 / $2 }'
}
for a in "${arches[@]}"; do
  boot=$("$BIN" guest start "$a" | sed -n 's/.*booted to a ready agent in \([0-9.]*\) s/\1/p')
  interp=$(rate "guest:$a-interp")
  jit="n/a (no JIT in this kernel)"
  [ "$(cat "$GUESTS/$a/jit" 2>/dev/null)" = y ] && jit="$(rate "guest:$a") cases/s"
  printf 'guest %-8s boot to ready agent %5s s   interpreter %5s cases/s   JIT %s\n' "$a" "${boot:-?}" "${interp:-?}" "$jit"
  "$BIN" guest stop "$a" >/dev/null
done

# Every suite on every guest backend, one process (guests boot inside it).
list=uvm,kernel
for a in "${arches[@]}"; do
  [ "$(cat "$GUESTS/$a/jit" 2>/dev/null)" = y ] && list+=",guest:$a"
  list+=",guest:$a-interp"
done
t0=$(date +%s.%N)
summary=$("$BIN" run -q -b "$list" "$SUITE" conformance corpus 2>/dev/null | tail -1)
t1=$(date +%s.%N)
printf 'guest suites: -b %s: %s (%.0f s wall incl. boots)\n' "$list" "$summary" "$(echo "$t1 - $t0" | bc)"

# Fuzzing with one guest backend (the first prepared one's interpreter).
FUZZ=$(realpath -m "$BUILD/fuzz/bpf_diff")
if [ -x "$FUZZ" ] || make -s "$FUZZ" "$BUILD/fuzz/data2input" >/dev/null 2>&1; then
  "$BUILD/fuzz/data2input" "$work/seeds" conformance >/dev/null 2>&1
  ls "$work/seeds" | sed "s|^|$work/seeds/|" | paste -sd, >"$work/seeds.list"
  "$BIN" guest start "${arches[0]}" >/dev/null
  for backends in "uvm,guest:${arches[0]}-interp"; do
    line=$(cd "$work" && BPFDIFF_BACKENDS=$backends BPFDIFF_FINDS="$work/finds" \
           "$FUZZ" -max_total_time="$SECS" -max_len=4096 -seed_inputs=@"$work/seeds.list" 2>&1 | grep '^bpf_diff: [0-9]')
    printf 'fuzz %-24s %8s exec/s\n' "$backends" "$(sed -n 's/.*(\([0-9]*\) exec\/s).*/\1/p' <<<"$line")"
  done
fi
