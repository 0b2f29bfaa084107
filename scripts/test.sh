#!/usr/bin/env bash
# Runs the whole suite (built by setup) in its one runner, tests/Hybrid.Tests (Expecto), which
# ends with the line "N passed, N failed"; exits non-zero on any failure or when no test ran.
# Arguments pass to Expecto, e.g. `bash scripts/test.sh --filter-test-list Torch`.
set -uo pipefail
cd "$(dirname "$0")/.."
exec dotnet tests/Hybrid.Tests/bin/Release/net10.0/hybrid-tests.dll "$@"
