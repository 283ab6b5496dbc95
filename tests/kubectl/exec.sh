#!/usr/bin/env bash
# kubectl.exec: kubectl exec against kube-sim: stdout/stderr separation,
# exit codes, binary output, container choice, error statuses after the
# upgrade, the container's PID namespace, filesystem, user and read-only root.
# shellcheck disable=SC2016 # $ in single quotes: for the pod's shell or literal text
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

BIN_DAT_SIZE=1048576

# --- stdout and stderr arrive separately and exactly ------------------------
capture kc exec gnu -- sh -c 'echo to-stdout; echo to-stderr >&2; printf "no newline"'
assert_eq 0 "$RC" "exec sh -c (out+err): exit code; stderr: $ERR"
assert_eq $'to-stdout\nno newline' "$OUT" "stdout carries only stdout"
assert_eq "to-stderr" "$ERR" "stderr carries only stderr"

# exact bytes, including trailing newlines, on both channels
kc exec gnu -- sh -c 'printf "a\n\nb\n\n"; printf "e1\n\n" >&2' >"$SIM_WORK/o" 2>"$SIM_WORK/e"
assert_eq "$(printf 'a\n\nb\n\n' | od -An -c)" "$(od -An -c <"$SIM_WORK/o")" "stdout bytes exact"
assert_eq "$(printf 'e1\n\n' | od -An -c)" "$(od -An -c <"$SIM_WORK/e")" "stderr bytes exact"

# --- exit codes ---------------------------------------------------------------
capture kc exec gnu -- true
assert_eq 0 "$RC" "exec true: exit code (stderr: $ERR)"
assert_eq "" "$OUT$ERR" "exec true: no output"

capture kc exec gnu -- sh -c 'exit 3'
assert_eq 3 "$RC" "exit 3 is passed through"
assert_contains "$ERR" "command terminated with exit code 3" "exit 3: kubectl's message"

capture kc exec busybox -- sh -c 'exit 255'
assert_eq 255 "$RC" "exit 255 is passed through"

capture kc exec gnu -- false
assert_eq 1 "$RC" "exec false: exit 1"

capture kc exec gnu -- sh -c 'nosuchcommand-xyz'
assert_eq 127 "$RC" "missing command inside sh: exit 127"
assert_contains "$ERR" "nosuchcommand-xyz" "missing command inside sh: sh's message on stderr"

# arguments arrive as argv, never through a shell
capture kc exec gnu -- printf '%s|' 'a b' '$HOME' '*' '' "'q'" 'ü'
assert_eq 0 "$RC" "printf with odd arguments (stderr: $ERR)"
assert_eq "a b|\$HOME|*||'q'|ü|" "$OUT" "argv passed verbatim"

# --- binary-safe stdout (and stderr) ------------------------------------------
disk_sha=$(sha256sum <"$(sim_rootfs gnu)/srv/demo/bin.dat" | cut -d' ' -f1)
capture kc exec gnu -- sh -c "head -c $BIN_DAT_SIZE /srv/demo/bin.dat | sha256sum"
assert_eq 0 "$RC" "sha256sum in the pod (stderr: $ERR)"
assert_eq "$disk_sha" "${OUT%% *}" "sha256 computed in the pod = sha256 of the rootfs file on disk"

kc exec gnu -- cat /srv/demo/bin.dat >"$SIM_WORK/bin.out"
assert_eq "$BIN_DAT_SIZE" "$(stat -c %s "$SIM_WORK/bin.out")" "cat bin.dat: size"
assert_eq "$disk_sha" "$(sha256sum <"$SIM_WORK/bin.out" | cut -d' ' -f1)" "cat bin.dat: sha256"
assert_eq "$disk_sha" "$(kc exec gnu -- cat /srv/demo/bin.dat | sha256sum | cut -d' ' -f1)" "cat bin.dat | sha256sum"

kc exec busybox -- sh -c 'cat /srv/demo/bin.dat >&2' 2>"$SIM_WORK/bin.err" >"$SIM_WORK/bin.err.out"
assert_eq "$disk_sha" "$(sha256sum <"$SIM_WORK/bin.err" | cut -d' ' -f1)" "binary on stderr: sha256"
assert_eq 0 "$(stat -c %s "$SIM_WORK/bin.err.out")" "binary on stderr: nothing on stdout"

# both channels at once, large: nothing lost or mixed up
kc exec gnu -- sh -c 'cat /srv/demo/bin.dat; cat /srv/demo/bin.dat >&2; cat /srv/demo/bin.dat' \
    >"$SIM_WORK/both.out" 2>"$SIM_WORK/both.err"
assert_eq $((2 * BIN_DAT_SIZE)) "$(stat -c %s "$SIM_WORK/both.out")" "2 x bin.dat on stdout: size"
assert_eq "$disk_sha" "$(sha256sum <"$SIM_WORK/both.err" | cut -d' ' -f1)" "bin.dat on stderr while stdout is busy"

# --- containers: default-container annotation, -c, not valid, not running ------
capture kc exec multi -- tar --version
assert_eq 0 "$RC" "exec multi (default container): stderr: $ERR"
assert_contains "$OUT" "GNU tar" "exec multi runs in app (the GNU image)"
capture kc exec multi -c sidecar -- tar --version
assert_eq 0 "$RC" "exec multi -c sidecar: stderr: $ERR"
assert_contains "$OUT" "busybox" "exec multi -c sidecar runs in sidecar (the busybox image)"
assert_not_contains "$OUT" "GNU tar" "sidecar is not app"
capture kc exec multi -c app -- tar --version
assert_contains "$OUT" "GNU tar" "exec multi -c app"

capture kc exec multi -c nosuch -- true
assert_eq 1 "$RC" "-c nosuch: exit code"
assert_contains "$ERR" "container nosuch is not valid for pod multi" "-c nosuch: message"

capture kc exec pending -- true
assert_eq 1 "$RC" "exec into pending: exit code"
assert_contains "$ERR" "container not found" "exec into pending: message"

capture kc exec nosuch -- true
assert_eq 1 "$RC" "exec into a missing pod: exit code"
assert_contains "$ERR" 'pods "nosuch" not found' "exec into a missing pod: message"

# --- one PID namespace per container ------------------------------------------
capture kc exec gnu -- sh -c 'sleep 37 >/dev/null 2>&1 </dev/null & echo $!'
assert_eq 0 "$RC" "start a background sleep (stderr: $ERR)"
spid=$OUT
case $spid in '' | *[!0-9]*) fail "background sleep: bad pid '$spid'" ;; esac
[ "$spid" -lt 1000 ] || fail "pid $spid of the sleep does not look like one from a private PID namespace"
capture kc exec gnu -- sh -c "tr '\\0' ' ' </proc/$spid/cmdline"
assert_eq 0 "$RC" "the sleep is visible from a second exec (stderr: $ERR)"
assert_eq "sleep 37 " "$OUT" "/proc/$spid/cmdline from a second exec"
capture kc exec gnu -- cat /proc/1/stat
assert_eq 0 "$RC" "PID 1 exists in the container"
# another pod (another PID namespace) does not see it
capture kc exec demo -- sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <"$f"; echo; done'
assert_eq 0 "$RC" "list processes in demo (stderr: $ERR)"
assert_not_contains "$OUT" "sleep 37" "demo's PID namespace must not see gnu's sleep"
capture kc exec gnu -- sh -c "kill $spid"
assert_eq 0 "$RC" "kill the sleep from a third exec (stderr: $ERR)"
# (that it is also reaped by the container's PID 1 is kubectl.exec-reap)
dead=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
    capture kc exec gnu -- sh -c "if test -e /proc/$spid; then set -- \$(cat /proc/$spid/stat); echo \$3; else echo gone; fi"
    assert_eq 0 "$RC" "look for the killed sleep (stderr: $ERR)"
    case $OUT in gone | Z) dead=1; break ;; esac
    sleep 0.2
done
assert_eq 1 "$dead" "the killed sleep is no longer running (state: $OUT)"

# --- the container's filesystem is the rootfs on disk ------------------------
gnu_root=$(sim_rootfs gnu)
capture kc exec gnu -- sh -c 'printf "written by exec\n" >/tmp/from-exec.txt; mkdir -p /tmp/newdir'
assert_eq 0 "$RC" "write a file in the pod (stderr: $ERR)"
assert_eq "written by exec" "$(cat "$gnu_root/tmp/from-exec.txt")" "file written by exec is in the rootfs on disk"
[ -d "$gnu_root/tmp/newdir" ] || fail "directory made by exec is not in the rootfs on disk"
printf 'written on disk\n' >"$gnu_root/tmp/from-disk.txt"
capture kc exec gnu -- cat /tmp/from-disk.txt
assert_eq "written on disk" "$OUT" "file written on disk is visible in the pod"
capture kc exec gnu -- cat /srv/demo/hello.txt
assert_eq "$(cat "$gnu_root/srv/demo/hello.txt")" "$OUT" "hello.txt in the pod = on disk"
[ ! -e "$(sim_rootfs demo)/tmp/from-exec.txt" ] || fail "a file written in gnu appeared in demo's rootfs"
capture kc exec gnu -- sh -c 'cd /srv/demo && ls'
assert_eq "$(cd "$gnu_root/srv/demo" && ls)" "$OUT" "ls /srv/demo in the pod = on disk"

# --- users, read-only root, volumes ---------------------------------------------
capture kc exec nonroot -- id -u
assert_eq 1000 "$OUT" "nonroot runs as uid 1000"
capture kc exec nonroot -- id -g
assert_eq 1000 "$OUT" "nonroot runs as gid 1000"
capture kc exec nonroot -- cat /root/secret.txt
[ "$RC" -ne 0 ] || fail "nonroot could read the root-only /root/secret.txt"
assert_contains "$ERR" "Permission denied" "nonroot: reading /root/secret.txt"
capture kc exec nonroot -- sh -c 'echo mine >/home/app/mine.txt'
assert_eq 0 "$RC" "nonroot writes its home (stderr: $ERR)"
assert_eq 1000 "$(stat -c %u "$(sim_rootfs nonroot)/home/app/mine.txt")" "nonroot's file is owned by uid 1000 on disk"
capture kc exec gnu -- id -u
assert_eq 0 "$OUT" "gnu runs as root"

capture kc exec rofs -- sh -c 'echo x >/rofs-test'
[ "$RC" -ne 0 ] || fail "rofs: writing to / succeeded on a read-only root"
assert_contains "$ERR" "Read-only file system" "rofs: writing to /"
[ ! -e "$(sim_rootfs rofs)/rofs-test" ] || fail "rofs: the file appeared on disk"
capture kc exec rofs -- sh -c 'echo data-ok >/data/rofs-test && cat /data/rofs-test'
assert_eq 0 "$RC" "rofs: writing to /data (stderr: $ERR)"
assert_eq "data-ok" "$OUT" "rofs: /data round trip"
assert_eq "data-ok" "$(cat "$SIM_DIR/volumes/rofs-data/rofs-test")" "rofs: /data is the hostPath volume on disk"

capture kc exec small -- dd if=/dev/zero of=/data/big bs=1024 count=5120
[ "$RC" -ne 0 ] || fail "small: writing 5 MiB into the 4 MiB tmpfs /data succeeded"
assert_contains "$ERR" "No space left on device" "small: /data is full"
capture kc exec small -- dd if=/dev/zero of=/tmp/big bs=1024 count=5120
assert_eq 0 "$RC" "small: 5 MiB into /tmp (not the tmpfs) works (stderr: $ERR)"

echo "PASS: kubectl.exec"
