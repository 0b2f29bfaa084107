#!/usr/bin/env bash
# `make bench`: the benchmark suites that have a runner script here, one after another; each
# writes its own bench/RESULTS-*.md. Now: run_torch.sh (binding vs PyTorch: op overhead and a
# training step). The other harnesses run on their own:
#   dotnet run -c Release --project bench/Hybrid.Bench.Crf
#   dotnet run -c Release --project bench/Hybrid.Bench.Backbones
set -euo pipefail
cd "$(dirname "$0")"
bash run_torch.sh
