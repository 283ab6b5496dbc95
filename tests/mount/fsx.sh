#!/usr/bin/env bash
# fsx.sh POD OPS: the random-operation exerciser (tests/tools/fsx: write,
# read, truncate, mmap read/write, fsync, reopen, each read checked against
# an in-memory model) on a podfs mount, then the file on disk in the pod
# compared with fsx's own final read.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pod=${1:?usage: fsx.sh POD OPS}
ops=${2:?usage: fsx.sh POD OPS}
skip_unless_fuse
sim_start
root=$(sim_rootfs "$pod")
rm -rf "$root/srv/fsx"
mkdir -p "$root/srv/fsx"
m=$(mnt_mount "$pod:/srv/fsx")
out="$SIM_WORK/fsx.out"
run_timeout 900 "$PODFS_BUILD/tests/tools/fsx" -N "$ops" -S "${FSX_SEED:-7}" -l $((512 * 1024)) "$m/fsx.dat" >"$out" 2>&1 ||
    { tail -n 70 "$out"; fail "fsx on the mount of $pod"; }
tail -n 1 "$out"
# what the mount shows is what the pod stored
cmp "$m/fsx.dat" "$root/srv/fsx/fsx.dat" || fail "the mount and the pod's file differ after fsx"
"$PODFS" stats "$m" | grep -E '^(remote_requests|remote_write|remote_wstreams|exec_sessions_opened) '
"$PODFS" umount "$m"
mnt_wait_gone "$m" || fail "the podfs daemon is still running 20 s after umount"
mnt_check_daemon_log
echo "PASS: fsx $ops ops on $pod"
