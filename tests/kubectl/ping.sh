#!/usr/bin/env bash
# kubectl.ping: kubectl pings every 5 s and, with no pong for 61 s, fails the
# session with "i/o timeout" (reference 2.8). An exec that runs 65 s and then
# succeeds proves kube-sim answers pings. Label: slow.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

t0=$(date +%s)
KC_TIMEOUT=100 capture kc exec gnu -- sh -c 'sleep 65; echo survived'
dt=$(($(date +%s) - t0))
assert_eq 0 "$RC" "exec sleep 65: exit code (stderr: $ERR)"
assert_eq survived "$OUT" "exec sleep 65: output after 65 s of silence"
[ "$dt" -ge 65 ] || fail "exec sleep 65 returned after only ${dt}s"
assert_not_contains "$ERR" "timeout" "exec sleep 65: no i/o timeout"
sim_wait_exec_log 1
sim_exec_log | grep -F '"command":["sh","-c","sleep 65; echo survived"]' | grep -q -F '"exit_code":0' \
    || fail "exec sleep 65: not logged with exit code 0"
echo "PASS: kubectl.ping (${dt}s)"
