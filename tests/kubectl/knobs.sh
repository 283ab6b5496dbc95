#!/usr/bin/env bash
# kubectl.knobs: kube-sim's fault and latency knobs, observed through the
# real kubectl: fail_next, max_execs, exec_delay_ms, kill_after_bytes,
# v4_only, bandwidth, msg_delay_ms. (What kubectl *prints* for a refused
# exec is kubectl.knob-refusal-message.)
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

now_ms() { date +%s%3N; }
BIN_SHA=$(sha256sum <"$(sim_rootfs gnu)/srv/demo/bin.dat" | cut -d' ' -f1)
# knob_value NAME: current value from the knobs JSON
knob_value() { sim_knob | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }
# ws_status CMD_JSON: HTTP status of the (last) exec GET, i.e. the WebSocket
# attempt, of the command whose JSON array is CMD_JSON (waits for the log line)
ws_status() {
    local l
    for _ in $(seq 1 30); do
        l=$(sim_exec_log | grep -F "\"command\":$1," | grep -F '"method":"GET"' | tail -n 1 || true)
        [ -z "$l" ] || break
        sleep 0.1
    done
    printf '%s\n' "$l" | sed -n 's/.*"status":\([0-9]*\).*/\1/p'
}

# warm up: discovery cached, baseline timing
capture kc exec gnu -- true
assert_eq 0 "$RC" "baseline exec (stderr: $ERR)"
t0=$(now_ms)
capture kc exec gnu -- true
base_ms=$(($(now_ms) - t0))

# --- fail_next / fail_status -------------------------------------------------
sim_knob fail_next=1 fail_status=503 >/dev/null
assert_eq 1 "$(knob_value fail_next)" "fail_next is set"
capture kc exec gnu -- echo one
assert_eq 1 "$RC" "fail_next=1: the next exec fails"
assert_eq "" "$OUT" "fail_next=1: no output"
assert_eq 503 "$(ws_status '["echo","one"]')" "fail_next=1 fail_status=503: the WebSocket GET got 503"
assert_eq 0 "$(knob_value fail_next)" "fail_next is used up"
capture kc exec gnu -- echo two
assert_eq 0 "$RC" "the exec after the failed one succeeds (stderr: $ERR)"
assert_eq two "$OUT" "the exec after the failed one: output"
sim_knob fail_status=500 >/dev/null

# --- max_execs --------------------------------------------------------------
sim_knob max_execs=1 >/dev/null
KC_TIMEOUT=30 kc exec gnu -- sleep 4 >"$SIM_WORK/bg.out" 2>"$SIM_WORK/bg.err" &
bg=$!
for _ in $(seq 1 50); do
    [ "$(knob_value active_execs)" = 1 ] && break
    sleep 0.1
done
assert_eq 1 "$(knob_value active_execs)" "max_execs=1: the long exec is active"
capture kc exec gnu -- echo second
assert_eq 1 "$RC" "max_execs=1: a second concurrent exec fails"
assert_eq "" "$OUT" "max_execs=1: the second exec printed nothing"
assert_eq 429 "$(ws_status '["echo","second"]')" "max_execs=1: the WebSocket GET got 429"
bg_rc=0
wait "$bg" || bg_rc=$?
assert_eq 0 "$bg_rc" "max_execs=1: the long exec itself succeeds (stderr: $(cat "$SIM_WORK/bg.err"))"
for _ in $(seq 1 20); do
    [ "$(knob_value active_execs)" = 0 ] && break
    sleep 0.1
done
capture kc exec gnu -- echo third
assert_eq 0 "$RC" "max_execs=1: after the long exec ended, an exec works again (stderr: $ERR)"
sim_knob max_execs=0 >/dev/null

# --- exec_delay_ms --------------------------------------------------------------
sim_knob exec_delay_ms=1500 >/dev/null
t0=$(now_ms)
capture kc exec gnu -- true
dt=$(($(now_ms) - t0))
assert_eq 0 "$RC" "exec_delay_ms=1500: exec succeeds (stderr: $ERR)"
[ "$dt" -ge 1500 ] || fail "exec_delay_ms=1500: exec took only ${dt} ms"
[ $((dt - base_ms)) -ge 1200 ] || fail "exec_delay_ms=1500: ${dt} ms is not clearly slower than the ${base_ms} ms baseline"
sim_knob exec_delay_ms=0 >/dev/null

# --- kill_after_bytes ------------------------------------------------------------
sim_knob kill_after_bytes=100000 >/dev/null
rc=0
kc exec gnu -- cat /srv/demo/bin.dat >"$SIM_WORK/killed.out" 2>"$SIM_WORK/killed.err" || rc=$?
size=$(stat -c %s "$SIM_WORK/killed.out")
if [ "$rc" -eq 0 ] && [ "$size" -eq 1048576 ]; then
    fail "kill_after_bytes=100000: kubectl exec cat bin.dat was a silent full success"
fi
[ "$rc" -ne 0 ] || fail "kill_after_bytes=100000: kubectl exited 0 with $size of 1048576 bytes (a silent truncation)"
[ "$size" -lt 1048576 ] || fail "kill_after_bytes=100000: all 1048576 bytes arrived"
echo "kill_after_bytes=100000: kubectl rc $rc after $size bytes: $(tail -n 1 "$SIM_WORK/killed.err")"
for _ in $(seq 1 30); do
    sim_exec_log | grep -F '"command":["cat","/srv/demo/bin.dat"]' | grep -q -F 'kill_after_bytes' && break
    sleep 0.1
done
sim_exec_log | grep -F '"command":["cat","/srv/demo/bin.dat"]' | grep -q -F 'kill_after_bytes' \
    || fail "kill_after_bytes: the request log does not record the kill"
sim_knob kill_after_bytes=0 >/dev/null
capture kc exec gnu -- echo alive
assert_eq alive "$OUT" "kill_after_bytes=0: exec works again"

# --- v4_only: kubectl 1.32 offers only v5.channel.k8s.io ------------------------
sim_knob v4_only=1 >/dev/null
capture kc exec gnu -- echo v4
[ "$RC" -ne 0 ] || fail "v4_only=1: kubectl exec succeeded (it offers only v5)"
assert_eq "" "$OUT" "v4_only=1: no output"
assert_eq 400 "$(ws_status '["echo","v4"]')" "v4_only=1: the WebSocket GET was refused with 400"
sim_exec_log | grep -F '"command":["echo","v4"]' | grep -q -F '"status":101' \
    && fail "v4_only=1: a session was upgraded"
sim_knob v4_only=0 >/dev/null
capture kc exec gnu -- echo v5
assert_eq v5 "$OUT" "v4_only=0: exec works again (stderr: $ERR)"

# --- bandwidth --------------------------------------------------------------------
sim_knob bandwidth=1048576 >/dev/null
t0=$(now_ms)
kc exec gnu -- cat /srv/demo/bin.dat >"$SIM_WORK/bw.out"
dt=$(($(now_ms) - t0))
assert_eq "$BIN_SHA" "$(sha256sum <"$SIM_WORK/bw.out" | cut -d' ' -f1)" "bandwidth=1 MiB/s: output intact"
[ "$dt" -ge 700 ] || fail "bandwidth=1048576: 1 MiB arrived in ${dt} ms"
sim_knob bandwidth=0 >/dev/null

# --- msg_delay_ms ------------------------------------------------------------------
sim_knob msg_delay_ms=300 >/dev/null
t0=$(now_ms)
capture kc exec gnu -- sh -c 'echo out; echo err >&2; exit 6'
dt=$(($(now_ms) - t0))
assert_eq 6 "$RC" "msg_delay_ms=300: exit code"
assert_eq out "$OUT" "msg_delay_ms=300: stdout"
assert_contains "$ERR" err "msg_delay_ms=300: stderr"
[ "$dt" -ge 300 ] || fail "msg_delay_ms=300: the exec took only ${dt} ms"
sim_knob msg_delay_ms=0 >/dev/null

echo "PASS: kubectl.knobs"
