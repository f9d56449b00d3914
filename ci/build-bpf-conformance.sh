#!/usr/bin/env bash
# Build bpf_conformance's runner (Alan-Jowett/bpf_conformance, C++20, MIT) from its source into
# $BUILD/bpf_conformance/bpf_conformance_runner, for `make bench` (tests/bench/runner.sh): the
# runner drives `bpfdiff plugin` directly, one process per test.
#
#   ci/build-bpf-conformance.sh [SOURCE]
#
# SOURCE (or $BPF_CONFORMANCE_SRC) is a checkout of that repository or its git directory (a bare
# clone or mirror: the tree of HEAD is used). Its code is never copied into this project: it is
# unpacked under $BUILD. The runner is compiled with g++ directly, not with its CMake, because
# CMake insists on the ELFIO submodule, which only its ELF output needs and Debian does not ship;
# the runner is built without ELF output: a stub written here stands in for its ELF writer and
# throws if --elf is used. Dependencies come from Debian (g++, Boost
# program_options/filesystem and the header-only Boost.Process), installed when missing.
#
# Idempotent: rebuilds only when the source's HEAD (or tree) changed. Prints the runner's path.
# Exit 0 built or up to date, 2 no source (with how to give one), 1 build failure.
set -euo pipefail
BUILD=${BUILD:-build}
OUT="$BUILD/bpf_conformance"
SRC=${1:-${BPF_CONFORMANCE_SRC:-}}
if [ -z "$SRC" ]; then
	for c in ../bpf_conformance ../shared/bpf_conformance-src /work/.mirror/Alan-Jowett+bpf_conformance/repo; do
		if [ -e "$c/lib/src/bpf_conformance.cc" ] || git -C "$c" cat-file -e HEAD:lib/src/bpf_conformance.cc 2>/dev/null; then
			SRC=$c
			break
		fi
	done
fi
if [ -z "$SRC" ]; then
	echo "bpf_conformance: no source found; give a checkout (or git dir) of Alan-Jowett/bpf_conformance" \
		"as BPF_CONFORMANCE_SRC=PATH or as the first argument" >&2
	exit 2
fi

# Its dependencies, from Debian's archive.
need=()
command -v g++ >/dev/null || need+=(g++)
[ -e /usr/include/boost/program_options.hpp ] || need+=(libboost-program-options-dev)
[ -e /usr/include/boost/filesystem.hpp ] || need+=(libboost-filesystem-dev)
[ -e /usr/include/boost/process.hpp ] || need+=(libboost-dev)
if [ ${#need[@]} -gt 0 ]; then
	echo "bpf_conformance: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The source tree, unpacked under $BUILD (a plain checkout is used in place).
if [ -e "$SRC/lib/src/bpf_conformance.cc" ]; then
	TREE=$SRC
	STAMP=$( (git -C "$SRC" rev-parse HEAD 2>/dev/null || find "$SRC/lib" "$SRC/tools" "$SRC/include" -type f -newer "$0" -print | sort | md5sum) | cut -c1-40)
else
	STAMP=$(git -C "$SRC" rev-parse HEAD)
	TREE="$OUT/src"
	if [ "$(cat "$OUT/src.stamp" 2>/dev/null)" != "$STAMP" ]; then
		rm -rf "$TREE" && mkdir -p "$TREE"
		git -C "$SRC" archive HEAD lib include tools | tar -x -C "$TREE"
		echo "$STAMP" > "$OUT/src.stamp"
	fi
fi
RUNNER="$OUT/bpf_conformance_runner"
if [ -x "$RUNNER" ] && [ "$(cat "$OUT/runner.stamp" 2>/dev/null)" = "$STAMP" ]; then
	echo "$RUNNER"
	exit 0
fi
mkdir -p "$OUT"
echo "bpf_conformance: building the runner from $SRC ($STAMP)" >&2
cat > "$OUT/no_elf_writer.cc" <<'EOF'
// bpfdiff's stand-in for bpf_conformance's ELF writer (which needs ELFIO): --elf is not available.
#include <bpf_conformance_core/bpf_writer.h>
#include <stdexcept>
void bpf_writer_classic(std::ostream&, const std::string&, const std::string&, const std::vector<ebpf_inst_t>&,
			const std::vector<std::tuple<std::string, ebpf_map_definition_in_file_t>>&,
			const std::map<size_t, std::string>&)
{
	throw std::runtime_error("this runner was built without ELFIO: --elf is not available");
}
EOF
g++ -std=c++20 -O2 -w -DBPF_CONFORMANCE_HAS_ELFIO -o "$RUNNER.tmp" \
	-I"$TREE/lib/include" -I"$TREE/include" -I"$TREE/tools" "$OUT/no_elf_writer.cc" \
	"$TREE/lib/src/bpf_assembler.cc" "$TREE/lib/src/bpf_disassembler.cc" \
	"$TREE/lib/src/bpf_test_parser.cc" "$TREE/lib/src/bpf_conformance.cc" \
	"$TREE/tools/bpf_conformance.cc" "$TREE/tools/runner.cc" \
	-lboost_program_options -lboost_filesystem -lpthread
mv "$RUNNER.tmp" "$RUNNER"
echo "$STAMP" > "$OUT/runner.stamp"
echo "$RUNNER"
