#!/usr/bin/env bash
# kubectl.get: discovery, /version, pod GET and list (namespaces, label
# selector, not found) as the real kubectl sees them.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"
sim_start

# /version: the dispatcher picks its kubectl by the server's minor version;
# it must be >= 1.30 or it would run an SPDY-only kubectl.
capture kc version -o json
assert_eq 0 "$RC" "kubectl version failed: $ERR"
server_minor=$(printf '%s\n' "$OUT" | tr -d '\n' \
    | sed -n 's/.*"serverVersion"[[:space:]]*:[[:space:]]*{[^}]*"minor"[[:space:]]*:[[:space:]]*"\([0-9]*\)[^"]*".*/\1/p')
[ -n "$server_minor" ] || fail "no serverVersion.minor in: $OUT"
[ "$server_minor" -ge 30 ] || fail "kube-sim reports minor version $server_minor (< 30: kubectl would use SPDY)"

# one pod as JSON
capture kc get pod gnu -o json
assert_eq 0 "$RC" "get pod gnu -o json failed: $ERR"
assert_contains "$OUT" '"kind": "Pod"' "pod JSON has kind Pod"
assert_contains "$OUT" '"apiVersion": "v1"' "pod JSON has apiVersion v1"
capture kc get pod gnu -o 'jsonpath={.kind}|{.metadata.name}|{.metadata.namespace}|{.status.phase}|{.spec.containers[*].name}|{.spec.nodeName}'
assert_eq 0 "$RC" "get pod gnu -o jsonpath failed: $ERR"
IFS='|' read -r kind name ns phase ctrs node <<<"$OUT"
assert_eq Pod "$kind" "gnu: kind"
assert_eq gnu "$name" "gnu: metadata.name"
assert_eq default "$ns" "gnu: metadata.namespace"
assert_eq Running "$phase" "gnu: status.phase"
assert_eq main "$ctrs" "gnu: container names"
[ -n "$node" ] || fail "gnu: spec.nodeName is empty (a real API server refuses exec into an unscheduled pod)"

capture kc get pod multi -o 'jsonpath={.spec.containers[*].name}|{.metadata.annotations.kubectl\.kubernetes\.io/default-container}|{.status.containerStatuses[*].name}'
assert_eq 0 "$RC" "get pod multi failed: $ERR"
assert_eq "sidecar app|app|sidecar app" "$OUT" "multi: containers, default-container annotation, containerStatuses"

capture kc get pod pending -o 'jsonpath={.status.phase}'
assert_eq 0 "$RC" "get pod pending failed: $ERR"
assert_eq Pending "$OUT" "pending: phase"

# list: the default namespace (from the kubeconfig context)
expect_default="pod/busybox pod/demo pod/gnu pod/multi pod/nonroot pod/noshell pod/notar pod/pending pod/rofs pod/small"
capture kc get pods -o name
assert_eq 0 "$RC" "get pods failed: $ERR"
assert_eq "$expect_default" "$(printf '%s\n' "$OUT" | sort | tr '\n' ' ' | sed 's/ $//')" "get pods (default namespace)"

# the human-readable table lists the same pods
capture kc get pods
assert_eq 0 "$RC" "get pods (table) failed: $ERR"
assert_contains "$(printf '%s\n' "$OUT" | head -n 1)" NAME "get pods: header line"
assert_eq "busybox demo gnu multi nonroot noshell notar pending rofs small" \
    "$(printf '%s\n' "$OUT" | tail -n +2 | awk '{print $1}' | sort | tr '\n' ' ' | sed 's/ $//')" \
    "get pods: table rows"

# another namespace
capture kc get pods -n team-a -o name
assert_eq 0 "$RC" "get pods -n team-a failed: $ERR"
assert_eq "pod/web" "$OUT" "get pods -n team-a"
capture kc get pod web -n team-a -o 'jsonpath={.metadata.namespace}/{.metadata.name} {.status.phase}'
assert_eq "team-a/web Running" "$OUT" "get pod web -n team-a"

# all namespaces
capture kc get pods -A -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}'
assert_eq 0 "$RC" "get pods -A failed: $ERR"
assert_eq 11 "$(printf '%s\n' "$OUT" | grep -c .)" "get pods -A: number of pods"
assert_contains "$OUT" "team-a/web" "get pods -A includes team-a/web"
assert_contains "$OUT" "default/gnu" "get pods -A includes default/gnu"

# label selector
capture kc get pods -l app=gnu -o name
assert_eq 0 "$RC" "get pods -l app=gnu failed: $ERR"
assert_eq "pod/gnu" "$OUT" "get pods -l app=gnu"
capture kc get pods -l app=nosuch -o name
assert_eq 0 "$RC" "get pods -l app=nosuch failed: $ERR"
assert_eq "" "$OUT" "get pods -l app=nosuch lists nothing"

# not found
capture kc get pod nosuch
assert_eq 1 "$RC" "get pod nosuch: exit code"
assert_contains "$ERR" 'pods "nosuch" not found' "get pod nosuch: message"
assert_contains "$ERR" 'Error from server (NotFound)' "get pod nosuch: NotFound"
capture kc get pod gnu -n team-a
assert_eq 1 "$RC" "get pod gnu -n team-a: exit code"
assert_contains "$ERR" 'pods "gnu" not found' "gnu is not in team-a"

echo "PASS: kubectl.get"
