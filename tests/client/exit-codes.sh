#!/usr/bin/env bash
# client.exit-codes: podfs exec passes the remote exit code through and
# prints kubectl's "command terminated with exit code N"; a missing binary
# is kubectl's "executable file not found" error (exit 1); stdout and stderr
# are byte-for-byte what kubectl exec writes for the same commands; binary
# output is exact.
# shellcheck disable=SC2016 # $ in single quotes: for the pod's shell
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
command -v "$KUBECTL" >/dev/null 2>&1 || skip "kubectl ($KUBECTL) not found: needed to compare output"
sim_start

# --- exit codes -------------------------------------------------------------
for code in 0 1 3 127 255; do
    capture pfs exec gnu -- sh -c "exit $code"
    assert_eq "$code" "$RC" "sh -c 'exit $code': exit code (stderr: $ERR)"
    assert_eq "" "$OUT" "sh -c 'exit $code': no stdout"
    if [ "$code" -eq 0 ]; then
        assert_eq "" "$ERR" "exit 0: nothing on stderr"
    else
        assert_eq "command terminated with exit code $code" "$ERR" "exit $code: kubectl's message"
    fi
done
capture pfs exec gnu -- true
assert_eq 0 "$RC" "true: exit code"
capture pfs exec gnu -- false
assert_eq 1 "$RC" "false: exit code"
assert_eq "command terminated with exit code 1" "$ERR" "false: message"
# the exit code of a busybox pod too (another image)
capture pfs exec busybox -- sh -c 'exit 42'
assert_eq 42 "$RC" "busybox exit 42"
# exit codes in the request log match
sim_wait_exec_log 9 || true
assert_contains "$(sim_exec_log)" '"command":["sh","-c","exit 127"],"container":"main","protocol":"v5.channel.k8s.io","exit_code":127' \
    "request log: exit 127"

# --- a missing executable: not an exit code, an error ----------------------
capture pfs exec gnu -- podfs-no-such-binary --flag
assert_eq 1 "$RC" "missing binary: exit code"
assert_eq "" "$OUT" "missing binary: no stdout"
assert_contains "$ERR" 'executable file not found in $PATH' "missing binary: message"
assert_contains "$ERR" '"podfs-no-such-binary"' "missing binary: the message names it"
assert_not_contains "$ERR" "command terminated with exit code" "missing binary: not reported as an exit code"
assert_eq "error: " "${ERR:0:7}" "missing binary: starts with 'error: '"
# a command in sh that does not exist is an exit code (127), like kubectl
capture pfs exec gnu -- sh -c 'podfs-no-such-binary'
assert_eq 127 "$RC" "missing binary inside sh: exit code"
assert_contains "$ERR" "podfs-no-such-binary" "missing binary inside sh: sh's message"

# --- the same bytes as kubectl ---------------------------------------------
# same_as_kubectl NAME ARGS...: podfs exec ARGS and kubectl exec ARGS give
# identical stdout, stderr and exit code
same_as_kubectl() {
    local name=$1 prc=0 krc=0
    shift
    pfs exec "$@" >"$SIM_WORK/p.out" 2>"$SIM_WORK/p.err" || prc=$?
    kc exec "$@" >"$SIM_WORK/k.out" 2>"$SIM_WORK/k.err" || krc=$?
    assert_eq "$krc" "$prc" "$name: exit code like kubectl's"
    cmp -s "$SIM_WORK/k.out" "$SIM_WORK/p.out" \
        || fail "$name: stdout differs from kubectl's: $(cmp "$SIM_WORK/k.out" "$SIM_WORK/p.out" 2>&1 | head -n 1) (sizes $(fsize "$SIM_WORK/k.out") / $(fsize "$SIM_WORK/p.out"))"
    cmp -s "$SIM_WORK/k.err" "$SIM_WORK/p.err" \
        || fail "$name: stderr differs from kubectl's:"$'\n'"kubectl: $(od -c "$SIM_WORK/k.err" | head -n 8)"$'\n'"podfs:   $(od -c "$SIM_WORK/p.err" | head -n 8)"
}
same_as_kubectl "interleaved out/err" gnu -- sh -c \
    'printf "a\n\nb"; printf "e1\n" >&2; printf "\nc\n\n"; printf "e2 no newline" >&2; printf "\000\001\377"'
same_as_kubectl "interleaved out/err, exit 3" gnu -- sh -c 'echo out; echo err >&2; exit 3'
same_as_kubectl "only stderr" gnu -- sh -c 'echo only-err >&2'
same_as_kubectl "argv verbatim" gnu -- printf '%s|' 'a b' '$HOME' '*' '' "'q'" 'ü' '--' '-c'
same_as_kubectl "missing binary" gnu -- podfs-no-such-binary
same_as_kubectl "multi, default container" multi -- sh -c 'echo app; cat /etc/hostname'
same_as_kubectl "multi -c sidecar" multi -c sidecar -- sh -c 'echo sidecar >&2'
same_as_kubectl "namespace team-a" -n team-a web -- sh -c 'echo "$HOSTNAME"; id -u'
same_as_kubectl "nonroot" nonroot -- sh -c 'id; cat /root/secret.txt'
same_as_kubectl "big stdout and stderr at once" gnu -- sh -c \
    'cat /srv/demo/bin.dat; cat /srv/demo/bin.dat >&2; cat /srv/demo/bin.dat; echo done >&2'
same_as_kubectl "seq 1..100000" gnu -- seq 1 100000

# --- binary data ------------------------------------------------------------
disk=$(sim_rootfs gnu)/srv/demo/bin.dat
pfs exec gnu -- cat /srv/demo/bin.dat >"$SIM_WORK/bin.out"
assert_eq "$(fsize "$disk")" "$(fsize "$SIM_WORK/bin.out")" "cat bin.dat: size"
assert_eq "$(sha "$disk")" "$(sha "$SIM_WORK/bin.out")" "cat bin.dat: sha256 = the rootfs file's"
assert_eq "$(sha "$disk")" "$(pfs exec gnu -- cat /srv/demo/bin.dat | sha256sum | cut -d' ' -f1)" "cat bin.dat | sha256sum"
# binary on stderr
pfs exec busybox -- sh -c 'cat /srv/demo/bin.dat >&2' 2>"$SIM_WORK/bin.err" >"$SIM_WORK/bin.err.out"
assert_eq "$(sha "$(sim_rootfs busybox)/srv/demo/bin.dat")" "$(sha "$SIM_WORK/bin.err")" "bin.dat on stderr: sha256"
assert_eq 0 "$(fsize "$SIM_WORK/bin.err.out")" "bin.dat on stderr: nothing on stdout"

echo "PASS: client.exit-codes"
