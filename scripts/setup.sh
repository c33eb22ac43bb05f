#!/usr/bin/env bash
# Installs every Debian dependency of coinfer (idempotent) and builds it.
# Usage: scripts/setup.sh [--no-build] [--with-bench]
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake pkg-config git
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libdnnl-dev ocl-icd-opencl-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libzmq3-dev cppzmq-dev coinor-libclp-dev libeigen3-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-torch python3-torchvision python3-onnx
  iproute2
  clang libclang-rt-14-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Speed references for bench/: ONNX Runtime from npm (its download step must be
# skipped: the CPU binary ships in the package).
if [[ " $* " == *" --with-bench "* ]]; then
  command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q nodejs npm; }
  if [ ! -d bench/node/node_modules/onnxruntime-node ]; then
    (cd bench/node && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund onnxruntime-node)
  fi
fi

if [[ " $* " != *" --no-build "* ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j2
fi
