#!/usr/bin/env bash
# bench/mount-bench.sh [--big] [--exec-delay-ms N] [--msg-delay-ms N]
#                      [--kc-reads N] [--cold-server] [--only WORKLOADS]
# podfs mount vs kubectl on the standard data set, against kube-sim (not a
# ctest test; needs root and /dev/fuse, like the mount tests).
#
# Starts a kube-sim (tests/lib/sim.sh), builds shared/bench/make-tree.sh's
# data set directly in the gnu pod's rootfs (/srv/fsbench: 256 MiB file,
# 5,000-entry dir, 20,000-file tree of 200 dirs) plus a 10,000-entry dir
# (/srv/ls10000) and, with --big, a 1 GiB file (/srv/big-1G.bin), sets
# kube-sim's exec start delay and per-message delay (default 50 ms / 1 ms)
# and runs every workload through a fresh podfs mount of gnu:/srv and with
# the kubectl equivalent:
#
#   ls -l of 5,000 and of 10,000 entries     kubectl exec gnu -- ls -l DIR
#   find over the tree                        kubectl exec gnu -- find DIR
#   grep -r NEEDLE over the tree              kubectl exec gnu -- grep -r ...,
#                                             and kubectl cp + local grep -r
#   cp -r of the tree to tmpfs (/dev/shm)     kubectl cp gnu:DIR LOCAL
#   cat of the 256 MiB (--big: 1 GiB) file    kubectl exec gnu -- cat FILE, and
#                                             podfs exec gnu -- cat FILE
#   1,000 random 4 KiB reads of the 256 MiB   one kubectl exec dd per read
#   file (pread from a small C program)       (only --kc-reads of them, default
#                                             50: the table says so, and the
#                                             time for 1,000 is extrapolated
#                                             under it)
#   ls -lR of the tree twice, mounted with    kubectl exec gnu -- ls -lR DIR,
#   -o attr_timeout=60                        twice
#   cp of the 256 MiB (--big: and 1 GiB)      kubectl cp LOCAL gnu:PATH
#   file into the pod
#   cp -r of the tree into the pod            kubectl cp LOCAL gnu:DIR
#   1,000 creates (echo > f$i in a loop)      kubectl exec gnu -- sh -c LOOP
#
# --only WORKLOADS: a comma list of the rows to run (podfs and kubectl
# alike), by these names: ls (ls -l of 5,000 and 10,000), find, grep,
# cpout (cp -r to tmpfs), cat, rr (random reads), lsR, write (the big file
# into the pod), cpin (cp -r into the pod), creates. Default: all.
#
# Before every run: sync, echo 3 > /proc/sys/vm/drop_caches (client caches
# cold; the mount is fresh too), then the files the workload reads are read
# once on disk, so the pod side starts warm like shared/bench/ANCHORS.md's
# sshfs numbers (--cold-server: skip that, the pod side reads from disk).
#
# Prints a markdown table: workload | tool | seconds | exec calls | shell
# requests | MB read | daemon peak RSS | result check.
#   seconds         wall clock of the workload alone (podfs: mount not
#                   included; mount times are listed under the table)
#   exec calls      exec requests in kube-sim's request log during the run
#                   (podfs: from mount to unmount, the mount's own included)
#   shell requests  podfs stats shell_requests during the workload
#   MB read         10^6 bytes the API server sent on those exec
#                   connections (wire bytes: TLS, WebSocket framing and
#                   podfs's own encoding included), from the request log
#   daemon peak RSS VmHWM of the podfs daemon just before unmount
#   result check    ok / MISMATCH against the same command on the rootfs on
#                   disk (or against MANIFEST.sha256)
# Environment: PODFS_BUILD (default <repo>/build), KUBECTL.
set -euo pipefail
# shellcheck source=tests/lib/sim.sh
. "$(dirname -- "$0")/../tests/lib/sim.sh"

usage() {
    sed -n '2,3p' "$0" | sed 's/^# //' >&2
    exit 2
}
EXEC_DELAY=50 MSG_DELAY=1 BIG=0 KC_READS=50 WARM=1 ONLY=
WORKLOADS=ls,find,grep,cpout,cat,rr,lsR,write,cpin,creates
while [ $# -gt 0 ]; do
    case $1 in
        --big) BIG=1 ;;
        --exec-delay-ms) EXEC_DELAY=${2:-}; shift ;;
        --msg-delay-ms) MSG_DELAY=${2:-}; shift ;;
        --kc-reads) KC_READS=${2:-}; shift ;;
        --cold-server) WARM=0 ;;
        --only) ONLY=${2:-}; shift ;;
        -h | --help) usage ;;
        *) echo "mount-bench: unknown argument $1" >&2; usage ;;
    esac
    shift
done
for v in "$EXEC_DELAY" "$MSG_DELAY" "$KC_READS"; do
    case $v in '' | *[!0-9]*) usage ;; esac
done
if [ -n "$ONLY" ]; then
    for v in ${ONLY//,/ }; do
        case ,$WORKLOADS, in *,"$v",*) ;; *) echo "mount-bench: unknown workload $v (known: $WORKLOADS)" >&2; usage ;; esac
    done
fi
# want NAME: the workload NAME is to run (--only)
want() { [ -z "$ONLY" ] || case ,$ONLY, in *,"$1",*) true ;; *) false ;; esac; }

PODFS=$PODFS_BUILD/podfs
MAKE_TREE=${MAKE_TREE:-$PODFS_SRC/../shared/bench/make-tree.sh}
[ -f "$MAKE_TREE" ] || MAKE_TREE=/work/shared/bench/make-tree.sh
[ -x "$PODFS" ] || fail "podfs not built: $PODFS"
[ -f "$MAKE_TREE" ] || fail "make-tree.sh not found (set MAKE_TREE)"
command -v "$KUBECTL" >/dev/null 2>&1 || fail "kubectl ($KUBECTL) not found"
[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null 2>&1 || skip "no fusermount3 (package fuse3)"
[ -w /proc/sys/vm/drop_caches ] || skip "needs root (drop_caches)"

RR_N=1000          # random reads through the mount
RR_SEED=20261123   # their offsets: the same on every run
WORKLOAD_TIMEOUT=900
export KC_TIMEOUT=$WORKLOAD_TIMEOUT
# kube-sim exits after SIM_TIMEOUT seconds; --big runs longer than 15 min
export SIM_TIMEOUT=${SIM_TIMEOUT:-7200}

log() { echo "mount-bench: $*" >&2; }
# run_bg CMD...: CMD as a background job, waited for: an INT or TERM then runs
# the clean-up at once (bash defers traps while a foreground command runs,
# and timeout(1) keeps Ctrl-C from reaching CMD)
run_bg() {
    "$@" &
    wait $!
}
START=$(date +%s)
# which podfs: the source tree's commit and the binary's build time (the
# build directory may be rebuilt from a dirty tree while we run)
bin_time() { date -u -r "$PODFS_BUILD/podfs" '+%F %T UTC' 2>/dev/null || echo '?'; }
PODFS_BIN0=$(bin_time) REBUILT=
PODFS_VER="$(git -C "$PODFS_SRC" describe --always --dirty 2>/dev/null || echo 'no git'), binary built $PODFS_BIN0"

# ---------------------------------------------------------------------------
# set-up: cluster, data set, knobs

sim_start
ROOT=$(sim_rootfs gnu)
P_SRV=/srv                      # the mount's target in the pod
P_B=$P_SRV/fsbench              # make-tree's data set (pod path)
D_B=$ROOT$P_B                   # ... and on disk
P_TREE=$P_B/tree D_TREE=$D_B/tree
P_L5=$P_B/ls5000 D_L5=$D_B/ls5000
P_L10=$P_SRV/ls10000 D_L10=$ROOT$P_SRV/ls10000
P_BIG=$P_B/big/seq-256M.bin D_BIG=$D_B/big/seq-256M.bin
P_GIG=$P_SRV/big-1G.bin D_GIG=$ROOT$P_SRV/big-1G.bin
SHM=$(mktemp -d /dev/shm/podfs-mount-bench.XXXXXX)
OUT=$SIM_WORK/out
mkdir -p -- "$ROOT$P_SRV" "$OUT"

_MB_MNTS=() _MB_PIDS=()
# clean-up (first thing at exit, before kube-sim stops): our own mounts
# and daemons only, by mount point and by pid
_mb_cleanup() {
    local m p
    for m in "${_MB_MNTS[@]}"; do
        if sim_is_mounted "$m"; then
            fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        fi
    done
    for p in "${_MB_PIDS[@]}"; do
        _mb_is_daemon "$p" && kill -TERM "$p" 2>/dev/null
    done
    rm -rf --one-file-system -- "$SHM"
    return 0
}
sim_on_cleanup _mb_cleanup

log "building the data set in $ROOT$P_SRV"
t0=$(date +%s)
run_bg "$MAKE_TREE" "$ROOT$P_SRV" 2>"$SIM_WORK/make-tree.log" || { cat "$SIM_WORK/make-tree.log" >&2; fail "make-tree.sh"; }
expect() { sed -n "s/^$1=//p" "$D_B/EXPECT"; }
tree_files=$(expect tree_files) tree_dirs=$(expect tree_dirs)
needle_lines=$(expect needle_lines) big_bytes=$(expect big_bytes)
mkdir -p -- "$D_L10"
awk -v base="$D_L10" 'BEGIN { for (i = 0; i < 10000; i++) {
    p = sprintf("%s/entry-%05d.txt", base, i); print "entry " i > p; close(p) } }'
[ "$(find "$D_L10" -type f | wc -l)" -eq 10000 ] || fail "10,000-entry dir"
if [ "$BIG" = 1 ]; then
    openssl enc -aes-128-ctr -nosalt -K ffeeddccbbaa99887766554433221100 \
        -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null \
        | head -c $((1024 * 1024 * 1024)) >"$D_GIG" || true
    [ "$(stat -c %s "$D_GIG")" = $((1024 * 1024 * 1024)) ] || fail "1 GiB file short"
    GIG_SUM=$(sha256sum <"$D_GIG" | cut -d' ' -f1)
fi
BIG_SUM=$(awk '$2 == "big/seq-256M.bin" { print $1 }' "$D_B/MANIFEST.sha256")
log "data set ready in $(($(date +%s) - t0)) s"
DIGEST=$(sha256sum <"$D_B/MANIFEST.sha256" | cut -c1-16)
KC_RR_NOTE=

# the random-read program: pread of 4 KiB at each offset of a list
RR=
if command -v cc >/dev/null 2>&1; then
    cat >"$SIM_WORK/rr.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
/* rr FILE OFFSETS OUT: pread 4 KiB at every offset (one a line) of FILE,
 * write the blocks to OUT in order */
int main(int argc, char **argv)
{
	char buf[4096];
	long long off;
	FILE *in, *out;
	int fd;

	if (argc != 4 || (fd = open(argv[1], O_RDONLY)) < 0 || !(in = fopen(argv[2], "r")) ||
	    !(out = fopen(argv[3], "w")))
		return 2;
	while (fscanf(in, "%lld", &off) == 1) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);

		if (n < 0 || fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			return 1;
	}
	return fclose(out) ? 1 : 0;
}
EOF
    cc -O2 -o "$SIM_WORK/rr" "$SIM_WORK/rr.c" && RR=$SIM_WORK/rr
fi
# offsets: 4 KiB-aligned, Park-Miller LCG (the same list on every machine)
awk -v n="$RR_N" -v x="$RR_SEED" -v blocks=$((big_bytes / 4096)) 'BEGIN {
    for (i = 0; i < n; i++) { x = (x * 16807) % 2147483647; print (x % blocks) * 4096 } }' >"$SIM_WORK/offsets"
# rr_run FILE OUTFILE [N]: the first N (default all) reads
rr_run() {
    if [ -n "$RR" ]; then
        head -n "${3:-$RR_N}" "$SIM_WORK/offsets" >"$SIM_WORK/offsets.n"
        "$RR" "$1" "$SIM_WORK/offsets.n" "$2"
    else
        local o
        : >"$2"
        while read -r o; do
            dd if="$1" bs=4096 count=1 skip=$((o / 4096)) status=none >>"$2" || return 1
        done < <(head -n "${3:-$RR_N}" "$SIM_WORK/offsets")
    fi
}

# reference outputs, from the rootfs on disk
rr_run "$D_BIG" "$OUT/rr.ref"
rr_run "$D_BIG" "$OUT/rr.ref.kc" "$KC_READS"
(cd "$D_L5" && ls -l) >"$OUT/ls5.ref"
(cd "$D_L10" && ls -l) >"$OUT/ls10.ref"

# warm up kubectl's discovery cache and both binaries
kc exec gnu -- true >/dev/null
"$PODFS" exec gnu -- true >/dev/null

sim_knob exec_delay_ms="$EXEC_DELAY" msg_delay_ms="$MSG_DELAY" >/dev/null

# ---------------------------------------------------------------------------
# helpers

# norm PREFIX: replaces PREFIX at the start of a line (find, grep -r and
# ls -lR headers) with "."
norm() { P=$1 awk 'BEGIN { p = ENVIRON["P"] } index($0, p) == 1 { $0 = "." substr($0, length(p) + 1) } { print }'; }

now() { date +%s%N; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }

# cold WHAT...: drop every cache, then warm the pod side unless
# --cold-server: read every file of WHAT (a file or a dir) on disk, or with
# stat:DIR, only stat everything under DIR
cold() {
    sync
    echo 3 >/proc/sys/vm/drop_caches
    [ "$WARM" = 1 ] || return 0
    local w
    for w in "$@"; do
        if [ "${w#stat:}" != "$w" ]; then
            ls -lR -- "${w#stat:}" >/dev/null
        elif [ -d "$w" ]; then
            find "$w" -type f -exec cat -- {} + >/dev/null
        else
            cat -- "$w" >/dev/null
        fi
    done
}

# exec lines of the request log so far
log_lines() { sim_exec_count; }

# log_since N: waits until no exec is active and the log is still, then sets
# EXECS (exec lines after the first N) and MB (their bytes_out, 10^6)
log_since() {
    local i a c prev=-1
    for ((i = 0; i < 100; i++)); do
        a=$(sim_knob | sed -n 's/.*"active_execs":\([0-9]*\).*/\1/p')
        c=$(log_lines)
        [ "$a" = 0 ] && [ "$c" = "$prev" ] && break
        prev=$c
        sleep 0.1
    done
    EXECS=$((c - $1))
    MB=$(sim_exec_log | tail -n +$(($1 + 1)) | sed -n 's/.*"bytes_out":\([0-9]*\).*/\1/p' \
        | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')
}

# podfs stats counter
stat_of() { "$PODFS" stats "$1" | awk -v k="$2" '$1 == k { print $2 }'; }

# _mb_is_daemon PID: PID is a podfs mount daemon of ours
_mb_is_daemon() {
    local a
    [ -r "/proc/$1/cmdline" ] || return 1
    mapfile -d '' -t a <"/proc/$1/cmdline" 2>/dev/null || return 1
    [ "${#a[@]}" -ge 4 ] && [ "${a[0]}" = "$PODFS" ] && [ "${a[1]}" = mount ] \
        && case ${a[-1]} in "$SIM_WORK"/mnt.*) true ;; *) false ;; esac
}

# daemon_of MNT: the pid of the daemon serving MNT (argv ends in MNT)
daemon_of() {
    local p a
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ -r "/proc/$p/cmdline" ] || continue
        mapfile -d '' -t a <"/proc/$p/cmdline" 2>/dev/null || continue
        [ "${#a[@]}" -ge 4 ] && [ "${a[0]}" = "$PODFS" ] && [ "${a[1]}" = mount ] \
            && [ "${a[-1]}" = "$1" ] && { echo "$p"; return 0; }
    done
    return 1
}

MOUNT_TIMES=()
# pf_mount [podfs mount options...]: fresh mount of gnu:/srv; sets M, DPID,
# L0 (log lines before the mount), S0 (shell requests after it)
pf_mount() {
    local t0 t1 b
    b=$(bin_time)
    if [ -z "$REBUILT" ] && [ "$b" != "$PODFS_BIN0" ]; then
        REBUILT="WARNING: $PODFS_BUILD/podfs was rebuilt during the run (now built $b); rows from then on measure another binary."
        log "$REBUILT"
    fi
    L0=$(log_lines)
    M=$(mktemp -d -p "$SIM_WORK" mnt.XXXXXX)
    _MB_MNTS+=("$M")
    t0=$(now)
    run_timeout 120 "$PODFS" mount "$@" "gnu:$P_SRV" "$M" 2>>"$SIM_WORK/podfs-mount.log" \
        || { cat "$SIM_WORK/podfs-mount.log" >&2; fail "podfs mount gnu:$P_SRV $M"; }
    t1=$(now)
    mountpoint -q "$M" || fail "$M is not a mount point after podfs mount returned 0"
    MOUNT_TIMES+=("$(secs $((t1 - t0)))")
    DPID=$(daemon_of "$M") || fail "no podfs daemon found for $M"
    _MB_PIDS+=("$DPID")
    S0=$(stat_of "$M" shell_requests)
}

# pf_stop: S1 (shell requests after the workload); call right after it
pf_stop() { S1=$(stat_of "$M" shell_requests); }

# pf_umount: RSS (VmHWM), unmount, wait for the daemon to exit, EXECS, MB
pf_umount() {
    local i
    RSS=$(awk '$1 == "VmHWM:" { printf "%.1f MiB", $2 / 1024 }' "/proc/$DPID/status")
    run_timeout 60 "$PODFS" umount "$M" || fail "podfs umount $M"
    for ((i = 0; i < 100; i++)); do
        _mb_is_daemon "$DPID" || break
        sleep 0.1
    done
    if _mb_is_daemon "$DPID"; then
        log "daemon $DPID still running 10 s after unmount of $M; SIGTERM"
        kill -TERM "$DPID" 2>/dev/null || true
    fi
    rmdir -- "$M" 2>/dev/null || true
    log_since "$L0"
}

ROWS=()
# row WORKLOAD TOOL SECONDS EXECS SHELLREQ MB RSS CHECK
row() {
    ROWS+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s |' "$@")")
    log "$(printf '%s / %s: %s s, %s execs, %s shell requests, %s MB, RSS %s, %s' "$@")"
}

# same A B: ok or MISMATCH (the start of the diff on stderr); B may be -
same() {
    if [ "$2" = - ]; then
        cat >"$SIM_WORK/same.in"
        set -- "$1" "$SIM_WORK/same.in"
    fi
    if cmp -s -- "$1" "$2"; then echo ok; else
        diff -- "$1" "$2" | head -n 5 >&2 || true
        echo MISMATCH
    fi
}

# run_pf WORKLOAD CHECKFN CMD...: cold caches, fresh mount, time CMD
# (word "@M" in CMD is the mount point), CHECKFN MNT prints the result
# check (before unmount), a row
run_pf() {
    local w=$1 check=$2 t0 t1 c a b0 b1 e0 e1 cmd=()
    shift 2
    pf_mount
    for a in "$@"; do cmd+=("${a//@M/$M}"); done
    t0=$(now)
    run_bg run_timeout "$WORKLOAD_TIMEOUT" bash -c '"$@"' _ "${cmd[@]}" || fail "$w: podfs: ${cmd[*]} failed"
    t1=$(now)
    pf_stop
    # (a check that reads the mount again must not count as the workload's)
    b0=$(stat_of "$M" bytes_in) e0=$(stat_of "$M" exec_sessions_opened)
    c=$("$check" "$M")
    b1=$(stat_of "$M" bytes_in) e1=$(stat_of "$M" exec_sessions_opened)
    pf_umount
    if [ "$b1" != "$b0" ] || [ "$e1" != "$e0" ]; then
        log "$w: the check read $((b1 - b0)) bytes and opened $((e1 - e0)) sessions (not counted)"
    fi
    MB=$(awk -v a="$MB" -v b=$((b1 - b0)) 'BEGIN { printf "%.1f", a - b / 1e6 }')
    EXECS=$((EXECS - (e1 - e0)))
    row "$w" podfs "$(secs $((t1 - t0)))" "$EXECS" $((S1 - S0)) "$MB" "$RSS" "$c"
}

# run_kc WORKLOAD TOOL CHECKFN CMD...: the same for a kubectl command
run_kc() {
    local w=$1 tool=$2 check=$3 t0 t1 n0 c
    shift 3
    n0=$(log_lines)
    t0=$(now)
    run_bg run_timeout "$WORKLOAD_TIMEOUT" bash -c '"$@"' _ "$@" || fail "$w: ${*} failed"
    t1=$(now)
    log_since "$n0" # (before the check: it may run kubectl again)
    c=$("$check")
    SECS=$(secs $((t1 - t0)))
    row "$w" "$tool" "$SECS" "$EXECS" - "$MB" - "$c"
}

# sh_out FILE CMD...: CMD with stdout to FILE (for run_pf/run_kc)
sh_out() {
    local f=$1
    shift
    "$@" >"$f"
}

# kubectl cp of the tree to SHM/tree (it prints tar's stderr on stdout)
kc_cp() { "$KUBECTL" cp "gnu:$P_TREE" "$SHM/tree" >>"$SIM_WORK/kubectl-cp.log" 2>&1; }
# ... then grep -r on the copy
kc_cp_grep() { kc_cp && grep -r NEEDLE "$SHM/tree" >"$OUT/grep.cp"; }
# one kubectl exec dd per read, for the first KC_READS offsets
kc_rr() {
    local o
    : >"$OUT/rr.kc"
    while read -r o; do
        "$KUBECTL" exec gnu -- dd if="$P_BIG" bs=4096 count=1 skip=$((o / 4096)) status=none >>"$OUT/rr.kc" || return 1
    done < <(head -n "$KC_READS" "$SIM_WORK/offsets")
}

# the workloads run under run_timeout as bash -c: what they use
export -f rr_run sh_out kc_rr kc_cp kc_cp_grep
export RR RR_N OUT SHM P_BIG P_TREE KC_READS

# ---------------------------------------------------------------------------
# workloads

# 1, 2: cold ls -l of 5,000 and 10,000 entries
if want ls; then
    for spec in "5,000:$P_L5:$OUT/ls5.ref" "10,000:$P_L10:$OUT/ls10.ref"; do
        IFS=: read -r n dir ref <<<"$spec"
        w="cold \`ls -l\` of $n entries"
        chk_ls_pf() { same "$ref" "$OUT/ls.pf"; }
        chk_ls_kc() { same "$ref" "$OUT/ls.kc"; }
        cold "stat:$ROOT$dir"
        run_pf "$w" chk_ls_pf sh_out "$OUT/ls.pf" ls -l "@M${dir#"$P_SRV"}"
        cold "stat:$ROOT$dir"
        run_kc "$w" "kubectl exec ls -l" chk_ls_kc sh_out "$OUT/ls.kc" "$KUBECTL" exec gnu -- ls -l "$dir"
    done
fi

# 3: find over the tree
if want find; then
    (cd "$D_B" && find tree | sort) >"$OUT/find.ref"
    chk_find_pf() { norm "$1${P_TREE#"$P_SRV"}" <"$OUT/find.pf" | sed 's|^\.|tree|' | sort | same "$OUT/find.ref" -; }
    chk_find_kc() { norm "$P_TREE" <"$OUT/find.kc" | sed 's|^\.|tree|' | sort | same "$OUT/find.ref" -; }
    w="\`find\` over $tree_files files / $tree_dirs dirs"
    cold "stat:$D_TREE"
    run_pf "$w" chk_find_pf sh_out "$OUT/find.pf" find "@M${P_TREE#"$P_SRV"}"
    cold "stat:$D_TREE"
    run_kc "$w" "kubectl exec find" chk_find_kc sh_out "$OUT/find.kc" "$KUBECTL" exec gnu -- find "$P_TREE"
fi

# 4: grep -r NEEDLE over the tree
if want grep; then
    (cd "$D_TREE" && grep -r NEEDLE . | sort) >"$OUT/grep.ref"
    [ "$(wc -l <"$OUT/grep.ref")" -eq "$needle_lines" ] || fail "grep -r on disk: not $needle_lines lines"
    chk_grep() { norm "$1" <"$2" | sort | same "$OUT/grep.ref" -; }
    chk_grep_pf() { chk_grep "$1${P_TREE#"$P_SRV"}" "$OUT/grep.pf"; }
    chk_grep_kc() { chk_grep "$P_TREE" "$OUT/grep.kc"; }
    chk_grep_cp() { chk_grep "$SHM/tree" "$OUT/grep.cp"; }
    w="\`grep -r NEEDLE\` over the tree"
    cold "$D_TREE"
    run_pf "$w" chk_grep_pf sh_out "$OUT/grep.pf" grep -r NEEDLE "@M${P_TREE#"$P_SRV"}"
    cold "$D_TREE"
    run_kc "$w" "kubectl exec grep -r" chk_grep_kc sh_out "$OUT/grep.kc" "$KUBECTL" exec gnu -- grep -r NEEDLE "$P_TREE"
    cold "$D_TREE"
    run_kc "$w" "kubectl cp + grep -r" chk_grep_cp kc_cp_grep
    rm -rf -- "$SHM/tree"
fi

# 5: cp -r of the tree to tmpfs
if want cpout; then
    grep '  tree/' "$D_B/MANIFEST.sha256" >"$OUT/tree.sums"
    chk_cp() { (cd "$SHM" && find tree -type f -print0 | sort -z | xargs -0 sha256sum) | same "$OUT/tree.sums" -; }
    chk_cp_pf() { chk_cp; }
    w="\`cp -r\` of the tree to tmpfs"
    cold "$D_TREE"
    run_pf "$w" chk_cp_pf cp -r "@M${P_TREE#"$P_SRV"}" "$SHM/tree"
    rm -rf -- "$SHM/tree"
    cold "$D_TREE"
    run_kc "$w" "kubectl cp" chk_cp kc_cp
    rm -rf -- "$SHM/tree"
fi

# 6: cat of the 256 MiB file (--big: and of the 1 GiB file)
# the podfs check reads the file again through the mount (not timed)
if want cat; then
    chk_cat_pf() { [ "$(sha256sum <"$1$CAT_P" | cut -d' ' -f1)" = "$CAT_SUM" ] && echo ok || echo MISMATCH; }
    # kubectl: the timed run goes to /dev/null; the check is a second, untimed run
    chk_cat_kc() { [ "$(kc exec gnu -- cat "$P_SRV$CAT_P" | sha256sum | cut -d' ' -f1)" = "$CAT_SUM" ] && echo ok || echo MISMATCH; }
    chk_cat_pe() { [ "$("$PODFS" exec gnu -- cat "$P_SRV$CAT_P" | sha256sum | cut -d' ' -f1)" = "$CAT_SUM" ] && echo ok || echo MISMATCH; }
    cats=("256 MiB:${P_BIG#"$P_SRV"}:$BIG_SUM:$D_BIG")
    [ "$BIG" = 0 ] || cats+=("1 GiB:${P_GIG#"$P_SRV"}:$GIG_SUM:$D_GIG")
    for spec in "${cats[@]}"; do
        IFS=: read -r size CAT_P CAT_SUM dfile <<<"$spec"
        w="\`cat\` of the $size file > /dev/null"
        cold "$dfile"
        run_pf "$w" chk_cat_pf sh_out /dev/null cat "@M$CAT_P"
        cold "$dfile"
        run_kc "$w" "kubectl exec cat" chk_cat_kc sh_out /dev/null "$KUBECTL" exec gnu -- cat "$P_SRV$CAT_P"
        # the issue's yardstick: the same bytes over podfs's own exec
        cold "$dfile"
        run_kc "$w" "podfs exec cat" chk_cat_pe sh_out /dev/null "$PODFS" exec gnu -- cat "$P_SRV$CAT_P"
    done
fi

# 7: random 4 KiB reads of the 256 MiB file
if want rr; then
    chk_rr_pf() { same "$OUT/rr.ref" "$OUT/rr.pf"; }
    chk_rr_kc() { same "$OUT/rr.ref.kc" "$OUT/rr.kc"; }
    w="$RR_N random 4 KiB reads of the 256 MiB file"
    cold "$D_BIG"
    run_pf "$w" chk_rr_pf rr_run "@M${P_BIG#"$P_SRV"}" "$OUT/rr.pf"
    if [ "$KC_READS" -gt 0 ]; then
        cold "$D_BIG"
        run_kc "$w" "kubectl exec dd, one per read (only $KC_READS reads)" chk_rr_kc kc_rr
        KC_RR_NOTE="kubectl random reads: $KC_READS measured, $(awk -v s="$SECS" -v n="$KC_READS" -v N="$RR_N" \
            'BEGIN { printf "%.3f s per read, ~%.0f s for %d", s / n, s / n * N, N }')."
    fi
fi

# 8: ls -lR of the tree twice within attr_timeout (mounted with attr_timeout=60)
if want lsR; then
    (cd "$D_B" && ls -lR tree) >"$OUT/lsR.ref"
    w1="\`ls -lR\` of the tree, 1st run"
    w2="\`ls -lR\` of the tree, 2nd run (within attr_timeout=60)"
    cold "stat:$D_TREE"
    pf_mount -o attr_timeout=60
    t0=$(now)
    # shellcheck disable=SC2016 # $1 is bash -c's
    run_bg run_timeout "$WORKLOAD_TIMEOUT" bash -c 'cd "$1" && ls -lR tree' _ "$M${P_B#"$P_SRV"}" >"$OUT/lsR.pf1" || fail "ls -lR (1st)"
    t1=$(now)
    pf_stop
    S0_2=$S1 B0_2=$(stat_of "$M" bytes_in) E0_2=$(stat_of "$M" exec_sessions_opened)
    t2=$(now)
    # shellcheck disable=SC2016 # $1 is bash -c's
    run_bg run_timeout "$WORKLOAD_TIMEOUT" bash -c 'cd "$1" && ls -lR tree' _ "$M${P_B#"$P_SRV"}" >"$OUT/lsR.pf2" || fail "ls -lR (2nd)"
    t3=$(now)
    S1_2=$(stat_of "$M" shell_requests)
    E1_2=$(stat_of "$M" exec_sessions_opened) B1_2=$(stat_of "$M" bytes_in)
    c1=$(same "$OUT/lsR.ref" "$OUT/lsR.pf1")
    c2=$(same "$OUT/lsR.ref" "$OUT/lsR.pf2")
    pf_umount
    # the request log only has whole sessions (they end at unmount): the 2nd
    # run's share comes from the daemon's counters
    ex2=$((E1_2 - E0_2))
    mb2=$(awk -v b=$((B1_2 - B0_2)) 'BEGIN { printf "%.1f", b / 1e6 }')
    row "$w1" podfs "$(secs $((t1 - t0)))" $((EXECS - ex2)) $((S0_2 - S0)) \
        "$(awk -v a="$MB" -v b="$mb2" 'BEGIN { printf "%.1f", a - b }')" "$RSS" "$c1"
    row "$w2" podfs "$(secs $((t3 - t2)))" "$ex2" $((S1_2 - S0_2)) "$mb2" "$RSS" "$c2"
    chk_lsR_kc() { (cd "$SIM_WORK" && same "$OUT/lsR.ref" "$OUT/lsR.kc"); }
    cold "stat:$D_TREE"
    run_kc "$w1" "kubectl exec ls -lR" chk_lsR_kc sh_out "$OUT/lsR.kc" "$KUBECTL" exec gnu -- sh -c "cd $P_B && ls -lR tree"
    run_kc "$w2" "kubectl exec ls -lR" chk_lsR_kc sh_out "$OUT/lsR.kc" "$KUBECTL" exec gnu -- sh -c "cd $P_B && ls -lR tree"
fi

# 9-11: writing into the pod (issue 5): a big file, the tree, small creates
want cpin && cp -r -- "$D_TREE" "$SHM/tree-src"
if want write; then
    cp -- "$D_BIG" "$SHM/seq-256M.bin"
    wsums=("256 MiB:$SHM/seq-256M.bin:$BIG_SUM")
    if [ "$BIG" = 1 ]; then
        cp -- "$D_GIG" "$SHM/big-1G.bin"
        wsums+=("1 GiB:$SHM/big-1G.bin:$GIG_SUM")
    fi
    for spec in "${wsums[@]}"; do
        IFS=: read -r size WSRC WSUM <<<"$spec"
        export WSRC
        rm -rf -- "$ROOT$P_SRV/w"
        mkdir -p -- "$ROOT$P_SRV/w"
        chk_w() { [ "$(sha256sum <"$ROOT$P_SRV/w/f.bin" | cut -d' ' -f1)" = "$WSUM" ] && echo ok || echo MISMATCH; }
        w="write the $size file into the pod"
        cold "$WSRC"
        run_pf "$w" chk_w cp -- "$WSRC" "@M/w/f.bin"
        rm -f -- "$ROOT$P_SRV/w/f.bin"
        cold "$WSRC"
        run_kc "$w" "kubectl cp" chk_w "$KUBECTL" cp "$WSRC" "gnu:$P_SRV/w/f.bin"
    done
    rm -rf -- "$ROOT$P_SRV/w"
fi
if want cpin; then
    (cd "$SHM/tree-src" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$OUT/win.ref"
    chk_win() { (cd "$ROOT$P_SRV/win/tree" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | same "$OUT/win.ref" -; }
    w="\`cp -r\` of the tree into the pod"
    rm -rf -- "$ROOT$P_SRV/win"
    mkdir -p -- "$ROOT$P_SRV/win"
    cold "$SHM/tree-src"
    run_pf "$w" chk_win cp -r "$SHM/tree-src" "@M/win/tree"
    rm -rf -- "$ROOT$P_SRV/win/tree"
    cold "$SHM/tree-src"
    run_kc "$w" "kubectl cp" chk_win "$KUBECTL" cp "$SHM/tree-src" "gnu:$P_SRV/win/tree"
    rm -rf -- "$ROOT$P_SRV/win" "$SHM/tree-src"
fi
# 1,000 small creates (echo > file), kubectl: one exec running the same loop
if want creates; then
    chk_cr() { [ "$(find "$ROOT$P_SRV/cr" -type f -name 'f*' | wc -l)" = 1000 ] && [ "$(cat "$ROOT$P_SRV/cr/f999")" = 999 ] && echo ok || echo MISMATCH; }
    creates() { local i; for ((i = 0; i < 1000; i++)); do echo "$i" >"$1/cr/f$i" || return 1; done; }
    export -f creates
    w="1,000 small creates (echo > file)"
    rm -rf -- "$ROOT$P_SRV/cr"
    mkdir -p -- "$ROOT$P_SRV/cr"
    run_pf "$w" chk_cr creates "@M"
    rm -rf -- "$ROOT$P_SRV/cr"
    mkdir -p -- "$ROOT$P_SRV/cr"
    run_kc "$w" "kubectl exec sh -c loop (one exec)" chk_cr "$KUBECTL" exec gnu -- sh -c \
        "i=0; while [ \$i -lt 1000 ]; do echo \$i > $P_SRV/cr/f\$i; i=\$((i + 1)); done"
    rm -rf -- "$ROOT$P_SRV/cr" "$ROOT$P_SRV/w"
fi

# ---------------------------------------------------------------------------
# the table

echo
echo "podfs mount (gnu:$P_SRV) vs kubectl, kube-sim exec_delay_ms=$EXEC_DELAY msg_delay_ms=$MSG_DELAY;" \
    "podfs attr_timeout=1 (the default; the ls -lR pair: 60); $(nproc) CPUs;" \
    "$("$PODFS" --version 2>/dev/null || echo 'podfs ?') ($PODFS_VER); kubectl $("$KUBECTL" version --client 2>/dev/null | sed -n 's/^Client Version: //p')"
echo "Data set: make-tree.sh (manifest digest $DIGEST) in gnu:$P_B, plus gnu:$P_L10$([ "$BIG" = 0 ] || echo " and gnu:$P_GIG")."
[ -z "$ONLY" ] || echo "Only the workloads $ONLY (--only)."
echo "Every run: fresh mount, drop_caches; pod side $([ "$WARM" = 1 ] && echo "warm (files read on disk first)" || echo cold)."
echo
echo "| workload | tool | seconds | exec calls | shell requests | MB read | daemon peak RSS | result check |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "exec calls: kube-sim's request log (podfs: mount to unmount, the mount's own included);" \
    "MB read: bytes the API server sent on those exec connections (10^6, wire bytes);" \
    "shell requests: podfs stats delta over the workload; seconds exclude mounting."
echo "podfs mount times (s): ${MOUNT_TIMES[*]}"
[ -z "$KC_RR_NOTE" ] || echo "$KC_RR_NOTE"
echo "Whole benchmark: $(($(date +%s) - START)) s."
[ -z "$REBUILT" ] || echo "$REBUILT"
