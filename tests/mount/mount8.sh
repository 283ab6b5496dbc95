#!/usr/bin/env bash
# mount8.sh: the mount(8) ways in (CLARIFICATIONS 8): mount -t fuse.podfs
# (through mount.fuse3, which runs "podfs SRC MNT -o OPTS"), an fstab
# line with kubeconfig=/namespace=/container= options, the helper name
# mount.fuse.podfs, and "podfs SRC MNT -o OPTS" directly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
skip_unless_fuse
sim_start
export PATH="$PODFS_BUILD:$PATH" PODFS_DAEMON_LOG=$SIM_WORK/podfs-daemon.log
want=$(cat "$(sim_rootfs multi app)/srv/demo/hello.txt")

check_mount() { # MNT WHAT
    mountpoint -q "$1" || fail "$2: not mounted"
    assert_eq "$want" "$(cat "$1/hello.txt")" "$2: file content through the mount"
    fusermount3 -u "$1" || fail "$2: unmount"
    mnt_wait_gone "$1" || fail "$2: the daemon did not exit"
}

m1=$SIM_WORK/m1 m2=$SIM_WORK/m2 m3=$SIM_WORK/m3 m4=$SIM_WORK/m4
mkdir -p "$m1" "$m2" "$m3" "$m4"
_MNT_LIST+=("$m1" "$m2" "$m3" "$m4")

# mount(8) finds /sbin/mount.fuse.podfs, else mount.fuse3 runs "podfs"
# with a fixed PATH: both need podfs installed, which tests do not do.
if [ -x /sbin/mount.fuse.podfs ] || [ -x /usr/sbin/mount.fuse.podfs ] ||
   PATH=/bin:/sbin:/usr/bin:/usr/sbin command -v podfs >/dev/null; then
    run_timeout 60 mount -t fuse.podfs "default/multi:/srv/demo" "$m1" \
        -o "ro,kubeconfig=$KUBECONFIG,container=app" || fail "mount -t fuse.podfs"
    check_mount "$m1" "mount -t fuse.podfs"
    printf 'multi:/srv/demo %s fuse.podfs ro,noauto,kubeconfig=%s,namespace=default,container=app,attr_timeout=2 0 0\n' \
        "$m2" "$KUBECONFIG" > "$SIM_WORK/fstab"
    run_timeout 60 mount -T "$SIM_WORK/fstab" "$m2" || fail "mount with an fstab line"
    check_mount "$m2" "fstab line"
else
    echo "note: podfs is not installed; mount -t fuse.podfs and fstab checked through what they run"
fi

# exactly what mount(8) runs for an fstab line
run_timeout 60 mount.fuse.podfs multi:/srv/demo "$m3" -o "rw,noauto,kubeconfig=$KUBECONFIG,namespace=default,container=app,attr_timeout=2" ||
    fail "mount.fuse.podfs"
check_mount "$m3" "mount.fuse.podfs"

run_timeout 60 podfs multi:/srv/demo "$m4" -o "kubeconfig=$KUBECONFIG,container=app" || fail "podfs SRC MNT -o"
check_mount "$m4" "podfs SRC MNT -o OPTS"

mnt_check_daemon_log
echo "PASS: mount(8) helper, fstab, mount.fuse.podfs, podfs SRC MNT"
