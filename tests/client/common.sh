# shellcheck shell=bash
# tests/client/common.sh: shared by the client.* tests (podfs exec against
# kube-sim). Source it from a `set -euo pipefail` bash script; it sources
# tests/lib/sim.sh (see there for sim_start, capture, assert_*, ...).
#
# Adds:
#   PODFS          the podfs binary ($PODFS_BUILD/podfs)
#   pfs ARGS...    podfs with a ${PF_TIMEOUT:-60} s limit (run_timeout)
#   sha FILE       sha256 of FILE (hex only)
#   fsize FILE     size of FILE in bytes
#   exec_lines_since N   exec lines of the request log after line N
#   log_lines      current number of lines in the request log

# shellcheck disable=SC2119 # sim_knob without arguments only reads
# shellcheck source=tests/lib/sim.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib/sim.sh"

PODFS=$PODFS_BUILD/podfs
[ -x "$PODFS" ] || fail "podfs not built: $PODFS (cmake --build $PODFS_BUILD)"
export PODFS

pfs() {
    run_timeout "${PF_TIMEOUT:-60}" "$PODFS" "$@"
}

sha() {
    sha256sum <"$1" | cut -d' ' -f1
}

fsize() {
    stat -c %s -- "$1"
}

log_lines() {
    if [ -f "$SIM_STATE/requests.jsonl" ]; then
        wc -l <"$SIM_STATE/requests.jsonl"
    else
        echo 0
    fi
}

# exec_lines_since N: the exec lines logged after the first N lines
exec_lines_since() {
    tail -n +$(($1 + 1)) -- "$SIM_STATE/requests.jsonl" | grep -F '"kind":"exec"' || true
}

# wait_active_execs N [SEC]: until kube-sim reports N sessions running
wait_active_execs() {
    local n=$1 sec=${2:-10} i
    for ((i = 0; i < sec * 10; i++)); do
        sim_knob | grep -q "\"active_execs\":${n}[,}]" && return 0
        sleep 0.1
    done
    return 1
}
