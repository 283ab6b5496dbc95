#!/usr/bin/env bash
# write.sh POD: the write path of `podfs mount` against a kube-sim pod.
# Every scenario is checked on the container's rootfs on disk (the truth),
# not only through the mount.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pod=${1:?usage: write.sh POD}
skip_unless_fuse
sim_start
root=$(sim_rootfs "$pod")
rm -rf "$root/srv/wt"
mkdir -p "$root/srv/wt"
m=$(mnt_mount "$pod:/srv/wt")
d="$root/srv/wt"
work=$(mktemp -d -p "$SIM_WORK" local.XXXXXX)

same_file() { # same_file A B: byte-identical
    cmp -s -- "$1" "$2" || fail "$3: $1 and $2 differ"
}

# -- 1. new file, append, overwrite in place, read back at once
printf 'hello\n' >"$m/a.txt"
same_file "$m/a.txt" "$d/a.txt" "create"
printf 'more\n' >>"$m/a.txt"
[ "$(cat "$d/a.txt")" = $'hello\nmore' ] || fail "append: $(od -c "$d/a.txt")"
printf 'J' | dd of="$m/a.txt" bs=1 seek=0 conv=notrunc status=none
[ "$(cat "$m/a.txt")" = $'Jello\nmore' ] || fail "overwrite in place through the mount"
[ "$(cat "$d/a.txt")" = $'Jello\nmore' ] || fail "overwrite in place on disk"
[ "$(stat -c %s "$m/a.txt")" = 11 ] || fail "size after writes"
echo "ok: create/append/overwrite"

# -- 2. editor save patterns
# (a) write a temp file, fsync, rename over (vim's default, most editors)
printf 'version 1\n' >"$m/conf"
printf 'version 2\n' >"$m/.conf.swp"
sync "$m/.conf.swp"
mv -f "$m/.conf.swp" "$m/conf"
[ "$(cat "$m/conf")" = "version 2" ] || fail "rename over: mount shows $(cat "$m/conf")"
[ "$(cat "$d/conf")" = "version 2" ] || fail "rename over: disk has $(cat "$d/conf")"
[ ! -e "$m/.conf.swp" ] && [ ! -e "$d/.conf.swp" ] || fail "temp file still there"
# (b) in place: truncate and write (vim with backupcopy=yes, shell >)
printf 'a much longer first version of the file\n' >"$m/inplace"
printf 'short\n' >"$m/inplace"
[ "$(cat "$d/inplace")" = "short" ] || fail "truncate+write: $(od -c "$d/inplace" | head -3)"
truncate -s 2 "$m/inplace"
[ "$(stat -c %s "$d/inplace")" = 2 ] && [ "$(cat "$m/inplace")" = "sh" ] || fail "truncate down"
truncate -s 100000 "$m/inplace"
[ "$(stat -c %s "$d/inplace")" = 100000 ] && [ "$(stat -c %s "$m/inplace")" = 100000 ] || fail "truncate up"
echo "ok: editor save patterns"

# -- 3. metadata
chmod 0751 "$m/conf"
[ "$(stat -c %a "$d/conf")" = 751 ] && [ "$(stat -c %a "$m/conf")" = 751 ] || fail "chmod"
chown 1000:1000 "$m/conf"
[ "$(stat -c %u:%g "$d/conf")" = 1000:1000 ] && [ "$(stat -c %u:%g "$m/conf")" = 1000:1000 ] || fail "chown"
touch -m -d @1600000000 "$m/conf"
[ "$(stat -c %Y "$d/conf")" = 1600000000 ] && [ "$(stat -c %Y "$m/conf")" = 1600000000 ] || fail "utimens"
touch -a -d @1500000000 "$m/conf"
[ "$(stat -c %X "$d/conf")" = 1500000000 ] && [ "$(stat -c %Y "$d/conf")" = 1600000000 ] || fail "atime only"
mkdir -m 0700 "$m/dir"
[ "$(stat -c %a "$d/dir")" = 700 ] || fail "mkdir mode"
ln -s "../conf" "$m/dir/link"
[ "$(readlink "$d/dir/link")" = "../conf" ] && [ "$(readlink "$m/dir/link")" = "../conf" ] || fail "symlink"
ln "$m/conf" "$m/hard"
[ "$(stat -c %i "$d/conf")" = "$(stat -c %i "$d/hard")" ] || fail "hard link on disk"
[ "$(stat -c %h "$m/hard")" = 2 ] || fail "link count through the mount"
mkfifo "$m/fifo"
[ -p "$d/fifo" ] && [ -p "$m/fifo" ] || fail "mkfifo"
echo "ok: chmod chown utimens mkdir symlink link mkfifo"

# -- 4. errors are the right errno
out=$(mkdir "$m/dir" 2>&1) && fail "mkdir of an existing dir succeeded"
grep -q "File exists" <<<"$out" || fail "mkdir existing: $out"
touch "$m/dir/x"
out=$(rmdir "$m/dir" 2>&1) && fail "rmdir of a non-empty dir succeeded"
grep -q "not empty" <<<"$out" || fail "rmdir non-empty: $out"
out=$(rm "$m/dir" 2>&1) && fail "rm of a dir succeeded"
grep -qi "is a directory" <<<"$out" || fail "rm dir: $out"
out=$(cat "$m/nope" 2>&1) && fail "cat of a missing file"
grep -q "No such file" <<<"$out" || fail "missing: $out"
echo "ok: errno"

# -- 5. cp -a of a tree in, compared with its source
src="$work/src"
mkdir -p "$src/sub/deeper" "$src/empty"
printf 'one\n' >"$src/one"
head -c 300000 /dev/urandom >"$src/sub/random.bin"
head -c 3000000 /dev/urandom >"$src/sub/deeper/big.bin"
: >"$src/zero"
ln -s one "$src/link-to-one"
ln -s /nonexistent "$src/sub/dangling"
chmod 0640 "$src/one"; chmod 0755 "$src/sub/random.bin"; chmod 1777 "$src/empty"
touch -d @1400000000 "$src/one" "$src/sub/deeper"
cp -a "$src" "$m/tree"
(cd "$src" && find . -printf '%P\t%y\t%m\t%s\t%l\n' | LC_ALL=C sort) >"$work/want"
(cd "$d/tree" && find . -printf '%P\t%y\t%m\t%s\t%l\n' | LC_ALL=C sort) >"$work/got"
diff "$work/want" "$work/got" || fail "cp -a: the tree on disk differs"
(cd "$m/tree" && find . -printf '%P\t%y\t%m\t%s\t%l\n' | LC_ALL=C sort) >"$work/got2"
diff "$work/want" "$work/got2" || fail "cp -a: the tree through the mount differs"
diff -r --no-dereference "$src" "$d/tree" || fail "cp -a: contents differ"
[ "$(stat -c %Y "$d/tree/one")" = 1400000000 ] || fail "cp -a: mtime not kept"
echo "ok: cp -a in"

# -- 6. rsync -a in and out, twice (the second run transfers nothing)
rsync -a "$src/" "$m/rs/"
diff -r --no-dereference "$src" "$d/rs" || fail "rsync in"
n=$(rsync -a --stats "$src/" "$m/rs/" | awk -F': ' '/Number of regular files transferred/ {print $2}')
[ "$n" = 0 ] || fail "second rsync in transferred $n files"
rsync -a "$m/rs/" "$work/back/"
diff -r --no-dereference "$src" "$work/back" || fail "rsync out"
n=$(rsync -a --stats "$m/rs/" "$work/back/" | awk -F': ' '/Number of regular files transferred/ {print $2}')
[ "$n" = 0 ] || fail "second rsync out transferred $n files"
echo "ok: rsync both ways, twice"

# -- 7. tar x into the mount
tar -C "$src" -cf "$work/t.tar" .
mkdir "$m/untar"
tar -C "$m/untar" -xf "$work/t.tar"
diff -r --no-dereference "$src" "$d/untar" || fail "tar x"
echo "ok: tar x"

# -- 8. git on the mount
(
    cd "$m" && git init -q repo && cd repo &&
        git config user.email t@example.com && git config user.name t &&
        printf 'x\n' >f && git add f && git commit -qm first &&
        printf 'y\n' >>f && git commit -qam second &&
        git log --oneline | wc -l
) >"$work/git.out" 2>&1 || { cat "$work/git.out"; fail "git on the mount"; }
[ "$(tail -n 1 "$work/git.out")" = 2 ] || fail "git log: $(cat "$work/git.out")"
git -c safe.directory="*" -C "$d/repo" fsck --no-progress 2>&1 || fail "git fsck on disk"
[ "$(git -c safe.directory="*" -C "$d/repo" show HEAD:f)" = $'x\ny' ] || fail "git content on disk"
echo "ok: git init/add/commit"

# -- 9. hostile names through every operation
for n in "with space" "it's" $'new\nline' '$(touch PWNED)' '`touch PWNED`' "-rf" "--" "*" $'\xff\xfe' \
    'back\slash' 'a"b' $'tab\t' "%s%n" "$(printf 'n%.0s' $(seq 255))"; do
    printf '%s' "$n" >"$m/$n"
    [ "$(cat -- "$d/$n")" = "$n" ] || fail "write of a hostile name: $(printf %q "$n")"
    short=${n:0:200}
    mv -- "$m/$n" "$m/$short.mv"
    chmod 600 -- "$m/$short.mv"
    touch -d @1600000000 -- "$m/$short.mv"
    ln -s -- "$n" "$m/L$short"
    [ "$(readlink -- "$d/L$short")" = "$n" ] || fail "symlink to a hostile name"
    mkdir -- "$m/D$short"
    rmdir -- "$m/D$short"
    rm -- "$m/L$short" "$m/$short.mv"
    [ ! -e "$d/$short.mv" ] || fail "rm of a hostile name"
done
find "$root" -name PWNED | grep -q . && fail "an injected command ran in the pod"
echo "ok: hostile names"

# -- 10. concurrent writers to different files
for i in $(seq 1 8); do
    (head -c $((1000000 + i * 12345)) /dev/urandom >"$work/c$i" && cp "$work/c$i" "$m/c$i") &
done
wait
for i in $(seq 1 8); do same_file "$work/c$i" "$d/c$i" "concurrent writer $i"; done
echo "ok: concurrent writers"

# -- 11. a big sequential write streams (few requests) and is exact
head -c $((64 * 1024 * 1024)) /dev/urandom >"$work/big"
before=$("$PODFS" stats "$m" | awk '$1 == "remote_requests" {print $2}')
cp "$work/big" "$m/big"
after=$("$PODFS" stats "$m" | awk '$1 == "remote_requests" {print $2}')
same_file "$work/big" "$d/big" "64 MiB copy"
[ $((after - before)) -lt 40 ] || fail "64 MiB copy took $((after - before)) remote requests"
echo "ok: 64 MiB sequential write in $((after - before)) requests"

"$PODFS" umount "$m"
mnt_wait_gone "$m" || fail "the podfs daemon is still running 20 s after umount"
mnt_check_daemon_log
echo "PASS: write path on $pod"
