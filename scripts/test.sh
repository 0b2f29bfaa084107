#!/usr/bin/env bash
# Runs the whole suite (built by setup) in its one runner, tests/Hybrid.Tests (Expecto), which
# ends with the line "N passed, N failed"; exits non-zero on any failure or when no test ran.
# Arguments pass to Expecto, e.g. `bash scripts/test.sh --filter-test-list Torch`.
set -uo pipefail
cd "$(dirname "$0")/.."
# TorchSharp 0.107's scalar lifetime guard (README, "TorchSharp and scalars"): its wrappers stay
# unoptimized and un-inlined, so a scalar they pass to libtorch lives until the call returns.
export DOTNET_TC_CallCounting=0 DOTNET_JitNoInline=1
exec dotnet tests/Hybrid.Tests/bin/Release/net10.0/hybrid-tests.dll "$@"
