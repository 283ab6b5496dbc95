#!/usr/bin/env bash
# kubectl.version-check: the kubectl on PATH (or $KUBECTL) exists and is at
# least 1.30 (WebSocket v5 exec). Every other kubectl.* test needs it; this one
# fails loudly instead of letting them fail obscurely. Needs no kube-sim.
set -euo pipefail
. "$(dirname -- "$0")/../lib/sim.sh"

MIN_MINOR=30
command -v "$KUBECTL" >/dev/null 2>&1 \
    || fail "kubectl not found (KUBECTL=$KUBECTL). The kubectl tests need kubectl >= 1.$MIN_MINOR;" \
            "Debian's kubernetes-client package (1.20, SPDY only) is NOT enough."

HOME=$(mktemp -d "${TMPDIR:-/tmp}/podfs-kubectl-home.XXXXXX")
trap 'rm -rf -- "$HOME"' EXIT
export HOME
export KUBECONFIG=/nonexistent
capture run_timeout 30 "$KUBECTL" version --client -o json
[ "$RC" -eq 0 ] || fail "'$KUBECTL version --client -o json' failed (rc $RC): $ERR"

# "clientVersion": { "major": "1", "minor": "32+", "gitVersion": "v1.32.4-dispatcher", ...
client=$(printf '%s\n' "$OUT" | tr -d '\n' | sed -n 's/.*"clientVersion"[[:space:]]*:[[:space:]]*{\([^}]*\)}.*/\1/p')
[ -n "$client" ] || fail "no clientVersion in: $OUT"
field() {
    printf '%s\n' "$client" | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"
}
major=$(field major)
minor=$(field minor)
git=$(field gitVersion)
minor_num=${minor%%[!0-9]*}
if [ -z "$major" ] || [ -z "$minor_num" ]; then
    fail "cannot parse the client version (major='$major' minor='$minor') from: $OUT"
fi
echo "kubectl: $(command -v "$KUBECTL") $git (major $major, minor $minor)"
if [ "$major" -ne 1 ] || [ "$minor_num" -lt "$MIN_MINOR" ]; then
    fail "kubectl $git is too old: the kubectl tests need >= 1.$MIN_MINOR (WebSocket exec)"
fi
echo "PASS: kubectl.version-check"
