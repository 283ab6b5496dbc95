#!/usr/bin/env bash
# kubectl.cp: kubectl cp in both directions (it runs `test -d`, `tar -xmf -`
# and `tar cf -` through exec), checked against the rootfs on disk.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

# manifest DIR: one line per entry below DIR (symlinks skipped, like kubectl
# cp from a pod): type, relative path, size and sha256 of regular files.
manifest() {
    [ -d "$1" ] || { echo "NO SUCH DIRECTORY: $1"; return; }
    (cd -- "$1" && find . -mindepth 1 ! -type l -print0 | sort -z | while IFS= read -r -d '' f; do
        if [ -d "$f" ]; then
            printf 'd %s\n' "$f"
        else
            printf 'f %s %s %s\n' "$f" "$(stat -c %s "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
        fi
    done)
}

cd -- "$SIM_WORK"
gnu_root=$(sim_rootfs gnu)
bb_root=$(sim_rootfs busybox)

# --- local -> pod: a file with spaces in its name ---------------------------
printf 'hello with spaces\n' >"my file.txt"
capture kc cp "my file.txt" "gnu:/tmp/my file.txt"
assert_eq 0 "$RC" "cp 'my file.txt' gnu:'/tmp/my file.txt' (stderr: $ERR)"
cmp -s "my file.txt" "$gnu_root/tmp/my file.txt" || fail "file with spaces: content on disk differs"
capture kc exec gnu -- cat "/tmp/my file.txt"
assert_eq "hello with spaces" "$OUT" "file with spaces: seen from the pod"

# into an existing directory: the file keeps its name
capture kc cp "my file.txt" busybox:/tmp
assert_eq 0 "$RC" "cp 'my file.txt' busybox:/tmp (stderr: $ERR)"
cmp -s "my file.txt" "$bb_root/tmp/my file.txt" || fail "file copied into a directory (busybox tar): content on disk differs"

# --- local -> pod: a directory with a subdirectory and an empty directory --
mkdir -p src/sub/deeper src/empty
printf 'a\n' >src/a.txt
printf 'b\n' >src/sub/b.txt
: >src/sub/zero.txt
head -c 300000 /dev/urandom >src/sub/deeper/rand.bin
printf '#!/bin/sh\necho x\n' >src/run.sh
chmod 0750 src/run.sh
want=$(manifest src)
assert_eq 8 "$(printf '%s\n' "$want" | wc -l)" "manifest of the source tree"

capture kc cp src gnu:/tmp/dst
assert_eq 0 "$RC" "cp src gnu:/tmp/dst (stderr: $ERR)"
assert_eq "$want" "$(manifest "$gnu_root/tmp/dst")" "directory copied to gnu (GNU tar): tree on disk"
[ -d "$gnu_root/tmp/dst/empty" ] || fail "the empty directory was not created"
assert_eq 750 "$(stat -c %a "$gnu_root/tmp/dst/run.sh")" "mode of run.sh preserved"

# an existing destination directory: the copy lands inside it
capture kc cp src busybox:/tmp
assert_eq 0 "$RC" "cp src busybox:/tmp (stderr: $ERR)"
assert_eq "$want" "$(manifest "$bb_root/tmp/src")" "directory copied to busybox (busybox tar): tree on disk"

# --- pod -> local: /srv/demo --------------------------------------------------
assert_eq 7 "$(manifest "$gnu_root/srv/demo" | wc -l)" "manifest of /srv/demo on disk"
capture kc cp gnu:/srv/demo demo-copy
assert_eq 0 "$RC" "cp gnu:/srv/demo demo-copy (stderr: $ERR)"
assert_eq "$(manifest "$gnu_root/srv/demo")" "$(manifest demo-copy)" "pod -> local: /srv/demo equals the rootfs (minus symlinks)"
[ -f "demo-copy/with space.txt" ] || fail "pod -> local: 'with space.txt' missing"
if [ ! -f demo-copy/empty.txt ] || [ -s demo-copy/empty.txt ]; then
    fail "pod -> local: empty.txt missing or not empty"
fi
if [ -e demo-copy/link-to-hello ] || [ -L demo-copy/link-to-hello ]; then
    fail "pod -> local: kubectl should have skipped the symlink link-to-hello"
fi
assert_contains "$ERR" 'skipping symlink' "pod -> local: kubectl warns about the symlink"
# kubectl copies the remote tar's stderr to its stdout
assert_contains "$OUT" "Removing leading" "pod -> local: tar's stderr on kubectl's stdout"

# from busybox (busybox tar cf)
capture kc cp busybox:/srv/demo bb-copy
assert_eq 0 "$RC" "cp busybox:/srv/demo bb-copy (stderr: $ERR)"
assert_eq "$(manifest "$bb_root/srv/demo")" "$(manifest bb-copy)" "pod -> local from busybox: /srv/demo equals the rootfs"

# single files, one with spaces
capture kc cp gnu:/srv/demo/bin.dat bin.dat
assert_eq 0 "$RC" "cp gnu:/srv/demo/bin.dat (stderr: $ERR)"
cmp -s bin.dat "$gnu_root/srv/demo/bin.dat" || fail "pod -> local: bin.dat differs"
capture kc cp "gnu:/srv/demo/with space.txt" "ws copy.txt"
assert_eq 0 "$RC" "cp 'gnu:/srv/demo/with space.txt' (stderr: $ERR)"
cmp -s "ws copy.txt" "$gnu_root/srv/demo/with space.txt" || fail "pod -> local: 'with space.txt' differs"

# round trip: what went in comes back out
capture kc cp gnu:/tmp/dst back
assert_eq 0 "$RC" "cp gnu:/tmp/dst back (stderr: $ERR)"
assert_eq "$want" "$(manifest back)" "round trip local -> pod -> local"

# another namespace and an explicit container
capture kc cp team-a/web:/srv/demo/hello.txt web-hello.txt
assert_eq 0 "$RC" "cp team-a/web:... (stderr: $ERR)"
cmp -s web-hello.txt "$(sim_rootfs web)/srv/demo/hello.txt" || fail "cp from team-a/web differs"
capture kc cp -c sidecar "my file.txt" multi:/tmp/side.txt
assert_eq 0 "$RC" "cp -c sidecar (stderr: $ERR)"
cmp -s "my file.txt" "$(sim_rootfs multi sidecar)/tmp/side.txt" || fail "cp -c sidecar: not in sidecar's rootfs"
[ ! -e "$(sim_rootfs multi app)/tmp/side.txt" ] || fail "cp -c sidecar: landed in app"

echo "PASS: kubectl.cp"
