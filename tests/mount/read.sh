#!/usr/bin/env bash
# read.sh POD: podfs mount POD:/srv read-only, compared with the rootfs on
# disk: listing (names incl. hostile ones, types, modes, owners, sizes,
# mtimes, symlink targets), every byte, a 5 GiB sparse file past 4 GiB,
# 32 parallel readers, request counts, clean unmount.
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

# 4. round trips: ls -l of 1,000 entries after the cache expired
sleep 1.2
before=$("$PODFS" stats "$m" | awk '$1=="shell_requests"{print $2}')
n=$(ls -l "$m/many" | grep -c '^-')
assert_eq 1000 "$n" "ls -l of the 1,000-entry directory"
after=$("$PODFS" stats "$m" | awk '$1=="shell_requests"{print $2}')
[ $((after - before)) -le 2 ] || fail "ls -l of 1,000 entries took $((after - before)) requests (want <= 2)"
execs=$("$PODFS" stats "$m" | awk '$1=="exec_sessions_opened"{print $2}')
[ "$execs" -le 4 ] || fail "$execs exec sessions opened"

# 4b. reading a directory's small files one by one (grep -r, cp -r): one
# batch ("tar slice") where the pod has tar, file by file where it has not
sleep 1.2
ls "$m/many" >/dev/null
before=$("$PODFS" stats "$m" | awk '$1=="shell_requests"{print $2}')
got=$(cat "$m"/many/* | wc -l)
assert_eq 1000 "$got" "lines read from the 1,000 small files"
after=$("$PODFS" stats "$m" | awk '$1=="shell_requests"{print $2}')
if [ "$pod" != notar ]; then
    [ $((after - before)) -le 10 ] || fail "reading 1,000 small files took $((after - before)) requests (want a batch)"
fi
echo "reading 1,000 small files: $((after - before)) shell requests"

# 5. read-only, errors reach the caller
touch "$m/newfile" 2>"$SIM_WORK/err" && fail "touch on a read-only mount worked"
assert_contains "$(cat "$SIM_WORK/err")" "Read-only file system" "touch error"
cat "$m/no-such-file" 2>"$SIM_WORK/err" && fail "cat of a missing file worked"
assert_contains "$(cat "$SIM_WORK/err")" "No such file or directory" "missing file error"

# 6. unmount leaves nothing
"$PODFS" umount "$m" || fail "podfs umount"
mountpoint -q "$m" && fail "still mounted after podfs umount"
mnt_wait_gone "$m" || fail "the podfs daemon is still running 20 s after umount"
mnt_check_daemon_log
echo "PASS: read mount of $pod"
