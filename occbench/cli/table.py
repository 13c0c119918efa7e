"""``occbench table``: paper-style comparison tables from results.json files."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.cli.plot import add_results_inputs

DEFAULT_METRICS = ("psnr", "ssim", "ms_ssim", "lpips", "mae", "fid")
FORMATS = ("md", "latex", "csv")
EPILOG = """examples:
  occbench table runs/*/results.json
  occbench table runs/telea runs/lama --metrics psnr ssim lpips fid --regions whole hole --format latex --out t1.tex
  occbench table runs/*/results.json --regions zero_outside --mode raw --format csv --out table.csv
"""


def run(args: argparse.Namespace) -> int:
    from occbench.errors import OccbenchError
    from occbench.report.results import aggregates_frame, load_results, select_protocol
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


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "table", help="comparison table (rows = methods, cells 'whole | hole') from results files",
        description="Paper-style table: one row per run, one column per metric, each cell one value per region "
                    "('whole | hole'); the best value of each column is bold. Prints to stdout unless --out.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_results_inputs(parser)
    parser.add_argument("--metrics", nargs="+", metavar="METRIC",
                        help=f"columns, in order (default: those present among {' '.join(DEFAULT_METRICS)})")
    parser.add_argument("--regions", nargs="+", default=["whole", "hole"], metavar="REGION",
                        help="regions per cell, joined by ' | ' (default: whole hole)")
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help="rows to keep, in this order (display label or method name; default: all, as given)")
    parser.add_argument("--format", default="md", choices=FORMATS,
                        help="md (pipe table), latex (booktabs) or csv (numeric, <metric>_<region> columns)")
    parser.add_argument("--out", type=Path, help="write to this file instead of stdout")
    parser.add_argument("--update", type=Path, metavar="MARKDOWN",
                        help="replace the block between '<!-- occbench:results -->' and '<!-- /occbench:results -->' "
                             "in this file (e.g. a method README) with the table")
    parser.set_defaults(func=run)
