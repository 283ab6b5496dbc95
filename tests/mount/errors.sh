#!/usr/bin/env bash
# errors.sh: podfs mount fails clearly and leaves nothing mounted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
skip_unless_fuse
sim_start
d=$(mktemp -d -p "$SIM_WORK")
check() { # EXPECTED-TEXT ARGS...
    local want=$1
    shift
    capture run_timeout 60 "$PODFS" mount "$@"
    [ "$RC" -ne 0 ] || fail "podfs mount $* succeeded"
    assert_contains "$ERR" "$want" "podfs mount $*"
    mountpoint -q "$d" && fail "podfs mount $* left a mount"
    return 0
}
check 'pods "nosuch" not found' nosuch "$d"
check 'No such file or directory' gnu:/no/such/dir "$d"
check 'not a directory' gnu:/etc/passwd "$d"
check 'shell' noshell "$d"
check 'not running' pending "$d"
check 'not valid for pod' -c nosuch multi "$d"
check 'mount point' gnu "$d/missing"
check 'forbidden' --context kube-sim-viewer gnu "$d"
check 'namespaces "nosuchns" not found' nosuchns/gnu "$d"
check 'must be absolute' gnu:relative "$d"
# A cluster that refuses more execs (429): the mount goes on with the one
# session it has, without hammering the API server.
sim_knob max_execs=1
m=$(mnt_mount gnu:/srv/demo) || fail "mount with max_execs=1"
want=$(sha256sum < "$(sim_rootfs gnu)/srv/demo/bin.dat")
for i in 1 2 3 4 5 6; do sha256sum < "$m/bin.dat" > "$SIM_WORK/s.$i" & done
wait
for i in 1 2 3 4 5 6; do assert_eq "$want" "$(cat "$SIM_WORK/s.$i")" "parallel reader $i with one session"; done
refused=$(sim_exec_count 429)
[ "$refused" -le 2 ] || fail "$refused refused exec attempts: the mount keeps retrying"
echo "PASS: mount errors"
