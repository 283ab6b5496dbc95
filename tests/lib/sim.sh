# shellcheck shell=bash
# tests/lib/sim.sh: harness for podfs's integration tests. Source it from a
# bash test script that runs with `set -euo pipefail`:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   . "$(dirname "$0")/../lib/sim.sh"
#   sim_start                      # fresh cluster + kube-sim, cleaned up at exit
#   run_timeout 30 kubectl exec gnu -- true || fail "exec failed"
#   echo "PASS: name"
#
# Environment (inputs):
#   PODFS_BUILD    build directory holding kube-sim (default: <repo>/build)
#   PODFS_IMAGES   image templates, built on demand (default: $PODFS_BUILD/images)
#   SIM_TIMEOUT    kube-sim's --timeout in seconds (default 900)
#   SIM_KEEP=1     keep the temp dir after the test (kube-sim is still stopped)
#   KUBECTL        kubectl to use (default: kubectl from PATH)
#
# sim_start exports: SIM_DIR (private temp dir, also the cluster STATEDIR),
# SIM_STATE (= $SIM_DIR/sim, kube-sim's state dir), SIM_WORK (scratch dir for
# the test's own files), KUBECONFIG, SIM_PORT, SIM_PID, SIM_URL, and
# HOME=$SIM_DIR/home (kubectl caches discovery under $HOME/.kube/cache).
#
# Functions: sim_start, sim_stop, sim_knob, sim_exec_count, sim_exec_log,
# sim_wait_exec_log, sim_rootfs, skip_unless_root, fail, assert_eq,
# assert_ne, assert_contains, assert_not_contains, run_timeout, capture, kc.
#
# Exit codes: 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE).

if [ -n "${_PODFS_SIM_SH:-}" ]; then
    return 0
fi
_PODFS_SIM_SH=1

PODFS_SRC=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
: "${PODFS_BUILD:=$PODFS_SRC/build}"
: "${PODFS_IMAGES:=$PODFS_BUILD/images}"
: "${KUBECTL:=kubectl}"
export PODFS_SRC PODFS_BUILD PODFS_IMAGES KUBECTL
export LC_ALL=C # sort order, messages

# ---------------------------------------------------------------------------
# assertions and small helpers

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

skip_unless_root() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (kube-sim creates mount and PID namespaces)"
}

# assert_eq EXPECTED ACTUAL MSG
assert_eq() {
    [ "$1" == "$2" ] && return 0
    printf 'FAIL: %s\n  expected: %q\n  actual:   %q\n' "$3" "$1" "$2" >&2
    exit 1
}

# assert_ne UNEXPECTED ACTUAL MSG
assert_ne() {
    [ "$1" != "$2" ] && return 0
    printf 'FAIL: %s\n  got the unexpected value: %q\n' "$3" "$2" >&2
    exit 1
}

# assert_contains HAYSTACK NEEDLE MSG   (fixed string)
assert_contains() {
    case $1 in
        *"$2"*) return 0 ;;
    esac
    printf 'FAIL: %s\n  expected to contain: %s\n  in: %s\n' "$3" "$2" "$1" >&2
    exit 1
}

# assert_not_contains HAYSTACK NEEDLE MSG
assert_not_contains() {
    case $1 in
        *"$2"*) printf 'FAIL: %s\n  must not contain: %s\n  in: %s\n' "$3" "$2" "$1" >&2
                exit 1 ;;
    esac
    return 0
}

# run_timeout SEC CMD...: CMD with a hard time limit (TERM at SEC, KILL 5 s
# later). Returns CMD's status, 124 on timeout (137 if it had to be killed).
run_timeout() {
    local sec=$1 rc=0
    shift
    timeout --kill-after=5 "$sec" "$@" || rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "run_timeout: '$*' timed out after ${sec}s (rc $rc)" >&2
    fi
    return "$rc"
}

# kc ARGS...: the real kubectl with a ${KC_TIMEOUT:-30} s limit.
kc() {
    run_timeout "${KC_TIMEOUT:-30}" "$KUBECTL" "$@"
}

# capture CMD...: runs CMD (never aborting the script) and sets OUT and ERR
# (its stdout and stderr, trailing newlines stripped) and RC. CMD inherits
# capture's stdin: `capture kc exec -i gnu -- cat <file`.
# shellcheck disable=SC2034 # OUT, ERR and RC are for the caller
capture() {
    local o e
    o=$(mktemp -p "${SIM_WORK:-${TMPDIR:-/tmp}}" capture.out.XXXXXX)
    e=$(mktemp -p "${SIM_WORK:-${TMPDIR:-/tmp}}" capture.err.XXXXXX)
    RC=0
    "$@" >"$o" 2>"$e" || RC=$?
    OUT=$(cat -- "$o")
    ERR=$(cat -- "$e")
    rm -f -- "$o" "$e"
}

# ---------------------------------------------------------------------------
# cluster life cycle

_sim_log() { echo "sim: $*" >&2; }

# start time of PID (field 22 of /proc/PID/stat), to recognise it later
_sim_starttime() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    echo "${20}"
}

# true while PID is our kube-sim (not a zombie, not a reused PID)
_sim_pid_alive() {
    local st s
    [ -n "${SIM_PID:-}" ] || return 1
    st=$(_sim_starttime "$SIM_PID") || return 1
    [ "$st" = "${_SIM_PID_START:-}" ] || return 1
    s=$(cat "/proc/$SIM_PID/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [ "${s%% *}" != Z ]
}

# sim_procs_under DIR: prints "PID root=ROOT cmd=CMDLINE" for every process
# (other than this shell) whose root directory, working directory or
# executable lies under DIR, or whose command line mentions DIR/.
sim_procs_under() {
    local dir=$1 pids self p r cmd
    # one find for all the links, one grep for all the command lines (run
    # through sh to learn grep's own pid: its argv contains DIR/ too)
    pids=$(
        {
            find /proc/[0-9]*/root /proc/[0-9]*/cwd /proc/[0-9]*/exe -maxdepth 0 \
                -printf '%p\t%l\n' 2>/dev/null \
                | PODFS_DIR=$dir awk -F '\t' '
                    BEGIN { d = ENVIRON["PODFS_DIR"] }
                    $2 == d || index($2, d "/") == 1 { split($1, a, "/"); print a[3] }'
            sh -c 'echo "self $$"; exec grep -l -a -F -e "$1/" /proc/[0-9]*/cmdline 2>/dev/null' sh "$dir" \
                | sed -n 's|^self |self |p; s|^/proc/\([0-9]*\)/cmdline$|\1|p'
        } | sort -u
    )
    self=$(printf '%s\n' "$pids" | sed -n 's/^self //p')
    for p in $(printf '%s\n' "$pids" | grep -v '^self'); do
        if [ "$p" = $$ ] || [ "$p" = "${BASHPID:-$$}" ] || [ "$p" = "$self" ]; then
            continue
        fi
        _sim_running "$p" || continue
        r=$(readlink "/proc/$p/root" 2>/dev/null) || continue
        cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
        [ -n "$cmd" ] || continue # kernel threads
        echo "$p root=$r cmd=$cmd"
    done
}

# sim_is_mounted PATH: is PATH a mount point in our namespace? Read from
# /proc/self/mountinfo, never by a stat of PATH: a daemon that no longer
# answers would hang that (and with it the clean-up).
sim_is_mounted() {
    PODFS_MNT=${1// /\\040} awk 'BEGIN { m = ENVIRON["PODFS_MNT"] } $5 == m { f = 1 } END { exit !f }' \
        /proc/self/mountinfo
}

# mount points at or below DIR in our mount namespace
_sim_mounts_below() {
    PODFS_MNT_DIR=${1// /\\040} awk '
        BEGIN { d = ENVIRON["PODFS_MNT_DIR"] }
        $5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

# sim_stop: stops kube-sim (TERM, KILL after 2 s) and waits until no process
# of its containers is left. Returns 1 if something survived.
sim_stop() {
    local i left
    if _sim_pid_alive; then
        kill -TERM "$SIM_PID" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do
            _sim_pid_alive || break
            sleep 0.1
        done
        if _sim_pid_alive; then
            _sim_log "kube-sim (pid $SIM_PID) ignored SIGTERM for 2 s; sending SIGKILL"
            kill -KILL "$SIM_PID" 2>/dev/null || true
            for ((i = 0; i < 20; i++)); do
                _sim_pid_alive || break
                sleep 0.1
            done
        fi
    fi
    if _sim_pid_alive; then
        _sim_log "kube-sim (pid $SIM_PID) survived SIGKILL"
        return 1
    fi
    [ -n "${SIM_DIR:-}" ] || return 0
    # The containers' processes die with their PID namespace's init, which
    # dies with kube-sim (PR_SET_PDEATHSIG); give that a moment.
    for ((i = 0; i < 30; i++)); do
        left=$(sim_procs_under "$SIM_DIR")
        [ -n "$left" ] || return 0
        sleep 0.1
    done
    _sim_log "processes left under $SIM_DIR after kube-sim stopped:"$'\n'"$left"
    return 1
}

# _sim_tree PID: PID and all its descendants
_sim_tree() {
    local c
    echo "$1"
    command -v pgrep >/dev/null 2>&1 || return 0
    for c in $(pgrep -P "$1" 2>/dev/null); do
        _sim_tree "$c"
    done
}

# _sim_kill_jobs: TERM our background jobs and everything they started (a
# `kc ... &` is a subshell running timeout running kubectl), KILL after 2 s.
_sim_kill_jobs() {
    local j p pids=() i
    for j in $(jobs -p); do
        for p in $(_sim_tree "$j"); do
            pids+=("$p")
        done
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    kill -TERM "${pids[@]}" 2>/dev/null
    for ((i = 0; i < 20; i++)); do
        for p in "${pids[@]}"; do
            _sim_running "$p" && break
            p=
        done
        [ -n "$p" ] || break
        sleep 0.1
    done
    [ -z "$p" ] || kill -KILL "${pids[@]}" 2>/dev/null
    wait 2>/dev/null
    return 0
}

# _sim_running PID: PID exists and is not a zombie
_sim_running() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [ "${s%% *}" != Z ]
}

# sim_on_cleanup CMD: run CMD first at clean-up (e.g. unmount), before
# kube-sim is stopped and the temp dir removed.
_SIM_HOOKS=()
sim_on_cleanup() {
    _SIM_HOOKS+=("$1")
}

_sim_cleanup() {
    local rc=$1 ok=1 m h
    set +e
    for h in "${_SIM_HOOKS[@]}"; do
        eval "$h"
    done
    # our own background jobs (e.g. a kubectl started with &)
    _sim_kill_jobs
    sim_stop || ok=0
    if [ -n "${SIM_DIR:-}" ] && [ -d "$SIM_DIR" ]; then
        if [ "$rc" -ne 0 ] && [ -s "$SIM_DIR/kube-sim.log" ]; then
            _sim_log "kube-sim's stderr (last 20 lines):"
            tail -n 20 -- "$SIM_DIR/kube-sim.log" >&2
        fi
        m=$(_sim_mounts_below "$SIM_DIR")
        if [ "$ok" -eq 0 ] || [ -n "$m" ]; then
            [ -z "$m" ] || _sim_log "still mounted below $SIM_DIR:"$'\n'"$m"
            _sim_log "NOT removing $SIM_DIR (kube-sim or its containers still there)"
            ok=0
        elif [ "${SIM_KEEP:-0}" = 1 ]; then
            _sim_log "SIM_KEEP=1: keeping $SIM_DIR"
        else
            rm -rf --one-file-system -- "$SIM_DIR" \
                || { _sim_log "could not remove $SIM_DIR"; ok=0; }
        fi
    fi
    [ "$ok" -eq 1 ] || { [ "$rc" -ne 0 ] || echo "FAIL: test clean-up failed" >&2; rc=1; }
    return "$rc"
}

_sim_status() { return "$1"; }

_sim_exit_trap() {
    local rc=$?
    set +e
    _sim_cleanup "$rc" || rc=$?
    trap - EXIT
    if [ -n "${_SIM_PREV_EXIT_TRAP:-}" ]; then
        # (it sees the test's exit status in $?)
        eval "_sim_status $rc; $_SIM_PREV_EXIT_TRAP"
    fi
    exit "$rc"
}

_sim_install_traps() {
    local prev
    [ -z "${_SIM_TRAPS:-}" ] || return 0
    _SIM_TRAPS=1
    prev=$(trap -p EXIT)
    _SIM_PREV_EXIT_TRAP=
    if [ -n "$prev" ]; then
        # prev is: trap -- 'CMDS' EXIT
        eval "local -a _t=($prev)"
        # shellcheck disable=SC2154
        _SIM_PREV_EXIT_TRAP=${_t[2]}
    fi
    trap _sim_exit_trap EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# sim_start [kube-sim args...]: fresh cluster, kube-sim running, exported env.
# shellcheck disable=SC2120 # the arguments are optional
sim_start() {
    local ksim=$PODFS_BUILD/kube-sim line kv t
    skip_unless_root
    [ -z "${SIM_DIR:-}" ] || fail "sim_start called twice"
    [ -x "$ksim" ] || fail "kube-sim not built: $ksim (cmake --build $PODFS_BUILD)"
    for t in timeout curl awk; do
        command -v "$t" >/dev/null 2>&1 || fail "required tool '$t' not found"
    done
    if ! run_timeout 600 "$PODFS_SRC/tests/images/build-images.sh" "$PODFS_IMAGES" \
        >"${TMPDIR:-/tmp}/podfs-build-images.$$.log" 2>&1 </dev/null; then
        cat "${TMPDIR:-/tmp}/podfs-build-images.$$.log" >&2
        rm -f "${TMPDIR:-/tmp}/podfs-build-images.$$.log"
        fail "build-images.sh $PODFS_IMAGES failed"
    fi
    rm -f "${TMPDIR:-/tmp}/podfs-build-images.$$.log"

    _sim_install_traps
    SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/podfs-test.XXXXXX") || fail "mktemp -d failed"
    SIM_DIR=$(cd -- "$SIM_DIR" && pwd -P)
    export SIM_DIR
    # (make-cluster.sh wants an empty STATEDIR: no log file in there yet)
    if ! line=$(run_timeout 300 "$PODFS_SRC/tests/images/make-cluster.sh" "$PODFS_IMAGES" "$SIM_DIR" 2>&1 </dev/null); then
        echo "$line" >&2
        fail "make-cluster.sh $PODFS_IMAGES $SIM_DIR failed"
    fi
    export SIM_STATE=$SIM_DIR/sim
    export SIM_WORK=$SIM_DIR/work
    mkdir -p -- "$SIM_WORK" "$SIM_DIR/home"
    if ! run_timeout 60 "$ksim" --cluster "$SIM_DIR/cluster.json" --state-dir "$SIM_STATE" --daemon \
        --timeout "${SIM_TIMEOUT:-900}" --parent-pid $$ "$@" \
        >"$SIM_DIR/kube-sim.out" 2>"$SIM_DIR/kube-sim.log" </dev/null; then
        cat "$SIM_DIR/kube-sim.log" >&2
        fail "kube-sim did not start"
    fi
    line=$(head -n 1 -- "$SIM_DIR/kube-sim.out")
    SIM_PID='' SIM_PORT='' KUBECONFIG=
    for kv in $line; do
        case $kv in
            KUBECONFIG=*) KUBECONFIG=${kv#KUBECONFIG=} ;;
            PORT=*) SIM_PORT=${kv#PORT=} ;;
            PID=*) SIM_PID=${kv#PID=} ;;
        esac
    done
    if [ -z "$SIM_PID" ] && [ -f "$SIM_STATE/pid" ]; then
        SIM_PID=$(cat -- "$SIM_STATE/pid") # so that the clean-up can stop it
        _SIM_PID_START=$(_sim_starttime "$SIM_PID") || true
    fi
    if [ -z "$SIM_PID" ] || [ -z "$SIM_PORT" ] || [ ! -f "$KUBECONFIG" ]; then
        fail "cannot parse kube-sim's start line: $line"
    fi
    _SIM_PID_START=$(_sim_starttime "$SIM_PID") || fail "kube-sim (pid $SIM_PID) is not running"
    export SIM_PID SIM_PORT KUBECONFIG
    export SIM_URL=https://127.0.0.1:$SIM_PORT
    export HOME=$SIM_DIR/home
    # nothing from the caller's environment may steer kubectl
    unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS KUBECTL_EXTERNAL_DIFF KUBE_EDITOR
    _sim_log "kube-sim pid $SIM_PID on $SIM_URL, cluster in $SIM_DIR"
}

# ---------------------------------------------------------------------------
# kube-sim's control API and request log

# sim_knob [KEY=VALUE...]: sets knobs (none: just reads); prints the knobs JSON
# (incl. exec_count and active_execs).
sim_knob() {
    local q='' kv
    [ -n "${SIM_URL:-}" ] || fail "sim_knob: sim_start first"
    for kv in "$@"; do
        case $kv in
            *=*) ;;
            *) fail "sim_knob: '$kv' is not KEY=VALUE" ;;
        esac
        q+=${q:+&}$kv
    done
    curl -sS --fail-with-body --noproxy '*' --max-time 10 --cacert "$SIM_STATE/ca.crt" \
        -H "Authorization: Bearer $(cat -- "$SIM_STATE/sim.token")" \
        "$SIM_URL/_sim/knobs${q:+?$q}" || fail "sim_knob $*: request failed"
    echo
}

# sim_exec_log: the exec lines of the request log
sim_exec_log() {
    grep -F '"kind":"exec"' -- "$SIM_STATE/requests.jsonl" 2>/dev/null || true
}

# sim_exec_count [STATUS]: number of exec requests logged (with that HTTP status)
# shellcheck disable=SC2120 # STATUS is optional
sim_exec_count() {
    if [ $# -gt 0 ]; then
        sim_exec_log | grep -c -E "\"status\":$1[,}]" || true
    else
        sim_exec_log | grep -c '' || true
    fi
}

# sim_wait_exec_log N [SEC]: waits until at least N exec lines are logged
# (a session is logged when its connection ends, which can be a moment after
# kubectl has exited).
sim_wait_exec_log() {
    local n=$1 sec=${2:-5} i
    for ((i = 0; i < sec * 10; i++)); do
        [ "$(sim_exec_count)" -ge "$n" ] && return 0
        sleep 0.1
    done
    return 1
}

# sim_rootfs POD [CONTAINER]: the container's rootfs on disk
sim_rootfs() {
    local pod=$1 ctr=${2:-}
    [ -n "${SIM_DIR:-}" ] || fail "sim_rootfs: sim_start first"
    if [ -z "$ctr" ]; then
        case $pod in
            multi) ctr=app ;;
            *) ctr=main ;;
        esac
    fi
    [ -d "$SIM_DIR/rootfs/$pod-$ctr" ] || fail "sim_rootfs: no rootfs for $pod/$ctr"
    echo "$SIM_DIR/rootfs/$pod-$ctr"
}
