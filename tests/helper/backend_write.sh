#!/usr/bin/env bash
# backend_write.sh POD: the modifying operations of helper/backend.c
# against a kube-sim pod, each checked on the rootfs on disk.
set -euo pipefail
. "$(dirname "$0")/../lib/sim.sh"
pod=${1:?usage: backend_write.sh POD}
sim_start
root=$(sim_rootfs "$pod")
rm -rf "$root/srv/w"
run_timeout 300 "$PODFS_BUILD/tests/helper/backend_write_test" "$pod" "$root" || fail "backend_write_test on $pod"
echo "PASS: backend writes on $pod"
