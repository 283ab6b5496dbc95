#!/usr/bin/env bash
# client.stress: exec_stress (the lead's tests/client/exec_stress.c) opens
# 64 concurrent exec sessions on ONE client (one lws context), each `cat`
# round-tripping 1 MiB of its own random data, and checks every byte.
# Here: against a fresh kube-sim; then the request log must show 64
# sessions, all v5, all exit 0, each with at least 1 MiB each way.
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
: "${EXEC_STRESS:=$PODFS_BUILD/tests/client/exec_stress}"
[ -x "$EXEC_STRESS" ] || fail "exec_stress not built: $EXEC_STRESS"
SESSIONS=64
BYTES=1048576
sim_start

t0=$(date +%s%N)
capture run_timeout 240 "$EXEC_STRESS" --sessions "$SESSIONS" --bytes "$BYTES" gnu
t1=$(date +%s%N)
echo "exec_stress: $(((t1 - t0) / 1000000)) ms; stdout: $OUT" >&2
[ -z "$ERR" ] || echo "exec_stress stderr: $ERR" >&2
assert_eq 0 "$RC" "exec_stress --sessions $SESSIONS --bytes $BYTES gnu: exit code"
assert_contains "$OUT" "$SESSIONS sessions x $BYTES bytes on one client: 0 failed" "exec_stress summary"

sim_wait_exec_log "$SESSIONS" 10 || true
log=$(sim_exec_log | grep -F '"command":["cat"]')
assert_eq "$SESSIONS" "$(printf '%s\n' "$log" | grep -c '"status":101')" "sessions in the request log"
assert_eq "$SESSIONS" "$(printf '%s\n' "$log" | grep -c '"protocol":"v5.channel.k8s.io","exit_code":0,')" \
    "sessions that ended with exit 0"
small=$(printf '%s\n' "$log" | sed -n 's/.*"bytes_in":\([0-9]*\),"bytes_out":\([0-9]*\),.*/\1 \2/p' \
    | awk -v b="$BYTES" '$1 < b || $2 < b' | wc -l)
assert_eq 0 "$small" "sessions that moved less than $BYTES bytes one way"

echo "PASS: client.stress"
