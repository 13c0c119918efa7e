"""``occbench table`` and ``occbench plot``: paper-style tables and figures from results.json files."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.errors import OccbenchError
from occbench.report.results import aggregates_frame, bins_frame, generators_frame, load_results, select_protocol

DEFAULT_METRICS = ("psnr", "ssim", "ms_ssim", "lpips", "mae", "fid")
FORMATS = ("md", "latex", "csv")

TABLE_EPILOG = """examples:
  occbench table runs/*/results.json
  occbench table runs/telea runs/lama --metrics psnr ssim lpips fid --regions whole hole --format latex --out t1.tex
  occbench table runs/*/results.json --regions zero_outside --mode raw --format csv --out table.csv
"""
PLOT_EPILOG = """examples:
  occbench plot runs/*/results.json --kind bins --metric psnr --region hole --scheme pconv6 --out figs/bins_psnr
  occbench plot runs/*/results.json --kind generators --metric lpips --out figs/gen_lpips
  occbench plot runs/telea runs/lama --kind grid --count 6 --out figs/grid
"""


def cmd_table(args: argparse.Namespace) -> int:
    from occbench.report.table import to_csv, to_latex, to_markdown

    frame = select_protocol(aggregates_frame(load_results(args.results)), args.protocol)
    metrics = args.metrics
    if not metrics:
        present = set(frame.loc[(frame["mode"] == args.mode) & frame["region"].isin(args.regions), "metric"])
        metrics = [m for m in DEFAULT_METRICS if m in present]
        if not metrics:
            raise OccbenchError(f"none of {', '.join(DEFAULT_METRICS)} in the results for regions "
                                f"{', '.join(args.regions)} in {args.mode!r} mode; choose --metrics")
    render = {"md": to_markdown, "latex": to_latex, "csv": to_csv}[args.format]
    text = render(frame, metrics=metrics, regions=args.regions, mode=args.mode, methods=args.methods)
    if args.update:
        from occbench.report.table import update_block

        update_block(args.update, text, command="occbench table " + " ".join(str(p) for p in args.results))
        print(args.update)
    elif args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(args.out)
    else:
        print(text, end="")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from occbench.report.plot import plot_bins, plot_generators, plot_grid

    runs = load_results(args.results)
    if args.kind == "grid":
        paths = plot_grid(runs, ids=args.ids, count=args.count, out=args.out)
    elif args.kind == "bins":
        paths = plot_bins(bins_frame(runs, args.scheme), metric=args.metric, region=args.region, mode=args.mode,
                          out=args.out, protocol=args.protocol)
    else:
        paths = plot_generators(generators_frame(runs), metric=args.metric, region=args.region, mode=args.mode,
                                out=args.out, protocol=args.protocol)
    for path in paths:
        print(path)
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS",
                        help="results.json files or run folders holding one")
    parser.add_argument("--mode", default="composite", choices=["composite", "raw"],
                        help="output mode: composite (mask*pred + (1-mask)*target) or raw (default composite)")
    parser.add_argument("--protocol", help="keep only runs of this protocol (needed when the runs span several)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``table`` and ``plot`` subcommands to the occbench CLI's subparsers."""
    table = subparsers.add_parser(
        "table", help="comparison table (rows = methods, cells 'whole | hole') from results files",
        description="Paper-style table: one row per run, one column per metric, each cell one value per region "
                    "('whole | hole'); the best value of each column is bold. Prints to stdout unless --out.",
        epilog=TABLE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(table)
    table.add_argument("--metrics", nargs="+", metavar="METRIC",
                       help=f"columns, in order (default: those present among {' '.join(DEFAULT_METRICS)})")
    table.add_argument("--regions", nargs="+", default=["whole", "hole"], metavar="REGION",
                       help="regions per cell, joined by ' | ' (default: whole hole)")
    table.add_argument("--methods", nargs="+", metavar="METHOD",
                       help="rows to keep, in this order (display label or method name; default: all, as given)")
    table.add_argument("--format", default="md", choices=FORMATS,
                       help="md (pipe table), latex (booktabs) or csv (numeric, <metric>_<region> columns)")
    table.add_argument("--out", type=Path, help="write to this file instead of stdout")
    table.add_argument("--update", type=Path, metavar="MARKDOWN",
                       help="replace the block between '<!-- occbench:results -->' and '<!-- /occbench:results -->' "
                            "in this file (e.g. a method README) with the table")
    table.set_defaults(func=cmd_table)

    plot = subparsers.add_parser(
        "plot", help="figures: metric vs hole-ratio bin, per-generator bars, or a qualitative grid",
        description="Write OUT.png and OUT.pdf and print their paths.",
        epilog=PLOT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(plot)
    plot.add_argument("--kind", required=True, choices=["bins", "generators", "grid"], help="which figure")
    plot.add_argument("--metric", default="psnr", help="metric for bins/generators (default psnr)")
    plot.add_argument("--region", default="whole", help="region for bins/generators (default whole)")
    plot.add_argument("--scheme", default="pconv6", choices=["pconv6", "lama10"],
                      help="hole-ratio bins: PConv's six or LaMa's ten (default pconv6)")
    plot.add_argument("--ids", nargs="+", metavar="ID", help="grid: sample ids (default: first --count common ids)")
    plot.add_argument("--count", type=int, default=4, help="grid: number of samples when --ids is not given")
    plot.add_argument("--out", type=Path, required=True, metavar="PATH", help="output path without suffix")
    plot.set_defaults(func=cmd_plot)
