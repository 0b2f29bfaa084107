#!/usr/bin/env bash
# One idempotent setup behind `make demo` and `make test`:
#   1. installs the Debian package that is missing (Fashion-MNIST for the embedded benchmark; as
#      root or through sudo); HYBRID_WITH_PYTORCH=1 adds python3-torch for the bench's twins,
#   2. restores and builds the .NET solution (incremental). TorchSharp-cpu brings libtorch 2.10;
#      on a system whose libstdc++ is older than the one libLibTorchSharp.so names (Debian 12),
#      the build patches the copy in each executable's output folder (eng/GlibcxxMarkerPatch.cs)
#      and says so in one line. No native code is compiled.
# A second run does no installing and little building: seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(dataset-fashion-mnist)
# (with OpenBLAS: Debian's python3-torch otherwise runs on the reference BLAS, ~30x slower sgemm)
if [ "${HYBRID_WITH_PYTORCH:-0}" = "1" ]; then PACKAGES+=(python3-torch libopenblas0-pthread); fi

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

# .NET solution: errors, warnings and the libtorch patch line (once, not once per output folder).
mkdir -p build
set +e
dotnet build Hybrid.sln -c Release --nologo -v m -clp:NoSummary > build/build.log 2>&1
rc=$?
set -e
grep 'libtorch setup:' build/build.log | sed -e 's/^ *//' -e 's/ (in [^)]*)$//' | sort -u || true
if [ $rc -ne 0 ]; then
  grep -E ': (error|warning) ' build/build.log | sed 's/ \[[^]]*\]$//' | sort -u >&2
  echo "setup: the build failed (full log: build/build.log)" >&2
  exit $rc
fi
# the CLI launcher (./hybrid) rebuilds only when a source is newer than this stamp
touch build/.cli-built
