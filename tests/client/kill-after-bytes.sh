#!/usr/bin/env bash
# client.kill-after-bytes: kube-sim drops the exec connection (TCP RST, no
# status, no Close frame) after N payload bytes. podfs exec must then exit
# non-zero with an error on stderr, never 0 with a short output: for output
# (`cat bin.dat`), for stdin (`-i cat`), and for stdin into a file, at
# several cut points, several times each (the cut races with the data).
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
sim_start

BIN=$(sim_rootfs gnu)/srv/demo/bin.dat
BIN_SIZE=$(fsize "$BIN")
head -c 1048576 /dev/urandom >"$SIM_WORK/in"

# must_fail WHAT OUTFILE ERRFILE RC EXPECTED-FULL-SIZE
must_fail() {
    local what=$1 out=$2 errf=$3 rc=$4 full=$5 size
    size=$(fsize "$out")
    [ "$rc" -ne 0 ] || fail "$what: exit 0 with $size of $full bytes of output"
    [ "$rc" -lt 124 ] || fail "$what: exit $rc (timed out or killed, not an error exit)"
    [ -s "$errf" ] || fail "$what: exit $rc without a message on stderr"
    [ "$size" -lt "$full" ] || fail "$what: exit $rc but all $size bytes arrived (was the connection cut?)"
    assert_not_contains "$(cat "$errf")" "command terminated with exit code" "$what: a lost connection is no exit code"
}

for kill_after in 200000 1 65536 900000; do
    sim_knob kill_after_bytes=$kill_after >/dev/null
    for i in 1 2 3 4 5; do
        # pod -> local
        rc=0
        pfs exec gnu -- cat /srv/demo/bin.dat >"$SIM_WORK/out" 2>"$SIM_WORK/err" || rc=$?
        must_fail "kill_after_bytes=$kill_after, cat bin.dat (run $i)" "$SIM_WORK/out" "$SIM_WORK/err" "$rc" "$BIN_SIZE"
        # local -> pod -> local
        rc=0
        pfs exec -i gnu -- cat <"$SIM_WORK/in" >"$SIM_WORK/out" 2>"$SIM_WORK/err" || rc=$?
        must_fail "kill_after_bytes=$kill_after, -i cat (run $i)" "$SIM_WORK/out" "$SIM_WORK/err" "$rc" 1048576
    done
    # local -> pod file: nothing comes back, only the status could
    rc=0
    pfs exec -i gnu -- sh -c 'cat >/tmp/cut.bin' <"$SIM_WORK/in" >"$SIM_WORK/out" 2>"$SIM_WORK/err" || rc=$?
    [ "$rc" -ne 0 ] || fail "kill_after_bytes=$kill_after, -i cat >file: exit 0 (file on disk: $(fsize "$(sim_rootfs gnu)/tmp/cut.bin" 2>/dev/null || echo none) bytes)"
    [ -s "$SIM_WORK/err" ] || fail "kill_after_bytes=$kill_after, -i cat >file: no message"
done
cat "$SIM_WORK/err" >&2
sim_wait_exec_log 1 || true
assert_contains "$(sim_exec_log)" "killed after" "the request log shows kube-sim's kills"

# a cut point beyond the data: everything works
sim_knob kill_after_bytes=3000000 >/dev/null
capture pfs exec gnu -- sh -c 'cat /srv/demo/bin.dat | sha256sum'
assert_eq 0 "$RC" "kill_after_bytes beyond the data: exit code (stderr: $ERR)"
assert_eq "$(sha "$BIN")  -" "$OUT" "kill_after_bytes beyond the data: output"
pfs exec -i gnu -- cat <"$SIM_WORK/in" >"$SIM_WORK/out"
assert_eq "$(sha "$SIM_WORK/in")" "$(sha "$SIM_WORK/out")" "kill_after_bytes beyond the data: -i cat"
sim_knob kill_after_bytes=0 >/dev/null
capture pfs exec gnu -- echo ok
assert_eq ok "$OUT" "after the knob is off (stderr: $ERR)"

echo "PASS: client.kill-after-bytes"
