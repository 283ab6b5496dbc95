#!/usr/bin/env bash
# pinned.sh: a kube-sim that starts while a podfs mount exists (another
# test's, under ctest -j) must not keep that mount alive: its containers'
# mount namespaces are copies of the host's, and a copy of the FUSE mount
# left in one outlives the umount on the host, so the daemon never sees
# its session end ("daemon still running 20 s after umount").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
skip_unless_fuse
sim_start
m=$(mnt_mount "gnu:/srv")
d=$(pgrep -f -- "$PODFS mount .*$m\$" | head -n 1)
[ -n "$d" ] || fail "no podfs daemon for $m"
# a second kube-sim, started now, on the same cluster state
s2=$SIM_WORK/second
mkdir -p "$s2"
run_timeout 60 "$PODFS_BUILD/kube-sim" --cluster "$SIM_DIR/cluster.json" --state-dir "$s2/state" --daemon \
    --timeout 120 --parent-pid $$ >"$s2/out" 2>"$s2/err" </dev/null || { cat "$s2/err" >&2; fail "second kube-sim"; }
k2=$(sed -n 's/.*PID=\([0-9]*\).*/\1/p' "$s2/out")
[ -n "$k2" ] || fail "second kube-sim: no PID in its start line"
sim_on_cleanup "kill $k2 2>/dev/null || true"
"$PODFS" umount "$m"
mnt_wait_gone "$m" || fail "the daemon of $m did not exit: the second kube-sim keeps its mount alive"
kill "$k2" 2>/dev/null || true
echo "PASS: a kube-sim started during a mount does not pin it"
