#!/usr/bin/env bash
# Installs every build and test dependency from Debian's packages and builds
# the tree into ./build. Idempotent and non-interactive; run as root on a fresh
# Debian 12 machine (sudo is used when not root).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git
  libseccomp-dev libboost-dev libprotobuf-dev protobuf-compiler
  doctest-dev libssl-dev libtomlplusplus-dev libfmt-dev
  libibverbs-dev librdmacm-dev
  clang libclang-rt-14-dev
  iproute2 util-linux procps psmisc tmux python3 xz-utils gzip
  gnuplot-nox
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
