#!/usr/bin/env bash
# kubectl.cleanup: tests/lib/sim.sh leaves nothing behind: after a test ends
# (passing, failing, killed by SIGTERM) kube-sim is gone, no process of the
# containers is left (not even one an exec started in the background), and
# the temp dir is removed. If the test is SIGKILLed (no trap runs), kube-sim
# and the containers still go away (--parent-pid); only the temp dir stays.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
skip_unless_root
SIM_LIB=$(cd -- "$(dirname -- "$0")/../lib" && pwd -P)/sim.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/podfs-cleanup.XXXXXX")
export SIM_WORK=$WORK
LEFT_DIRS=()
outer_cleanup() {
    local d
    for d in "${LEFT_DIRS[@]+"${LEFT_DIRS[@]}"}"; do
        # only our own, and only when nothing of it runs any more
        case $d in "${TMPDIR:-/tmp}"/podfs-test.*) ;; *) continue ;; esac
        if [ -d "$d" ] && [ -z "$(sim_procs_under "$d")" ]; then
            rm -rf --one-file-system -- "$d"
        fi
    done
    rm -rf -- "$WORK"
}
trap outer_cleanup EXIT

# The inner test: a normal sim.sh user. It leaves a `sleep 300` running in
# gnu (started by an exec, reparented to the container's PID 1) and a
# `kubectl exec busybox -- sleep 300` running in the background, writes what
# it started into $INFO, then does what $MODE says.
# shellcheck disable=SC2016 # expanded by the inner bash
INNER='
set -euo pipefail
. "$SIM_LIB"
sim_start
kc exec gnu -- sh -c "sleep 300 >/dev/null 2>&1 </dev/null &"
KC_TIMEOUT=400 kc exec busybox -- sleep 301 >/dev/null 2>&1 &
for _ in $(seq 1 50); do
    sim_knob | grep -q "\"active_execs\":1" && break
    sleep 0.1
done
sim_knob | grep -q "\"active_execs\":1" || fail "the background exec did not start"
sleeps=$(sim_procs_under "$SIM_DIR" | awk "/cmd=sleep 30[01] /{print \$1}" | tr "\n" " ")
{
    echo "SIM_DIR=$SIM_DIR"
    echo "SIM_PID=$SIM_PID"
    echo "SLEEPS=$sleeps"
    echo "READY=1"
} >"$INFO"
case $MODE in
    pass) echo "PASS: inner" ;;
    fail) fail "deliberate failure of the inner test" ;;
    error) false ;;
    wait) sleep 120 & wait $! ;;
esac
'

info_get() { sed -n "s/^$2=//p" "$1"; }

# check_gone INFO WHAT: kube-sim, the sleeps and every process under SIM_DIR gone
check_gone() {
    local info=$1 what=$2 dir pid sleeps p left i
    dir=$(info_get "$info" SIM_DIR)
    pid=$(info_get "$info" SIM_PID)
    sleeps=$(info_get "$info" SLEEPS)
    if [ -z "$dir" ] || [ -z "$pid" ]; then
        fail "$what: the inner test did not report its SIM_DIR/SIM_PID"
    fi
    assert_eq 2 "$(printf '%s\n' "$sleeps" | wc -w)" "$what: the inner test saw its two sleeps running (host pids: $sleeps)"
    for ((i = 0; i < 50; i++)); do
        left=$(sim_procs_under "$dir")
        [ -n "$left" ] || break
        sleep 0.1
    done
    [ -z "$left" ] || fail "$what: processes left under $dir:"$'\n'"$left"
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q kube-sim; then
        fail "$what: kube-sim (pid $pid) is still running"
    fi
    for p in $sleeps; do
        if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -q '^sleep 30[01]'; then
            fail "$what: the container's sleep (host pid $p) is still running"
        fi
    done
    # no kubectl of the inner test either
    if pgrep -f 'exec busybox -- sleep 301' >/dev/null 2>&1; then
        fail "$what: the inner test's background kubectl is still running: $(pgrep -af 'exec busybox -- sleep 301')"
    fi
    echo "$dir"
}

run_inner() { # MODE -> sets RC_INNER; info in $WORK/info.MODE
    local mode=$1
    : >"$WORK/info.$mode"
    RC_INNER=0
    MODE=$mode INFO=$WORK/info.$mode SIM_LIB=$SIM_LIB run_timeout 60 bash -c "$INNER" \
        >"$WORK/out.$mode" 2>&1 || RC_INNER=$?
}

for mode in pass fail error; do
    run_inner "$mode"
    case $mode in
        pass) want=0 ;;
        *) want=1 ;;
    esac
    assert_eq "$want" "$RC_INNER" "inner test ($mode): exit code; output: $(cat "$WORK/out.$mode")"
    dir=$(check_gone "$WORK/info.$mode" "$mode")
    LEFT_DIRS+=("$dir")
    [ ! -e "$dir" ] || fail "$mode: the temp dir $dir was not removed"
    assert_not_contains "$(cat "$WORK/out.$mode")" "NOT removing" "$mode: sim.sh's clean-up complained"
    echo "ok: $mode (${SECONDS}s)"
done

# signals while the inner test waits: TERM (a timeout), HUP, KILL (no trap
# runs). (SIGINT cannot be tested here: a background job's SIGINT is
# ignored, and bash cannot trap a signal ignored at its start.)
for sig in TERM HUP KILL; do
    mode='wait'
    : >"$WORK/info.$mode"
    MODE=$mode INFO=$WORK/info.$mode SIM_LIB=$SIM_LIB setsid bash -c "$INNER" >"$WORK/out.$sig" 2>&1 &
    inner=$!
    for _ in $(seq 1 100); do
        [ "$(info_get "$WORK/info.$mode" READY)" = 1 ] && break
        sleep 0.1
    done
    assert_eq 1 "$(info_get "$WORK/info.$mode" READY)" "SIG$sig: the inner test got ready; output: $(cat "$WORK/out.$sig")"
    kill -"$sig" "$inner"
    rc=0
    wait "$inner" 2>/dev/null || rc=$?
    case $sig in
        TERM) assert_eq 143 "$rc" "SIGTERM: inner exit code" ;;
        HUP) assert_eq 129 "$rc" "SIGHUP: inner exit code" ;;
        KILL) assert_eq 137 "$rc" "SIGKILL: inner exit code" ;;
    esac
    dir=$(check_gone "$WORK/info.$mode" "SIG$sig")
    LEFT_DIRS+=("$dir")
    if [ "$sig" = KILL ]; then
        # no trap ran: the directory stays (outer_cleanup removes it)
        [ -d "$dir" ] || fail "SIGKILL: expected $dir to stay (no trap can run)"
        # the background kubectl of the inner test was orphaned: it must
        # have ended with kube-sim (connection closed), checked in check_gone
    else
        [ ! -e "$dir" ] || fail "SIG$sig: the temp dir $dir was not removed"
    fi
    echo "ok: SIG$sig (${SECONDS}s)"
done

echo "PASS: kubectl.cleanup"
