"""``occbench predict``: run a method on a built dataset, writing ``RUN/pred/<id>.png``."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.cli._args import add_device, add_progress, positive_int


def add_method_options(parser: argparse.ArgumentParser) -> None:
    """Options that configure a method run (shared by predict and evaluate)."""
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="method parameter, repeatable (occbench ls methods; see the method's README)")
    parser.add_argument("--checkpoint", help="trained checkpoint for learned methods (same as --param checkpoint=FILE)")
    parser.add_argument("--mask", choices=["given", "predicted"],
                        help="given: the dataset's mask; predicted: the method's own occlusion detector "
                             "(where it has one)")
    parser.add_argument("--limit", type=positive_int, help="only the first N samples")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="images per batch (default 8)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace predictions in --out made by another method, other parameters, weights or "
                             "dataset (without it such a folder is refused; a run with the same fingerprint resumes)")
    add_device(parser, "the method (and, for evaluate, the metric networks)")
    add_progress(parser)


def method_params(args: argparse.Namespace) -> dict:
    """``--param`` pairs plus ``--checkpoint`` and ``--mask`` as parameters."""
    from occbench.params import parse_key_values

    params = parse_key_values(args.param, "--param")
    if args.checkpoint:
        params["checkpoint"] = args.checkpoint
    if args.mask:
        params["mask"] = args.mask
    return params


def run(args: argparse.Namespace) -> int:
    from occbench.devices import resolve_device
    from occbench.methods.predict import PredictConfig, predict

    counts = predict(PredictConfig(
        method=args.method, data=Path(args.data), out=Path(args.out), params=method_params(args),
        limit=args.limit, batch_size=args.batch_size, device=resolve_device(args.device), overwrite=args.overwrite,
        progress=not args.no_progress,
    ))
    print(f"{args.out}/pred: {counts['predicted']} predicted, {counts['failed']} failed, {counts['samples']} samples")
    return 0 if not counts["failed"] else 1


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("predict", help="run a method on a built dataset, writing RUN/pred/<id>.png",
                            epilog="example: occbench predict --method telea --data runs/demo/data "
                                   "--out runs/demo/telea --param radius=5")
    parser.add_argument("--method", required=True, help="registered method (occbench ls methods)")
    parser.add_argument("--data", required=True, help="built dataset folder")
    parser.add_argument("--out", required=True, help="run folder")
    add_method_options(parser)
    parser.set_defaults(func=run)
