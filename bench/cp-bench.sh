#!/usr/bin/env bash
# bench/cp-bench.sh [--exec-delay-ms N] [--msg-delay-ms N] [--pod POD] [--big]
# podfs cp vs kubectl cp against kube-sim (not a ctest test; needs root).
#
# Builds shared/bench/make-tree.sh's data set in the pod's rootfs
# (/srv/fsbench: the 256 MiB file, the 20,000-file tree of 200 dirs; with
# --big also a 1 GiB file), sets kube-sim's exec start delay and
# per-message delay (default 50 ms / 1 ms) and copies, each way:
#   the 256 MiB file (--big: and the 1 GiB file)   podfs cp / kubectl cp
#   the 20,000-file tree                           podfs cp / kubectl cp
# into a fresh directory each time (download: local tmpfs /dev/shm when
# there is room, else SIM_WORK; upload: a fresh directory in the pod).
#
# Prints a markdown table: workload | tool | seconds | MB/s | exec calls |
# MB on the wire | result check.
#   exec calls     exec requests in kube-sim's request log during the run
#   MB on the wire 10^6 bytes kube-sim sent (download) or received (upload)
#                  on those exec connections, from the request log
#   MB/s           10^6 bytes of the copied file(s) per second
#   result check   ok / MISMATCH: sha256 of every file against the source
# (Sums go through printf "%.0f", never "%d": mawk clips %d at 2^31-1.)
# Environment: PODFS_BUILD (default <repo>/build), KUBECTL.
set -euo pipefail
# shellcheck source=tests/lib/sim.sh
. "$(dirname -- "$0")/../tests/lib/sim.sh"

EXEC_DELAY=50 MSG_DELAY=1 POD=gnu BIG=0
while [ $# -gt 0 ]; do
    case $1 in
        --exec-delay-ms) EXEC_DELAY=${2:-}; shift ;;
        --msg-delay-ms) MSG_DELAY=${2:-}; shift ;;
        --pod) POD=${2:-}; shift ;;
        --big) BIG=1 ;;
        -h | --help) sed -n '2,3p' "$0" | sed 's/^# //' >&2; exit 2 ;;
        *) echo "cp-bench: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
PODFS=$PODFS_BUILD/podfs
MAKE_TREE=${MAKE_TREE:-/work/shared/bench/make-tree.sh}
[ -x "$PODFS" ] || fail "podfs not built: $PODFS"
[ -f "$MAKE_TREE" ] || fail "make-tree.sh not found (set MAKE_TREE)"
command -v "$KUBECTL" >/dev/null 2>&1 || fail "kubectl ($KUBECTL) not found"

sim_start --exec-delay-ms "$EXEC_DELAY" --msg-delay-ms "$MSG_DELAY"
root=$(sim_rootfs "$POD")
echo "cp-bench: building the data set in $root/srv" >&2
bash "$MAKE_TREE" "$root/srv" >&2
if [ "$BIG" = 1 ]; then
    head -c $((1024 * 1024 * 1024)) /dev/urandom > "$root/srv/fsbench/big/big-1G.bin"
fi
local_base=$SIM_WORK
avail=$(df -k --output=avail /dev/shm 2>/dev/null | tail -1 || echo 0)
if [ "${avail:-0}" -gt $((3 * 1024 * 1024)) ]; then
    local_base=$(mktemp -d /dev/shm/podfs-cp-bench.XXXXXX)
    sim_on_cleanup "rm -rf -- '$local_base'"
fi
# the local copy of the sources for the uploads
cp -a "$root/srv/fsbench" "$local_base/src"

rows=()
wire_field=bytes_out
# wire_bytes: the sum of $wire_field over the exec lines of the log
wire_bytes() {
    sim_exec_log | awk -v f="$wire_field" -F"\"$wire_field\":" 'NF>1{split($2,a,/[,}]/); s+=a[1]} END{printf "%.0f", s}'
}

# tree_sums PATH: sha256 of PATH (a file) or of every file below it
tree_sums() {
    if [ -d "$1" ]; then
        (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    else
        sha256sum < "$1"
    fi
}

# run NAME TOOL CHECK_SRC CHECK_DST CMD...: time CMD, count execs and
# bytes; CHECK_SRC/CHECK_DST: the copied file, or the copied directory
run() {
    local name=$1 tool=$2 csrc=$3 cdst=$4 t0 t1 n0 n1 b0 b1 secs mb check bytes
    shift 4
    sync
    echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
    sleep 1 # sessions of the run before are logged when they end
    n0=$(sim_exec_count)
    b0=$(wire_bytes)
    t0=$(date +%s.%N)
    if ! "$@" >/dev/null 2>"$SIM_WORK/bench.err"; then
        echo "cp-bench: $name ($tool) failed:" >&2
        cat "$SIM_WORK/bench.err" >&2
    fi
    t1=$(date +%s.%N)
    sleep 1.5
    n1=$(sim_exec_count)
    b1=$(wire_bytes)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
    # the bytes copied: the one file, or every file of the tree (not the
    # whole directory the file sits in)
    bytes=$(find "$csrc" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f", s}')
    mb=$(awk -v s="$secs" -v b="$bytes" 'BEGIN{printf "%.1f", (s > 0) ? b / s / 1e6 : 0}')
    if [ -e "$cdst" ] && diff <(tree_sums "$csrc") <(tree_sums "$cdst") >/dev/null 2>&1; then
        check=ok
    else
        check=MISMATCH
    fi
    rows+=("| $name | $tool | $secs | $mb | $((n1 - n0)) | $(awk -v a="$b0" -v b="$b1" 'BEGIN{printf "%.1f", (b-a)/1e6}') | $check |")
    echo "cp-bench: $name $tool: $secs s" >&2
}

big_files=(seq-256M.bin)
[ "$BIG" = 1 ] && big_files+=(big-1G.bin)
P=/srv/fsbench
i=0
# --- downloads ---
wire_field=bytes_out
for f in "${big_files[@]}"; do
    for tool in podfs kubectl; do
        i=$((i + 1)); d=$local_base/d$i; mkdir -p "$d"
        if [ $tool = podfs ]; then
            run "download $f" podfs "$root$P/big/$f" "$d/$f" "$PODFS" cp -q "$POD:$P/big/$f" "$d/$f"
        else
            run "download $f" kubectl "$root$P/big/$f" "$d/$f" "$KUBECTL" cp "$POD:$P/big/$f" "$d/$f"
        fi
        rm -rf -- "$d"
    done
done
for tool in podfs kubectl; do
    i=$((i + 1)); d=$local_base/d$i
    if [ $tool = podfs ]; then
        run "download 20,000-file tree" podfs "$root$P/tree" "$d" "$PODFS" cp -q "$POD:$P/tree" "$d"
    else
        run "download 20,000-file tree" kubectl "$root$P/tree" "$d" "$KUBECTL" cp "$POD:$P/tree" "$d"
    fi
    rm -rf -- "$d"
done
# --- uploads ---
wire_field=bytes_in
for f in "${big_files[@]}"; do
    for tool in podfs kubectl; do
        i=$((i + 1)); mkdir -p "$root/srv/u$i"
        if [ $tool = podfs ]; then
            run "upload $f" podfs "$local_base/src/big/$f" "$root/srv/u$i/$f" "$PODFS" cp -q "$local_base/src/big/$f" "$POD:/srv/u$i/$f"
        else
            run "upload $f" kubectl "$local_base/src/big/$f" "$root/srv/u$i/$f" "$KUBECTL" cp "$local_base/src/big/$f" "$POD:/srv/u$i/$f"
        fi
        rm -rf -- "$root/srv/u$i"
    done
done
for tool in podfs kubectl; do
    i=$((i + 1))
    if [ $tool = podfs ]; then
        run "upload 20,000-file tree" podfs "$local_base/src/tree" "$root/srv/u$i" "$PODFS" cp -q "$local_base/src/tree" "$POD:/srv/u$i"
    else
        run "upload 20,000-file tree" kubectl "$local_base/src/tree" "$root/srv/u$i" "$KUBECTL" cp "$local_base/src/tree" "$POD:/srv/u$i"
    fi
    rm -rf -- "$root/srv/u$i"
done

echo
echo "podfs cp vs kubectl cp, pod $POD, kube-sim exec start delay ${EXEC_DELAY} ms, per-message delay ${MSG_DELAY} ms"
echo "(podfs cp defaults: --parallel 4, --chunk 4M; client caches dropped before each run)"
echo
echo "| workload | tool | seconds | MB/s | exec calls | MB on the wire | result |"
echo "| --- | --- | ---: | ---: | ---: | ---: | --- |"
printf '%s\n' "${rows[@]}"
