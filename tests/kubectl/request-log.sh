#!/usr/bin/env bash
# kubectl.request-log: kube-sim logs every exec as one JSON line in
# requests.jsonl (kind, pod, command array, container, exit code, HTTP status
# 101, protocol, byte counts); sim_exec_count counts them.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

# exec_line FRAGMENT: the exec log line containing FRAGMENT (waits for it)
exec_line() {
    local l=
    for _ in $(seq 1 30); do
        l=$(sim_exec_log | grep -F -- "$1" | tail -n 1 || true) # not there yet: try again
        [ -z "$l" ] || break
        sleep 0.1
    done
    [ -n "$l" ] || fail "no exec line with $1 in $SIM_STATE/requests.jsonl"
    printf '%s\n' "$l"
}
num() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }

assert_eq 0 "$(sim_exec_count)" "no execs logged before the first exec"

capture kc exec gnu -- sh -c 'echo logged; exit 5'
assert_eq 5 "$RC" "exec with exit 5"
l=$(exec_line '"command":["sh","-c","echo logged; exit 5"]')
assert_contains "$l" '"kind":"exec"' "log: kind"
assert_contains "$l" '"namespace":"default"' "log: namespace"
assert_contains "$l" '"pod":"gnu"' "log: pod"
assert_contains "$l" '"container":"main"' "log: container"
assert_contains "$l" '"exit_code":5' "log: exit_code"
assert_contains "$l" '"status":101' "log: HTTP status 101"
assert_contains "$l" '"protocol":"v5.channel.k8s.io"' "log: protocol"
assert_contains "$l" '"method":"GET"' "log: method"
assert_contains "$l" '"path":"/api/v1/namespaces/default/pods/gnu/exec"' "log: path"
assert_contains "$l" '"user":"admin"' "log: user"
assert_not_contains "$l" '"error"' "log: no error"
[ "$(num "$l" bytes_out)" -gt 0 ] || fail "log: bytes_out is not positive: $l"
assert_eq 1 "$(sim_exec_count)" "sim_exec_count after one exec"
assert_eq 1 "$(sim_exec_count 101)" "sim_exec_count 101 after one exec"

# the default container of multi is resolved by kubectl (annotation) and logged
capture kc exec multi -- true
l=$(exec_line '"pod":"multi","command":["true"]')
assert_contains "$l" '"container":"app"' "log: multi's default container"
assert_contains "$l" '"exit_code":0' "log: exit_code 0"
capture kc exec multi -c sidecar -- echo side
l=$(exec_line '"command":["echo","side"]')
assert_contains "$l" '"container":"sidecar"' "log: -c sidecar"

# arguments with spaces and special characters survive as one array element each
capture kc exec busybox -- printf '%s\n' 'a b' 'c&d=e' '+plus' '100%'
assert_eq $'a b\nc&d=e\n+plus\n100%' "$OUT" "odd arguments reach the command"
l=$(exec_line '"pod":"busybox","command":["printf"')
assert_contains "$l" '"command":["printf","%s\\n","a b","c&d=e","+plus","100%"]' "log: command array"

# stdin bytes are counted
head -c 200000 /dev/urandom >"$SIM_WORK/in"
capture kc exec -i gnu -- sh -c 'cat >/dev/null' <"$SIM_WORK/in"
assert_eq 0 "$RC" "exec -i (stderr: $ERR)"
l=$(exec_line '"command":["sh","-c","cat >/dev/null"]')
[ "$(num "$l" bytes_in)" -ge 200000 ] || fail "log: bytes_in < 200000 for 200000 bytes of stdin: $l"

# kubectl cp shows up as its tar exec
capture kc cp gnu:/srv/demo/hello.txt "$SIM_WORK/hello.txt"
assert_eq 0 "$RC" "kubectl cp (stderr: $ERR)"
exec_line '"command":["tar","cf","-","/srv/demo/hello.txt"]' >/dev/null

# refused and failed execs are logged too
capture kc exec multi -c nosuch -- echo nosuch
l=$(exec_line '"pod":"multi","command":["echo","nosuch"]')
assert_contains "$l" '"status":400' "log: -c nosuch refused with 400"
assert_contains "$l" '"exit_code":null' "log: -c nosuch has no exit code"
capture kc exec pending -- true
l=$(exec_line '"pod":"pending"')
assert_contains "$l" '"exit_code":null' "log: exec into pending has no exit code"
assert_contains "$l" '"error":' "log: exec into pending records an error"

n=$(sim_exec_count)
[ "$n" -ge 9 ] || fail "sim_exec_count: only $n exec lines"
assert_eq "$n" "$(grep -c '"kind":"exec"' "$SIM_STATE/requests.jsonl")" "sim_exec_count = exec lines in the log"
echo "PASS: kubectl.request-log"
