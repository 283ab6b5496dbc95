#!/usr/bin/env bash
# read.sh POD: podfs mount POD:/srv/t read, compared with the rootfs on
# disk: listing (names incl. hostile ones, types, modes, owners, sizes,
# mtimes, symlink targets), every byte, a 5 GiB sparse file past 4 GiB,
# 32 parallel readers, an 80 MiB sequential read from a read-ahead stream
# (also when the cluster kills execs half way), request counts, no xattrs
# (and the kernel stops asking), `podfs stats`, clean unmount.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pod=${1:?usage: read.sh POD}
skip_unless_fuse
sim_start
root=$(sim_rootfs "$pod")
src="$root/srv/t"
mkdir -p "$src/hostile/sub dir" "$src/many" "$src/empty-dir"
for n in "with space" "it's" $'new\nline' '$(touch PWNED)' '`touch PWNED`' "-rf" "--" "*" $'\xff\xfe' \
         'back\slash' 'a"b' $'tab\t' "$(printf 'n%.0s' $(seq 255))" ".hidden" "..dots"; do
    printf '%s' "$n" > "$src/hostile/$n"
done
ln -s "it's" "$src/hostile/link to quote"
ln -s /nonexistent "$src/hostile/dangling"
mkfifo "$src/hostile/fifo"
head -c 3000001 /dev/urandom > "$src/hostile/sub dir/big.bin"
: > "$src/empty"
for i in $(seq -w 1 1000); do echo "$i" > "$src/many/f$i"; done
chmod 751 "$src/many"; chmod 4755 "$src/hostile/with space"; chown 1000:1000 "$src/empty"
truncate -s 5G "$src/sparse"
# 80 MiB of data at the start of a 1 GiB file (tree_sums skips it: read below)
head -c $((80 * 1024 * 1024)) /dev/urandom > "$src/seq-1G"
truncate -s 1G "$src/seq-1G"
printf 'beyond-4GiB' | dd of="$src/sparse" bs=1 seek=$((4608 * 1024 * 1024)) conv=notrunc status=none

m=$(mnt_mount "$pod:/srv/t") || fail "podfs mount $pod:/srv/t"

# 1. the tree as the pod has it
diff <(tree_listing "$src") <(tree_listing "$m") >"$SIM_WORK/diff" || { cat "$SIM_WORK/diff" >&2; fail "listing differs"; }
diff <(tree_sums "$src") <(tree_sums "$m") >&2 || fail "file contents differ"
test -p "$m/hostile/fifo" || fail "the fifo is not shown as a fifo"
assert_eq "it's" "$(readlink "$m/hostile/link to quote")" "symlink target"
[ ! -e "$root/PWNED" ] || fail "an injected command ran in the pod"

# 2. past 4 GiB in a sparse file
got=$(dd if="$m/sparse" bs=11 count=1 iflag=skip_bytes skip=$((4608 * 1024 * 1024)) status=none)
assert_eq "beyond-4GiB" "$got" "read at 4.5 GiB"
assert_eq "$(stat -c %s "$src/sparse")" "$(stat -c %s "$m/sparse")" "size of the 5 GiB file"

# 3. 32 parallel readers
want=$(sha256sum < "$src/hostile/sub dir/big.bin" | cut -d' ' -f1)
for i in $(seq 32); do
    (sha256sum < "$m/hostile/sub dir/big.bin" | cut -d' ' -f1 > "$SIM_WORK/par.$i") &
done
wait
for i in $(seq 32); do assert_eq "$want" "$(cat "$SIM_WORK/par.$i")" "parallel reader $i"; done

stat_of() { "$PODFS" stats "$m" | awk -v k="$1" '$1 == k { print $2 }'; }

# 3b. a sequential reader of a big file: a read-ahead stream, few requests,
# every byte as on disk
seq_read() { # WHAT: read the first 80 MiB of seq-1G and compare
    cmp <(dd if="$m/seq-1G" bs=1M count=80 status=none) <(head -c $((80 * 1024 * 1024)) "$src/seq-1G") ||
        fail "$1: the 80 MiB read sequentially differ from the pod's"
}
r0=$(stat_of shell_requests) b0=$(stat_of bulk_streams_opened)
seq_read "stream"
r1=$(stat_of shell_requests) b1=$(stat_of bulk_streams_opened)
echo "80 MiB read sequentially: $((r1 - r0)) shell requests, $((b1 - b0)) read-ahead streams"
[ $((b1 - b0)) -ge 1 ] || fail "80 MiB read sequentially without a read-ahead stream"
[ $((r1 - r0)) -le 20 ] || fail "80 MiB read sequentially took $((r1 - r0)) requests (want <= 20)"
# streams that die half way (the cluster kills every exec after 20 MB):
# what is read comes by request then, never short or wrong
sync && echo 3 >/proc/sys/vm/drop_caches
# (new files: nothing of them cached; seen once the listing is old)
for f in A B; do head -c $((12 * 1024 * 1024)) /dev/urandom > "$src/seq-12M-$f"; done
sleep 4 # the idle stream goes
# big files read one after the other to their end (cp -r of a tree of
# them): each has a stream of its own, the next one on the session the
# one before left (no new exec each)
b1=$(stat_of bulk_streams_opened)
cmp "$m/seq-12M-A" "$src/seq-12M-A" || fail "the first 12 MiB file read differs"
b2=$(stat_of bulk_streams_opened) s0=$(stat_of bulk_sessions_opened)
cmp "$m/seq-12M-B" "$src/seq-12M-B" || fail "the second 12 MiB file read differs"
b3=$(stat_of bulk_streams_opened) s1=$(stat_of bulk_sessions_opened)
echo "12 MiB files one after the other: $((b2 - b1)) then $((b3 - b2)) read-ahead streams, $((s1 - s0)) new sessions for the second"
assert_eq 1 "$((b3 - b2))" "read-ahead streams for the second 12 MiB file (one, to its end)"
assert_eq 0 "$((s1 - s0))" "sessions opened for the second stream (the first one's is reused)"
sim_knob kill_after_bytes=20000000 >/dev/null
seq_read "streams killed after 20 MB"
sim_knob kill_after_bytes=0 >/dev/null

# 4. round trips: ls -l of 1,000 entries after the cache expired
sleep 1.2
before=$("$PODFS" stats "$m" | awk '$1=="shell_requests"{print $2}')
n=$(ls -l "$m/many" | grep -c '^-')
assert_eq 1000 "$n" "ls -l of the 1,000-entry directory"
after=$("$PODFS" stats "$m" | awk '$1=="shell_requests"{print $2}')
[ $((after - before)) -le 2 ] || fail "ls -l of 1,000 entries took $((after - before)) requests (want <= 2)"
execs=$(stat_of exec_sessions_opened) bulk=$(stat_of bulk_streams_opened)
[ $((execs - bulk)) -le 4 ] || fail "$((execs - bulk)) shell sessions opened (and $bulk read-ahead streams)"

# 4b. reading a directory's small files one by one (grep -r, cp -r): one
# batch ("tar slice" where the pod has tar, one cat framed by one stat
# before and one after where it has not)
sleep 1.2
ls "$m/many" >/dev/null
before=$("$PODFS" stats "$m" | awk '$1=="shell_requests"{print $2}')
got=$(cat "$m"/many/* | wc -l)
assert_eq 1000 "$got" "lines read from the 1,000 small files"
after=$("$PODFS" stats "$m" | awk '$1=="shell_requests"{print $2}')
[ $((after - before)) -le 10 ] || fail "reading 1,000 small files took $((after - before)) requests (want a batch)"
echo "reading 1,000 small files: $((after - before)) shell requests"

# 4d. small files read one by one go into the kernel's page cache with
# their open (from the batch): the reads themselves never reach the
# daemon, and the kernel keeps them for the next reader
mkdir "$src/push"
for i in $(seq 1 300); do printf 'push %s\n' "$i" > "$src/push/p$i"; done
sleep 1.2 # the root's listing expires
ls "$m/push" >/dev/null
p0=$(stat_of kernel_cache_pushes) h0=$(stat_of page_cache_hits) m0=$(stat_of page_cache_misses)
cmp <(cat "$m"/push/p*) <(cat "$src"/push/p*) || fail "the 300 small files differ from the pod's"
p1=$(stat_of kernel_cache_pushes) h1=$(stat_of page_cache_hits) m1=$(stat_of page_cache_misses)
echo "300 small files: $((p1 - p0)) handed to the kernel with their open, $((h1 - h0 + m1 - m0)) reads reached the daemon"
assert_eq 300 "$((p1 - p0))" "small files handed to the kernel at open"
assert_eq 0 "$((h1 - h0 + m1 - m0))" "reads of pushed files that reached the daemon"
cmp <(cat "$m"/push/p*) <(cat "$src"/push/p*) || fail "the 300 small files differ on the second read"
assert_eq "$p1" "$(stat_of kernel_cache_pushes)" "pushes when the kernel holds the files already"
# changed in the pod, same size: once attr_timeout passed, the reader
# sees the new bytes (the kernel's pages go, nothing old is pushed)
printf 'PUSH 7\n' > "$src/push/p7"
touch -d '2001-01-01' "$src/push/p7"
sleep 1.2
assert_eq "PUSH 7" "$(cat "$m/push/p7")" "a pushed file changed in the pod"

# 4c. no extended attributes: "Operation not supported", and after the
# first ENOSYS the kernel stops asking (a warm ls -lR makes no xattr
# call); `podfs stats` works from any path in the mount
xattr_get=$PODFS_BUILD/tests/fs/xattr_get
capture "$xattr_get" "$m/empty" security.capability
assert_contains "$ERR" "Operation not supported" "getxattr on the mount"
capture "$xattr_get" -l "$m"
assert_contains "$ERR" "Operation not supported" "listxattr on the mount"
ls -lR "$m" >/dev/null
x1=$(stat_of xattr_calls)
ls -lR "$m" >/dev/null
assert_eq "$x1" "$(stat_of xattr_calls)" "xattr calls of the daemon during a warm ls -lR"
[ "$x1" -le 2 ] || fail "the kernel asked for xattrs $x1 times (want <= 2)"
"$PODFS" stats "$m/many" | grep -q '^remote_requests [0-9]' || fail "podfs stats of a directory in the mount"

# 5. errors reach the caller (read-only mounts: write_errors.sh)
touch "$m/no-such-dir/newfile" 2>"$SIM_WORK/err" && fail "touch in a missing directory worked"
assert_contains "$(cat "$SIM_WORK/err")" "No such file or directory" "touch error"
cat "$m/no-such-file" 2>"$SIM_WORK/err" && fail "cat of a missing file worked"
assert_contains "$(cat "$SIM_WORK/err")" "No such file or directory" "missing file error"

# 6. unmount leaves nothing
"$PODFS" umount "$m" || fail "podfs umount"
mountpoint -q "$m" && fail "still mounted after podfs umount"
mnt_wait_gone "$m" || fail "the podfs daemon is still running 20 s after umount"
mnt_check_daemon_log
echo "PASS: read mount of $pod"
