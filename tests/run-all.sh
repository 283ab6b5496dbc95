#!/usr/bin/env bash
# tests/run-all.sh: install what podfs needs, build it, run every test.
#
# The README's test command and what CI runs (.ci/run). Two builds:
#   build/       warnings are errors; every test (unit, kube-sim, kubectl, ...)
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer; every test
#                but the slow ones
# Needs root (kube-sim makes mount and PID namespaces; FUSE mounts): re-runs
# itself with sudo when started as another user.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "run-all: run as root (sudo is not installed)" >&2; exit 1; }
    exec sudo -E "$0" "$@"
fi

"$root/packaging/install-deps.sh"

jobs=$(nproc)
build_and_test() { # DIR CTEST_ARGS... -- CMAKE_ARGS...
    local dir=$1; shift
    local ctest_args=() cmake_args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do ctest_args+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    cmake_args=("$@")
    echo "=== build $dir (${cmake_args[*]:-default})"
    cmake -S "$root" -B "$root/$dir" -DPODFS_WERROR=ON "${cmake_args[@]}" >/dev/null
    cmake --build "$root/$dir" -j "$jobs"
    echo "=== test $dir"
    ctest --test-dir "$root/$dir" --output-on-failure --timeout 600 -j 2 "${ctest_args[@]}"
}

build_and_test build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build_and_test build-asan -LE slow -- -DPODFS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "run-all: all tests passed"
