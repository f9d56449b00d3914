#!/usr/bin/env bash
# The bpfdiff CI step (ci/bpfdiff-action/action.yml, ci/gitlab-ci.example.yml): build bpfdiff from
# this checkout, run the suites on the reference backends and the caller's plugin, write the reports,
# append the markdown to the job summary, exit with bpfdiff's code (0 pass, 1 what --fail-on gates, 2
# bad input). Inputs come from the environment, as GitHub passes them:
#   INPUT_PLUGIN (required)  INPUT_PLUGIN_OPTIONS  INPUT_SUITES  INPUT_BACKENDS (uvm,kernel)
#   INPUT_KNOWN  INPUT_FAIL_ON (discrepancy)  INPUT_REPORT_DIR (bpfdiff-report)
#   GITHUB_STEP_SUMMARY (optional: the markdown is appended to it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

plugin=${INPUT_PLUGIN:-}
backends=${INPUT_BACKENDS:-uvm,kernel}
fail_on=${INPUT_FAIL_ON:-discrepancy}
report_dir=${INPUT_REPORT_DIR:-bpfdiff-report}
if [ -z "$plugin" ]; then
  echo "bpfdiff action: the 'plugin' input is required (your VM's bpf_conformance plugin)" >&2
  exit 2
fi
if [ ! -x "$plugin" ]; then
  echo "bpfdiff action: plugin '$plugin' is not an executable file" >&2
  exit 2
fi
plugin=$(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin")

# Root for apt and for the kernel backend (CAP_BPF); GitHub's runners have password-less sudo.
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo -E)
WITH_AFL=0 "${sudo[@]}" "$root/ci/install-deps.sh"
make -C "$root" --no-print-directory -s all

suites=()
if [ -n "${INPUT_SUITES:-}" ]; then
  read -r -a suites <<<"$INPUT_SUITES"
else
  suites=("$root/conformance" "$root/corpus")
fi
args=(run -q --backend "$backends,plugin:$plugin" --fail-on "$fail_on")
[ -n "${INPUT_KNOWN:-}" ] && args+=(--known "$INPUT_KNOWN")
mkdir -p "$report_dir"
args+=(--json "$report_dir/bpfdiff.json" --junit "$report_dir/bpfdiff.xml" --markdown "$report_dir/bpfdiff.md")

rc=0
BPFDIFF_PLUGIN_OPTIONS=${INPUT_PLUGIN_OPTIONS:-} "${sudo[@]}" "$root/build/bpfdiff" "${args[@]}" "${suites[@]}" || rc=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$report_dir/bpfdiff.md" ]; then
  cat "$report_dir/bpfdiff.md" >> "$GITHUB_STEP_SUMMARY"
fi
exit "$rc"
