#!/usr/bin/env bash
# bpf_conformance's own runner over its suite, driving `bpfdiff plugin` directly (no wrapper:
# --plugin_path bpfdiff --plugin_options "plugin --backend B"), one process per test: the wall
# time per backend. The xdp backend shares its loaded VM across those processes through a pin in
# bpffs; BENCH_XDP_UNPINNED=1 also times it with BPFDIFF_XDP_PIN=0 (the VM loaded per test).
# The runner is built from source by ci/build-bpf-conformance.sh (skipped when there is none).
set -uo pipefail
BUILD=${BUILD:-build}
SUITE=${BPF_CONFORMANCE:-../shared/bpf_conformance/tests}
[ -d "$SUITE" ] || { echo "runner: $SUITE not found, skipped"; exit 0; }
RUNNER=$(BUILD=$BUILD ci/build-bpf-conformance.sh 2>/tmp/bpfdiff-runner-build.$$)
rc=$?
if [ $rc -eq 2 ]; then
	echo "runner: skipped: $(cat /tmp/bpfdiff-runner-build.$$)"
	rm -f /tmp/bpfdiff-runner-build.$$
	exit 0
elif [ $rc -ne 0 ]; then
	cat /tmp/bpfdiff-runner-build.$$ >&2
	rm -f /tmp/bpfdiff-runner-build.$$
	exit 1
fi
rm -f /tmp/bpfdiff-runner-build.$$
available=$("$BUILD/bpfdiff" info | awk '$2 == "available" { print $1 }')
runs=(uvm kernel xdp)
[ "${BENCH_XDP_UNPINNED:-0}" = 1 ] && runs+=(xdp-unpinned)
for run in "${runs[@]}"; do
	backend=${run%-unpinned}
	if ! grep -qx "$backend" <<<"$available"; then
		echo "runner: $run: backend unavailable here, skipped"
		continue
	fi
	pin=1
	[ "$run" = xdp-unpinned ] && pin=0
	out=$(mktemp)
	t0=$(date +%s.%N)
	BPFDIFF_XDP_PIN=$pin "$RUNNER" --test_file_directory "$SUITE" --plugin_path "$BUILD/bpfdiff" \
		--plugin_options "plugin --backend $backend" --cpu_version v4 --include_groups callx >"$out" 2>&1
	t1=$(date +%s.%N)
	passed=$(sed -n 's/^Passed \([0-9]* out of [0-9]*\) tests\./\1/p' "$out")
	printf 'runner: bpf_conformance_runner + bpfdiff plugin --backend %-13s %6.2f s wall, passed %s\n' \
		"$run" "$(awk "BEGIN { print $t1 - $t0 }")" "${passed:-?}"
	rm -f "$out"
done
