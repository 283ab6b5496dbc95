#!/usr/bin/env bash
# kubectl.errors: authentication (token, client certificate, basic),
# authorization (the read-only viewer), and NotFound for pods and namespaces,
# as kubectl reports them.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

# --- 401 ------------------------------------------------------------------
# kubectl words a 401 as "You must be logged in to the server (Unauthorized)",
# or, when API discovery is the first request to fail (nothing cached yet),
# "(the server has asked for the client to provide credentials)": both are
# what a real API server's 401 gives.
unauthorized() { # CONTEXT-MSG: RC and ERR of a kubectl run that must get 401
    assert_eq 1 "$RC" "$1: exit code"
    assert_contains "$ERR" "You must be logged in to the server" "$1: message"
    case $ERR in
        *Unauthorized* | *"provide credentials"*) ;;
        *) fail "$1: neither 'Unauthorized' nor 'provide credentials' in: $ERR" ;;
    esac
}
capture kc --token bad exec gnu -- true
unauthorized "--token bad exec (no discovery cache)"
capture kc --token bad get pods
unauthorized "--token bad get pods"
capture kc get pod gnu -o name # fills the discovery cache with the good token
assert_eq 0 "$RC" "get pod gnu with the good token (stderr: $ERR)"
capture kc --token bad exec gnu -- true
unauthorized "--token bad exec (discovery cached)"
assert_contains "$ERR" "Unauthorized" "--token bad exec (discovery cached): the pod GET's Status message"
# no credentials at all: (kubectl would prompt for a user name) a 401 Status
capture curl -sS --noproxy '*' --max-time 10 --cacert "$SIM_STATE/ca.crt" -w '\n%{http_code}' \
    "$SIM_URL/api/v1/namespaces/default/pods/gnu"
assert_eq 401 "$(printf '%s\n' "$OUT" | tail -n 1)" "anonymous pod GET: HTTP status"
assert_contains "$OUT" '"reason":"Unauthorized"' "anonymous pod GET: Status reason"
# basic auth with a wrong password
capture kc --context kube-sim-basic --password wrong get pods
unauthorized "basic auth with a wrong password"
capture kc get --raw /api/v1/namespaces/default/pods/gnu --token bad
assert_eq 1 "$RC" "raw GET with a bad token: exit code"
assert_contains "$ERR" "Unauthorized" "raw GET with a bad token: message"

# --- the other admin identities work ---------------------------------------
for ctx in kube-sim-cert kube-sim-basic; do
    capture kc --context "$ctx" -n default exec gnu -- cat /srv/demo/hello.txt
    assert_eq 0 "$RC" "$ctx: exec (stderr: $ERR)"
    assert_eq "$(cat "$(sim_rootfs gnu)/srv/demo/hello.txt")" "$OUT" "$ctx: exec output"
done
sim_wait_exec_log 2
sim_exec_log | grep -q '"user":"cert-user"' || fail "no exec logged for the client-certificate user"
sim_exec_log | grep -q '"user":"basic-user"' || fail "no exec logged for the basic-auth user"

# --- 403: the viewer may read but not exec ---------------------------------
capture kc --context kube-sim-viewer -n default get pod gnu -o name
assert_eq 0 "$RC" "viewer: get pod (stderr: $ERR)"
assert_eq pod/gnu "$OUT" "viewer: get pod"
n0=$(wc -l <"$SIM_STATE/requests.jsonl")
capture kc --context kube-sim-viewer -n default exec gnu -- true
assert_eq 1 "$RC" "viewer: exec: exit code"
assert_contains "$ERR" 'Error from server (Forbidden)' "viewer: exec: Forbidden"
assert_contains "$ERR" 'pods "gnu" is forbidden: User "viewer" cannot' "viewer: exec: message"
assert_contains "$ERR" 'resource "pods/exec"' "viewer: exec: names pods/exec"
assert_contains "$ERR" 'in the namespace "default"' "viewer: exec: names the namespace"
# kubectl tried the WebSocket (GET, verb get) and then SPDY (POST, verb create): both refused
sleep 0.2
log=$(tail -n +$((n0 + 1)) "$SIM_STATE/requests.jsonl" | grep -F '"path":"/api/v1/namespaces/default/pods/gnu/exec"' || true)
assert_contains "$log" '"method":"GET","path":"/api/v1/namespaces/default/pods/gnu/exec","user":"viewer","status":403' "viewer: the WebSocket GET got 403"
assert_contains "$log" '"method":"POST","path":"/api/v1/namespaces/default/pods/gnu/exec","user":"viewer","status":403' "viewer: the SPDY POST got 403"
assert_not_contains "$log" '"status":101' "viewer: no exec session was started"
# viewer by client certificate
cat >"$SIM_WORK/viewer-cert.kubeconfig" <<EOK
apiVersion: v1
kind: Config
clusters:
- name: sim
  cluster:
    server: $SIM_URL
    certificate-authority: $SIM_STATE/ca.crt
users:
- name: viewer-cert
  user:
    client-certificate: $SIM_STATE/viewer.crt
    client-key: $SIM_STATE/viewer.key
contexts:
- name: viewer-cert
  context:
    cluster: sim
    user: viewer-cert
    namespace: default
current-context: viewer-cert
EOK
capture kc --kubeconfig "$SIM_WORK/viewer-cert.kubeconfig" get pod gnu -o name
assert_eq 0 "$RC" "viewer certificate: get pod (stderr: $ERR)"
capture kc --kubeconfig "$SIM_WORK/viewer-cert.kubeconfig" exec gnu -- true
assert_eq 1 "$RC" "viewer certificate: exec: exit code"
assert_contains "$ERR" 'is forbidden' "viewer certificate: exec: message"

# --- 404 -------------------------------------------------------------------
capture kc exec nosuch -- true
assert_eq 1 "$RC" "exec into a missing pod: exit code"
assert_contains "$ERR" 'Error from server (NotFound): pods "nosuch" not found' "exec into a missing pod: message"
capture kc exec web -- true
assert_eq 1 "$RC" "exec web in the wrong namespace: exit code"
assert_contains "$ERR" 'pods "web" not found' "exec web in the wrong namespace: message"
capture kc exec -n team-a web -- cat /srv/demo/hello.txt
assert_eq 0 "$RC" "exec -n team-a web (stderr: $ERR)"
# a missing namespace: after the pod's 404 kubectl asks for the namespace
capture kc exec -n nosuchns web -- true
assert_eq 1 "$RC" "exec in a missing namespace: exit code"
assert_contains "$ERR" 'namespaces "nosuchns" not found' "exec in a missing namespace: message"
capture kc get pod web -n nosuchns
assert_eq 1 "$RC" "get pod in a missing namespace: exit code"
assert_contains "$ERR" 'namespaces "nosuchns" not found' "get pod in a missing namespace: message"
capture kc get --raw /api/v1/namespaces/nosuchns
assert_eq 1 "$RC" "GET a missing namespace: exit code"
assert_contains "$ERR" 'NotFound' "GET a missing namespace: message"
capture kc get --raw /api/v1/namespaces/team-a
assert_eq 0 "$RC" "GET namespace team-a (stderr: $ERR)"
assert_contains "$OUT" '"kind":"Namespace"' "GET namespace team-a: a Namespace"

# none of the refused requests started a session
sim_exec_log | grep -F '"status":101' | grep -q -F '"user":"viewer"' && fail "viewer got an exec session"
echo "PASS: kubectl.errors"
