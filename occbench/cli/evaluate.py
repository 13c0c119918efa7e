"""``occbench evaluate``: run a method (or take external predictions) and score it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from occbench.cli.predict import add_method_options, method_params
from occbench.metrics import ALL_REGIONS, OUTPUT_MODES, PART_REGIONS, REGIONS, default_metrics, selectable_metrics

EPILOG = """examples:
  occbench evaluate --method telea --data runs/demo/data --out runs/demo/telea
  occbench evaluate --method mcsam --checkpoint runs/mcsam/last.pt --data data/masked --out runs/mcsam-e --device cuda
  occbench evaluate --predictions my_method/pngs --data data/c256 --out runs/mine --metrics psnr ssim fid
  occbench evaluate --method telea --data data/celebamask-facemask --out runs/telea-parts --parts
  torchrun --nproc-per-node 4 -m occbench.cli evaluate --method sgin --data data/natocc --out runs/sgin --device cuda

Under torchrun the processes split the samples (blocks of whole batches; --batch-size is per process) and process
0 gathers the statistics and writes scores.csv and results.json: the values equal a single process's. --data and
--out must be folders every process sees.
"""


def run(args: argparse.Namespace) -> int:
    from occbench.devices import resolve_device
    from occbench.evaluate.run import EvaluateConfig, evaluate
    from occbench.evaluate.scoring import ScoreSettings

    settings = ScoreSettings(
        metrics=tuple(args.metrics or default_metrics()), regions=_regions(args),
        modes=tuple(args.modes or OUTPUT_MODES), boundary_px=args.boundary_px, lpips_net=args.lpips_net,
        weights_dir=args.weights_dir, allow_random_lpips=args.allow_random_lpips, device=resolve_device(args.device),
        feature_cache=not args.no_feature_cache, explicit=bool(args.metrics), explicit_regions=bool(args.regions),
    )
    results = evaluate(EvaluateConfig(
        data=Path(args.data), out=Path(args.out), method=args.method,
        predictions=Path(args.predictions) if args.predictions else None, params=method_params(args),
        limit=args.limit, batch_size=args.batch_size, progress=not args.no_progress, overwrite=args.overwrite,
        name=args.name, allow_pixel_mismatch=args.allow_pixel_mismatch, score=settings,
        predicted_masks=Path(args.predicted_masks) if args.predicted_masks else None,
    ))
    if results is None:  # a torchrun process other than the first: process 0 reports
        return 0
    for warning in results["warnings"]:
        print(f"occbench: warning: {warning}", file=sys.stderr)
    print(f"{args.out}: results.json and scores.csv for {results['method']['name']} on "
          f"{results['dataset']['samples']} samples of {results['dataset']['protocol']}")
    seg = results.get("segmentation")
    if seg:  # the method's own segmentation (SGE-Net): scored beside the image metrics
        miou = "n/a" if seg["miou"] is None else f"{seg['miou']:.4f}"
        accuracy = "n/a" if seg["pixel_accuracy"] is None else f"{seg['pixel_accuracy']:.4f}"
        print(f"segmentation ({seg['scheme']}): mIoU {miou}, pixel accuracy {accuracy} "
              "(per class in results.json; maps in pred_seg/)")
    return 0


def _regions(args: argparse.Namespace) -> tuple[str, ...]:
    """``--regions`` (default: the six default regions), plus the five face-part regions with ``--parts``."""
    return tuple(dict.fromkeys((*(args.regions or REGIONS), *(PART_REGIONS if args.parts else ()))))


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("evaluate", help="run a method (or take external predictions) and score it",
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--method", help="registered method to run first (occbench ls methods)")
    source.add_argument("--predictions", help="folder of <id>.png predictions from an external method")
    parser.add_argument("--predicted-masks", metavar="DIR",
                        help="with --predictions: the masks the external method was given instead of the dataset's "
                             "(<id>.png, 255 = hole; e.g. a detector's pred_mask/ folder): recorded as mask=predicted, "
                             "the composite pastes the target back through them and mask_iou/precision/recall are "
                             "scored")
    parser.add_argument("--data", required=True, help="built dataset folder")
    parser.add_argument("--out", required=True, help="run folder for pred/, scores.csv, results.json")
    add_method_options(parser)
    parser.add_argument("--name", help="display name in tables and plots (e.g. 'M-CSAM (ours)'; default: the method)")
    parser.add_argument("--allow-pixel-mismatch", action="store_true",
                        help="score predictions whose known pixels disagree with this dataset's inputs in a region "
                             "(made for other holes); refused by default, recorded when allowed")
    parser.add_argument("--metrics", nargs="+", choices=selectable_metrics(), metavar="METRIC",
                        help=f"any of {' '.join(selectable_metrics())} (registered metrics; plugins through the "
                             f"occbench.metrics entry points); default: {' '.join(default_metrics())}; missing "
                             "weights then skip a metric with a warning (asked for explicitly, they are an error)")
    parser.add_argument("--regions", nargs="+", choices=ALL_REGIONS, metavar="REGION",
                        help=f"any of {' '.join(ALL_REGIONS)}; default: {' '.join(REGIONS)} (fg and hole_fg need a "
                             "dataset whose label scheme has a foreground: skipped with a warning by default, an "
                             "error when named here; the face-part regions are scored only when named here or with "
                             "--parts)")
    parser.add_argument("--parts", action="store_true",
                        help=f"also score per face part: {' '.join(PART_REGIONS)} (hole ∩ eyes (with brows) / nose / "
                             "mouth (lips, inner mouth) / skin (with ears) / hair of the target's parsing labels; "
                             "the mapping is the label scheme's and recorded in results.json). Needs a dataset with "
                             "face labels (celebamask19, helen11): an error otherwise")
    parser.add_argument("--modes", nargs="+", choices=OUTPUT_MODES, metavar="MODE",
                        help="raw: the output as returned; composite: mask*pred + (1-mask)*target (default: both)")
    parser.add_argument("--boundary-px", type=int, default=8, help="half-width of the boundary band in pixels")
    parser.add_argument("--lpips-net", choices=["alex", "vgg"], default="alex")
    parser.add_argument("--allow-random-lpips", action="store_true",
                        help="run LPIPS with a random trunk when its weights are missing (wiring checks only)")
    parser.add_argument("--weights-dir", type=Path, help="folder searched first for weight files")
    parser.add_argument("--no-feature-cache", action="store_true",
                        help="neither read nor write the cache of reference-image results (Inception features and "
                             "dlib face descriptors of the targets; $OCCBENCH_CACHE or ~/.cache/occbench/features)")
    parser.set_defaults(func=run)
