#!/usr/bin/env bash
# write_errors.sh: failures of the write path reach the caller with the
# pod's errno at write, fsync or close, and nothing is acknowledged that the
# pod did not store: ENOSPC (pod "small", 4 MiB tmpfs on /data), EACCES
# (pod "nonroot", uid 1000), EROFS (pod "rofs", read-only rootfs; and
# `-o ro`), a connection killed in the middle of a write (kill_after_bytes).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
skip_unless_fuse
sim_start
work=$(mktemp -d -p "$SIM_WORK" local.XXXXXX)

# expect_fail MESSAGE-REGEX CMD...: CMD fails and says MESSAGE
expect_fail() {
    local re=$1 out
    shift
    if out=$("$@" 2>&1); then
        fail "'$*' succeeded (expected: $re)"
    fi
    grep -Eq -- "$re" <<<"$out" || fail "'$*' failed with '$out' (expected: $re)"
}

# in_pod POD PATH: the file as the container sees it (its volumes are
# mounted in its own namespace, not in the rootfs directory on disk)
in_pod() {
    "$PODFS" exec "$1" -- cat "$2"
}

# -- ENOSPC
m=$(mnt_mount small:/data)
head -c 1000000 /dev/urandom >"$work/1m"
cp "$work/1m" "$m/fits" && in_pod small /data/fits | cmp "$work/1m" - || fail "a file that fits"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$work/8m"
expect_fail "No space left on device" cp "$work/8m" "$m/toobig"
expect_fail "No space left on device" dd if="$work/8m" of="$m/toobig2" bs=64k status=none conv=fsync
# a small write that does not fit either (buffered: the error comes at close)
head -c 3500000 /dev/zero >"$work/3m5"
cp "$work/3m5" "$m/fill" 2>/dev/null || true
expect_fail "No space left on device" sh -c "head -c 900000 /dev/urandom >'$m/small-last'"
rm -f "$m/toobig" "$m/toobig2" "$m/fill" "$m/small-last"
cp "$work/1m" "$m/again" && in_pod small /data/again | cmp "$work/1m" - || fail "writing after space was freed"
echo "ok: ENOSPC at write/close, and writing works again once there is space"

# -- EACCES (uid 1000 in the pod)
root=$(sim_rootfs nonroot)
m=$(mnt_mount nonroot:/)
expect_fail "Permission denied" sh -c "echo x >'$m/root/new'"
expect_fail "Permission denied" mkdir "$m/root/d"
expect_fail "Permission denied" sh -c "echo x >>'$m/etc/passwd'"
expect_fail "Permission denied|Operation not permitted" chmod 777 "$m/etc/passwd"
expect_fail "Permission denied" rm "$m/root/secret.txt"
[ -e "$root/root/secret.txt" ] && [ ! -e "$root/root/new" ] || fail "EACCES changed something"
echo ok >"$m/data/mine" && [ "$(cat "$root/data/mine")" = ok ] || fail "writing where uid 1000 may"
[ "$(stat -c %u "$root/data/mine")" = 1000 ] && [ "$(stat -c %u "$m/data/mine")" = 1000 ] ||
    fail "a new file belongs to the pod's user"
echo "ok: EACCES"
# idmap=user: the pod's exec user (1000) shows as the local user, and
# chown to the local user means the pod's user
m2=$(mnt_mount nonroot:/ -o idmap=user)
[ "$(stat -c %u:%g "$m2/data/mine")" = "$(id -u):$(id -g)" ] || fail "idmap=user: $(stat -c %u:%g "$m2/data/mine")"
[ "$(stat -c %u "$m2/etc/passwd")" = 0 ] || fail "idmap=user: root's file"
chown "$(id -u):$(id -g)" "$m2/data/mine" || fail "idmap=user: chown to the local user"
[ "$(stat -c %u:%g "$root/data/mine")" = 1000:1000 ] || fail "idmap=user: chown went through unmapped"
echo "ok: idmap=user"

# -- EROFS: the pod's read-only rootfs, its writable volume; -o ro
m=$(mnt_mount rofs:/)
expect_fail "Read-only file system" sh -c "echo x >'$m/newfile'"
expect_fail "Read-only file system" mkdir "$m/d"
expect_fail "Read-only file system" touch "$m/etc/passwd"
echo ok >"$m/data/vol" && [ "$(in_pod rofs /data/vol)" = ok ] || fail "the writable volume of a read-only pod"
echo "ok: EROFS from the pod"
root=$(sim_rootfs gnu)
m=$(mnt_mount gnu:/srv -o ro)
expect_fail "Read-only file system" sh -c "echo x >'$m/x'"
expect_fail "Read-only file system" mkdir "$m/x"
expect_fail "Read-only file system" rm -rf "$m/demo"
expect_fail "Read-only file system" touch "$m/demo"
[ -d "$root/srv/demo" ] && [ ! -e "$root/srv/x" ] || fail "-o ro changed the pod"
grep -q " $m fuse.podfs ro," /proc/mounts || fail "-o ro: not a read-only mount in /proc/mounts"
echo "ok: -o ro"

# -- a connection killed in the middle of a write: an error, never a silently short file
root=$(sim_rootfs gnu)
mkdir -p "$root/srv/kill"
m=$(mnt_mount gnu:/srv/kill)
head -c $((20 * 1024 * 1024)) /dev/urandom >"$work/20m"
sim_knob kill_after_bytes=3000000 >/dev/null
if cp "$work/20m" "$m/cut" 2>"$work/cp.err"; then
    sim_knob kill_after_bytes=0 >/dev/null
    cmp -s "$work/20m" "$root/srv/kill/cut" || fail "cp said success but the file in the pod differs"
    fail "cp succeeded although every exec was cut after 3 MB"
fi
sim_knob kill_after_bytes=0 >/dev/null
cat "$work/cp.err"
grep -Eq "Input/output error|error writing|failed to close" "$work/cp.err" || fail "kill mid-write: $(cat "$work/cp.err")"
# the mount recovers: new sessions, new writes
cp "$work/1m" "$m/after" && cmp "$work/1m" "$root/srv/kill/after" || fail "writing after the killed connection"
echo "ok: killed connection -> error at write/close; the mount works afterwards"

echo "PASS: write errors"
