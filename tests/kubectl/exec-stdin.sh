#!/usr/bin/env bash
# kubectl.exec-stdin: kubectl exec -i: stdin reaches the command byte for
# byte, and its end (the v5 CLOSE message) ends the command's stdin.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

# 10 MiB of random data through cat and back
head -c $((10 * 1024 * 1024)) /dev/urandom >"$SIM_WORK/in.bin"
in_sha=$(sha256sum <"$SIM_WORK/in.bin" | cut -d' ' -f1)
KC_TIMEOUT=60 kc exec -i gnu -- cat <"$SIM_WORK/in.bin" >"$SIM_WORK/out.bin" 2>"$SIM_WORK/err" \
    || fail "exec -i gnu -- cat failed (rc $?): $(cat "$SIM_WORK/err")"
assert_eq $((10 * 1024 * 1024)) "$(stat -c %s "$SIM_WORK/out.bin")" "10 MiB through cat: size"
assert_eq "$in_sha" "$(sha256sum <"$SIM_WORK/out.bin" | cut -d' ' -f1)" "10 MiB through cat: sha256"
assert_eq "" "$(cat "$SIM_WORK/err")" "10 MiB through cat: no stderr"

# the same data computed on in the pod (stdin only, small stdout)
capture kc exec -i busybox -- sha256sum <"$SIM_WORK/in.bin"
assert_eq 0 "$RC" "exec -i busybox -- sha256sum (stderr: $ERR)"
assert_eq "$in_sha" "${OUT%% *}" "sha256sum of stdin inside the pod"

# wc -c counts exactly, for sizes around the 32 KiB chunk boundary
for n in 0 1 32767 32768 32769 1234567; do
    head -c "$n" "$SIM_WORK/in.bin" >"$SIM_WORK/part"
    capture kc exec -i busybox -- sh -c 'wc -c' <"$SIM_WORK/part"
    assert_eq 0 "$RC" "wc -c of $n bytes: exit code (stderr: $ERR)"
    assert_eq "$n" "${OUT// /}" "wc -c of $n bytes"
done

# stdin into a file in the pod, checked on disk
capture kc exec -i gnu -- sh -c 'cat >/tmp/stdin.bin' <"$SIM_WORK/in.bin"
assert_eq 0 "$RC" "exec -i gnu -- sh -c 'cat >/tmp/stdin.bin' (stderr: $ERR)"
assert_eq "$in_sha" "$(sha256sum <"$(sim_rootfs gnu)/tmp/stdin.bin" | cut -d' ' -f1)" "stdin written to a file: sha256 on disk"

# the command may exit before reading all of stdin
capture kc exec -i gnu -- sh -c 'head -c 10; exit 4' <"$SIM_WORK/in.bin"
assert_eq 4 "$RC" "head -c 10 + exit 4 with 10 MiB of stdin: exit code (stderr: $ERR)"

# without -i the command gets no stdin (EOF at once)
capture kc exec gnu -- sh -c 'wc -c' <"$SIM_WORK/in.bin"
assert_eq 0 "$RC" "exec without -i: exit code"
assert_eq 0 "${OUT// /}" "exec without -i: the command reads nothing"

echo "PASS: kubectl.exec-stdin"
