#!/usr/bin/env bash
# The binding-vs-PyTorch subset (per-op call overhead, a conv-BN-ReLU training step), written to
# bench/RESULTS-torch.md; the same harness and options as bench/run.sh (see there).
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCHES="${BENCHES:-torch-op torch-step}"
export RESULTS="${RESULTS:-bench/RESULTS-torch.md}"
exec bash bench/run.sh
