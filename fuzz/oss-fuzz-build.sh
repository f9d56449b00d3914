#!/usr/bin/env bash
# OSS-Fuzz / ClusterFuzzLite build (their build.sh convention): builds the
# uvm-only differential target (no libbpf, no kernel: the kernel and xdp
# backends are weak symbols and stay unavailable), the parser target, their
# dictionaries/options and seed corpora into $OUT.
#   CC CFLAGS LIB_FUZZING_ENGINE OUT SRC are set by the infrastructure; run
#   from the repository root (default: the directory above this script).
# Local try: CC=clang-14 CFLAGS="-O1 -g -fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out fuzz/oss-fuzz-build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CC:=clang}" "${CFLAGS:=}" "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}" "${OUT:=out}"
mkdir -p "$OUT"
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
CPP="-I. -D_GNU_SOURCE"
core=(vm/isa.c vm/uvm.c vm/maps.c harness/session.c harness/diff.c harness/oracle.c harness/vlog.c harness/byteorder.c harness/env.c harness/backend.c harness/backend_uvm.c
      harness/case.c harness/asm.c harness/disasm.c harness/minimize.c harness/outfile.c harness/discover.c
      harness/maps.c harness/map_format.c harness/helpers.c)
objs=()
for s in "${core[@]}" fuzz/input.c fuzz/shapes.c fuzz/bpf_diff.c; do
  o=$obj/$(echo "$s" | tr / _).o
  $CC $CPP $CFLAGS -c "$s" -o "$o"
  objs+=("$o")
done
$CC $CPP $CFLAGS -DBDF_LIBFUZZER_HOOKS -c fuzz/mutator.c -o "$obj/mutator.o"
# shellcheck disable=SC2086
$CC $CFLAGS "${objs[@]}" "$obj/mutator.o" $LIB_FUZZING_ENGINE -o "$OUT/bpf_diff"
$CC $CPP $CFLAGS -c fuzz/parse_fuzz.c -o "$obj/parse_fuzz.o"
pobjs=()
for s in vm/isa.c vm/uvm.c vm/maps.c harness/case.c harness/asm.c harness/disasm.c harness/backend.c harness/maps.c harness/vlog.c \
    harness/map_format.c harness/helpers.c; do pobjs+=("$obj/$(echo "$s" | tr / _).o"); done
# shellcheck disable=SC2086
$CC $CFLAGS "$obj/parse_fuzz.o" "${pobjs[@]}" $LIB_FUZZING_ENGINE -o "$OUT/parse_fuzz"
cp fuzz/bpf_diff.dict fuzz/bpf_diff.options "$OUT/"
# Seeds: .data cases as raw inputs for bpf_diff (converted with a host build of
# data2input), and as text for parse_fuzz.
hostcc=${HOST_CC:-cc}
if $hostcc $CPP -O1 -o "$obj/data2input" fuzz/data2input.c fuzz/input.c fuzz/shapes.c vm/isa.c vm/uvm.c vm/maps.c harness/case.c \
     harness/asm.c harness/disasm.c harness/backend.c harness/discover.c harness/outfile.c harness/maps.c \
     harness/map_format.c harness/helpers.c 2>/dev/null; then
  mkdir -p "$obj/seeds"
  "$obj/data2input" "$obj/seeds" conformance corpus >/dev/null 2>&1 || true
  (cd "$obj/seeds" && zip -q -r "$OUT/bpf_diff_seed_corpus.zip" .) || true
fi
(zip -q -r "$OUT/parse_fuzz_seed_corpus.zip" conformance corpus tests/unit/vlogs -i "*.data" "*.log") || true
echo "oss-fuzz-build: $OUT/bpf_diff $OUT/parse_fuzz"
