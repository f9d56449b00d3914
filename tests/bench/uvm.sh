#!/usr/bin/env bash
# uvm interpreter speed on the loop benchmark (tests/bench/uvm_loop.c):
# wall-clock ns per guest instruction, and host instructions per guest
# instruction from callgrind, as the difference of two runs so setup cancels.
set -euo pipefail
BUILD=${BUILD:-build}
bin=$BUILD/bench/uvm_loop
[ -x "$bin" ] || { echo "uvm: $bin not built (make $bin)" >&2; exit 1; }

ns=$("$bin" 10000000 5 | awk '/^ns\/guest-insn/ {print $2}')
echo "uvm: ns/guest-insn $ns"

if ! command -v valgrind >/dev/null; then
	echo "uvm: host-insns/guest-insn unavailable (no valgrind)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
measure() { # N -> "guest_insns total_Ir"
	local g ir
	g=$(valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" "$bin" "$1" 2>/dev/null |
		awk '/^guest insns/ {print $3}')
	ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.$1")
	echo "$g $ir"
}
read -r g1 ir1 < <(measure 1000)
read -r g2 ir2 < <(measure 200000)
awk -v g1="$g1" -v i1="$ir1" -v g2="$g2" -v i2="$ir2" \
	'BEGIN { printf "uvm: host-insns/guest-insn %.2f (callgrind)\n", (i2 - i1) / (g2 - g1) }'
