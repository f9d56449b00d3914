#!/usr/bin/env bash
# Install what bpfdiff needs from Debian's archive. Idempotent; silent when everything is present.
set -euo pipefail
pkgs=(make gcc clang-14 llvm-14 libbpf-dev libelf-dev zlib1g-dev bpftool python3-pytest python3-yaml libclang-rt-14-dev valgrind)
[ "${WITH_AFL:-1}" = 1 ] && pkgs+=(afl++ gnuplot-nox)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "ci/install-deps.sh: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
  echo "ci/install-deps.sh: need root to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
