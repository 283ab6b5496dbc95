#!/usr/bin/env bash
# kubectl.knob-refusal-message: when kube-sim refuses an exec (fail_next,
# max_execs), the user must see *why*. kubectl 1.32 first tries the WebSocket
# (GET) and, after ANY non-101 answer, retries once with SPDY (POST); the
# message it prints comes from that second answer (reference section 0 item
# 3). The reference's emulator checklist (2.10) therefore says: answer the
# SPDY POST "with a Status JSON (e.g. 400 or 403, same reason as the
# WebSocket refusal), so that kubectl prints a useful error" -- as kube-sim
# already does for 401/403/404/400-container. For the knob refusals it
# answers the POST with a generic 400 "speaks only WebSocket" instead, so the
# 429/503 never reaches the user. This test fails until that is fixed.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

capture kc exec gnu -- true
assert_eq 0 "$RC" "baseline exec (stderr: $ERR)"

# max_execs: a second concurrent exec
sim_knob max_execs=1 >/dev/null
KC_TIMEOUT=30 kc exec gnu -- sleep 3 >/dev/null 2>&1 &
bg=$!
for _ in $(seq 1 50); do
    sim_knob | grep -q '"active_execs":1' && break
    sleep 0.1
done
capture kc exec gnu -- echo second
assert_eq 1 "$RC" "max_execs=1: the second exec fails"
case $ERR in
    *TooManyRequests* | *"Too many"* | *"too many"* | *429*) ;;
    *) fail "max_execs=1: kubectl's message does not say the exec was refused as too many (429): $ERR" ;;
esac
wait "$bg" || true
sim_knob max_execs=0 >/dev/null

# fail_next with 503
sim_knob fail_next=1 fail_status=503 >/dev/null
capture kc exec gnu -- echo one
assert_eq 1 "$RC" "fail_next=1 fail_status=503: the exec fails"
case $ERR in
    *ServiceUnavailable* | *503*) ;;
    *) fail "fail_next=1 fail_status=503: kubectl's message does not show the 503 refusal: $ERR" ;;
esac
capture kc exec gnu -- echo two
assert_eq 0 "$RC" "fail_next=1: only one kubectl exec is refused (its SPDY retry must not use up a second one); stderr: $ERR"

echo "PASS: kubectl.knob-refusal-message"
