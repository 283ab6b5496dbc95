#!/usr/bin/env bash
# client.protocol: the WebSocket subprotocol podfs exec negotiates (v5 on a
# current cluster, v4 on one that offers only v4, as an older cluster's
# runtime does) and the TLS ALPN it offers for the upgrade (exactly
# "http/1.1": WebSocket needs HTTP/1.1, never h2). On v4, output and exit
# codes work, `-i` fails at once with a message about v4 (v4 cannot signal
# the end of stdin) instead of hanging.
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
sim_start

# last101 [N]: the exec lines that got 101 after log line N
last101() {
    exec_lines_since "${1:-0}" | grep -F '"status":101' || true
}
wait_101() { # N K: wait (up to 5 s) for K sessions logged after line N
    local i
    for ((i = 0; i < 50; i++)); do
        [ "$(last101 "$1" | grep -c '"kind":"exec"' || true)" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
field() { # LINE KEY: a string field of a JSON log line
    printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p"
}

# --- v5 -----------------------------------------------------------------------
n0=$(log_lines)
capture pfs exec gnu -- echo hi
assert_eq 0 "$RC" "v5: echo hi (stderr: $ERR)"
assert_eq hi "$OUT" "v5: echo hi"
wait_101 "$n0" 1
line=$(last101 "$n0")
assert_eq 1 "$(printf '%s\n' "$line" | grep -c '"kind":"exec"')" "v5: exactly one exec session logged: $line"
assert_eq "v5.channel.k8s.io" "$(field "$line" protocol)" "v5: negotiated protocol"
assert_contains "$line" '"alpn_offered":"http/1.1",' "v5: the exec connection offered ALPN exactly http/1.1"
n1=$(log_lines)
head -c 300000 /dev/urandom >"$SIM_WORK/in"
capture pfs exec -i gnu -- sha256sum <"$SIM_WORK/in"
assert_eq 0 "$RC" "v5: -i sha256sum (stderr: $ERR)"
assert_eq "$(sha "$SIM_WORK/in")  -" "$OUT" "v5: -i sha256sum of 300 kB"
wait_101 "$n1" 1
for l in $(last101 "$n1" | sed -n 's/.*"protocol":"\([^"]*\)".*"alpn_offered":"\([^"]*\)".*/\1|\2/p'); do
    assert_eq "v5.channel.k8s.io|http/1.1" "$l" "v5 -i: protocol|alpn of every session"
done
# every session podfs started offered exactly http/1.1
alpns=$(sim_exec_log | grep -F '"status":101' | sed -n 's/.*"alpn_offered":"\([^"]*\)".*/\1/p' | sort -u)
assert_eq "http/1.1" "$alpns" "ALPN offered by every podfs exec session"

# --- v4 -------------------------------------------------------------------------
sim_knob v4_only=1 >/dev/null
n2=$(log_lines)
capture pfs exec gnu -- echo hi
assert_eq 0 "$RC" "v4: echo hi (stderr: $ERR)"
assert_eq hi "$OUT" "v4: echo hi"
wait_101 "$n2" 1
line=$(last101 "$n2")
assert_eq 1 "$(printf '%s\n' "$line" | grep -c '"kind":"exec"')" "v4: exactly one exec session: $line"
assert_eq "v4.channel.k8s.io" "$(field "$line" protocol)" "v4: negotiated protocol"
assert_contains "$line" '"alpn_offered":"http/1.1",' "v4: ALPN offered"
assert_eq 0 "$(exec_lines_since "$n2" | grep -vc '"status":101' || true)" "v4: no refused upgrade on the way (one attempt)"

# output, stderr and exit codes under v4
capture pfs exec gnu -- sh -c 'echo out; echo err >&2; exit 3'
assert_eq 3 "$RC" "v4: exit 3"
assert_eq out "$OUT" "v4: stdout"
assert_eq $'err\ncommand terminated with exit code 3' "$ERR" "v4: stderr"
pfs exec gnu -- cat /srv/demo/bin.dat >"$SIM_WORK/v4.bin"
assert_eq "$(sha "$(sim_rootfs gnu)/srv/demo/bin.dat")" "$(sha "$SIM_WORK/v4.bin")" "v4: cat bin.dat sha256"
capture pfs exec gnu -- podfs-no-such-binary
assert_eq 1 "$RC" "v4: missing binary: exit code"
assert_contains "$ERR" "executable file not found" "v4: missing binary: message"

# -i under v4: a clear failure, promptly, whether stdin is a file, a pipe
# that never ends, or empty
t0=$(date +%s%N)
capture run_timeout 20 "$PODFS" exec -i gnu -- cat <"$SIM_WORK/in"
t1=$(date +%s%N)
assert_eq 1 "$RC" "v4: -i cat: exit code (stdout ${#OUT} chars)"
assert_contains "$ERR" "v4.channel.k8s.io" "v4: -i cat: the message names v4"
assert_eq "" "$OUT" "v4: -i cat: no output"
[ $(((t1 - t0) / 1000000)) -lt 5000 ] || fail "v4: -i cat took $(((t1 - t0) / 1000000)) ms"
sleep 100 | { capture run_timeout 20 "$PODFS" exec -i gnu -- cat; echo "$RC" >"$SIM_WORK/rc"; printf '%s' "$ERR" >"$SIM_WORK/err"; } &
bg=$!
for _ in $(seq 1 100); do [ -s "$SIM_WORK/rc" ] && break; sleep 0.1; done
[ -s "$SIM_WORK/rc" ] || fail "v4: -i cat with a stdin that never ends: still running after 10 s"
assert_eq 1 "$(cat "$SIM_WORK/rc")" "v4: -i cat, endless stdin: exit code"
assert_contains "$(cat "$SIM_WORK/err")" "v4" "v4: -i cat, endless stdin: message"
kill "$bg" 2>/dev/null || true
capture run_timeout 20 "$PODFS" exec -i gnu -- true </dev/null
assert_eq 1 "$RC" "v4: -i with empty stdin: exit code"
assert_contains "$ERR" "v4" "v4: -i with empty stdin: message"

# back to v5: the next session negotiates v5 again
sim_knob v4_only=0 >/dev/null
n3=$(log_lines)
capture pfs exec gnu -- echo again
assert_eq again "$OUT" "v5 again: echo (stderr: $ERR)"
wait_101 "$n3" 1
assert_eq "v5.channel.k8s.io" "$(field "$(last101 "$n3")" protocol)" "v5 again: protocol"

echo "PASS: client.protocol"
