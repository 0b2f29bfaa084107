#!/usr/bin/env bash
# `make demo`: WSSS on the embedded benchmark, end to end, on the CPU.
#   1. generate FMNIST-Scenes (once),
#   2. train the CAM baseline, CoSA and the fully supervised upper bound (same backbone, seed),
#   3. evaluate each on val and print seed / pseudo-mask / segmentation mIoU side by side.
# Step counts are sized for about 15 minutes on 2 cores; DEMO_STEPS scales them.
set -euo pipefail
cd "$(dirname "$0")/.."

data=data/fmnist-scenes
runs=runs/demo
steps=${DEMO_STEPS:-600}

if [ ! -f "$data/scenes.json" ]; then
  ./hybrid data scenes --out "$data"
fi

train() { # name method extra-args...
  local name=$1; shift
  echo
  echo "== $name"
  ./hybrid train --data "$data" --out "$runs/$name" --steps "$steps" --seed 0 "$@"
}

methods=${DEMO_METHODS:-cam cosa}
for m in $methods; do
  if ./hybrid train --help 2>/dev/null | grep -q "$m"; then train "$m" --method "$m"; fi
done
train supervised --method supervised

echo
./hybrid compare "$runs"/*
echo
echo "Reports and pictures: $runs/<method>/report.md and $runs/<method>/pictures/"
