#!/usr/bin/env bash
# mount_mem.sh MOUNT_MEM XATTR_GET PODFS: mount the in-memory tree of
# mount_mem.c through podfs's FUSE layer and check it with ordinary tools:
# listings, stat of hostile names, content, symlinks, fifo, EACCES and EROFS
# errors, no xattrs (ENOSYS: the kernel stops asking), `podfs stats` over
# the control socket, then a clean unmount. Exit 77 when FUSE is unavailable.
set -euo pipefail
. "$(dirname "$0")/../lib/sim.sh"

mount_mem=${1:?usage: mount_mem.sh MOUNT_MEM XATTR_GET}
xattr_get=${2:?usage: mount_mem.sh MOUNT_MEM XATTR_GET PODFS}
podfs=${3:?usage: mount_mem.sh MOUNT_MEM XATTR_GET PODFS}

[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "fusermount3 is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/podfs-mount-mem.XXXXXX")
mnt=$tmp/mnt
mkdir "$mnt"
pid=

cleanup() {
    local rc=$?
    if mountpoint -q "$mnt" 2>/dev/null; then
        fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -s "$tmp/err" ]; then
        echo "--- mount_mem stderr:" >&2
        tail -n 50 "$tmp/err" >&2
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT

# start_mount: run mount_mem in the background and wait for "ready"
start_mount() {
    : >"$tmp/out"
    "$mount_mem" "$mnt" "$tmp/expected.bin" >"$tmp/out" 2>>"$tmp/err" &
    pid=$!
    for _ in $(seq 200); do
        grep -qx ready "$tmp/out" 2>/dev/null && break
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" || true
            pid=
            if grep -qiE 'permission denied|operation not permitted|fuse: device not found' "$tmp/err"; then
                skip "cannot mount FUSE here: $(head -n 1 "$tmp/err")"
            fi
            fail "mount_mem exited before mounting: $(cat "$tmp/err")"
        fi
        sleep 0.1
    done
    grep -qx ready "$tmp/out" || fail "mount_mem did not report ready within 20 s"
    mountpoint -q "$mnt" || fail "ready, but $mnt is not a mountpoint"
}

# wait_exit WHAT: mount_mem must exit 0 within 10 s and leave nothing mounted
wait_exit() {
    local rc=0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "mount_mem still running 10 s after $1"
    wait "$pid" || rc=$?
    pid=
    assert_eq 0 "$rc" "mount_mem exit status after $1"
    if mountpoint -q "$mnt"; then fail "$mnt still mounted after $1"; fi
}

start_mount

# mount(8) view: type fuse.podfs, fsname with its comma intact, nodev/nosuid
line=$(grep " $mnt " /proc/mounts) || fail "$mnt not in /proc/mounts"
assert_contains "$line" "podfs:mem,test:/ $mnt fuse.podfs " "mount source and type"
assert_contains "$line" "nosuid,nodev" "mounted nosuid,nodev"

# the root
out=$(ls -la "$mnt") || fail "ls -la of the root failed"
for n in bin.dat empty hello.txt link dangling fifo secret sub names big proc sys dev; do
    grep -qE " $n( ->|\$)" <<<"$out" || fail "ls -la of the root lacks $n: $out"
done
assert_eq "hello, pod" "$(cat "$mnt/hello.txt")" "content of hello.txt"
assert_eq "nested" "$(cat "$mnt/sub/dir/nested.txt")" "nested file"

# the 1,000-entry directory, listed twice (the second from the caches)
assert_eq 1000 "$(ls -1 "$mnt/big" | wc -l)" "ls of the 1,000-entry dir"
ls -la "$mnt/big" >"$tmp/ls" || fail "ls -la of the 1,000-entry dir"
assert_eq 1002 "$(grep -c '^[-d]' "$tmp/ls")" "ls -la of the 1,000-entry dir (with . and ..)"
assert_eq "/big/entry-0999" "$(cat "$mnt/big/entry-0999")" "content in the big dir"
assert_eq 1000 "$(find "$mnt/big" -type f | wc -l)" "find in the big dir"

# hostile names: each one stats, reads back its own name, and the dir
# holds exactly those
names=("with space" "  leading and trailing  " $'new\nline' $'tab\there' "quote'single"
       'quote"double' "-leading-dash" "--" 'back\slash' '$(touch pwned)' '`id`' '*glob?[a]'
       $'\xff\xfe invalid utf8' $'caf\xc3\xa9' 'semi;colon|pipe&' 'percent%s%n')
for n in "${names[@]}"; do
    stat -- "$mnt/names/$n" >/dev/null || fail "stat of hostile name $(printf %q "$n")"
    assert_eq "$n" "$(cat -- "$mnt/names/$n")" "content of $(printf %q "$n")"
done
long=$(printf 'n%.0s' $(seq 255))
assert_eq 4 "$(stat -c %s -- "$mnt/names/$long")" "stat of a 255-byte name"
assert_eq $((${#names[@]} + 1)) "$(find "$mnt/names" -mindepth 1 -printf x | wc -c)" "entries in names/"
[ ! -e "$mnt/pwned" ] && [ ! -e "$(pwd)/pwned" ] || fail "a name was executed"
capture stat -- "$mnt/names/${long}n"
assert_ne 0 "$RC" "a 256-byte name cannot exist"
assert_contains "$ERR" "File name too long" "256-byte name: ENAMETOOLONG"

# binary content, through the file and through the symlink, twice
cmp "$tmp/expected.bin" "$mnt/bin.dat" || fail "bin.dat content differs"
cmp "$tmp/expected.bin" "$mnt/link" || fail "content through the symlink differs"
dd if="$mnt/bin.dat" bs=1000 skip=1234 count=7 status=none | cmp - <(dd if="$tmp/expected.bin" bs=1000 skip=1234 count=7 status=none) ||
    fail "unaligned read differs"
assert_eq "$(stat -c %s "$tmp/expected.bin")" "$(stat -c %s "$mnt/bin.dat")" "size of bin.dat"

# empty file, symlinks, fifo
assert_eq 0 "$(stat -c %s "$mnt/empty")" "size of empty"
assert_eq "" "$(cat "$mnt/empty")" "content of empty"
assert_eq "bin.dat" "$(readlink "$mnt/link")" "readlink"
assert_eq "/no/such/target" "$(readlink "$mnt/dangling")" "readlink of a dangling link"
[ -L "$mnt/dangling" ] && [ ! -e "$mnt/dangling" ] || fail "dangling symlink"
[ -p "$mnt/fifo" ] || fail "fifo does not show as a fifo"

# pseudo filesystems of a "/" mount show empty
assert_eq "" "$(ls -A "$mnt/proc")" "/proc is empty"
assert_eq "" "$(ls -A "$mnt/sys")" "/sys is empty"
assert_eq "" "$(ls -A "$mnt/dev")" "/dev is empty"

# errors reach the tools unchanged
capture cat "$mnt/secret"
assert_ne 0 "$RC" "cat of the unreadable file must fail"
assert_contains "$ERR" "Permission denied" "cat of the unreadable file"
capture cat "$mnt/no-such-file"
assert_contains "$ERR" "No such file or directory" "cat of a missing file"
for cmd in "touch $mnt/newfile" "touch $mnt/hello.txt" "mkdir $mnt/newdir" "rm $mnt/hello.txt" \
           "rmdir $mnt/sub/dir" "mv $mnt/hello.txt $mnt/moved" "ln -s x $mnt/newlink" \
           "chmod 600 $mnt/hello.txt" "truncate -s 0 $mnt/hello.txt"; do
    # shellcheck disable=SC2086 # the paths have no spaces
    capture $cmd
    assert_ne 0 "$RC" "$cmd must fail"
    assert_contains "$ERR" "Read-only file system" "$cmd"
done
capture bash -c "echo x >> '$mnt/hello.txt'"
assert_contains "$ERR" "Read-only file system" "append to a file"
assert_eq "hello, pod" "$(cat "$mnt/hello.txt")" "hello.txt unchanged"

# statfs
assert_eq 255 "$(stat -f -c %l "$mnt")" "statfs name length"

# `podfs stats` over the control socket, from the root or any path below
stats=$("$podfs" stats "$mnt") || fail "podfs stats"
for key in remote_requests page_cache_hits page_cache_misses attr_cache_hits mem_requests; do
    grep -qE "^$key [0-9]+\$" <<<"$stats" || fail "stats lack $key: $stats"
done
req=$(awk '$1 == "remote_requests" { print $2 }' <<<"$stats")
[ "$req" -gt 0 ] || fail "remote_requests is $req"
"$podfs" stats "$mnt/hello.txt" | grep -q '^remote_requests ' || fail "podfs stats of a file in the mount"
capture "$podfs" stats "$tmp"
assert_ne 0 "$RC" "podfs stats of a directory that is not a mount"
assert_contains "$ERR" "not on a podfs mount" "podfs stats elsewhere"
# no extended attributes: ENOSYS to the kernel, which then answers
# "Operation not supported" itself without asking the daemon again
for args in "$mnt user.podfs.stats" "$mnt/hello.txt security.capability" "-l $mnt" "-l $mnt/hello.txt"; do
    # shellcheck disable=SC2086
    capture "$xattr_get" $args
    assert_ne 0 "$RC" "xattr_get $args"
    assert_contains "$ERR" "Operation not supported" "xattr_get $args"
done
if command -v getfattr >/dev/null; then
    capture getfattr -n user.podfs.stats "$mnt"
    assert_contains "$ERR" "Operation not supported" "getfattr on the mount"
fi
x1=$("$podfs" stats "$mnt" | awk '$1 == "xattr_calls" { print $2 }')
[ "$x1" -le 2 ] || fail "the kernel asked for xattrs $x1 times (want <= 2: getxattr and listxattr once)"
ls -lR "$mnt" >/dev/null 2>&1 || true
x2=$("$podfs" stats "$mnt" | awk '$1 == "xattr_calls" { print $2 }')
assert_eq "$x1" "$x2" "xattr calls during ls -lR"
echo "stats after the checks:"
sed 's/^/  /' <<<"$stats"

stat_of() { "$podfs" stats "$mnt" | awk -v k="$1" '$1 == k { print $2 }'; }

# the kernel forgetting its inodes (memory pressure) frees ours: lookup
# counts balance, the root stays
if { sync && echo 2 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
    for _ in $(seq 50); do
        [ "$(stat_of inodes)" -le 5 ] && break
        sleep 0.1
    done
    n=$(stat_of inodes)
    [ "$n" -le 5 ] || fail "$n inodes still known after the kernel dropped its caches"
    echo "inodes after drop_caches: $n"
else
    echo "note: cannot drop the kernel's caches here; forget not checked"
fi

# parallel readers past the kernel's page cache (O_DIRECT) share the
# daemon's block cache; every one gets the right bytes
pids=()
for i in 0 1 2 3 4 5; do
    ( dd if="$mnt/bin.dat" iflag=direct bs=256k skip=$((i % 3)) status=none |
          cmp -s - <(dd if="$tmp/expected.bin" bs=256k skip=$((i % 3)) status=none) ) &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel O_DIRECT reader got wrong bytes"; done
assert_eq 1000 "$(ls "$mnt/big" | wc -l)" "the big dir listed again after forget"
cmp "$tmp/expected.bin" "$mnt/bin.dat" || fail "bin.dat after forget"

# unmount: the process exits 0 and nothing stays mounted
fusermount3 -u "$mnt" || fail "fusermount3 -u failed"
wait_exit "fusermount3 -u"

# SIGTERM and SIGHUP unmount cleanly too (not SIGINT here: a background
# job of a non-interactive shell starts with SIGINT ignored, and libfuse
# leaves ignored signals alone)
start_mount
kill -TERM "$pid"
wait_exit SIGTERM
start_mount
kill -HUP "$pid"
wait_exit SIGHUP

if grep -qiE 'warning|error' "$tmp/err"; then
    fail "unexpected messages from mount_mem: $(cat "$tmp/err")"
fi
echo "PASS: fs.mount_mem"
