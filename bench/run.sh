#!/usr/bin/env bash
# `make bench`: every benchmark of issue 11, ours (bench/Hybrid.Bench: TorchSharp over the
# libtorch 2.10 of the TorchSharp-cpu package) and the PyTorch twins (bench/python, Debian's
# python3-torch: PyTorch 1.13 with its own libtorch 1.13; the two libtorch versions differ and
# RESULTS.md says so), in one session with the same thread count, rounds interleaved; writes
# bench/RESULTS.md (machine facts, medians, spreads, ratios ours / PyTorch, the issue's
# targets). Raw samples: bench/out/ (ignored by git).
#   bash bench/run.sh
#   ROUNDS=1 CAM_SAMPLES=2 COSA_SAMPLES=1 WARMUP=1 bash bench/run.sh      # a quick smoke run
# Environment (defaults): ROUNDS (3), THREADS (core count), RESULTS (bench/RESULTS.md),
# BENCHES (all: "torch-op torch-step cam-step cosa-step cam-eval loader crf-96 crf-321 peak-rss"),
# samples per round and implementation: OP_SAMPLES (10 x 20,000 calls), STEP_SAMPLES (15),
# CAM_SAMPLES (20), COSA_SAMPLES (6), EVAL_SAMPLES (8), LOADER_SAMPLES (5 x 8 batches),
# CRF_SAMPLES (5), RSS_SAMPLES (1 fresh process) of RSS_STEPS (5) steps; WARMUP overrides every
# benchmark's warm-up count (default 5 for torch-step and cam-step, 2 for torch-op, cam-eval and the CRFs, 1 for the
# others); PYTHON (an interpreter with torch; default: the first python3 on PATH that can
# import it); RESULTS_NOTE (a line quoted at the top of the results, e.g. "smoke run");
# BUILD (1; 0 runs the hybrid-bench already built instead of building it first).
# HYBRID_MALLOC (retain, the default, or system) is passed through to ours (bench/README.md).
# The backbone table (`hybrid-bench backbones`) is not part of this run.
set -euo pipefail
cd "$(dirname "$0")/.."
# TorchSharp 0.107's scalar lifetime guard (README, "TorchSharp and scalars"): its wrappers stay
# unoptimized and un-inlined, so a scalar they pass to libtorch lives until the call returns.
export DOTNET_TC_CallCounting=0 DOTNET_JitNoInline=1

ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-$(nproc)}"
RESULTS="${RESULTS:-bench/RESULTS.md}"
BENCHES="${BENCHES:-torch-op torch-step cam-step cosa-step cam-eval loader crf-96 crf-321 peak-rss}"
OUT=bench/out
mkdir -p "$OUT"

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
  echo "bench: no python3 with torch found; install Debian's python3-torch or set PYTHON=/path/to/python3" >&2
  exit 1
fi
BIN=bench/Hybrid.Bench/bin/Release/net10.0/hybrid-bench
if [ "${BUILD:-1}" != 0 ]; then
  dotnet build bench/Hybrid.Bench/Hybrid.Bench.csproj -c Release --nologo -v q -clp:ErrorsOnly
elif [ ! -x "$BIN" ]; then
  echo "bench: BUILD=0 but $BIN is not built" >&2
  exit 1
fi
export HYBRID_NUM_THREADS="$THREADS"
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in bench/python

# name -> "samples warmup inner twin" (twin: the python script with this benchmark, or -)
spec() {
  case "$1" in
    torch-op)   echo "${OP_SAMPLES:-10} ${WARMUP:-2} 0 bench_torch.py:op" ;;
    torch-step) echo "${STEP_SAMPLES:-15} ${WARMUP:-5} 0 bench_torch.py:step" ;;
    cam-step)   echo "${CAM_SAMPLES:-20} ${WARMUP:-5} 0 bench_wsss.py:cam-step" ;;
    cosa-step)  echo "${COSA_SAMPLES:-6} ${WARMUP:-1} 0 bench_wsss.py:cosa-step" ;;
    cam-eval)   echo "${EVAL_SAMPLES:-8} ${WARMUP:-2} 0 bench_wsss.py:cam-eval" ;;
    loader)     echo "${LOADER_SAMPLES:-5} ${WARMUP:-1} 8 -" ;;
    crf-96)     echo "${CRF_SAMPLES:-5} ${WARMUP:-2} 0 -" ;;
    crf-321)    echo "${CRF_SAMPLES:-5} ${WARMUP:-2} 0 -" ;;
    peak-rss)   echo "${RSS_SAMPLES:-1} 0 ${RSS_STEPS:-5} bench_wsss.py:peak-rss" ;;
    *) echo "bench: unknown benchmark '$1' in BENCHES" >&2; exit 2 ;;
  esac
}
for b in $BENCHES; do spec "$b" >/dev/null; done

RUNS="$OUT/runs-threads$THREADS.jsonl"
: > "$RUNS"
T0=$(date +%s)
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
SAMPLES_TXT=""
for b in $BENCHES; do read -r s _ _ _ <<< "$(spec "$b")"; SAMPLES_TXT="$SAMPLES_TXT${SAMPLES_TXT:+, }$b $s"; done
for r in $(seq 1 "$ROUNDS"); do
  for b in $BENCHES; do
    read -r samples warmup inner twin <<< "$(spec "$b")"
    echo "round $r/$ROUNDS: $b" >&2
    ARGS=(--threads "$THREADS" --samples "$samples" --warmup "$warmup" --json)
    [ "$inner" != 0 ] && ARGS+=(--inner "$inner")
    "$BIN" "$b" "${ARGS[@]}" >> "$RUNS"
    if [ "$twin" != "-" ]; then
      "$PY" "bench/python/${twin%%:*}" "${twin##*:}" "${ARGS[@]}" >> "$RUNS"
    fi
  done
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
MACHINE="$OUT/machine.json"
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"
MEM="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
DATE="$(date -u +%Y-%m-%d)" CPU="${CPU:-unknown}" MEM="$MEM" CORES="$(nproc)" THREADS="$THREADS" ROUNDS="$ROUNDS" \
  LOAD_START="$LOAD_START" LOAD_END="$LOAD_END" SAMPLES_TXT="$SAMPLES_TXT" SECONDS_TAKEN="$(( $(date +%s) - T0 ))" NOTE="${RESULTS_NOTE:-}" \
  "$PY" -c 'import json, os; e = os.environ; print(json.dumps({"date": e["DATE"], "cpu": e["CPU"], "memory": e["MEM"], "cores": e["CORES"],
    "threads": e["THREADS"], "rounds": e["ROUNDS"], "load_start": e["LOAD_START"], "load_end": e["LOAD_END"],
    "samples": e["SAMPLES_TXT"], "seconds": e["SECONDS_TAKEN"], "note": e["NOTE"]}))' > "$MACHINE"
"$PY" bench/python/summarize.py "$RUNS" "$RESULTS" "$MACHINE" > /dev/null
echo "bench: wrote $RESULTS ($(( $(date +%s) - T0 )) s)" >&2
