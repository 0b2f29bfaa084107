#!/usr/bin/env bash
# One idempotent setup behind `make demo` and `make test`:
#   1. installs the Debian packages that are missing (as root, or through sudo),
#   2. builds the native shim with CMake (incremental),
#   3. restores and builds the .NET solution (incremental).
# A second run does no installing and little building: seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(libtorch-dev libopenblas0-pthread cmake g++ make libpng-dev libjpeg62-turbo-dev dataset-fashion-mnist)
# The benchmarks' reference twins and the test fixtures' provenance use PyTorch itself.
if [ "${HYBRID_WITH_PYTORCH:-0}" = "1" ]; then PACKAGES+=(python3-torch); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" = "0" ]; then SUDO=(); elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=(sudo -n); else
    echo "setup: these Debian packages are missing: ${missing[*]}" >&2
    echo "setup: run as root or with passwordless sudo, or install them yourself: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET SDK (10.0) is required and was not found on PATH" >&2
  exit 1
fi

# Native shim.
cmake -S src-cs/Hybrid.Torch/native -B build/native-cmake -DCMAKE_BUILD_TYPE=Release ${HYBRID_CMAKE_ARGS:-} >/dev/null
if ! cmake --build build/native-cmake -j "$(nproc)" > build/native-cmake/build.log 2>&1; then
  cat build/native-cmake/build.log >&2
  echo "setup: the native shim failed to build (log above)" >&2
  exit 1
fi
mkdir -p build/native
cp -u build/native-cmake/libhybrid_torch.so build/native/libhybrid_torch.so

# .NET solution.
dotnet build Hybrid.sln -c Release --nologo -v q -clp:ErrorsOnly
# the CLI launcher (./hybrid) rebuilds only when a source is newer than this stamp
touch build/.cli-built
