#!/usr/bin/env bash
# kubectl.exec-reap: a container's PID 1 reaps orphans, as a real container
# runtime's init (or the pause container) does: a background process left by
# one exec and killed by another must disappear, not stay a zombie.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

for pod in gnu busybox; do
    capture kc exec "$pod" -- sh -c 'sleep 41 >/dev/null 2>&1 </dev/null & echo $!'
    assert_eq 0 "$RC" "$pod: start a background sleep (stderr: $ERR)"
    spid=$OUT
    case $spid in '' | *[!0-9]*) fail "$pod: background sleep: bad pid '$spid'" ;; esac
    capture kc exec "$pod" -- sh -c "kill $spid"
    assert_eq 0 "$RC" "$pod: kill $spid (stderr: $ERR)"
    state=
    for _ in $(seq 1 15); do
        capture kc exec "$pod" -- sh -c "if test -e /proc/$spid; then set -- \$(cat /proc/$spid/stat); echo \$3; else echo gone; fi"
        assert_eq 0 "$RC" "$pod: look for pid $spid (stderr: $ERR)"
        state=$OUT
        [ "$state" != gone ] || break
        sleep 0.2
    done
    assert_eq gone "$state" "$pod: the killed orphan (pid $spid in the container) is reaped by the container's PID 1 (Z = zombie left behind)"
done
echo "PASS: kubectl.exec-reap"
