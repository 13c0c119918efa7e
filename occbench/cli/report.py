"""``occbench report``: one self-contained HTML page (tables, figures, sample grid, provenance) from runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.cli._args import positive_int

EPILOG = """examples:
  occbench report runs/demo/telea runs/demo/navier-stokes --out report.html
  occbench report runs/c256/*/results.json --out c256.html --samples 12 --metric lpips
  occbench report runs/c256/telea runs/nv/telea --allow-different-data --out both.html
"""


def run(args: argparse.Namespace) -> int:
    from occbench.report.html import write_report

    out = write_report(args.results, args.out, samples=args.samples, metric=args.metric, region=args.region,
                       mode=args.mode, data=args.data, allow_different_data=args.allow_different_data,
                       title=args.title)
    print(f"{out}: {out.stat().st_size} bytes")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report", help="one self-contained HTML page: tables, bin curves, breakdowns, sample grid, provenance",
        description="Write one HTML file that needs no network (images embedded): the results tables, hole-ratio "
                    "bin curves, per-generator and per-occluder-category bars, a grid of samples with per-sample "
                    "scores (sortable: best/worst per method) and each run's provenance. Runs must share one "
                    "dataset unless --allow-different-data.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, metavar="RUN",
                        help="run folders (or their results.json files)")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    parser.add_argument("--samples", type=positive_int, default=8,
                        help="grid rows shown; the page embeds this many first ids plus best and worst per method "
                             "(default 8)")
    parser.add_argument("--metric", default="psnr", help="per-image metric of the figures and the grid (default psnr)")
    parser.add_argument("--region", default="hole",
                        help="region of the grid's scores (default hole; whole when the results lack it)")
    parser.add_argument("--mode", default="composite", choices=["composite", "raw"],
                        help="output mode of the figures and the grid (default composite)")
    parser.add_argument("--data", type=Path, help="the dataset folder, when it moved since evaluation")
    parser.add_argument("--allow-different-data", action="store_true",
                        help="accept runs on different datasets (tables in blocks per protocol, one sample grid "
                             "per dataset)")
    parser.add_argument("--title", default="occbench report", help="page title")
    parser.set_defaults(func=run)
