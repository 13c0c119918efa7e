"""The ``occbench`` command line: build-dataset, build-occluders, predict, evaluate, table, plot, preview, ls.

Examples::

    occbench ls protocols
    occbench validate celebahq-center-256
    occbench build-dataset demo-center --out runs/demo/data --workers 2
    occbench build-dataset celebahq-center-256 --source-dir /data/CelebAMask-HQ --out data/c256 --shard 0/8
    occbench build-dataset celebahq-nvidia-irregular-256 --source-dir /data/CelebAMask-HQ \\
        --mask-dir /data/nvidia/testing_mask_dataset --out data/nv256
    occbench predict --method telea --data runs/demo/data --out runs/demo/telea
    occbench evaluate --method telea --data runs/demo/data --out runs/demo/telea
    occbench table runs/demo/*/results.json --regions whole hole
    occbench plot runs/demo/*/results.json --kind bins --metric psnr --out runs/demo/psnr_bins
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from occbench import __version__
from occbench.errors import OccbenchError
from occbench.params import parse_key_values


def cmd_ls(args: argparse.Namespace) -> int:
    from occbench.registry import REGISTRIES

    if args.what == "protocols":
        from occbench.protocol import load_protocol, shipped_protocols

        for name in shipped_protocols():
            protocol = load_protocol(name)
            description = (protocol.resolved.get("description") or "").strip().splitlines()
            print(f"{name:<40} v{protocol.version}  {protocol.short_hash}  {description[0] if description else ''}")
        return 0
    for name in REGISTRIES[args.what].names():
        print(name)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from occbench.protocol import load_protocol

    for name in args.protocols:
        protocol = load_protocol(name)
        print(f"{protocol.path}: ok  {protocol.name} v{protocol.version}  sha256:{protocol.content_hash}")
        if args.show:
            print(yaml.safe_dump(dict(protocol.resolved), sort_keys=False).rstrip())
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from occbench.dataset.build import BuildConfig, build_dataset
    from occbench.dataset.plan import parse_shard
    from occbench.protocol import load_protocol

    config = BuildConfig(
        protocol=load_protocol(args.protocol), out=Path(args.out), source_dir=args.source_dir,
        mask_dir=args.mask_dir, workers=args.workers, limit=args.limit, shard=parse_shard(args.shard),
        retry_skipped=args.retry_skipped, progress=not args.no_progress,
    )
    report = build_dataset(config)
    if report.complete:
        print(f"{args.out}: {report.ok} samples written, {report.skipped} skipped (see skipped.csv); "
              f"{report.produced_now} processed in this run")
    else:
        print(f"{args.out}: shard {args.shard} done ({report.produced_now} processed); "
              "manifest is written when every shard has finished")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from occbench.methods.predict import PredictConfig, predict

    counts = predict(PredictConfig(
        method=args.method, data=Path(args.data), out=Path(args.out), params=parse_key_values(args.param, "--param"),
        limit=args.limit, batch_size=args.batch_size, device=args.device, overwrite=args.overwrite,
        progress=not args.no_progress,
    ))
    print(f"{args.out}/pred: {counts['predicted']} predicted, {counts['failed']} failed, {counts['samples']} samples")
    return 0 if not counts["failed"] else 1


def _method_params(args: argparse.Namespace) -> dict:
    params = parse_key_values(args.param, "--param")
    if args.checkpoint:
        params["checkpoint"] = args.checkpoint
    if args.mask:
        params["mask"] = args.mask
    return params


def cmd_evaluate(args: argparse.Namespace) -> int:
    from occbench.evaluate.run import EvaluateConfig, evaluate
    from occbench.evaluate.scoring import DEFAULT_METRICS, MODES, ScoreSettings
    from occbench.metrics.regions import REGIONS

    settings = ScoreSettings(
        metrics=tuple(args.metrics or DEFAULT_METRICS), regions=tuple(args.regions or REGIONS),
        modes=tuple(args.modes or MODES), boundary_px=args.boundary_px, lpips_net=args.lpips_net,
        weights_dir=args.weights_dir, allow_random_lpips=args.allow_random_lpips, device=args.device,
        explicit=bool(args.metrics),
    )
    results = evaluate(EvaluateConfig(
        data=Path(args.data), out=Path(args.out), method=args.method,
        predictions=Path(args.predictions) if args.predictions else None, params=_method_params(args),
        limit=args.limit, batch_size=args.batch_size, progress=not args.no_progress, score=settings,
    ))
    for warning in results["warnings"]:
        print(f"occbench: warning: {warning}", file=sys.stderr)
    print(f"{args.out}: results.json and scores.csv for {results['method']['name']} on "
          f"{results['dataset']['samples']} samples of {results['dataset']['protocol']}")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from occbench.report.preview import preview

    for path in preview(args.protocols, out=Path(args.out), source_name=args.source, source_dir=args.source_dir,
                        item_id=args.id, assets_dir=args.mask_dir, columns=args.columns):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="occbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"occbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("ls", help="list registered sources, masks, methods or shipped protocols")
    ls.add_argument("what", choices=["sources", "masks", "methods", "protocols"])
    ls.set_defaults(func=cmd_ls)

    validate = sub.add_parser("validate", help="check protocol files and print their content hash")
    validate.add_argument("protocols", nargs="+", metavar="PROTOCOL", help="shipped name or path to a YAML file")
    validate.add_argument("--show", action="store_true", help="print the resolved protocol")
    validate.set_defaults(func=cmd_validate)

    build = sub.add_parser("build-dataset", help="synthesise an occluded dataset from a protocol",
                           epilog="example: occbench build-dataset demo-center --out runs/demo/data --workers 2")
    build.add_argument("protocol", metavar="PROTOCOL", help="shipped name or path to a YAML file")
    build.add_argument("--out", required=True, help="output folder (resumed if it holds a partial build)")
    build.add_argument("--source-dir", type=Path, help="root folder of the source images")
    build.add_argument("--mask-dir", "--occluder-dir", "--templates-dir", dest="mask_dir", type=Path,
                       help="files the generator reads: a mask folder (external), QuickDraw .ndjson files, an "
                            "occluder bank (natocc, from build-occluders), MaskTheFace templates (facemask)")
    build.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    build.add_argument("--limit", type=int, help="only the first N samples (in id order)")
    build.add_argument("--shard", default="0/1", help="build shard i of N (0-based), e.g. 3/8 for array jobs")
    build.add_argument("--retry-skipped", action="store_true", help="retry samples skipped by an earlier run")
    build.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    build.set_defaults(func=cmd_build)

    pred = sub.add_parser("predict", help="run a method on a built dataset, writing RUN/pred/<id>.png",
                          epilog="example: occbench predict --method telea --data runs/demo/data --out runs/demo/telea")
    pred.add_argument("--method", required=True, help="registered method (occbench ls methods)")
    pred.add_argument("--data", required=True, help="built dataset folder")
    pred.add_argument("--out", required=True, help="run folder")
    pred.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="method parameter")
    pred.add_argument("--limit", type=int, help="only the first N samples")
    pred.add_argument("--batch-size", type=int, default=8)
    pred.add_argument("--device", default="cpu")
    pred.add_argument("--overwrite", action="store_true", help="recompute existing predictions")
    pred.add_argument("--no-progress", action="store_true")
    pred.set_defaults(func=cmd_predict)

    ev = sub.add_parser("evaluate", help="run a method (or take external predictions) and score it",
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=(
                            "examples:\n"
                            "  occbench evaluate --method telea --data runs/demo/data --out runs/demo/telea\n"
                            "  occbench evaluate --predictions my_method/pngs --data data/c256 --out runs/mine "
                            "--metrics psnr ssim fid"))
    source = ev.add_mutually_exclusive_group(required=True)
    source.add_argument("--method", help="registered method to run first (occbench ls methods)")
    source.add_argument("--predictions", help="folder of <id>.png predictions from an external method")
    ev.add_argument("--data", required=True, help="built dataset folder")
    ev.add_argument("--out", required=True, help="run folder for pred/, scores.csv, results.json")
    ev.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="method parameter")
    ev.add_argument("--checkpoint", help="trained checkpoint for learned methods (same as --param checkpoint=FILE)")
    ev.add_argument("--mask", choices=["given", "predicted"],
                    help="given: the dataset's mask; predicted: the method's own occlusion detector (where it has one)")
    ev.add_argument("--metrics", nargs="+", help="default: all; missing weights then skip a metric with a warning")
    ev.add_argument("--regions", nargs="+", help="default: whole zero_outside hole fg hole_fg boundary")
    ev.add_argument("--modes", nargs="+", help="default: raw composite")
    ev.add_argument("--boundary-px", type=int, default=8, help="half-width of the boundary band in pixels")
    ev.add_argument("--lpips-net", choices=["alex", "vgg"], default="alex")
    ev.add_argument("--allow-random-lpips", action="store_true",
                    help="run LPIPS with a random trunk when its weights are missing (wiring checks only)")
    ev.add_argument("--weights-dir", type=Path, help="folder searched first for weight files")
    ev.add_argument("--limit", type=int, help="only the first N samples")
    ev.add_argument("--batch-size", type=int, default=8)
    ev.add_argument("--device", default="cpu")
    ev.add_argument("--no-progress", action="store_true")
    ev.set_defaults(func=cmd_evaluate)

    prev = sub.add_parser("preview", help="one image under several protocols' generators, side by side",
                          epilog="example: occbench preview folder-center-256 folder-facemask-256 folder-randocc-256 "
                                 "--source demo --id astronaut --out docs/generators")
    prev.add_argument("protocols", nargs="+", metavar="PROTOCOL")
    prev.add_argument("--out", required=True, help="output path without suffix (PNG and PDF are written)")
    prev.add_argument("--source", help="use this registered source instead of the protocols' own (e.g. demo)")
    prev.add_argument("--source-dir", type=Path, help="root folder of the source images")
    prev.add_argument("--id", help="source item id to show (default: the first)")
    prev.add_argument("--mask-dir", "--occluder-dir", "--templates-dir", dest="mask_dir", type=Path,
                      help="files the generators read (same as build-dataset)")
    prev.add_argument("--columns", type=int, default=4)
    prev.set_defaults(func=cmd_preview)

    from occbench.baselines.engine.cli import register as register_train
    from occbench.occluders.cli import register as register_occluders
    from occbench.report.cli import register as register_report

    register_report(sub)
    register_occluders(sub)
    register_train(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except OccbenchError as exc:
        print(f"occbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("occbench: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
