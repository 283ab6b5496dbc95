#!/usr/bin/env bash
# session.sh IMAGE_POD: helper/session.c against a kube-sim pod, then the
# request log must show one exec for the whole session (plus the noshell try).
set -euo pipefail
. "$(dirname "$0")/../lib/sim.sh"
pod=${1:?usage: session.sh POD}
sim_start
run_timeout 120 "$PODFS_BUILD/tests/helper/session_test" "$pod" "$(sim_rootfs "$pod")" ||
    fail "session_test on $pod"
n=$(sim_exec_count)
assert_eq 2 "$n" "one exec for every request of the session, one for the noshell attempt"
echo "PASS: session on $pod"
