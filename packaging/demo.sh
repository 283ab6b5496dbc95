#!/usr/bin/env bash
# packaging/demo.sh: the README's first command. Installs what podfs needs,
# builds it, starts kube-sim (the bundled emulated cluster) with its demo
# pod, and shows the pod's files through podfs. On a terminal it then
# waits so you can try podfs yourself; everything is stopped and removed
# when it ends (Enter, Ctrl-C, or any failure).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "demo: run as root (sudo is not installed)" >&2; exit 1; }
    exec sudo -E "$0" "$@"
fi

"$root/packaging/install-deps.sh"
cmake -S "$root" -B "$root/build" >/dev/null
cmake --build "$root/build" -j "$(nproc)" >/dev/null
export PATH="$root/build:$PATH"

# shellcheck source=../tests/lib/sim.sh
. "$root/tests/lib/sim.sh"
SIM_TIMEOUT=${SIM_TIMEOUT:-3600} sim_start

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
say "podfs exec demo -- ls -la /srv/demo"
podfs exec demo -- ls -la /srv/demo
say "podfs exec demo -- cat /srv/demo/hello.txt"
podfs exec demo -- cat /srv/demo/hello.txt
say "podfs exec demo -- sh -c 'echo to stderr >&2; exit 3'   # exit code passes through"
podfs exec demo -- sh -c 'echo to stderr >&2; exit 3' || echo "(exit code $?)"
say "podfs exec -i demo -- sha256sum   # stdin, binary-safe"
head -c 1048576 /dev/urandom | tee "$SIM_WORK/rand" | podfs exec -i demo -- sha256sum
sha256sum <"$SIM_WORK/rand"

if [ -t 0 ] && [ -t 1 ]; then
    cat <<TXT

kube-sim is running with pods: $(KUBECONFIG=$KUBECONFIG kubectl get pods -o name 2>/dev/null | tr '\n' ' ')
In another shell, as root:
    export KUBECONFIG=$KUBECONFIG PATH=$root/build:\$PATH
    podfs exec gnu -- sh -c 'uname -a; ls /srv/demo'
    kubectl get pods
Press Enter to stop kube-sim and clean up.
TXT
    read -r _
fi
echo "demo: done"
