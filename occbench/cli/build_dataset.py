"""``occbench build-dataset``: synthesise an occluded dataset from a protocol."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from occbench.cli._args import add_assets_dir, add_progress, positive_int

EPILOG = """examples:
  occbench build-dataset demo-center --out runs/demo/data --workers 2
  occbench build-dataset celebahq-nvidia-irregular-256 \\
      --source-dir /data/CelebAMask-HQ --assets-dir /data/nvidia/testing_mask_dataset --out data/nv256 --shard 3/8
"""


def run(args: argparse.Namespace) -> int:
    from occbench.dataset.build import BuildConfig, build_dataset
    from occbench.dataset.plan import parse_shard
    from occbench.protocol import load_protocol

    config = BuildConfig(
        protocol=load_protocol(args.protocol), out=Path(args.out), source_dir=args.source_dir,
        assets_dir=args.assets_dir, workers=args.workers, limit=args.limit, shard=parse_shard(args.shard),
        retry_skipped=args.retry_skipped, progress=not args.no_progress,
    )
    report = build_dataset(config)
    for problem in report.source_problems[:10]:
        print(f"occbench: warning: {problem}", file=sys.stderr)
    if len(report.source_problems) > 10:
        print(f"occbench: warning: … and {len(report.source_problems) - 10} more (dataset.json lists them)",
              file=sys.stderr)
    if report.failed:
        print(f"occbench: error: {args.out}: {report.failed} samples failed for a reason outside the data and will be "
              f"retried by the next run (first: {report.first_failure}); {report.produced_now - report.failed} "
              "processed in this run", file=sys.stderr)
        return 1
    if not report.complete:
        print(f"{args.out}: shard {args.shard} done ({report.produced_now} processed); "
              "manifest is written when every shard has finished")
        return 0
    print(f"{args.out}: {report.ok} samples written, {report.skipped} skipped (see skipped.csv); "
          f"{report.produced_now} processed in this run")
    if not report.ok:
        print(f"occbench: error: {args.out}: no sample could be produced; the reasons are in skipped.csv",
              file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("build-dataset", help="synthesise an occluded dataset from a protocol", epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("protocol", metavar="PROTOCOL", help="shipped name or path to a YAML file")
    parser.add_argument("--out", required=True, help="output folder (resumed if it holds a partial build)")
    parser.add_argument("--source-dir", type=Path, help="root folder of the source images")
    add_assets_dir(parser)
    parser.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    parser.add_argument("--limit", type=positive_int, help="only the first N samples (in id order)")
    parser.add_argument("--shard", default="0/1", help="build shard i of N (0-based), e.g. 3/8 for array jobs")
    parser.add_argument("--retry-skipped", action="store_true", help="retry samples skipped by an earlier run")
    add_progress(parser)
    parser.set_defaults(func=run)
