#!/usr/bin/env bash
# client.latency: podfs exec stays correct when the exec starts late
# (exec_delay_ms=300: the 101 comes 300 ms after the request) and every
# WebSocket message is delayed 50 ms each way (msg_delay_ms=50): output,
# stdin round trip, stderr, exit codes, the start of a multi-message output.
# Correctness under latency, not timing.
# shellcheck disable=SC2016 # $ in single quotes: for the pod's shell
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
sim_start
export PF_TIMEOUT=60

BIN=$(sim_rootfs gnu)/srv/demo/bin.dat
sim_knob exec_delay_ms=300 msg_delay_ms=50 >/dev/null
sim_knob | grep -q '"exec_delay_ms":300,"msg_delay_ms":50' || fail "knobs not set: $(sim_knob)"

pfs exec gnu -- cat /srv/demo/bin.dat >"$SIM_WORK/bin.out"
assert_eq "$(sha "$BIN")" "$(sha "$SIM_WORK/bin.out")" "cat bin.dat under latency: sha256"

head -c 1048576 /dev/urandom >"$SIM_WORK/in"
pfs exec -i gnu -- cat <"$SIM_WORK/in" >"$SIM_WORK/rt"
assert_eq "$(sha "$SIM_WORK/in")" "$(sha "$SIM_WORK/rt")" "-i cat 1 MiB under latency: sha256"

capture pfs exec gnu -- sh -c 'echo out1; echo err1 >&2; sleep 0.2; echo out2; echo err2 >&2; exit 7'
assert_eq 7 "$RC" "exit 7 under latency"
assert_eq $'out1\nout2' "$OUT" "stdout under latency"
assert_eq $'err1\nerr2\ncommand terminated with exit code 7' "$ERR" "stderr under latency"

# a command that ends at once: its output and status must still arrive
capture pfs exec gnu -- echo quick
assert_eq 0 "$RC" "echo under latency (stderr: $ERR)"
assert_eq quick "$OUT" "echo under latency"
capture pfs exec -i gnu -- cat </dev/null
assert_eq 0 "$RC" "-i cat with empty stdin under latency (stderr: $ERR)"
assert_eq "" "$OUT" "-i cat with empty stdin under latency"
capture pfs exec gnu -- podfs-no-such-binary
assert_eq 1 "$RC" "missing binary under latency"
assert_contains "$ERR" "executable file not found" "missing binary under latency: message"

# many small messages (one per line, flushed)
capture pfs exec gnu -- sh -c 'for i in $(seq 1 200); do echo "line $i"; done'
assert_eq 0 "$RC" "200 lines under latency (stderr: $ERR)"
assert_eq "$(for i in $(seq 1 200); do echo "line $i"; done)" "$OUT" "200 lines under latency"

# several at once
for i in 1 2 3 4; do
    pfs exec gnu -- sh -c "cat /srv/demo/bin.dat; echo $i" >"$SIM_WORK/par.$i" &
done
wait
for i in 1 2 3 4; do
    assert_eq "$( { cat "$BIN"; echo "$i"; } | sha256sum | cut -d' ' -f1)" "$(sha "$SIM_WORK/par.$i")" "parallel exec $i under latency"
done

echo "PASS: client.latency"
