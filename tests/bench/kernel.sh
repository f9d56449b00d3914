#!/bin/bash
# Kernel backend: raw-syscall floor vs bd_backend_kernel.run, and fd/RSS over 100k cases.
set -e
BUILD=${BUILD:-build}
exec "$BUILD/bench/kernel_bench" "$@"
