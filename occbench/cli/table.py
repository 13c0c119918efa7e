"""``occbench table``: paper-style comparison tables from results.json files."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.cli._args import add_bootstrap, add_progress, bootstrap_settings, emit
from occbench.cli.plot import add_results_inputs

DEFAULT_METRICS = ("psnr", "ssim", "ms_ssim", "lpips", "mae", "fid")
FORMATS = ("md", "latex", "csv")
EPILOG = """examples:
  occbench table runs/*/results.json
  occbench table runs/telea runs/lama --metrics psnr ssim lpips fid --regions whole hole --format latex --out t1.tex
  occbench table runs/*/results.json --regions zero_outside --mode raw --format csv --out table.csv
  occbench table runs/c256/* runs/nv/* --ci --rename telea=Telea --rename mcsam="M-CSAM" --format latex
  occbench table runs/c256/* --metrics psnr lpips --ci --resamples 5000 --seed 1 --format csv --out ci.csv

--ci: each per-image mean as "mean [low, high]", its 95% BCa bootstrap interval over images from the run's
scores.csv (seeded: --resamples, --seed), the same numbers `occbench compare` prints; FID/KID show the value
alone. CSV: <metric>_<region>_ci_low / _ci_high columns. See occbench/stats.py.
"""


def renames(pairs: list[str]) -> dict[str, str]:
    """``--rename OLD=NEW`` pairs as a mapping (labels or method names to display labels)."""
    from occbench.errors import OccbenchError

    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise OccbenchError(f"--rename: Expected OLD=NEW, but got {pair!r}")
        mapping[old] = new
    return mapping


def regenerating_command(args: argparse.Namespace, bootstrap: tuple[int, int] | None) -> str:
    """The ``occbench table`` command that makes this table again (recorded above an ``--update`` block): the
    results and every option that shapes the table (selection, names, mode, intervals), without output options."""
    import shlex

    words = ["occbench", "table", *map(str, args.results)]
    for flag, values in (("--metrics", args.metrics), ("--regions", args.regions), ("--methods", args.methods)):
        words += [flag, *values] if values else []
    words += [f for protocol in args.protocol or () for f in ("--protocol", protocol)]
    words += [f for pair in args.rename for f in ("--rename", pair)]
    words += ["--mode", args.mode] if args.mode != "composite" else []
    words += ["--ci", "--resamples", str(bootstrap[0]), "--seed", str(bootstrap[1])] if bootstrap else []
    words += ["--format", args.format] if args.format != "md" else []
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    from occbench.errors import OccbenchError
    from occbench.report.results import aggregates_frame, load_results, read_scores, row_keys
    from occbench.report.table import RENDERERS, Bootstrap, build_table, update_block, with_intervals

    runs, rename = load_results(args.results), renames(args.rename)
    frame = aggregates_frame(runs, rename)
    metrics = args.metrics
    if not metrics:
        present = set(frame.loc[(frame["mode"] == args.mode) & frame["region"].isin(args.regions), "metric"])
        metrics = [m for m in DEFAULT_METRICS if m in present]
        if not metrics:
            raise OccbenchError(f"none of {', '.join(DEFAULT_METRICS)} in the results for regions "
                                f"{', '.join(args.regions)} in {args.mode!r} mode; choose --metrics")
    table = build_table(frame, metrics=metrics, regions=args.regions, mode=args.mode, methods=args.methods,
                        protocols=args.protocol)
    bootstrap = bootstrap_settings(args, "--ci", args.ci)
    if bootstrap is not None:
        shown = set(table.values.index)
        scores = {key: read_scores(results, "table --ci") for key, results in zip(row_keys(runs, rename), runs)
                  if key in shown}
        table = with_intervals(table, scores, Bootstrap(*bootstrap), progress=not args.no_progress)
    text = RENDERERS[args.format](table)
    if args.update:
        update_block(args.update, text, command=regenerating_command(args, bootstrap))
        print(args.update)
    else:
        emit(text, args.out)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "table", help="comparison table (rows = methods per dataset, columns = metric × region) from results files",
        description="Paper-style table: one row per run in a block per dataset (protocol), one sub-column per "
                    "metric and region; the best value of each column within a dataset is bold; warnings become "
                    "footnotes. Prints to stdout unless --out.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_results_inputs(parser)
    parser.add_argument("--metrics", nargs="+", metavar="METRIC",
                        help=f"columns, in order (default: those present among {' '.join(DEFAULT_METRICS)})")
    parser.add_argument("--regions", nargs="+", default=["whole", "hole"], metavar="REGION",
                        help="sub-columns of each metric (default: whole hole)")
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help="rows to keep, in this order (display label or method name; default: all, as given)")
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                        help="display NEW for the label or method name OLD (repeatable; see also evaluate --name)")
    parser.add_argument("--ci", action="store_true",
                        help="show each per-image mean as 'mean [low, high]', its 95%% BCa bootstrap interval over "
                             "images from the run's scores.csv (as occbench compare); FID/KID: value alone")
    add_bootstrap(parser, "--ci")
    parser.add_argument("--format", default="md", choices=FORMATS,
                        help="md (pipe table), latex (booktabs, multicolumn headers) or csv (numeric, "
                             "<metric>_<region> columns; with --ci also <metric>_<region>_ci_low/_ci_high)")
    parser.add_argument("--out", type=Path, help="write to this file instead of stdout")
    parser.add_argument("--update", type=Path, metavar="MARKDOWN",
                        help="replace the block between '<!-- occbench:results -->' and '<!-- /occbench:results -->' "
                             "in this file (e.g. a method README) with the table")
    add_progress(parser)
    parser.set_defaults(func=run)
