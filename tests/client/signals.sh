#!/usr/bin/env bash
# client.signals: podfs exec of a long command, killed with SIGTERM or
# SIGINT, exits promptly (< 3 s) and not with 0; so does one whose stdout
# reader went away (EPIPE, e.g. `| head`).
#
# What happens to the remote process: podfs's connection to the API server
# closes when it dies. kube-sim then kills the command's process group
# (SIGKILL) and logs "client closed the connection before the command
# ended"; this test checks that (no `sleep 30` left in the container).
# A real cluster may differ: without a TTY, the container runtime keeps
# the command running after the exec connection closes (the API server
# closes its stream to the kubelet, but nothing signals the process), so
# there a killed `podfs exec` can leave the remote command behind, exactly
# like a killed `kubectl exec`.
# shellcheck disable=SC2119 # sim_knob without arguments only reads
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
sim_start

ms() { echo $(($(date +%s%N) / 1000000)); }

remote_sleeps() { # number of `sleep 30` processes in the containers
    sim_procs_under "$SIM_DIR" | grep -c 'cmd=sleep 30 ' || true
}

# wait_gone WHAT: the remote sleep and its session are gone within 5 s
wait_gone() {
    local i
    for ((i = 0; i < 50; i++)); do
        if [ "$(remote_sleeps)" -eq 0 ] && sim_knob | grep -q '"active_execs":0[,}]'; then
            return 0
        fi
        sleep 0.1
    done
    fail "$1: the remote sleep 30 is still running 5 s after podfs died: $(sim_procs_under "$SIM_DIR" | grep 'sleep 30')"
}

# kill_test SIG WITH_STDIN
kill_test() {
    local sig=$1 stdin=$2 pid rc t0 t1 n0 what="SIG$1${2:+ (-i)}"
    n0=$(log_lines)
    if [ -n "$stdin" ]; then
        # stdin: a FIFO that we hold open (no EOF)
        rm -f "$SIM_WORK/fifo"
        mkfifo "$SIM_WORK/fifo"
        exec 7<>"$SIM_WORK/fifo"
        env --default-signal=INT,TERM "$PODFS" exec -i gnu -- sh -c 'cat >/dev/null & sleep 30' \
            <"$SIM_WORK/fifo" >"$SIM_WORK/out" 2>"$SIM_WORK/err" &
    else
        env --default-signal=INT,TERM "$PODFS" exec gnu -- sleep 30 >"$SIM_WORK/out" 2>"$SIM_WORK/err" &
    fi
    pid=$!
    wait_active_execs 1 || fail "$what: the exec did not start"
    for _ in $(seq 1 50); do [ "$(remote_sleeps)" -ge 1 ] && break; sleep 0.1; done
    assert_eq 1 "$(remote_sleeps)" "$what: the remote sleep 30 runs"
    t0=$(ms)
    kill -"$sig" "$pid"
    rc=0
    # wait for podfs alone, with a limit (no `wait`: it could hang)
    for _ in $(seq 1 100); do _sim_running "$pid" || break; sleep 0.05; done
    t1=$(ms)
    if _sim_running "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        fail "$what: podfs still running $((t1 - t0)) ms after the signal"
    fi
    wait "$pid" 2>/dev/null || rc=$?
    echo "$what: podfs exited after $((t1 - t0)) ms with status $rc; stderr: $(cat "$SIM_WORK/err")" >&2
    [ $((t1 - t0)) -lt 3000 ] || fail "$what: podfs took $((t1 - t0)) ms to exit"
    [ "$rc" -ne 0 ] || fail "$what: podfs exited 0"
    wait_gone "$what"
    for _ in $(seq 1 30); do
        exec_lines_since "$n0" | grep -q '"command":\[' && break
        sleep 0.1
    done
    assert_contains "$(exec_lines_since "$n0")" '"error":"client closed the connection before the command ended"' \
        "$what: kube-sim saw the client go away"
    [ -z "$stdin" ] || exec 7>&-
}

kill_test TERM ""
kill_test INT ""
kill_test TERM "-i"
kill_test INT "-i"

# the reader of podfs's stdout goes away: podfs ends the session
t0=$(ms)
rc=0
out=$(PF_TIMEOUT=20 pfs exec gnu -- yes podfs | head -c 20) || rc=$?
t1=$(ms)
assert_eq "podfs"$'\n'"podfs"$'\n'"podfs"$'\n'"po" "$out" "yes | head -c 20"
[ $((t1 - t0)) -lt 3000 ] || fail "podfs exec yes | head: took $((t1 - t0)) ms"
for _ in $(seq 1 50); do
    sim_procs_under "$SIM_DIR" | grep -q 'cmd=yes podfs' || break
    sleep 0.1
done
assert_eq "" "$(sim_procs_under "$SIM_DIR" | grep 'cmd=yes podfs' || true)" "the remote yes is gone after the reader left"

echo "PASS: client.signals"
