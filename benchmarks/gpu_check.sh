#!/usr/bin/env bash
# The GPU check of occbench's learned baselines, in one short script (about 5 minutes on one H200):
#   1. trains each learned network for $STEPS steps at 256 px with $AMP autocast (SGIN's three and SGE-Net on
#      the built-in labelled toyfaces drawings, the others on the demo photographs);
#   2. trains the same under torchrun --nproc-per-node 1 (the DDP path);
#   3. evaluates each checkpoint on the GPU (mask given; M-CSAM also with its segmenter, mask predicted; SGIN
#      as its full three-stage pipeline, mask and semantics predicted; FGI also under torchrun, compared);
# then prints, per method: step time, training images/s, peak GPU memory, evaluation images/s.
#
#   bash benchmarks/gpu_check.sh                               # on a CUDA machine
#   DEVICE=cpu AMP=none STEPS=2 bash benchmarks/gpu_check.sh   # checks the script itself on a CPU (slow)
#
# Variables: PYTHON (python3), DEVICE (cuda), AMP (bf16), STEPS (50), OUT (runs/gpu_check), METHODS (all six
# networks; an evaluation runs when the networks it needs are listed), WEIGHTS_DIR (a
# folder holding the FID Inception file: FID is added to the evaluation when set). VGG, LPIPS trunks: random
# stand-ins (speed does not depend on their values; results record it). occbench must be importable by
# $PYTHON (pip install -e . or PYTHONPATH=.); on a machine without a registry, carry missing wheels.
set -euo pipefail
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
AMP=${AMP:-bf16}
STEPS=${STEPS:-50}
OUT=${OUT:-runs/gpu_check}
METHODS=${METHODS:-"mcsam mcsam-segmenter fgi sgin-detector sgin-parser sgin sgenet"}
has() { [[ " $METHODS " == *" $1 "* ]]; }
OCC=("$PY" -m occbench)
TRAIN_FLAGS=(--max-steps "$STEPS" --device "$DEVICE" --amp "$AMP" --allow-random-backbones --log-every 1
             --checkpoint-every 100000 --no-progress)
EVAL_METRICS=(psnr ssim lpips)
[ -n "${WEIGHTS_DIR:-}" ] && EVAL_METRICS+=(fid)
EVAL_FLAGS=(--device "$DEVICE" --metrics "${EVAL_METRICS[@]}" --allow-random-lpips --no-progress
            --no-feature-cache ${WEIGHTS_DIR:+--weights-dir "$WEIGHTS_DIR"})

"$PY" -c "import torch, occbench; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
rm -rf "$OUT" && mkdir -p "$OUT"
"${OCC[@]}" build-dataset demo-irregular --out "$OUT/data" --workers 4 --no-progress  # 18 samples, 256 px
"${OCC[@]}" build-dataset demo-toyfaces-irregular --out "$OUT/toyfaces" --workers 4 --no-progress  # 16, labelled

for method in $METHODS; do
  data="$OUT/data"
  extra=()
  case "$method" in
    sgin-* | sgenet) data="$OUT/toyfaces" ;;
    sgin) data="$OUT/toyfaces"; extra=(--set "parser_checkpoint=$OUT/sgin-parser/checkpoints/last.pt") ;;
  esac
  "${OCC[@]}" train --method "$method" --data "$data" --out "$OUT/$method" "${TRAIN_FLAGS[@]}" "${extra[@]}"
  "$PY" -m torch.distributed.run --standalone --nproc-per-node 1 -m occbench train --method "$method" \
    --data "$data" --out "$OUT/$method-ddp" "${TRAIN_FLAGS[@]}" "${extra[@]}"
done
if has mcsam; then
  "${OCC[@]}" evaluate --method mcsam --checkpoint "$OUT/mcsam/checkpoints/last.pt" --data "$OUT/data" \
    --out "$OUT/eval-mcsam" "${EVAL_FLAGS[@]}"
fi
if has mcsam && has mcsam-segmenter; then
  "${OCC[@]}" evaluate --method mcsam --checkpoint "$OUT/mcsam/checkpoints/last.pt" --mask predicted \
    --param "segmenter=$OUT/mcsam-segmenter/checkpoints/last.pt" --data "$OUT/data" --out "$OUT/eval-mcsam-2stage" \
    "${EVAL_FLAGS[@]}"
fi
if has fgi; then
  "${OCC[@]}" evaluate --method fgi --checkpoint "$OUT/fgi/checkpoints/last.pt" --data "$OUT/data" \
    --out "$OUT/eval-fgi" "${EVAL_FLAGS[@]}"
fi
if has fgi; then  # the torchrun evaluation path (NCCL, one process): its values must equal the plain run's
  "$PY" -m torch.distributed.run --standalone --nproc-per-node 1 -m occbench evaluate --method fgi \
    --checkpoint "$OUT/fgi/checkpoints/last.pt" --data "$OUT/data" --out "$OUT/eval-fgi-torchrun" "${EVAL_FLAGS[@]}"
  "$PY" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path

def values(name):
    results = json.loads((Path(sys.argv[1]) / name / "results.json").read_text())
    rows = [(r, r["mean"]) for r in results["aggregates"]] + [(r, r["value"]) for r in results["dataset_metrics"]]
    return {(r["metric"], r["region"], r["mode"]): v for r, v in rows if isinstance(v, float)}, results

(plain, _), (torchrun, results) = values("eval-fgi"), values("eval-fgi-torchrun")
worst = max(abs(plain[key] - torchrun[key]) for key in plain)
print(f"torchrun evaluate {results['provenance']['processes']}: {len(plain)} values, largest difference "
      f"from the plain run {worst:.2e}")
EOF
fi
if has sgin && has sgin-detector && has sgin-parser; then
  "${OCC[@]}" evaluate --method sgin --checkpoint "$OUT/sgin/checkpoints/last.pt" --mask predicted \
    --param "detector=$OUT/sgin-detector/checkpoints/last.pt" --param "parser=$OUT/sgin-parser/checkpoints/last.pt" \
    --param semantics=predicted --data "$OUT/toyfaces" --out "$OUT/eval-sgin-3stage" "${EVAL_FLAGS[@]}"
fi
if has sgenet; then
  "${OCC[@]}" evaluate --method sgenet --checkpoint "$OUT/sgenet/checkpoints/last.pt" --data "$OUT/toyfaces" \
    --out "$OUT/eval-sgenet" "${EVAL_FLAGS[@]}"
fi

"$PY" - "$OUT" "$METHODS" <<'EOF'
"""Summary: median step time after 5 warm-up steps, images/s (batch / step time), peak GPU memory."""
import csv, json, statistics, sys
from pathlib import Path

from occbench.baselines.engine.trainer import load_checkpoint

out, methods = Path(sys.argv[1]), sys.argv[2].split()
print(f"\n{'run':<22} {'step s':>8} {'train img/s':>12} {'peak GPU MB':>12}")
for method in methods:
    for run in (method, f"{method}-ddp"):
        rows = list(csv.DictReader((out / run / "log.csv").open()))
        seconds = [float(r["seconds"]) for r in rows[5:] or rows]
        step = statistics.median(seconds)
        batch = load_checkpoint(out / run / "checkpoints" / "last.pt")["config"]["batch_size"]
        peak = max((float(r.get("peak_gpu_mb") or 0) for r in rows), default=0.0)
        print(f"{run:<22} {step:>8.4f} {batch / step:>12.1f} {peak:>12.0f}")
print(f"\n{'evaluation':<22} {'scored img/s':>12} {'predict s':>10} {'peak GPU MB':>12}")
for run in ("eval-mcsam", "eval-mcsam-2stage", "eval-fgi", "eval-sgin-3stage", "eval-sgenet"):
    if not (out / run / "results.json").is_file():
        continue
    timing = json.loads((out / run / "results.json").read_text())["provenance"]["timing"]
    print(f"{run:<22} {timing['scored_images_per_s']:>12.1f} {timing['predict_s']:>10.2f} "
          f"{timing.get('peak_gpu_mb', 0):>12.0f}")
EOF
