# shellcheck shell=bash
# tests/cp/lib.sh: helpers for the podfs cp tests, on top of tests/lib/sim.sh.

. "$(dirname "${BASH_SOURCE[0]}")/../lib/sim.sh"

PODFS=${PODFS:-$PODFS_BUILD/podfs}

# pcp ARGS...: podfs cp with a time limit
pcp() {
    run_timeout "${CP_TIMEOUT:-120}" "$PODFS" cp "$@"
}

# cp_listing DIR: path, type, size, link target per entry (modes and
# mtimes are compared separately)
cp_listing() {
    (cd "$1" && find . -mindepth 1 -printf '%P\t%y\t%s\t%l\n' | LC_ALL=C sort)
}

# cp_listing_meta DIR: plus mode and mtime (seconds) of files and dirs
cp_listing_meta() {
    (cd "$1" && find . -mindepth 1 ! -type l -printf '%P\t%y\t%m\t%Ts\n' | LC_ALL=C sort)
}

# cp_sums DIR: sha256 of every regular file
cp_sums() {
    (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# cp_same SRC DST MSG: same entries, types, sizes, link targets, bytes
cp_same() {
    diff <(cp_listing "$1") <(cp_listing "$2") >&2 || fail "$3: listing differs"
    diff <(cp_sums "$1") <(cp_sums "$2") >&2 || fail "$3: contents differ"
}

# cp_flip FILE: change the second byte of FILE, keeping its size and mtime
# (what size + mtime cannot see; --checksum can)
cp_flip() {
    local f=$1 b c
    b=$(dd if="$f" bs=1 skip=1 count=1 status=none | od -An -tx1 | tr -d ' ')
    if [ "$b" = 58 ]; then c=Y; else c=X; fi
    cp -p -- "$f" "$f.mtime-ref"
    printf %s "$c" | dd of="$f" bs=1 seek=1 conv=notrunc status=none
    touch -r "$f.mtime-ref" -- "$f"
    rm -f -- "$f.mtime-ref"
}

# cp_hostile_tree DIR: names a shell or a parser could trip over, a
# 255-byte name, symlinks, modes, a big file, a fifo
cp_hostile_tree() {
    local d=$1 n
    mkdir -p "$d/sub dir/deeper" "$d/many" "$d/empty-dir"
    for n in "with space" "it's" $'new\nline' '$(touch PWNED)' '`touch PWNED`' "-rf" "--" "*" $'\xff\xfe' \
             'back\slash' 'a"b' $'tab\t' "colon:name" "[brackets]" "C:\\windows" \
             "$(printf 'n%.0s' $(seq 255))" ".hidden" "..dots"; do
        printf '%s' "$n" > "$d/$n"
    done
    ln -s "it's" "$d/link to quote"
    ln -s /nonexistent "$d/dangling"
    ln -s "../with space" "$d/sub dir/up-link"
    head -c 9000001 /dev/urandom > "$d/sub dir/big.bin"
    : > "$d/empty"
    for n in $(seq -w 1 300); do echo "$n" > "$d/many/f$n"; done
    chmod 751 "$d/many"; chmod 4755 "$d/with space"; chmod 600 "$d/it's"; chmod 700 "$d/sub dir/deeper"
    touch -d @1600000000 "$d/many/f001"
}
