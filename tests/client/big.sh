#!/usr/bin/env bash
# client.big: 100 MiB through podfs exec, every byte checked: local -> pod
# -> local (`-i cat`), pod -> local (`cat FILE` of a file made in the
# rootfs on disk), local -> pod file (`-i sh -c 'cat > FILE'`, compared with
# the file on disk). Also stdout and stderr both busy with 100 MiB. (A
# reader slower than the data: client.slow-reader.)
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
sim_start
export PF_TIMEOUT=120

SIZE=$((100 * 1024 * 1024))
ROOT=$(sim_rootfs gnu)
head -c "$SIZE" /dev/urandom >"$SIM_WORK/big"
want=$(sha "$SIM_WORK/big")

ms() { echo $(($(date +%s%N) / 1000000)); }

# piped_sha WHAT PODFS-ARGS... [<input]: sha256 of `podfs ARGS | sha256sum`;
# fails the test (with podfs's status) if podfs fails
piped_sha() {
    local what=$1
    shift
    rm -f "$SIM_WORK/piped.rc"
    { pfs "$@" || echo $? >"$SIM_WORK/piped.rc"; } | sha256sum | cut -d' ' -f1 >"$SIM_WORK/piped.sha"
    [ ! -e "$SIM_WORK/piped.rc" ] \
        || fail "$what: podfs exit $(cat "$SIM_WORK/piped.rc") (124: it hung and was killed after ${PF_TIMEOUT}s)"
    cat "$SIM_WORK/piped.sha"
}

# --- local -> pod -> local ------------------------------------------------------
t0=$(ms)
got=$(piped_sha "100 MiB -i cat | sha256sum" exec -i gnu -- cat <"$SIM_WORK/big")
echo "100 MiB -i cat round trip: $(($(ms) - t0)) ms" >&2
assert_eq "$want" "$got" "100 MiB -i cat | sha256sum"
# (the same, exit code checked separately from the pipe)
rc=0
pfs exec -i gnu -- cat <"$SIM_WORK/big" >"$SIM_WORK/rt" || rc=$?
assert_eq 0 "$rc" "100 MiB -i cat: exit code"
assert_eq "$SIZE" "$(fsize "$SIM_WORK/rt")" "100 MiB -i cat: size"
assert_eq "$want" "$(sha "$SIM_WORK/rt")" "100 MiB -i cat: sha256"
rm -f "$SIM_WORK/rt"

# --- pod -> local ----------------------------------------------------------------
cp "$SIM_WORK/big" "$ROOT/tmp/down.bin"
t0=$(ms)
got=$(piped_sha "100 MiB cat | sha256sum" exec gnu -- cat /tmp/down.bin)
echo "100 MiB cat (pod -> local): $(($(ms) - t0)) ms" >&2
assert_eq "$want" "$got" "100 MiB cat /tmp/down.bin | sha256sum"
rc=0
pfs exec gnu -- cat /tmp/down.bin >"$SIM_WORK/down" || rc=$?
assert_eq 0 "$rc" "100 MiB cat: exit code"
assert_eq "$want" "$(sha "$SIM_WORK/down")" "100 MiB cat: sha256 of the file"
rm -f "$SIM_WORK/down"

# --- local -> pod file -------------------------------------------------------------
t0=$(ms)
capture pfs exec -i gnu -- sh -c 'cat > /tmp/up.bin' <"$SIM_WORK/big"
echo "100 MiB -i cat > file (local -> pod): $(($(ms) - t0)) ms" >&2
assert_eq 0 "$RC" "100 MiB upload: exit code (stderr: $ERR)"
assert_eq "" "$OUT$ERR" "100 MiB upload: no output"
# the command has ended (the exit status came after cat closed the file)
assert_eq "$SIZE" "$(fsize "$ROOT/tmp/up.bin")" "100 MiB upload: size on disk"
cmp -s "$SIM_WORK/big" "$ROOT/tmp/up.bin" || fail "100 MiB upload: the file on disk differs: $(cmp "$SIM_WORK/big" "$ROOT/tmp/up.bin" 2>&1)"
# and the pod sees the same
capture pfs exec gnu -- sha256sum /tmp/up.bin
assert_eq "$want  /tmp/up.bin" "$OUT" "100 MiB upload: sha256 in the pod"
rm -f "$ROOT/tmp/up.bin"

# --- stdout and stderr together ---------------------------------------------------
rc=0
pfs exec gnu -- sh -c 'cat /tmp/down.bin & cat /tmp/down.bin >&2; wait' >"$SIM_WORK/o" 2>"$SIM_WORK/e" || rc=$?
assert_eq 0 "$rc" "100 MiB on stdout and on stderr at once: exit code"
assert_eq "$want" "$(sha "$SIM_WORK/o")" "100 MiB on stdout (while stderr is busy)"
assert_eq "$want" "$(sha "$SIM_WORK/e")" "100 MiB on stderr (while stdout is busy)"
rm -f "$SIM_WORK/o" "$SIM_WORK/e" "$ROOT/tmp/down.bin"

echo "PASS: client.big"
