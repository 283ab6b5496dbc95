#!/usr/bin/env bash
# download.sh POD: podfs cp POD:PATH LOCAL compared with the rootfs on
# disk: hostile names, symlinks, modes (-p), a big file in parallel
# ranges, several sources, relative pod paths, DIR/., a fifo skipped,
# the second run copies nothing, few exec sessions.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pod=${1:?usage: download.sh POD}
sim_start
root=$(sim_rootfs "$pod")
src=$root/srv/t
cp_hostile_tree "$src"
mkfifo "$src/fifo"
out=$SIM_WORK/out

# 1. a tree, with -p: entries, bytes, modes, mtimes, symlink targets
capture pcp -p --stats "$pod:/srv/t" "$out"
[ "$RC" -eq 0 ] || fail "podfs cp exited $RC: $ERR"
assert_contains "$ERR" "fifo: skipped: a fifo" "the fifo is skipped with a message"
rm "$src/fifo"
cp_same "$src" "$out" "download of /srv/t"
diff <(cp_listing_meta "$src") <(cp_listing_meta "$out") >&2 || fail "modes or mtimes differ with -p"
assert_eq "it's" "$(readlink "$out/link to quote")" "symlink target"
[ ! -e "$root/PWNED" ] && [ ! -e PWNED ] && [ ! -e "$out/PWNED" ] || fail "an injected command ran"
execs=$(printf '%s\n' "$ERR" | awk '$1=="exec_sessions_opened"{print $2}')
[ "${execs:-99}" -le 6 ] || fail "$execs exec sessions for one copy"
reqs=$(printf '%s\n' "$ERR" | awk '$1=="shell_requests"{print $2}')
echo "download of the tree: $execs exec sessions, $reqs shell requests"
if [ "$pod" != notar ]; then
    [ "$reqs" -le 60 ] || fail "$reqs shell requests: the small files were not batched"
fi

# 2. again: nothing to copy (size + mtime), nothing rewritten
ino=$(stat -c %i "$out/sub dir/big.bin")
capture pcp --stats "$pod:/srv/t/." "$out"
[ "$RC" -eq 0 ] || fail "second run exited $RC: $ERR"
bytes=$(printf '%s\n' "$ERR" | awk '$1=="bytes_in"{print $2}')
[ "$bytes" -lt 200000 ] || fail "the second run read $bytes bytes"
assert_eq "$ino" "$(stat -c %i "$out/sub dir/big.bin")" "a complete file was rewritten"

# 2b. --checksum: local files changed keeping size and mtime (names GNU
# sha256sum escapes, a big file) are left by size + mtime, copied again
# with --checksum; a third run finds them equal and reads no data
for f in 'back\slash' $'new\nline' 'sub dir/big.bin'; do cp_flip "$out/$f"; done
capture pcp --stats "$pod:/srv/t/." "$out"
[ "$RC" -eq 0 ] || fail "run without --checksum exited $RC: $ERR"
! cmp -s "$src/sub dir/big.bin" "$out/sub dir/big.bin" || fail "size + mtime rewrote a file"
assert_eq 0 "$(printf '%s\n' "$ERR" | awk '$1=="cp_files"{print $2}')" "nothing copied by size + mtime"
capture pcp --checksum --stats "$pod:/srv/t/." "$out"
[ "$RC" -eq 0 ] || fail "--checksum exited $RC: $ERR"
assert_eq 3 "$(printf '%s\n' "$ERR" | awk '$1=="cp_files"{print $2}')" "--checksum copies the three changed files"
cp_same "$src" "$out" "download with --checksum"
capture pcp --checksum --stats "$pod:/srv/t/." "$out"
[ "$RC" -eq 0 ] || fail "second --checksum run exited $RC: $ERR"
assert_eq 0 "$(printf '%s\n' "$ERR" | awk '$1=="cp_files"{print $2}')" "--checksum: equal files are skipped"
bytes=$(printf '%s\n' "$ERR" | awk '$1=="bytes_in"{print $2}')
[ "$bytes" -lt 400000 ] || fail "the --checksum run of equal files read $bytes bytes"

# 3. without -p: modes follow the umask, mtimes are kept
(umask 077 && pcp "$pod:/srv/t/many" "$SIM_WORK/m2") || fail "copy of many/"
assert_eq 600 "$(stat -c %a "$SIM_WORK/m2/f001")" "file mode without -p under umask 077"
assert_eq 700 "$(stat -c %a "$SIM_WORK/m2")" "directory mode without -p under umask 077"
assert_eq 1600000000 "$(stat -c %Y "$SIM_WORK/m2/f001")" "mtime kept"

# 4. one file to a new name; several sources into a directory; relative
# pod paths (the container's working directory is /)
pcp "$pod:srv/t/sub dir/big.bin" "$SIM_WORK/one.bin" || fail "file to a new name"
cmp "$src/sub dir/big.bin" "$SIM_WORK/one.bin" || fail "one.bin differs"
mkdir "$SIM_WORK/multi"
pcp "$pod:/srv/t/it's" "$pod:/srv/t/\$(touch PWNED)" "$pod:/srv/t/sub dir" "$SIM_WORK/multi" || fail "several sources"
cmp "$src/it's" "$SIM_WORK/multi/it's" || fail "it's differs"
cmp "$src/\$(touch PWNED)" "$SIM_WORK/multi/\$(touch PWNED)" || fail "\$(touch PWNED) differs"
cp_same "$src/sub dir" "$SIM_WORK/multi/sub dir" "several sources"
[ ! -e "$root/PWNED" ] || fail "an injected command ran in the pod"

# 5. big file in parallel ranges with a small chunk
pcp --parallel 8 --chunk 1M "$pod:/srv/t/sub dir/big.bin" "$SIM_WORK/par.bin" || fail "parallel ranges"
cmp "$src/sub dir/big.bin" "$SIM_WORK/par.bin" || fail "par.bin differs"

# 6. errors: missing source, several sources into a file, bad operands
capture pcp "$pod:/srv/nonexistent" "$SIM_WORK/x"
assert_eq 1 "$RC" "exit code of a missing source"
assert_contains "$ERR" "No such file or directory" "message of a missing source"
capture pcp "$pod:/srv/t/it's" "$pod:/srv/t/empty" "$SIM_WORK/one.bin"
assert_eq 1 "$RC" "several sources into a file"
capture pcp "$SIM_WORK/a" "$SIM_WORK/b"
assert_eq 2 "$RC" "two local paths"
capture pcp "Bad_Pod:/x" "$SIM_WORK/b"
assert_eq 2 "$RC" "a pod name that cannot be one"
assert_contains "$ERR" "./Bad_Pod:/x" "hint for a local name with ':'"
echo "PASS: cp.download.$pod"
