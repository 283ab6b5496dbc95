#!/usr/bin/env bash
# kubectl.notar: images without tar (notar) or without any binary (noshell):
# "executable file not found" comes back after the upgrade as an
# InternalError status on channel 3, and kubectl cp fails in both directions.
# shellcheck disable=SC2016 # $ in single quotes: for the pod's shell or literal text
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start
cd -- "$SIM_WORK"

# notar has busybox (a shell, test, cat) but no tar
capture kc exec notar -- sh -c 'echo shell-ok'
assert_eq 0 "$RC" "notar has a shell (stderr: $ERR)"
assert_eq shell-ok "$OUT" "notar: sh works"

capture kc exec notar -- tar cf - /etc
assert_eq 1 "$RC" "exec notar -- tar: exit code"
assert_contains "$ERR" 'executable file not found in $PATH' "exec notar -- tar: message"
assert_contains "$ERR" 'exec: "tar"' "exec notar -- tar: names the command"
assert_contains "$ERR" 'Internal error occurred' "exec notar -- tar: an InternalError status"
assert_eq "" "$OUT" "exec notar -- tar: no stdout"

capture kc exec notar -- sh -c 'tar --version'
assert_eq 127 "$RC" "tar missing inside sh: exit 127"

# pod -> local: kubectl runs `tar cf - /etc/passwd`, which cannot start
capture kc cp notar:/etc/passwd passwd.copy
assert_eq 1 "$RC" "cp notar:/etc/passwd: exit code"
assert_contains "$ERR" 'executable file not found in $PATH' "cp notar:/etc/passwd: message"
[ ! -e passwd.copy ] || fail "cp notar:/etc/passwd created passwd.copy"

# local -> pod: `test -d` works (busybox), then `tar -xmf -` cannot start
printf 'payload\n' >payload.txt
capture kc cp payload.txt notar:/tmp/payload.txt
assert_eq 1 "$RC" "cp payload.txt notar:/tmp/: exit code"
assert_contains "$ERR" 'executable file not found in $PATH' "cp to notar: message"
[ ! -e "$(sim_rootfs notar)/tmp/payload.txt" ] || fail "cp to notar created the file"

# noshell: distroless-like, nothing to run at all
for cmd in sh ls cat; do
    capture kc exec noshell -- "$cmd" /srv/demo/hello.txt
    assert_eq 1 "$RC" "exec noshell -- $cmd: exit code"
    assert_contains "$ERR" 'executable file not found' "exec noshell -- $cmd: message"
    assert_contains "$ERR" "exec: \"$cmd\"" "exec noshell -- $cmd: names the command"
done
capture kc exec noshell -- /bin/sh
assert_eq 1 "$RC" "exec noshell -- /bin/sh: exit code"
# (runc says "stat /bin/sh: no such file or directory"; match loosely)
assert_contains "$(printf '%s' "$ERR" | tr '[:upper:]' '[:lower:]')" 'no such file or directory' \
    "exec noshell -- /bin/sh (a path, not looked up in \$PATH): message"
capture kc cp noshell:/srv/demo/hello.txt hello.copy
assert_eq 1 "$RC" "cp from noshell: exit code"
assert_contains "$ERR" 'executable file not found' "cp from noshell: message"
# the data is there, just unreachable through exec
[ -f "$(sim_rootfs noshell)/srv/demo/hello.txt" ] || fail "noshell's rootfs lacks /srv/demo/hello.txt"

# exec failures are logged with the error, and no exit code
sim_wait_exec_log 1
line=$(sim_exec_log | grep -F '"pod":"notar","command":["tar","cf","-","/etc"]' | head -n 1)
[ -n "$line" ] || fail "no request-log line for exec notar -- tar cf - /etc"
assert_contains "$line" '"status":101' "exec notar -- tar: upgraded (the error comes after the 101)"
assert_contains "$line" '"exit_code":null' "exec notar -- tar: no exit code in the log"

echo "PASS: kubectl.notar"
