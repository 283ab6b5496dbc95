#!/usr/bin/env bash
# bench/exec-bench.sh [SIZE_MIB]: podfs exec vs kubectl exec throughput
# against kube-sim (not a ctest test; needs root, like the tests).
#
# Starts a kube-sim (tests/lib/sim.sh), puts a SIZE_MIB (default 256) MiB
# random file into the gnu pod's rootfs and, for two kube-sim latency
# settings (exec_delay_ms/msg_delay_ms 0/0 and 50/1), prints a table:
#
#   podfs   exec gnu -- cat BIG > /dev/null
#   kubectl exec gnu -- cat BIG > /dev/null
#   podfs   exec -i gnu -- sh -c 'cat > /dev/null' < BIG
#   kubectl exec -i gnu -- sh -c 'cat > /dev/null' < BIG
#
# with the best of 3 wall-clock times (the whole command: process start,
# kubeconfig, pod GET, exec), MB/s (10^6 bytes), exec sessions per run
# (from kube-sim's request log) and podfs/kubectl time ratio (< 1: podfs is
# faster). Environment: PODFS_BUILD (default <repo>/build), KUBECTL.
set -euo pipefail
# shellcheck source=tests/lib/sim.sh
. "$(dirname -- "$0")/../tests/lib/sim.sh"

SIZE_MIB=${1:-256}
case $SIZE_MIB in '' | *[!0-9]*) echo "usage: $0 [SIZE_MIB]" >&2; exit 2 ;; esac
RUNS=3
PODFS=$PODFS_BUILD/podfs
[ -x "$PODFS" ] || fail "podfs not built: $PODFS"
command -v "$KUBECTL" >/dev/null 2>&1 || fail "kubectl ($KUBECTL) not found"

sim_start
BIG_IN_POD=/tmp/bench-big.bin
BIG=$SIM_WORK/big.bin
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$BIG"
cp "$BIG" "$(sim_rootfs gnu)$BIG_IN_POD"
BYTES=$((SIZE_MIB * 1024 * 1024))
export KC_TIMEOUT=300 PF_TIMEOUT=300

# warm up: kubectl's discovery cache, the page cache, both binaries
kc exec gnu -- true
"$PODFS" exec gnu -- true
cat "$BIG" >/dev/null

exec_count() { grep -c '"kind":"exec"' "$SIM_STATE/requests.jsonl" || true; }

# measure TOOL MODE: best of $RUNS; sets BEST (seconds, 3 decimals) and CALLS
measure() {
    local tool=$1 mode=$2 i t0 t1 best=0 n0 n1 cmd
    if [ "$tool" = podfs ]; then cmd=("$PODFS"); else cmd=("$KUBECTL"); fi
    n0=$(exec_count)
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        if [ "$mode" = down ]; then
            run_timeout 300 "${cmd[@]}" exec gnu -- cat "$BIG_IN_POD" >/dev/null
        else
            run_timeout 300 "${cmd[@]}" exec -i gnu -- sh -c 'cat > /dev/null' <"$BIG"
        fi || fail "$tool $mode: run $i failed"
        t1=$(date +%s%N)
        if [ "$best" -eq 0 ] || [ $((t1 - t0)) -lt "$best" ]; then best=$((t1 - t0)); fi
    done
    sleep 0.3 # sessions are logged when their connection ends
    n1=$(exec_count)
    BEST=$(awk -v ns="$best" 'BEGIN { printf "%.3f", ns / 1e9 }')
    CALLS=$(awk -v d=$((n1 - n0)) -v r="$RUNS" 'BEGIN { printf "%g", d / r }')
}

row() { # LABEL SECONDS CALLS RATIO
    printf '| %-58s | %8s | %8s | %5s | %13s |\n' "$1" "$2" \
        "$(awk -v b="$BYTES" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }')" "$3" "$4"
}

table() { # EXEC_DELAY MSG_DELAY
    local pd pc kd kcalls pu puc ku kuc
    sim_knob exec_delay_ms="$1" msg_delay_ms="$2" >/dev/null
    measure podfs down; pd=$BEST pc=$CALLS
    measure kubectl down; kd=$BEST kcalls=$CALLS
    measure podfs up; pu=$BEST puc=$CALLS
    measure kubectl up; ku=$BEST kuc=$CALLS
    echo
    echo "kube-sim exec_delay_ms=$1 msg_delay_ms=$2; file $SIZE_MIB MiB; best of $RUNS; $(nproc) CPUs"
    printf '| %-58s | %8s | %8s | %5s | %13s |\n' "command" "seconds" "MB/s" "execs" "podfs/kubectl"
    printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "----------" "----------" "-------" "---------------"
    row "podfs exec gnu -- cat BIG > /dev/null" "$pd" "$pc" "$(awk -v a="$pd" -v b="$kd" 'BEGIN { printf "%.2f", a / b }')"
    row "kubectl exec gnu -- cat BIG > /dev/null" "$kd" "$kcalls" "-"
    row "podfs exec -i gnu -- sh -c 'cat > /dev/null' < BIG" "$pu" "$puc" "$(awk -v a="$pu" -v b="$ku" 'BEGIN { printf "%.2f", a / b }')"
    row "kubectl exec -i gnu -- sh -c 'cat > /dev/null' < BIG" "$ku" "$kuc" "-"
}

echo "podfs $("$PODFS" --version 2>/dev/null || echo '?'); $("$KUBECTL" version --client 2>/dev/null | head -n 1)"
table 0 0
table 50 1
