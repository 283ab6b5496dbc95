#!/usr/bin/env bash
# client.slow-reader: flow control. When podfs exec's stdout blocks (a
# reader that starts late, or reads slowly), podfs must hold the data back
# (its output queue is bounded, then it stops reading from the server) and
# resume: no byte lost, no stall, exit 0. The same for a remote command that
# reads its stdin late (-i: the upload waits). 8 MiB, more than podfs's
# output queue (4 MiB) plus a pipe buffer.
# shellcheck disable=SC2016 # $ in single quotes: for the pod's shell
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
sim_start
export PF_TIMEOUT=30

ROOT=$(sim_rootfs gnu)
head -c $((8 * 1024 * 1024)) /dev/urandom >"$ROOT/tmp/mid.bin"
want=$(sha "$ROOT/tmp/mid.bin")

# through_reader WHAT READER-CMD: podfs exec gnu -- cat /tmp/mid.bin | READER
through_reader() {
    local what=$1 t0
    shift
    rm -f "$SIM_WORK/slow.rc" "$SIM_WORK/slow.out"
    t0=$(date +%s)
    { pfs exec gnu -- cat /tmp/mid.bin || echo "exit $?" >"$SIM_WORK/slow.rc"; } | "$@" >"$SIM_WORK/slow.out"
    [ ! -e "$SIM_WORK/slow.rc" ] \
        || fail "$what: podfs $(cat "$SIM_WORK/slow.rc") (124: it hung and was killed after ${PF_TIMEOUT}s) after $(($(date +%s) - t0)) s; $(fsize "$SIM_WORK/slow.out") of 8388608 bytes arrived"
    assert_eq "$want" "$(sha "$SIM_WORK/slow.out")" "$what: sha256"
}

late() { sleep 2; cat; }
slow() { # 64 KiB every 20 ms: about 3 MB/s
    local i
    for ((i = 0; i < 128; i++)); do
        head -c 65536 || return 1
        sleep 0.02
    done
    cat
}
through_reader "a reader that starts 2 s late" late
through_reader "a reader of about 3 MB/s" slow

# the other way: the remote command reads its stdin 2 s late
head -c $((8 * 1024 * 1024)) /dev/urandom >"$SIM_WORK/up"
capture pfs exec -i gnu -- sh -c 'sleep 2; cat >/tmp/up.bin; sha256sum </tmp/up.bin' <"$SIM_WORK/up"
assert_eq 0 "$RC" "-i, the remote reads 2 s late: exit code (stderr: $ERR)"
assert_eq "$(sha "$SIM_WORK/up")  -" "$OUT" "-i, the remote reads 2 s late: sha256 in the pod"
cmp -s "$SIM_WORK/up" "$ROOT/tmp/up.bin" || fail "-i, the remote reads 2 s late: the file on disk differs"

echo "PASS: client.slow-reader"
