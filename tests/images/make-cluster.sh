#!/usr/bin/env bash
# make-cluster.sh IMAGES_DIR STATEDIR
#
# Creates a fresh kube-sim cluster state in STATEDIR from the image templates
# that build-images.sh made in IMAGES_DIR:
#
#   STATEDIR/rootfs/<pod>-<container>/   a `cp -a` copy of the image template
#                                        (minus its build stamp)
#   STATEDIR/volumes/<pod>-<volume>/     host directories for hostPath volumes
#   STATEDIR/cluster.json                the cluster kube-sim serves
#   STATEDIR/.podfs-make-cluster         marker: this directory is ours
#
# An existing STATEDIR is deleted first, but only if it carries our marker
# (i.e. this script made it) and nothing is mounted below it; an existing
# non-empty STATEDIR without the marker is refused. cluster.json is written
# last, so a STATEDIR without it is incomplete. Needs root (ownership).
#
# Pods (namespace default unless noted; image templates in parentheses):
#   demo (gnu), gnu (gnu), busybox (busybox), notar (notar),
#   noshell (noshell), rofs (busybox, read-only rootfs, hostPath /data),
#   nonroot (busybox, uid/gid 1000, /root/secret.txt 0600 root),
#   small (busybox, 4096 KiB tmpfs /data), multi (sidecar=busybox, app=gnu,
#   default container "app"), pending (busybox, phase Pending),
#   team-a/web (busybox).
# shellcheck disable=SC2015  # 'A && B || die' is intended
set -euo pipefail
shopt -s inherit_errexit
umask 022
export LC_ALL=C

PROG=make-cluster
MARKER=.podfs-make-cluster
IMAGE_STAMP=.podfs-image-stamp

usage() {
    echo "usage: $0 IMAGES_DIR STATEDIR" >&2
    echo "  IMAGES_DIR: output directory of build-images.sh" >&2
    echo "  STATEDIR:   cluster state directory to (re)create (absolute or relative)" >&2
    exit 2
}
die() { echo "$PROG: ERROR: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

[ $# -eq 2 ] && [ -n "$1" ] && [ -n "$2" ] || usage
case $1 in -h|--help) usage ;; esac
[ "$(id -u)" -eq 0 ] || die "must run as root (rootfs copies keep ownership; chown)"

[ -d "$1" ] || die "IMAGES_DIR '$1' is not a directory (run build-images.sh first)"
IMAGES_DIR=$(cd -- "$1" && pwd -P)
for img in gnu busybox notar noshell; do
    [ -f "$IMAGES_DIR/$img/$IMAGE_STAMP" ] \
        || die "image '$img' missing or incomplete in $IMAGES_DIR (run build-images.sh $IMAGES_DIR)"
done

# STATEDIR ends up inside JSON strings, unescaped: allow printable ASCII only,
# minus '"' and '\'.
case $2 in
    *[!\ -~]*) die "STATEDIR must be printable ASCII (no control or non-ASCII characters): $(printf '%q' "$2")" ;;
    *[\"\\]*) die "STATEDIR must not contain '\"' or '\\': $2" ;;
esac
STATEDIR=$(realpath -m -- "$2")
case $STATEDIR in
    /) die "refusing to use / as STATEDIR" ;;
    *[!\ -~]*|*[\"\\]*) die "resolved STATEDIR contains characters that cannot go into cluster.json: $(printf '%q' "$STATEDIR")" ;;
esac
case $STATEDIR/ in
    "$IMAGES_DIR"/*) die "STATEDIR must not be inside IMAGES_DIR" ;;
esac

# ---------------------------------------------------------------------------
# remove the previous state (only ours)

mounts_below() { # DIR: print mount points at or below DIR
    # mountinfo escapes space/tab/newline/backslash as \ooo; DIR has no
    # control characters or backslashes, so only spaces need encoding.
    # (passed via the environment: awk -v would undo the \040 escapes)
    PODFS_MNT_DIR=${1// /\\040} awk '
        BEGIN { d = ENVIRON["PODFS_MNT_DIR"] }
        $5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

if [ -e "$STATEDIR" ] || [ -L "$STATEDIR" ]; then
    [ -d "$STATEDIR" ] && [ ! -L "$STATEDIR" ] || die "$STATEDIR exists and is not a directory"
    if [ -f "$STATEDIR/$MARKER" ]; then
        m=$(mounts_below "$STATEDIR")
        [ -z "$m" ] || die "something is still mounted below $STATEDIR (is kube-sim running?):"$'\n'"$m"
        rm -rf --one-file-system -- "$STATEDIR"
    elif [ -n "$(ls -A -- "$STATEDIR")" ]; then
        die "$STATEDIR exists, is not empty and was not made by $PROG (no $MARKER); refusing to delete it"
    fi
fi
mkdir -p -- "$STATEDIR"
printf 'made by tests/images/make-cluster.sh from %s\n' "$IMAGES_DIR" >"$STATEDIR/$MARKER"
mkdir -- "$STATEDIR/rootfs" "$STATEDIR/volumes"

# ---------------------------------------------------------------------------
# pods

PODS_JSON=()     # one JSON object per pod
CONTAINERS=()    # JSON objects of the pod being built
VOLUMES=()       # JSON objects of the container being built
COPY_PIDS=()

# rootfs copies run in parallel; fixups that need the copy are done after.
copy_rootfs() { # IMAGE DEST
    cp -a -- "$IMAGES_DIR/$1" "$2" &
    COPY_PIDS+=($!)
}

vol_hostpath() { # POD NAME MOUNTPATH
    local dir=$STATEDIR/volumes/$1-$2
    mkdir -p -- "$dir"
    VOLUMES+=("{\"name\": \"$2\", \"mountPath\": \"$3\", \"hostPath\": \"$dir\"}")
}
vol_tmpfs() { # NAME MOUNTPATH SIZE_KIB
    VOLUMES+=("{\"name\": \"$1\", \"mountPath\": \"$2\", \"tmpfsSizeKiB\": $3}")
}

# container POD NAME IMAGE [uid gid readonly]  (consumes VOLUMES)
container() {
    local pod=$1 name=$2 image=$3 uid=${4:-0} gid=${5:-0} ro=${6:-false}
    local rootfs=$STATEDIR/rootfs/$pod-$name vols='' v
    [ ! -e "$rootfs" ] || die "duplicate rootfs $rootfs"
    copy_rootfs "$image" "$rootfs"
    for v in "${VOLUMES[@]+"${VOLUMES[@]}"}"; do
        vols+=${vols:+,}$'\n            '$v
    done
    [ -z "$vols" ] || vols+=$'\n          '
    CONTAINERS+=("{\"name\": \"$name\", \"image\": \"podfs.test/$image:1\",
          \"rootfs\": \"$rootfs\",
          \"runAsUser\": $uid, \"runAsGroup\": $gid, \"readOnlyRootFilesystem\": $ro, \"workingDir\": \"/\",
          \"volumes\": [$vols]}")
    VOLUMES=()
}

# pod NAMESPACE NAME PHASE ANNOTATIONS_JSON  (consumes CONTAINERS)
pod() {
    local ns=$1 name=$2 phase=$3 ann=$4 cs='' c
    for c in "${CONTAINERS[@]}"; do
        cs+=${cs:+,}$'\n        '$c
    done
    PODS_JSON+=("{\"namespace\": \"$ns\", \"name\": \"$name\", \"phase\": \"$phase\",
      \"labels\": {\"app\": \"$name\"},
      \"annotations\": $ann,
      \"containers\": [$cs
      ]}")
    CONTAINERS=()
}

container demo main gnu;                       pod default demo Running '{}'
container gnu main gnu;                        pod default gnu Running '{}'
container busybox main busybox;                pod default busybox Running '{}'
container notar main notar;                    pod default notar Running '{}'
container noshell main noshell;                pod default noshell Running '{}'
vol_hostpath rofs data /data
container rofs main busybox 0 0 true;          pod default rofs Running '{}'
container nonroot main busybox 1000 1000;      pod default nonroot Running '{}'
vol_tmpfs data /data 4096
container small main busybox;                  pod default small Running '{}'
container multi sidecar busybox
container multi app gnu
pod default multi Running '{"kubectl.kubernetes.io/default-container": "app"}'
container pending main busybox;                pod default pending Pending '{}'
container web main busybox;                    pod team-a web Running '{}'

for p in "${COPY_PIDS[@]}"; do
    wait "$p" || die "copying a rootfs failed"
done

# fixups on the copies
rm -f -- "$STATEDIR"/rootfs/*/"$IMAGE_STAMP"
for d in "$STATEDIR"/rootfs/*/; do
    for s in proc dev sys tmp; do
        [ -d "$d$s" ] || die "$d$s missing (kube-sim mounts there)"
    done
done
# every volume mount point must exist in its rootfs
[ -d "$STATEDIR/rootfs/rofs-main/data" ] && [ -d "$STATEDIR/rootfs/small-main/data" ] \
    || die "volume mount point /data missing in rofs or small"
# nonroot: the app user owns its home and /data; root keeps a secret.
nr=$STATEDIR/rootfs/nonroot-main
chown -R 1000:1000 -- "$nr/home/app" "$nr/data"
printf 'only root may read this\n' >"$nr/root/secret.txt"
chown 0:0 -- "$nr/root/secret.txt"
chmod 600 -- "$nr/root/secret.txt"

# ---------------------------------------------------------------------------
# cluster.json (written last; atomically)

{
    printf '{\n  "namespaces": ["default", "team-a"],\n  "pods": [\n'
    n=${#PODS_JSON[@]}
    for ((i = 0; i < n; i++)); do
        sep=,; [ $((i + 1)) -lt "$n" ] || sep=
        printf '    %s%s\n' "${PODS_JSON[i]}" "$sep"
    done
    printf '  ]\n}\n'
} >"$STATEDIR/cluster.json.tmp"
mv -- "$STATEDIR/cluster.json.tmp" "$STATEDIR/cluster.json"

log "cluster with ${#PODS_JSON[@]} pods ready in $STATEDIR"
