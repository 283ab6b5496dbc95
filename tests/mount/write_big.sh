#!/usr/bin/env bash
# write_big.sh [GIB]: a 5 GiB (default) file written through the mount
# with dd, checked by sha256 in the pod's rootfs, while the daemon's peak
# RSS stays under its budget (no whole-file buffering).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
gib=${1:-5}
skip_unless_fuse
command -v openssl >/dev/null || skip "no openssl"
sim_start
root=$(sim_rootfs gnu)
mkdir -p "$root/srv/big"
m=$(mnt_mount gnu:/srv/big)
pid=$(pgrep -n -f -- "$PODFS mount .*$m\$") || fail "no daemon for $m"
# deterministic, incompressible bytes
gen() {
    { openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000 \
        </dev/zero 2>/dev/null || true; } | head -c $((gib * 1024 * 1024 * 1024))
}
gen | dd of="$m/big.bin" bs=1M iflag=fullblock status=none || fail "dd into the mount"
want=$(gen | sha256sum | cut -d' ' -f1)
got=$(sha256sum <"$root/srv/big/big.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "sha256 of the ${gib} GiB file in the pod differs"
[ "$(stat -c %s "$m/big.bin")" = $((gib * 1024 * 1024 * 1024)) ] || fail "size through the mount"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "daemon peak RSS: $((hwm / 1024)) MiB"
# budget: 64 MiB page cache + 8 MiB dirty + stream queues + libraries
[ "$hwm" -lt $((160 * 1024)) ] || fail "daemon peak RSS $((hwm / 1024)) MiB while writing ${gib} GiB"
"$PODFS" stats "$m" | grep -E '^(remote_requests|remote_wstreams|remote_write_bytes|exec_sessions_opened) ' || true
"$PODFS" umount "$m"
mnt_wait_gone "$m" || fail "the podfs daemon is still running 20 s after umount"
mnt_check_daemon_log
echo "PASS: ${gib} GiB written, sha256 equal"
