#!/usr/bin/env bash
# upload.sh POD: podfs cp LOCAL POD:PATH compared with the rootfs on disk:
# hostile names, symlinks, modes and mtimes (-p), a big file, several
# sources, DIR/., the second run writes nothing, exit codes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pod=${1:?usage: upload.sh POD}
sim_start
root=$(sim_rootfs "$pod")
src=$SIM_WORK/src
cp_hostile_tree "$src"
mkdir -p "$root/srv/in"

# 1. a tree with -p
capture pcp -p --stats "$src" "$pod:/srv/in"
[ "$RC" -eq 0 ] || fail "podfs cp exited $RC: $ERR"
cp_same "$src" "$root/srv/in/src" "upload of the tree"
diff <(cp_listing_meta "$src") <(cp_listing_meta "$root/srv/in/src") >&2 || fail "modes or mtimes differ with -p"
assert_eq "it's" "$(readlink "$root/srv/in/src/link to quote")" "symlink target in the pod"
[ ! -e "$root/PWNED" ] && [ ! -e "$root/srv/in/PWNED" ] || fail "an injected command ran in the pod"
[ -z "$(find "$root/srv/in" -name '*podfs-part*')" ] || fail "part files left in the pod"
execs=$(printf '%s\n' "$ERR" | awk '$1=="exec_sessions_opened"{print $2}')
reqs=$(printf '%s\n' "$ERR" | awk '$1=="shell_requests"{print $2}')
echo "upload of the tree: $execs exec sessions, $reqs shell requests"

# 1b. without -p: the small files go in write_many batches (one shell
# request per directory's batch, not three per file)
capture pcp --stats "$src" "$pod:/srv/in/nop"
[ "$RC" -eq 0 ] || fail "podfs cp (no -p) exited $RC: $ERR"
cp_same "$src" "$root/srv/in/nop" "upload of the tree without -p"
reqs=$(printf '%s\n' "$ERR" | awk '$1=="shell_requests"{print $2}')
echo "upload of the tree without -p: $reqs shell requests"
[ "$reqs" -lt 100 ] || fail "$reqs shell requests for about 320 small files: not batched"
[ "$(stat -c %Y "$root/srv/in/nop/many/f001")" = 1600000000 ] || fail "mtime of a batched file"
[ "$(stat -c %a "$root/srv/in/nop/it's")" = "$(stat -c %a "$src/it's")" ] || fail "mode of a batched file"
rm -rf -- "$root/srv/in/nop"

# 2. again, into the same place (DIR/.): nothing is written
capture pcp --stats "$src/." "$pod:/srv/in/src"
[ "$RC" -eq 0 ] || fail "second run exited $RC: $ERR"
out=$(printf '%s\n' "$ERR" | awk '$1=="bytes_out"{print $2}')
[ "$out" -lt 200000 ] || fail "the second run sent $out bytes"

# 2b. --checksum: pod files changed keeping size and mtime stay with size +
# mtime, are rewritten with --checksum
dst=$root/srv/in/src
for f in 'back\slash' $'new\nline' 'sub dir/big.bin'; do cp_flip "$dst/$f"; done
capture pcp --stats "$src/." "$pod:/srv/in/src"
[ "$RC" -eq 0 ] || fail "run without --checksum exited $RC: $ERR"
! cmp -s "$src/sub dir/big.bin" "$dst/sub dir/big.bin" || fail "size + mtime rewrote a file"
capture pcp --checksum --stats "$src/." "$pod:/srv/in/src"
[ "$RC" -eq 0 ] || fail "--checksum exited $RC: $ERR"
assert_eq 3 "$(printf '%s\n' "$ERR" | awk '$1=="cp_files"{print $2}')" "--checksum rewrites the three changed files"
cp_same "$src" "$dst" "upload with --checksum"
capture pcp --checksum --stats "$src/." "$pod:/srv/in/src"
[ "$RC" -eq 0 ] || fail "second --checksum run exited $RC: $ERR"
assert_eq 0 "$(printf '%s\n' "$ERR" | awk '$1=="cp_files"{print $2}')" "--checksum: equal files are skipped"

# 3. one file to a new name; several sources into a directory; relative path
pcp "$src/sub dir/big.bin" "$pod:srv/one.bin" || fail "file to a new name"
cmp "$src/sub dir/big.bin" "$root/srv/one.bin" || fail "one.bin differs"
mkdir -p "$root/srv/multi"
pcp "$src/it's" "$src/\$(touch PWNED)" "$src/sub dir" "$pod:/srv/multi" || fail "several sources"
cmp "$src/it's" "$root/srv/multi/it's" || fail "it's differs"
cp_same "$src/sub dir" "$root/srv/multi/sub dir" "several sources"
[ ! -e "$root/PWNED" ] || fail "an injected command ran in the pod"

# 4. errors
capture pcp "$SIM_WORK/nonexistent" "$pod:/srv/in"
assert_eq 1 "$RC" "exit code of a missing local source"
capture pcp "$src/it's" "$src/empty" "$pod:/srv/one.bin"
assert_eq 1 "$RC" "several sources into a file"
capture pcp "$src" "$pod:/nonexistent-dir/x"
assert_eq 1 "$RC" "a destination whose parent is missing"
echo "PASS: cp.upload.$pod"
