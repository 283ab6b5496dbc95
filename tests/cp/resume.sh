#!/usr/bin/env bash
# resume.sh POD: a copy cut by kube-sim's kill_after_bytes fails loudly
# (exit 1, a list, no short file under the real name); the same command
# again sends only the rest and the sha256 is right; --retries does it in
# one run. Both directions.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pod=${1:-gnu}
sim_start
root=$(sim_rootfs "$pod")
size=$((48 * 1024 * 1024))
head -c $size /dev/urandom > "$root/srv/big.bin"
want=$(sha256sum < "$root/srv/big.bin" | cut -d' ' -f1)
stat_of() { printf '%s\n' "$1" | awk -v k="$2" '$1==k{print $2}'; }

# --- download: cut by Ctrl-C (the backend itself re-sends a read whose
# session died, so a dropped connection does not stop a download) ---
sim_knob bandwidth=$((8 * 1024 * 1024)) >/dev/null
"$PODFS" cp --retries 0 --parallel 2 --chunk 1M "$pod:/srv/big.bin" "$SIM_WORK/big.bin" 2>"$SIM_WORK/err" &
cpid=$!
for _ in $(seq 100); do
    [ "$(stat -c %s "$SIM_WORK/big.bin.podfs-part" 2>/dev/null || echo 0)" -gt $((8 * 1024 * 1024)) ] && break
    sleep 0.1
done
kill -INT "$cpid"
rc=0; wait "$cpid" || rc=$?
assert_eq 130 "$rc" "exit code of an interrupted download"
assert_contains "$(cat "$SIM_WORK/err")" "interrupted" "the interruption is told"
[ ! -e "$SIM_WORK/big.bin" ] || fail "a short file under the real name"
part=$(stat -c %s "$SIM_WORK/big.bin.podfs-part")
[ "$part" -gt 0 ] && [ "$part" -lt "$size" ] || fail "part file of $part bytes"
sim_knob bandwidth=0 >/dev/null
capture pcp --stats --retries 0 --parallel 1 "$pod:/srv/big.bin" "$SIM_WORK/big.bin"
[ "$RC" -eq 0 ] || fail "the second download exited $RC: $ERR"
got=$(stat_of "$ERR" bytes_in)
assert_eq 1 "$(stat_of "$ERR" cp_resumed)" "the download was resumed"
assert_eq $((size - part)) "$(stat_of "$ERR" cp_bytes)" "bytes the second run asked for"
# (the backend's read-ahead stream may fetch up to 16 MiB it does not use)
[ "$got" -lt $((size - part + 20 * 1024 * 1024)) ] || fail "the second run received $got bytes (part had $part of $size)"
assert_eq "$want" "$(sha256sum < "$SIM_WORK/big.bin" | cut -d' ' -f1)" "sha256 after resume"
[ ! -e "$SIM_WORK/big.bin.podfs-part" ] || fail "part file left"
echo "download resumed at $part of $size bytes; second run received $got bytes"

# a dropped connection during a download: made good (no silent short file)
sim_knob kill_after_bytes=$((5 * 1024 * 1024)) >/dev/null
capture pcp --retries 3 --chunk 1M "$pod:/srv/big.bin" "$SIM_WORK/big2.bin"
[ "$RC" -eq 0 ] || fail "download through dropped connections exited $RC: $ERR"
assert_eq "$want" "$(sha256sum < "$SIM_WORK/big2.bin" | cut -d' ' -f1)" "sha256 through dropped connections"
sim_knob kill_after_bytes=0 >/dev/null

# --- upload ---
cp "$root/srv/big.bin" "$SIM_WORK/up.bin"
sim_knob kill_after_bytes=$((6 * 1024 * 1024)) >/dev/null
capture pcp --retries 0 --parallel 1 "$SIM_WORK/up.bin" "$pod:/srv/up.bin"
assert_eq 1 "$RC" "exit code of a cut upload"
[ ! -e "$root/srv/up.bin" ] || fail "a short file under the real name in the pod"
part=$(stat -c %s "$root/srv/up.bin.podfs-part")
sim_knob kill_after_bytes=0 >/dev/null
capture pcp --stats --retries 0 "$SIM_WORK/up.bin" "$pod:/srv/up.bin"
[ "$RC" -eq 0 ] || fail "the second upload exited $RC: $ERR"
sent=$(stat_of "$ERR" bytes_out)
assert_eq 1 "$(stat_of "$ERR" cp_resumed)" "the upload was resumed"
assert_eq $((size - part)) "$(stat_of "$ERR" cp_bytes)" "bytes the second upload sent"
[ "$part" -gt 0 ] || fail "nothing of the cut upload was kept"
[ "$sent" -lt $((size - part + 2 * 1024 * 1024)) ] || fail "the second upload sent $sent bytes (part had $part of $size)"
assert_eq "$want" "$(sha256sum < "$root/srv/up.bin" | cut -d' ' -f1)" "sha256 of the upload after resume"
echo "upload resumed at $part of $size bytes; second run sent $sent bytes"

sim_knob kill_after_bytes=$((12 * 1024 * 1024)) >/dev/null
capture pcp --retries 6 --parallel 1 "$SIM_WORK/up.bin" "$pod:/srv/up2.bin"
[ "$RC" -eq 0 ] || fail "upload with --retries exited $RC: $ERR"
assert_eq "$want" "$(sha256sum < "$root/srv/up2.bin" | cut -d' ' -f1)" "sha256 of the upload after --retries"
echo "PASS: cp.resume.$pod"
