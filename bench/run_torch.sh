#!/usr/bin/env bash
# Benchmark of issue 2: per-call overhead of a tiny op and one training step of a small
# conv-BN-ReLU network, in the binding (bench/Hybrid.Bench) and in PyTorch (bench/python),
# same session, same thread count (the core count), rounds interleaved. Writes
# bench/RESULTS-torch.md. Needs the native library (bash scripts/setup.sh) and a python3 with
# torch: Debian's python3-torch, found among the python3 interpreters on PATH, or PYTHON=...
#   bash bench/run_torch.sh
# Defaults: ROUNDS=5 THREADS=$(nproc) OP_SAMPLES=10 STEP_SAMPLES=6 RESULTS=bench/RESULTS-torch.md
# (per round and implementation: 10 samples of 20,000 calls, 6 timed steps after 2 warm-up).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-5}"
THREADS="${THREADS:-$(nproc)}"
OP_SAMPLES="${OP_SAMPLES:-10}"
STEP_SAMPLES="${STEP_SAMPLES:-6}"
RESULTS="${RESULTS:-bench/RESULTS-torch.md}"
OUT=bench/out
mkdir -p "$OUT"

# An interpreter that can import torch: $PYTHON if given, else the first python3 on PATH that can.
find_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  local p
  while read -r p; do
    if "$p" -c "import torch" >/dev/null 2>&1; then echo "$p"; return; fi
  done < <(type -ap python3 | awk '!seen[$0]++')
  echo ""
}
PY="$(find_python)"
if [ -z "$PY" ] || ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "run_torch: no python3 with torch found; install Debian's python3-torch or set PYTHON=/path/to/python3" >&2
  exit 1
fi
if [ ! -f build/native/libhybrid_torch.so ]; then
  echo "run_torch: build/native/libhybrid_torch.so is missing; run: bash scripts/setup.sh" >&2
  exit 1
fi

dotnet build bench/Hybrid.Bench/Hybrid.Bench.csproj -c Release --nologo -v q -clp:ErrorsOnly
BIN=bench/Hybrid.Bench/bin/Release/net10.0/hybrid-bench
RUNS="$OUT/torch-runs-threads$THREADS.jsonl"
: > "$RUNS"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  OP=(--threads "$THREADS" --samples "$OP_SAMPLES" --warmup 2 --json)
  STEP=(--threads "$THREADS" --samples "$STEP_SAMPLES" --warmup 2 --json)
  "$BIN" torch-op "${OP[@]}" >> "$RUNS"
  "$PY" bench/python/bench_torch.py op "${OP[@]}" >> "$RUNS"
  "$BIN" torch-step "${STEP[@]}" >> "$RUNS"
  "$PY" bench/python/bench_torch.py step "${STEP[@]}" >> "$RUNS"
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
HOW="$(date -u +%Y-%m-%d), $(nproc) cores, threads $THREADS, $ROUNDS rounds; load average (1, 5, 15 min) $LOAD_START at start, $LOAD_END at end"
"$PY" bench/python/summarize_torch.py "$RUNS" "$RESULTS" "$HOW"
