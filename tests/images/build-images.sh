#!/usr/bin/env bash
# build-images.sh OUTDIR
#
# Builds the container image TEMPLATES used by the podfs test rig (kube-sim
# runs every emulated container as a rootfs directory copied from one of
# these). Produces, under OUTDIR:
#
#   gnu/      Debian GNU userland copied from the host (dash as sh, bash, all
#             of coreutils, findutils, tar, gzip, grep, sed, mawk as awk) plus
#             the shared libraries they need; merged-/usr layout like Debian 12.
#   busybox/  the host's static /bin/busybox with a symlink for every applet.
#   notar/    like busybox, but with "tar" removed from busybox's applet name
#             table (binary patch "\0tar\0" -> "\0tas\0") and no tar symlink,
#             so no tar exists in the container at all.
#   noshell/  distroless-like: no shell, no binaries, only data files.
#
# Every image has empty proc/ dev/ sys/ tmp/ (kube-sim mounts over them),
# /etc/passwd + /etc/group (root, app=1000:1000, nobody) and /srv/demo/ with
# deterministic content for the tests to compare.
#
# Idempotent: an image is skipped when OUTDIR/<name>/.podfs-image-stamp
# records this script's sha256 (and the versions of the host packages the
# image is copied from); otherwise it is rebuilt from scratch in a temporary
# directory, verified with chroot, stamped, and moved into place.
#
# Needs root (chroot, chown) and only: bash, coreutils, findutils, grep, sed,
# mawk (or any awk), tar, gzip, dash, bash, busybox-static, dpkg-query.
# shellcheck disable=SC2015,SC2016  # 'A && B || die' is intended; chroot/awk scripts are single-quoted on purpose
set -euo pipefail
shopt -s inherit_errexit
umask 022
export LC_ALL=C

PROG=build-images
IMAGES=(gnu busybox notar noshell)
STAMP=.podfs-image-stamp
# sha256 of the 1 MiB /srv/demo/bin.dat; it must be identical on every build.
BIN_DAT_SHA256=910cea5526b8229d98119fc45084902c8a9383eefe264c6f069b85fd0771d215
# Fixed mtime for everything under /srv/demo (2024-01-01T00:00:00Z).
DEMO_MTIME=@1704067200

usage() {
    echo "usage: $0 OUTDIR" >&2
    echo "  Builds podfs test image templates ${IMAGES[*]} under OUTDIR/<name>/." >&2
    exit 2
}
die() { echo "$PROG: ERROR: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

[ $# -eq 1 ] && [ -n "$1" ] || usage
case $1 in -h|--help) usage ;; esac

[ "$(id -u)" -eq 0 ] || die "must run as root (needs chroot and chown)"
for t in chroot dpkg-query sha256sum grep dd cp ln find readlink realpath; do
    command -v "$t" >/dev/null 2>&1 || die "required tool '$t' not found"
done
if command -v mawk >/dev/null 2>&1; then AWK=mawk
elif command -v awk >/dev/null 2>&1; then AWK='awk'
else die "no awk found"
fi
HOST_LDSO=/lib64/ld-linux-x86-64.so.2
[ -x "$HOST_LDSO" ] || die "$HOST_LDSO not found (this script builds x86_64 images only)"
BUSYBOX_HOST=$(readlink -f /bin/busybox 2>/dev/null || true)
[ -n "$BUSYBOX_HOST" ] && [ -x "$BUSYBOX_HOST" ] || die "/bin/busybox not found (apt-get install busybox-static)"
# must be the static build: it runs in images without any libraries
# (the busybox image verification also proves it by running it in a chroot)
case $(dpkg-query -S /bin/busybox 2>/dev/null) in
    busybox-static:*) ;;
    *) die "/bin/busybox is not from busybox-static (apt-get install busybox-static)" ;;
esac

mkdir -p -- "$1"
OUTDIR=$(cd -- "$1" && pwd -P)

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
SCRIPT_SHA=$(sha256sum <"$SELF" | cut -d' ' -f1)

# Host packages the images are copied from; a package upgrade also rebuilds.
GNU_PKGS=(coreutils findutils tar gzip grep sed mawk dash bash libc6)
pkg_versions() {
    dpkg-query -W -f '${Package}=${Version} ' "$@" 2>/dev/null \
        || die "dpkg-query failed for: $* (are they installed?)"
}

# Serialise concurrent runs on the same OUTDIR (flock is in util-linux).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUTDIR/.build-images.lock"
    flock 9
fi

# ---------------------------------------------------------------------------
# helpers

expected_stamp() { # NAME
    local name=$1 pkgs
    case $name in
        gnu) pkgs=$(pkg_versions "${GNU_PKGS[@]}") ;;
        busybox|notar) pkgs=$(pkg_versions busybox-static) ;;
        noshell) pkgs= ;;
    esac
    printf 'image=%s\nscript-sha256=%s\nhost-packages=%s\n' "$name" "$SCRIPT_SHA" "$pkgs"
}

BIN_DAT=
make_bin_dat() { # generated once per run, into OUTDIR, hash-checked
    [ -n "$BIN_DAT" ] && return 0
    BIN_DAT=$OUTDIR/.bin.dat.$$
    # MINSTD LCG (x*48271 mod 2^31-1, exact in doubles), high byte of each
    # state: 1 MiB of incompressible, fully deterministic bytes.
    "$AWK" 'BEGIN { x = 20240101
        for (i = 0; i < 1048576; i++) {
            x = (x * 48271) % 2147483647
            printf "%c", int(x / 8388608) % 256
        } }' >"$BIN_DAT"
    local got
    got=$(sha256sum <"$BIN_DAT" | cut -d' ' -f1)
    [ "$got" = "$BIN_DAT_SHA256" ] \
        || die "generated bin.dat has sha256 $got, expected $BIN_DAT_SHA256 ($AWK is not behaving like mawk)"
}

# Common skeleton: kube-sim mount points, /etc files, home dirs, /data.
add_base() { # ROOT NAME SHELL
    local r=$1 name=$2 shell=$3
    chmod 755 "$r"
    mkdir -p "$r"/{proc,dev,sys,tmp,etc,root,home/app,var/tmp,data}
    chmod 1777 "$r/tmp" "$r/var/tmp"
    chmod 555 "$r/proc" "$r/sys"
    chmod 755 "$r/dev" "$r/data" "$r/home" "$r/home/app"
    chmod 700 "$r/root"
    chown 1000:1000 "$r/home/app"
    cat >"$r/etc/passwd" <<EOF
root:x:0:0:root:/root:$shell
app:x:1000:1000:app:/home/app:$shell
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    cat >"$r/etc/group" <<'EOF'
root:x:0:
app:x:1000:
nogroup:x:65534:
EOF
    echo "podfs-$name" >"$r/etc/hostname"
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' >"$r/etc/nsswitch.conf"
    if [ ! -e "$r/etc/os-release" ]; then
        cat >"$r/etc/os-release" <<EOF
PRETTY_NAME="podfs test image ($name)"
NAME="podfs-test-$name"
ID=podfs-test
VERSION_ID=1
EOF
    fi
    chmod 644 "$r"/etc/{passwd,group,hostname,nsswitch.conf,os-release}
}

# /srv/demo: deterministic content the tests compare.
add_demo() { # ROOT
    local d=$1/srv/demo
    mkdir -p "$d/sub"
    printf 'hello from podfs\n' >"$d/hello.txt"
    printf 'alpha\n' >"$d/sub/a.txt"
    printf 'bravo bravo\n' >"$d/sub/b.txt"
    ln -s hello.txt "$d/link-to-hello"
    : >"$d/empty.txt"
    printf 'a file with a space in its name\n' >"$d/with space.txt"
    make_bin_dat
    cp -- "$BIN_DAT" "$d/bin.dat"
    find "$d" -type f -exec chmod 644 {} +
    find "$1/srv" -type d -exec chmod 755 {} +
    find "$1/srv" -exec touch -h -d "$DEMO_MTIME" {} +
}

# Copy host path SRC (file, or symlink chain) into ROOT under its canonical
# directory (so /bin/ls lands in usr/bin/ls, /lib64/ld-linux... in
# usr/lib64/ld-linux... with its symlink and target replicated).
declare -A CANON_DIR=()
copy_host_path() { # SRC ROOT
    local src=$1 root=$2 dir base dest tgt
    dir=${src%/*}; [ -n "$dir" ] || dir=/
    base=${src##*/}
    if [ -z "${CANON_DIR[$dir]+x}" ]; then
        CANON_DIR[$dir]=$(realpath -e -- "$dir") || die "cannot resolve $dir"
    fi
    dir=${CANON_DIR[$dir]}
    dest=$root$dir/$base
    if [ -e "$dest" ] || [ -L "$dest" ]; then return 0; fi
    mkdir -p -- "$root$dir"
    if [ -L "$src" ]; then
        tgt=$(readlink -- "$src")
        ln -s -- "$tgt" "$dest"
        case $tgt in
            /*) copy_host_path "$tgt" "$root" ;;
            *)  copy_host_path "$dir/$tgt" "$root" ;;
        esac
    elif [ -f "$src" ]; then
        cp -p -- "$src" "$dest"
    else
        die "host path $src is missing or not a regular file"
    fi
}

# Run a verification command in a chroot with all output redirected on the
# host side (a plain chroot has no /dev/null: redirecting inside it would
# create files in the template's dev/).
in_chroot() { # ROOT CMD...
    local r=$1; shift
    env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root \
        chroot "$r" "$@" </dev/null
}

check_mountpoints_empty() { # ROOT
    local r=$1 d x
    for d in proc dev sys tmp var/tmp data; do
        [ -d "$r/$d" ] || continue
        x=$(find "$r/$d" -mindepth 1 -maxdepth 1 | head -5)
        [ -z "$x" ] || die "$r/$d is not empty after build: $x"
    done
}

# ---------------------------------------------------------------------------
# images

build_gnu() { # ROOT
    local r=$1 f p m
    mkdir -p "$r"/usr/{bin,sbin,lib/x86_64-linux-gnu,lib64}
    ln -s usr/bin "$r/bin"
    ln -s usr/sbin "$r/sbin"
    ln -s usr/lib "$r/lib"
    ln -s usr/lib64 "$r/lib64"

    # Every executable that the packages ship in a bin/ or sbin/ directory.
    local -a bins=()
    while IFS= read -r f; do
        case $f in
            /bin/*|/sbin/*|/usr/bin/*|/usr/sbin/*) ;;
            *) continue ;;
        esac
        [ -f "$f" ] || [ -L "$f" ] || continue
        case $f in */bin/sh|*/bin/awk) continue ;; esac  # created below
        bins+=("$f")
    done < <(dpkg-query -L "${GNU_PKGS[@]}" 2>/dev/null | grep '^/' | sort -u)
    [ ${#bins[@]} -gt 100 ] || die "dpkg-query -L found only ${#bins[@]} binaries"
    for f in "${bins[@]}"; do copy_host_path "$f" "$r"; done
    ln -s dash "$r/usr/bin/sh"
    ln -s mawk "$r/usr/bin/awk"
    for p in sh bash ls cat dd stat head tail cp mv rm mkdir rmdir ln chmod chown \
             touch truncate readlink realpath base64 sha256sum md5sum sort uniq wc \
             tr cut env id printf echo test '[' true false sleep du df mktemp \
             basename dirname tee od date uname nproc sync timeout find xargs \
             tar gzip gunzip zcat grep sed awk mawk dash; do
        [ -x "$r/usr/bin/$p" ] || die "gnu image lacks usr/bin/$p"
    done

    # Shared libraries (and the dynamic loader) of every ELF binary.
    local -a elfs=()
    for f in "$r"/usr/bin/* "$r"/usr/sbin/*; do
        [ -f "$f" ] && [ ! -L "$f" ] || continue
        m=; IFS= read -r -n 4 -d '' m <"$f" || true
        if [ "$m" = $'\177ELF' ]; then elfs+=("$f"); fi
    done
    # (ld.so --list is what ldd runs per file, minus ldd's shell overhead)
    local libs
    libs=$(for f in "${elfs[@]}"; do
               "$HOST_LDSO" --list "$f" 2>&1 || echo "	NOTFOUND: $f: ld.so --list failed"
           done | "$AWK" '
        /^\t/ {
            if ($0 ~ /not found/) { print "NOTFOUND " $0; next }
            if ($2 == "=>" && $3 ~ /^\//) print $3
            else if ($1 ~ /^\//) print $1
        }' | sort -u)
    case $libs in *NOTFOUND*) die "unresolved libraries: $(grep NOTFOUND <<<"$libs")" ;; esac
    [ -n "$libs" ] || die "ld.so --list found no libraries"
    while IFS= read -r f; do copy_host_path "$f" "$r"; done <<<"$libs"
    [ -e "$r/lib64/ld-linux-x86-64.so.2" ] || die "dynamic loader missing at /lib64/ld-linux-x86-64.so.2"

    add_base "$r" gnu /bin/bash
    add_demo "$r"

    in_chroot "$r" /bin/sh -c 'ls / && tar --version && find / -maxdepth 0 -printf "%p\n" && stat -c %s /etc/passwd' >/dev/null 2>&1 \
        || die "gnu image verification failed: chroot $r /bin/sh -c 'ls /; tar --version; find ...; stat ...'"
    # every copied ELF binary must at least load (catches missing libraries)
    local out
    out=$(in_chroot "$r" /bin/bash -c 'for f in /usr/bin/* /usr/sbin/*; do
            [ -L "$f" ] && continue
            m=; IFS= read -r -n 4 -d "" m <"$f" || true
            [ "$m" = $'"'"'\177ELF'"'"' ] || continue
            o=$(/lib64/ld-linux-x86-64.so.2 --list "$f" 2>&1) || { echo "$f: $o"; continue; }
            case $o in *"not found"*) echo "$f: $o" ;; esac
          done; exit 0' 2>&1)
    [ -z "$out" ] || die "gnu image: binaries with unresolved libraries:"$'\n'"$out"
    [ "$(in_chroot "$r" /usr/bin/id -un 1000 2>/dev/null)" = app ] || die "gnu image: uid 1000 does not resolve to 'app'"
    [ "$(in_chroot "$r" /usr/bin/sha256sum /srv/demo/bin.dat 2>/dev/null | cut -d' ' -f1)" = "$BIN_DAT_SHA256" ] \
        || die "gnu image: sha256sum of /srv/demo/bin.dat inside the chroot is wrong"
    check_mountpoints_empty "$r"
}

# Busybox layout (real bin sbin usr/bin usr/sbin), applet symlinks except SKIP.
busybox_links() { # ROOT SKIP_APPLET...
    local r=$1; shift
    local -A skip=()
    local a e dir name tgt n=0
    for a in "$@"; do skip[$a]=1; done
    while IFS= read -r e; do
        case $e in */*) ;; *) continue ;; esac   # e.g. "linuxrc": not installed
        dir=${e%/*}; name=${e##*/}
        [ "$name" = busybox ] && continue
        [ -n "${skip[$name]+x}" ] && continue
        case $dir in
            bin) tgt=busybox ;;
            sbin) tgt=../bin/busybox ;;
            usr/bin|usr/sbin) tgt=../../bin/busybox ;;
            *) die "unexpected busybox applet location: $e" ;;
        esac
        if [ -e "$r/$e" ] || [ -L "$r/$e" ]; then continue; fi
        ln -s "$tgt" "$r/$e"
        n=$((n + 1))
    done < <("$r/bin/busybox" --list-full)
    [ $n -gt 200 ] || die "only $n busybox applet links created"
}

build_busybox() { # ROOT
    local r=$1
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin}
    cp -- "$BUSYBOX_HOST" "$r/bin/busybox"
    chmod 755 "$r/bin/busybox"
    busybox_links "$r"
    [ -L "$r/bin/sh" ] && [ -L "$r/bin/tar" ] || die "busybox image lacks bin/sh or bin/tar"
    add_base "$r" busybox /bin/sh
    add_demo "$r"
    # (redirections on the host side: a plain chroot has no /dev/null)
    in_chroot "$r" /bin/sh -c 'tar --help 2>&1; ls /' >/dev/null 2>&1 \
        || die "busybox image verification failed (chroot $r /bin/sh -c 'tar --help; ls /')"
    in_chroot "$r" /bin/sh -c 'tar cf - /srv/demo/hello.txt | tar tf -' 2>/dev/null | grep -qx 'srv/demo/hello.txt' \
        || die "busybox image: tar round trip failed"
    check_mountpoints_empty "$r"
}

build_notar() { # ROOT
    local r=$1 bb offs n rc errf
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin}
    bb=$r/bin/busybox
    cp -- "$BUSYBOX_HOST" "$bb"
    chmod 755 "$bb"
    # Patch the applet name table: the NUL-separated, sorted list of applet
    # names contains "\0tar\0" exactly once; rename it to "tas" (same length,
    # still sorted between "tail" and "taskset") so that neither
    # "busybox tar", a "tar" symlink, nor ash's standalone applet lookup
    # (Debian builds busybox with FEATURE_SH_STANDALONE) can find it.
    offs=$(grep -obUaP '\x00tar\x00' "$bb" | cut -d: -f1)
    n=$(printf '%s' "$offs" | grep -c . || true)
    [ "$n" -eq 1 ] || die "expected exactly one \\0tar\\0 in $BUSYBOX_HOST, found $n"
    printf 'tas' | dd of="$bb" bs=1 seek=$((offs + 1)) count=3 conv=notrunc status=none
    n=$(grep -obUaP '\x00tar\x00' "$bb" | cut -d: -f1 | grep -c . || true)
    [ "$n" -eq 0 ] || die "binary patch failed: \\0tar\\0 still present"
    [ "$(stat -c %s "$bb")" -eq "$(stat -c %s "$BUSYBOX_HOST")" ] || die "binary patch changed the file size"
    if command -v cmp >/dev/null 2>&1; then  # "tar" -> "tas": exactly one byte differs
        [ "$(cmp -l "$BUSYBOX_HOST" "$bb" | wc -l)" -eq 1 ] || die "binary patch changed more than one byte"
    fi
    ! "$bb" --list | grep -qx tar || die "patched busybox still lists tar"

    busybox_links "$r" tar tas
    add_base "$r" notar /bin/sh
    add_demo "$r"

    errf=$OUTDIR/.notar-err.$$
    rc=0; in_chroot "$r" /bin/sh -c 'tar cf - /etc' >/dev/null 2>"$errf" || rc=$?
    [ $rc -eq 127 ] && grep -q 'not found' "$errf" \
        || die "notar: 'sh -c tar' should fail with 127/not found, got rc=$rc: $(cat "$errf")"
    rc=0; in_chroot "$r" /bin/busybox tar cf - /etc >/dev/null 2>"$errf" || rc=$?
    [ $rc -ne 0 ] || die "notar: '/bin/busybox tar' unexpectedly worked"
    rc=0; in_chroot "$r" /bin/sh -c 'PATH=/nonexistent; tar cf - /etc' >/dev/null 2>"$errf" || rc=$?
    [ $rc -eq 127 ] || die "notar: standalone-shell tar lookup unexpectedly worked (rc=$rc)"
    rm -f "$errf"
    [ -z "$(find "$r" -name tar)" ] || die "notar: something named tar exists: $(find "$r" -name tar)"
    in_chroot "$r" /bin/sh -c 'ls / && dd if=/etc/passwd bs=64 count=1 && head -c 10 /etc/passwd' >/dev/null 2>&1 \
        || die "notar image verification failed (ls/dd/head)"
    [ "$(in_chroot "$r" /bin/sh -c 'head -c 10 /etc/passwd')" = "root:x:0:0" ] || die "notar: head output wrong"
    check_mountpoints_empty "$r"
}

build_noshell() { # ROOT
    local r=$1
    mkdir -p "$r"/{proc,dev,sys,tmp,etc,app/data/nested}
    cat >"$r/etc/os-release" <<'EOF'
PRETTY_NAME="distroless-like podfs test image"
NAME="podfs-noshell"
ID=podfs-noshell
VERSION_ID=1
EOF
    cat >"$r/app/config.json" <<'EOF'
{
  "service": "podfs-noshell",
  "port": 8080,
  "debug": false,
  "tags": ["distroless", "test"]
}
EOF
    printf 'first data file\n' >"$r/app/data/one.txt"
    printf 'second data file\n' >"$r/app/data/two.txt"
    printf 'nested data file\n' >"$r/app/data/nested/three.txt"
    printf 'id,name\n1,alpha\n2,bravo\n' >"$r/app/data/table.csv"
    add_base "$r" noshell /sbin/nologin
    add_demo "$r"
    rmdir "$r/var/tmp" "$r/var" "$r/data"   # distroless: keep it minimal
    local x
    x=$(find "$r" -type f -perm /111)
    [ -z "$x" ] || die "noshell image contains executables: $x"
    [ ! -e "$r/bin" ] && [ ! -e "$r/usr" ] || die "noshell image has bin/ or usr/"
    check_mountpoints_empty "$r"
}

# ---------------------------------------------------------------------------

cleanup() {
    [ -n "$BIN_DAT" ] && rm -f -- "$BIN_DAT"
    rm -f -- "$OUTDIR/.notar-err.$$"
    [ -n "${TMPROOT:-}" ] && rm -rf --one-file-system -- "$TMPROOT"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# leftovers of runs that were killed hard (we hold the lock, so none is live)
rm -rf --one-file-system -- "$OUTDIR"/.*.building.* "$OUTDIR"/.bin.dat.* "$OUTDIR"/.notar-err.*

for name in "${IMAGES[@]}"; do
    dest=$OUTDIR/$name
    want=$(expected_stamp "$name")
    if [ -f "$dest/$STAMP" ] && [ "$(cat "$dest/$STAMP")" = "$want" ]; then
        log "$name: up to date"
        continue
    fi
    if [ -e "$dest" ] || [ -L "$dest" ]; then
        # only ever delete what this script made (stamped) or an empty dir
        if [ ! -d "$dest" ] || [ -L "$dest" ] || { [ ! -f "$dest/$STAMP" ] && [ -n "$(ls -A "$dest")" ]; }; then
            die "$dest exists and was not made by $PROG (no $STAMP); remove it yourself"
        fi
    fi
    log "$name: building"
    t0=${EPOCHREALTIME/,/.}
    TMPROOT=$OUTDIR/.$name.building.$$
    rm -rf --one-file-system -- "$TMPROOT"
    mkdir -- "$TMPROOT"
    "build_$name" "$TMPROOT"
    printf '%s\n' "$want" >"$TMPROOT/$STAMP"
    rm -rf --one-file-system -- "$dest"
    mv -- "$TMPROOT" "$dest"
    TMPROOT=
    log "$name: built in $("$AWK" -v a="$t0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.2f", b - a }')s ($(du -sh "$dest" | cut -f1))"
done
log "all images ready in $OUTDIR"
