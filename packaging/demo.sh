#!/usr/bin/env bash
# packaging/demo.sh: the README's first command. Installs what podfs needs,
# builds it, starts kube-sim (the bundled emulated cluster) with its demo
# pod, mounts the pod's filesystem with podfs and lists it. On a terminal
# it then waits so you can look around; the mount, kube-sim and the temp
# files are removed when it ends (Enter, Ctrl-C, or any failure).
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
mnt=$SIM_WORK/demo-mount
mkdir -p "$mnt"
sim_on_cleanup 'sim_is_mounted "$mnt" && { podfs umount "$mnt" || fusermount3 -uz "$mnt"; }'

say "podfs mount demo:/ $mnt"
podfs mount demo:/ "$mnt"
say "ls -la $mnt"
ls -la "$mnt"
say "ls -la $mnt/srv/demo"
ls -la "$mnt/srv/demo"
say "cat $mnt/srv/demo/hello.txt"
cat "$mnt/srv/demo/hello.txt"
say "sha256sum $mnt/srv/demo/bin.dat   # the same bytes as in the pod"
sha256sum "$mnt/srv/demo/bin.dat"
podfs exec demo -- sha256sum /srv/demo/bin.dat
say "echo 'written through the mount' > $mnt/srv/demo/new.txt; podfs exec demo -- cat /srv/demo/new.txt"
echo 'written through the mount' >"$mnt/srv/demo/new.txt"
podfs exec demo -- cat /srv/demo/new.txt
say "mv $mnt/srv/demo/new.txt $mnt/srv/demo/renamed.txt; chmod 600 ...; ls -l $mnt/srv/demo"
mv "$mnt/srv/demo/new.txt" "$mnt/srv/demo/renamed.txt"
chmod 600 "$mnt/srv/demo/renamed.txt"
ls -l "$mnt/srv/demo"
rm "$mnt/srv/demo/renamed.txt"
say "podfs stats $mnt"
podfs stats "$mnt"
say "podfs cp demo:/srv/demo $SIM_WORK/copy   # no tar needed; resumable"
podfs cp demo:/srv/demo "$SIM_WORK/copy"
ls -l "$SIM_WORK/copy"
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
The demo pod is mounted (read-only) on $mnt. In another shell, as root:
    ls $mnt/etc; grep -r hello $mnt/srv
    export KUBECONFIG=$KUBECONFIG PATH=$root/build:\$PATH
    podfs exec gnu -- sh -c 'uname -a; ls /srv/demo'
    kubectl get pods
Press Enter to stop kube-sim and clean up.
TXT
    read -r _
fi
echo "demo: done"
