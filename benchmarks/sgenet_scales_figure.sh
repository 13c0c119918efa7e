#!/usr/bin/env bash
# The Fig. 7-style figure of baselines/sgenet/README.md, from nothing but occbench (no download, CPU is enough):
#   1. builds 64 toyfaces drawings (synthetic faces with CelebAMask-HQ labels) at 64 px with a centre hole;
#   2. trains a narrow SGE-Net (3 levels) for $STEPS steps;
#   3. draws Ŷ^l, Ŝ^l, M^l and the confidence maps across scales for toy001 (sgenet_scales_figure.py).
#
#   bash benchmarks/sgenet_scales_figure.sh        # STEPS=300
# Variables: PYTHON (python3), STEPS (300), OUT (runs/sgenet_scales_figure), FIGURE (baselines/sgenet/figures/scales.png)
set -euo pipefail
PY=${PYTHON:-python3}
STEPS=${STEPS:-300}
OUT=${OUT:-runs/sgenet_scales_figure}
FIGURE=${FIGURE:-baselines/sgenet/figures/scales.png}
mkdir -p "$OUT" "$(dirname "$FIGURE")"
cat > "$OUT/protocol.yaml" <<'YAML'
name: toyfaces-center-64
version: 1
description: toyfaces at 64 px with a 24 px centre hole (the SGE-Net scales figure)
seed: 7
resolution: 64
source: {name: toyfaces, params: {count: 64, size: 64}}
generator: {name: center, params: {size: 24}}
YAML
"$PY" -m occbench build-dataset "$OUT/protocol.yaml" --out "$OUT/data" --no-progress
"$PY" -m occbench train --method sgenet --data "$OUT/data" --out "$OUT/sgenet" --max-steps "$STEPS" --batch-size 8 \
  --device "${DEVICE:-cpu}" --allow-random-backbones --no-progress --log-every 50 --checkpoint-every 100000 \
  --set generator.base=16 --set generator.levels=3 --set generator.max_width=64 --set discriminator.base=16 \
  --set discriminator.n_layers=2 --set optimizer.g_lr=5e-4
"$PY" benchmarks/sgenet_scales_figure.py "$OUT/sgenet/checkpoints/last.pt" "$OUT/data" toy001 "$FIGURE"
