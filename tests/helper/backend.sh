#!/usr/bin/env bash
# backend.sh POD: helper/backend.c against a kube-sim pod, compared with
# the rootfs on disk, including hostile names made on disk first.
set -euo pipefail
. "$(dirname "$0")/../lib/sim.sh"
pod=${1:?usage: backend.sh POD}
sim_start
root=$(sim_rootfs "$pod")
h="$root/srv/hostile"
mkdir -p "$h/sub dir"
for n in "with space" "it's" $'new\nline' '$(touch PWNED)' '`touch PWNED`' "-rf" "--" "*" $'\xff\xfe' \
         'back\slash' 'a"b' $'tab\t' "$(printf 'n%.0s' $(seq 255))" ".hidden" "..dots" ".x"; do
    printf '%s' "$n" > "$h/$n"
done
ln -s "it's" "$h/link to quote"
ln -s "/nonexistent/target" "$h/dangling"
mkfifo "$h/fifo"
head -c 3000000 /dev/urandom > "$h/sub dir/big.bin"
: > "$h/empty"
chmod 640 "$h/empty"; chown 1000:1000 "$h/empty"
run_timeout 120 "$PODFS_BUILD/tests/helper/backend_test" "$pod" "$root" /srv || fail "backend_test on $pod"
[ ! -e "$root/PWNED" ] || fail "an injected command ran in the pod"
echo "PASS: backend on $pod"
