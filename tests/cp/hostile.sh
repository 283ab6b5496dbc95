#!/usr/bin/env bash
# hostile.sh: a pod whose tar answers with "../" names, absolute names and
# a symlink followed by a name through it (a wrapper `tar` in the gnu
# pod's rootfs): nothing is written outside the destination, the files
# are still copied right (one by one), and a symlink from the pod that
# points outside stays a symlink that is never followed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sim_start
root=$(sim_rootfs gnu)
mkdir -p "$root/srv/h/dir"
for i in 1 2 3 4 5; do echo "good $i" > "$root/srv/h/dir/f$i"; done
ln -s /etc "$root/srv/h/dir/etc-link"
ln -s ../../../../../../tmp "$root/srv/h/dir/up-link"

# the hostile archive, made with GNU tar on the host
h=$SIM_WORK/h
mkdir -p "$h"
echo evil > "$h/a"; echo evil > "$h/b"; echo evil > "$h/c"; ln -s "$SIM_WORK" "$h/l"
tar -C "$h" -cf "$root/hostile.tar" -P \
    --transform='s,^a$,../escape,;s,^b$,'"$SIM_WORK"'/abs-escape,;s,^l$,f1,;s,^c$,f1/link-escape,' a b l c
for t in "$root/usr/bin/tar" "$root/bin/tar"; do
    [ -e "$t" ] || continue
    rm -f "$t"
    printf '#!/bin/sh\ncat /hostile.tar\n' > "$t"
    chmod 755 "$t"
done

mkdir "$SIM_WORK/out"
capture pcp --stats "gnu:/srv/h/dir" "$SIM_WORK/out"
echo "$ERR" | grep -v '^[a-z_]* [0-9a-z]*$' >&2 || true
[ ! -e "$SIM_WORK/escape" ] && [ ! -e "$SIM_WORK/out/escape" ] || fail "a ../ name was written"
[ ! -e "$SIM_WORK/abs-escape" ] || fail "an absolute name was written"
[ ! -e "$SIM_WORK/link-escape" ] || fail "a name through a symlink was written"
[ -z "$(find "$SIM_WORK" -name '*escape*' ! -path "$h/*")" ] || fail "something escaped: $(find "$SIM_WORK" -name '*escape*')"
assert_eq 0 "$RC" "exit code (the files were read one by one instead)"
for i in 1 2 3 4 5; do
    assert_eq "good $i" "$(cat "$SIM_WORK/out/dir/f$i")" "content of f$i"
done
[ -L "$SIM_WORK/out/dir/etc-link" ] || fail "the symlink to /etc is not a symlink"
assert_eq /etc "$(readlink "$SIM_WORK/out/dir/etc-link")" "symlink target kept as data"

# a copy into a tree where the pod's symlink already exists: entries go
# below the destination's own directories, never through a symlink
capture pcp "gnu:/srv/h/dir/." "$SIM_WORK/out/dir"
assert_eq 0 "$RC" "second copy"
[ -z "$(find /etc -newer "$SIM_WORK/out/dir/f1" -maxdepth 1 -name 'f[0-9]' 2>/dev/null)" ] || fail "written through the /etc link"
echo "PASS: cp.hostile"
