#!/usr/bin/env bash
# Runs the whole suite (built by setup) in its one runner, tests/Hybrid.Tests (Expecto), which
# ends with the line "N passed, N failed"; exits non-zero on any failure or when no test ran.
# Arguments pass to Expecto, e.g. `bash scripts/test.sh --filter-test-list Torch`.
set -uo pipefail
cd "$(dirname "$0")/.."
# Fewer garbage collections (gen0 budget 64 MiB): TorchSharp 0.107 frees implicitly converted
# scalars in finalizers, which can race a native call that still reads them (Overloads.fs).
export DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x4000000}"
exec dotnet tests/Hybrid.Tests/bin/Release/net10.0/hybrid-tests.dll "$@"
