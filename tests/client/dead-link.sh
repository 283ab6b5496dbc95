#!/usr/bin/env bash
# dead-link.sh: a connection that goes silent after the upgrade (no pongs,
# no data, no close) must end podfs exec with an error within about a
# minute and a half (pings every 10 s, hang-up after 60 s without a pong),
# never hang and never report success.
set -euo pipefail
. "$(dirname "$0")/../lib/sim.sh"
sim_start
sim_knob blackhole=1
start=$(date +%s)
capture run_timeout 150 "$PODFS_BUILD/podfs" exec gnu -- sleep 600
took=$(( $(date +%s) - start ))
[ "$RC" -ne 0 ] || fail "podfs exec over a dead link exited 0"
[ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] || fail "podfs exec hung on a dead link (killed by the test's timeout)"
[ "$took" -le 100 ] || fail "podfs exec took ${took}s to notice a dead link"
assert_contains "$ERR" "error:" "a message on stderr"
echo "PASS: dead link noticed after ${took}s (rc $RC): $ERR"
