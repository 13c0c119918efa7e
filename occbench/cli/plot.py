"""``occbench plot``: metric vs hole-ratio bin, per-generator bars, or a qualitative grid."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.metrics import OUTPUT_MODES
from occbench.results_schema import BIN_SCHEMES

EPILOG = """examples:
  occbench plot runs/*/results.json --kind bins --metric psnr --region hole --scheme pconv6 --out figs/bins_psnr
  occbench plot runs/*/results.json --kind generators --metric lpips --out figs/gen_lpips
  occbench plot runs/telea runs/lama --kind grid --count 6 --out figs/grid
"""


def add_results_inputs(parser: argparse.ArgumentParser) -> None:
    """Positional results files and the selection options shared by table and plot."""
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS",
                        help="results.json files or run folders holding one")
    parser.add_argument("--mode", default="composite", choices=OUTPUT_MODES,
                        help="output mode: composite (mask*pred + (1-mask)*target) or raw (default composite)")
    parser.add_argument("--protocol", action="append", metavar="PROTOCOL",
                        help="keep only runs of this protocol (repeatable; tables show each in its own row block, "
                             "plots need exactly one)")


def run(args: argparse.Namespace) -> int:
    from occbench.report.plot import plot_bins, plot_generators, plot_grid
    from occbench.report.results import bins_frame, generators_frame, load_results

    runs = load_results(args.results)
    if args.kind == "grid":
        paths = plot_grid(runs, ids=args.ids, count=args.count, out=args.out, data=args.data)
    elif args.kind == "bins":
        paths = plot_bins(bins_frame(runs, args.scheme), metric=args.metric, region=args.region, mode=args.mode,
                          out=args.out, protocol=args.protocol)
    else:
        paths = plot_generators(generators_frame(runs), metric=args.metric, region=args.region, mode=args.mode,
                                out=args.out, protocol=args.protocol)
    for path in paths:
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plot", help="figures: metric vs hole-ratio bin, per-generator bars, or a qualitative grid",
        description="Write OUT.png and OUT.pdf and print their paths.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_results_inputs(parser)
    parser.add_argument("--kind", required=True, choices=["bins", "generators", "grid"], help="which figure")
    parser.add_argument("--metric", default="psnr", help="metric for bins/generators (default psnr)")
    parser.add_argument("--region", default="whole", help="region for bins/generators (default whole)")
    parser.add_argument("--scheme", default="pconv6", choices=list(BIN_SCHEMES),
                        help="hole-ratio bins: PConv's six or LaMa's ten (default pconv6)")
    parser.add_argument("--ids", nargs="+", metavar="ID", help="grid: sample ids (default: first --count common ids)")
    parser.add_argument("--count", type=int, default=4, help="grid: number of samples when --ids is not given")
    parser.add_argument("--data", type=Path, help="grid: the dataset folder, when it moved since evaluation "
                                                  "(checked against the content sha256 the results record)")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="output path without suffix")
    parser.set_defaults(func=run)
