# shellcheck shell=bash
# tests/mount/lib.sh: mount helpers on top of tests/lib/sim.sh. Every mount
# made with mnt_mount is unmounted at exit, even when the test fails.

. "$(dirname "${BASH_SOURCE[0]}")/../lib/sim.sh"

PODFS=${PODFS:-$PODFS_BUILD/podfs}
_MNT_LIST=()
sim_on_cleanup _mnt_cleanup

_mnt_cleanup() {
    local m
    # mnt_mount runs in $(...): its mounts are recorded in a file too
    if [ -n "${SIM_WORK:-}" ] && [ -f "$SIM_WORK/.mounts" ]; then
        while IFS= read -r m; do _MNT_LIST+=("$m"); done <"$SIM_WORK/.mounts"
    fi
    # (mnt_mount runs in $(...): its export of PODFS_DAEMON_LOG is not seen here)
    local log=${PODFS_DAEMON_LOG:-${SIM_WORK:-/nonexistent}/podfs-daemon.log}
    if [ -s "$log" ]; then
        echo "--- podfs daemon log:" >&2
        tail -n 40 "$log" >&2
    fi
    for m in "${_MNT_LIST[@]}"; do
        if sim_is_mounted "$m"; then
            fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        fi
        # only our own daemons: other tests may run in parallel
        pkill -f -- "$PODFS mount .*$m\$" 2>/dev/null || true
    done
}

skip_unless_fuse() {
    [ -c /dev/fuse ] || skip "no /dev/fuse"
    command -v fusermount3 >/dev/null || skip "no fusermount3 (package fuse3)"
}

# mnt_mount TARGET [podfs mount options...]: mounts on a fresh directory,
# prints its path.
mnt_mount() {
    local target=$1 m
    shift
    # The daemons' warnings and errors (sanitizer reports too) land here.
    export PODFS_DAEMON_LOG=${PODFS_DAEMON_LOG:-$SIM_WORK/podfs-daemon.log}
    m=$(mktemp -d -p "$SIM_WORK" mnt.XXXXXX)
    _MNT_LIST+=("$m")
    printf '%s\n' "$m" >>"$SIM_WORK/.mounts"
    run_timeout 60 "$PODFS" mount "$@" "$target" "$m" >&2 || return 1
    mountpoint -q "$m" || { echo "mnt_mount: $m is not a mount point after podfs mount returned 0" >&2; return 1; }
    echo "$m"
}

# tree_listing DIR: one line per entry, everything but inode numbers and
# atimes: path, type, mode, owner, size, mtime (seconds), link target.
tree_listing() {
    (cd "$1" && find . -mindepth 1 -printf '%P\t%y\t%m\t%U\t%G\t%s\t%Ts\t%l\n' | LC_ALL=C sort)
}

# tree_sums DIR: sha256 of every regular file under 1 GiB (tests read
# their huge sparse files by range instead).
tree_sums() {
    (cd "$1" && find . -type f -size -1G -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# mnt_check_daemon_log: fail on errors or sanitizer reports from a daemon.
mnt_check_daemon_log() {
    local log=${PODFS_DAEMON_LOG:-${SIM_WORK:-/nonexistent}/podfs-daemon.log}
    [ -s "$log" ] || return 0
    if grep -qE 'error:|runtime error|AddressSanitizer|LeakSanitizer' "$log"; then
        cat "$log" >&2
        fail "the podfs daemon reported errors"
    fi
}

# mnt_wait_gone MOUNTPOINT: wait (up to 20 s: sanitizer builds exit slowly)
# until the daemon serving MOUNTPOINT has exited. If it has not, print
# where its threads are (gdb, when installed), kill it, and return 1.
mnt_wait_gone() {
    local i pids p
    for ((i = 0; i < 200; i++)); do
        pgrep -f -- "$PODFS mount .*$1\$" >/dev/null || return 0
        sleep 0.1
    done
    pids=$(pgrep -f -- "$PODFS mount .*$1\$" || true)
    echo "mnt_wait_gone: podfs daemon(s) $pids still running 20 s after umount of $1" >&2
    for p in $pids; do
        grep -E '^(State|Threads):' "/proc/$p/status" >&2 2>/dev/null || true
        if command -v gdb >/dev/null 2>&1; then
            timeout 60 gdb -batch -p "$p" -ex 'thread apply all bt' 2>&1 | grep -E '^(Thread|#)' >&2 || true
        fi
        kill -9 "$p" 2>/dev/null || true
    done
    tail -n 40 "${PODFS_DAEMON_LOG:-${SIM_WORK:-/nonexistent}/podfs-daemon.log}" >&2 2>/dev/null || true
    return 1
}
