#!/usr/bin/env bash
# The style-swap figure of baselines/sgin/README.md, from nothing but occbench (no download, CPU is enough):
#   1. builds 64 toyfaces drawings (synthetic faces with CelebAMask-HQ labels) at 64 px with a centre hole;
#   2. trains a narrow SGIN (ground-truth semantics) for $STEPS steps;
#   3. runs `occbench edit`: inpaints toy001 with the hair and skin style codes of toy005.
# Toy drawings colour each region flatly, so a style swap shows as a colour change of exactly those regions.
#
#   bash benchmarks/sgin_edit_figure.sh            # STEPS=200 (about 25 min on 2 CPU cores)
# Variables: PYTHON (python3), STEPS (200), OUT (runs/sgin_edit_figure), FIGURE (baselines/sgin/figures/edit_swap)
set -euo pipefail
PY=${PYTHON:-python3}
STEPS=${STEPS:-200}
OUT=${OUT:-runs/sgin_edit_figure}
FIGURE=${FIGURE:-baselines/sgin/figures/edit_swap}
mkdir -p "$OUT"
cat > "$OUT/protocol.yaml" <<'YAML'
name: toyfaces-center-64
version: 1
description: toyfaces at 64 px with a 24 px centre hole (the SGIN editing figure)
seed: 7
resolution: 64
source: {name: toyfaces, params: {count: 64, size: 64}}
generator: {name: center, params: {size: 24}}
YAML
"$PY" -m occbench build-dataset "$OUT/protocol.yaml" --out "$OUT/data" --no-progress
"$PY" -m occbench train --method sgin --data "$OUT/data" --out "$OUT/sgin" --max-steps "$STEPS" --batch-size 4 \
  --device "${DEVICE:-cpu}" --allow-random-backbones --no-progress --log-every 50 --checkpoint-every 100000 \
  --set semantics=gt --set generator.style_dim=64 --set generator.max_width=128 --set generator.min_width=32 \
  --set 'generator.encoder_widths=[32, 64, 128, 128]' --set discriminator.base=32 --set discriminator.n_layers=3
"$PY" -m occbench edit --checkpoint "$OUT/sgin/checkpoints/last.pt" --image "$OUT/data/occluded/toy001.png" \
  --mask "$OUT/data/mask/toy001.png" --labels "$OUT/data/label/toy001.png" \
  --style-from "$OUT/data/target/toy005.png" --style-labels "$OUT/data/label/toy005.png" --regions hair skin \
  --out "$FIGURE" --device "${DEVICE:-cpu}"
