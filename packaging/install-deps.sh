#!/usr/bin/env bash
# install-deps.sh: install every Debian package podfs needs to build, test
# and run. Idempotent and non-interactive; run as root (or with sudo) on
# Debian 12 / Ubuntu 22.04+.
#
# Deliberately NOT installed: Debian's kubernetes-client (kubectl 1.20,
# SPDY only). The kubectl tests use the kubectl >= 1.30 already on the
# machine and fail loudly without it.
set -euo pipefail

pkgs=(
    build-essential cmake pkg-config
    libfuse3-dev fuse3
    libcurl4-openssl-dev libwebsockets-dev libssl-dev openssl
    libcjson-dev libyaml-dev libcmocka-dev
    busybox-static dash coreutils findutils tar gzip
    util-linux procps psmisc rsync git ca-certificates curl diffutils
)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#pkgs[@]} packages present"
    exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
