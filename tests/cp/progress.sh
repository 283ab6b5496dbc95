#!/usr/bin/env bash
# progress.sh: under a pseudo-terminal (script) podfs cp draws a progress
# bar and prints a summary; with stdout and stderr not a terminal it
# prints nothing; --quiet prints nothing on a terminal either.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || skip "no script(1)"
sim_start
root=$(sim_rootfs gnu)
head -c $((24 * 1024 * 1024)) /dev/urandom > "$root/srv/p.bin"
sim_knob bandwidth=$((12 * 1024 * 1024)) >/dev/null

script -qec "$PODFS cp gnu:/srv/p.bin $SIM_WORK/p1.bin" "$SIM_WORK/tty.log" >/dev/null </dev/null \
    || fail "podfs cp under script failed: $(cat "$SIM_WORK/tty.log")"
log=$(cat "$SIM_WORK/tty.log")
assert_contains "$log" "%" "a percentage on the bar"
assert_contains "$log" "MiB/s" "a rate on the bar"
assert_contains "$log" "ETA" "an ETA on the bar"
assert_contains "$log" "/srv/p.bin" "the current file on the bar"
assert_contains "$log" "downloaded 1 files" "the summary"
n=$(tr '\r' '\n' < "$SIM_WORK/tty.log" | grep -c 'ETA' || true)
[ "$n" -ge 3 ] || fail "the bar was drawn $n times"
[ "$n" -le 40 ] || fail "the bar was drawn $n times in ~2 s (at most ~10/s)"

capture pcp gnu:/srv/p.bin "$SIM_WORK/p2.bin"
assert_eq 0 "$RC" "exit code"
assert_eq "" "$OUT$ERR" "nothing printed without a terminal"

script -qec "$PODFS cp -q gnu:/srv/p.bin $SIM_WORK/p3.bin" "$SIM_WORK/tty2.log" >/dev/null </dev/null || fail "cp -q"
assert_not_contains "$(cat "$SIM_WORK/tty2.log")" "ETA" "no bar with -q"
cmp "$root/srv/p.bin" "$SIM_WORK/p3.bin" || fail "p3.bin differs"
echo "PASS: cp.progress"
