#!/usr/bin/env bash
# client.errors: API errors through podfs exec: 403 (the read-only viewer),
# a missing pod, a missing namespace, 429 (too many concurrent execs), a
# refused upgrade (503 via fail_next; the next exec works), a pod that is not
# running, a container that does not exist. Each: exit 1, a message like
# kubectl's, nothing on stdout, no exec session started.
# shellcheck disable=SC2016 # $ in single quotes: for the pod's shell
set -euo pipefail
# shellcheck source=tests/client/common.sh
. "$(dirname -- "$0")/common.sh"
sim_start

# api_error WHAT: RC/OUT of a podfs exec that must fail with exit 1
api_error() {
    assert_eq 1 "$RC" "$1: exit code (stderr: $ERR)"
    assert_eq "" "$OUT" "$1: nothing on stdout"
}

# --- 403 ----------------------------------------------------------------------
n=$(sim_exec_count 101)
capture pfs exec --context kube-sim-viewer gnu -- true
api_error "viewer (403)"
assert_contains "$ERR" 'Error from server (Forbidden): ' "viewer: Forbidden"
assert_contains "$ERR" 'pods "gnu" is forbidden: User "viewer" cannot get resource "pods/exec"' "viewer: message"
assert_contains "$ERR" 'in the namespace "default"' "viewer: names the namespace"
# the viewer may read the pod: the 403 is the exec's
capture pfs exec --context kube-sim-viewer -n team-a web -- true
api_error "viewer (403) in team-a"
assert_contains "$ERR" 'cannot get resource "pods/exec" in API group "" in the namespace "team-a"' "viewer team-a: message"
# (kube-sim logs a refused authorization before the exec handler: no "kind")
grep -F '"path":"/api/v1/namespaces/default/pods/gnu/exec","user":"viewer","status":403' "$SIM_STATE/requests.jsonl" >/dev/null \
    || fail "no 403 exec request in the request log for the viewer"

# --- not found ----------------------------------------------------------------
capture pfs exec nosuch -- true
api_error "missing pod"
assert_eq 'Error from server (NotFound): pods "nosuch" not found' "$ERR" "missing pod: message"
capture pfs exec -n nosuch web -- true
api_error "missing namespace"
assert_contains "$ERR" 'Error from server (NotFound): ' "missing namespace: NotFound"
assert_contains "$ERR" 'namespaces "nosuch" not found' "missing namespace: names the namespace, like kubectl"
capture pfs exec -n team-a gnu -- true
api_error "pod in another namespace"
assert_contains "$ERR" 'pods "gnu" not found' "gnu is not in team-a"
assert_eq "$n" "$(sim_exec_count 101)" "none of the failures above started an exec session"
capture pfs exec -n team-a web -- echo web-ok
assert_eq 0 "$RC" "-n team-a web (stderr: $ERR)"
assert_eq web-ok "$OUT" "-n team-a web"
for _ in $(seq 1 50); do [ "$(sim_exec_count 101)" -gt "$n" ] && break; sleep 0.1; done
n=$(sim_exec_count 101)

# --- containers ---------------------------------------------------------------
capture pfs exec multi -c nosuch -- true
api_error "-c nosuch"
assert_contains "$ERR" "container nosuch is not valid for pod multi" "-c nosuch: message"
capture pfs exec gnu -c nosuch -- true
api_error "gnu -c nosuch"
assert_contains "$ERR" "container nosuch is not valid for pod gnu" "gnu -c nosuch: message"
capture pfs exec pending -- true
api_error "pending pod"
assert_contains "$ERR" "not running" "pending pod: message"
assert_contains "$ERR" "pending" "pending pod: names the pod"
assert_eq "$n" "$(sim_exec_count 101)" "no exec session for -c nosuch or the pending pod"

# --- 503 (fail_next): a refused upgrade; the next exec works -----------------
n0=$(log_lines)
sim_knob fail_next=1 fail_status=503 >/dev/null
capture pfs exec gnu -- echo should-not-run
api_error "fail_next 503"
assert_contains "$ERR" "503" "fail_next 503: the message has the HTTP status"
[ "$(printf '%s\n' "$ERR" | grep -c '')" -eq 1 ] || fail "fail_next 503: one line expected: $ERR"
exec_lines_since "$n0" | grep -qF '"status":503' || fail "fail_next 503: no 503 in the request log"
assert_eq 0 "$(exec_lines_since "$n0" | grep -cF '"status":101' || true)" "fail_next 503: no session"
capture pfs exec gnu -- echo next-works
assert_eq 0 "$RC" "after fail_next: next exec (stderr: $ERR)"
assert_eq next-works "$OUT" "after fail_next: next exec"
sim_knob fail_next=1 fail_status=500 >/dev/null
capture pfs exec gnu -- true
api_error "fail_next 500"
assert_contains "$ERR" "500" "fail_next 500: the message has the HTTP status"

# --- 429: max_execs=1 while a `sleep 5` runs ----------------------------------
sim_knob max_execs=1 >/dev/null
PF_TIMEOUT=30 pfs exec gnu -- sleep 5 >"$SIM_WORK/sleep.out" 2>"$SIM_WORK/sleep.err" &
sleeper=$!
wait_active_execs 1 || fail "the sleep 5 exec did not start"
n0=$(log_lines)
t0=$(date +%s%N)
capture pfs exec gnu -- echo should-not-run
t1=$(date +%s%N)
api_error "429"
case $ERR in
    *429* | *[Tt]oo\ many*) ;;
    *) fail "429: the message mentions neither 429 nor 'too many': $ERR" ;;
esac
exec_lines_since "$n0" | grep -qF '"status":429' || fail "429: no 429 in the request log"
assert_eq 0 "$(exec_lines_since "$n0" | grep -cF '"status":101' || true)" "429: no session"
[ $(((t1 - t0) / 1000000)) -lt 4000 ] || fail "429: podfs took $(((t1 - t0) / 1000000)) ms (waited for the sleep?)"
rc=0
wait "$sleeper" || rc=$?
assert_eq 0 "$rc" "the sleep 5 exec itself (stderr: $(cat "$SIM_WORK/sleep.err"))"
capture pfs exec gnu -- echo free-again
assert_eq 0 "$RC" "after the sleep: a new exec works (stderr: $ERR)"
sim_knob max_execs=0 >/dev/null

# --- and -c naming a container that exists works ----------------------------
capture pfs exec multi -c sidecar -- sh -c 'echo sidecar'
assert_eq 0 "$RC" "multi -c sidecar (stderr: $ERR)"
assert_eq sidecar "$OUT" "multi -c sidecar"

echo "PASS: client.errors"
