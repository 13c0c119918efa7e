"""``occbench leaderboard``: one CSV and one Markdown page per seed-paper table, reported beside reproduced."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """examples:
  occbench leaderboard --out leaderboards
  occbench leaderboard --results runs/sgin256 runs/deepfill/results.json --out leaderboards
  occbench leaderboard --results runs/mcsam --tables mcsam-t1 --out /tmp/lb
  occbench leaderboard --out leaderboards --check

Pages: sgin-t1 sgin-t2 sgenet-t1 sgenet-t3 sgenet-t4 fgi-t1 fgi-t2 mcsam-t1 mcsam-t2 mcsam-t3 (and README.md).
A run fills a table's cells only under that table's protocol, resolution, metric, region and output mode; it
shares a cell with a reported value (difference = reproduced - reported) only when its method matches the row
(method name or evaluate --name) and its mask source is the paper's.
"""


def _report_runs(generated) -> None:
    """Where each run went; for a run that fits no table, why not (per table unless it is the protocol)."""
    from occbench.leaderboard import TABLES

    for source, keys in generated.placed.items():
        if keys:
            print(f"{source}: placed in {', '.join(keys)}", file=sys.stderr)
            continue
        refused = generated.refused[source]
        if all(why.startswith("protocol ") for _, why in refused):
            protocols = sorted({p for spec in TABLES.values() for p in spec.protocols.values()})
            why = f"{refused[0][1].split(' is not ')[0]} is none of the seed tables' ({', '.join(protocols)})"
        else:
            why = "; ".join(f"{key}: {reason}" for key, reason in refused if not reason.startswith("protocol "))
        print(f"occbench: warning: {source} fits no seed table: {why}", file=sys.stderr)


def _check(files: dict[str, str], out: Path) -> int:
    stale = [name for name, text in files.items()
             if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    for name in stale:
        print(f"{out / name}: out of date (or missing); rerun `occbench leaderboard --out {out}`")
    if not stale:
        print(f"{out}: {len(files)} files up to date")
    return 1 if stale else 0


def run(args: argparse.Namespace) -> int:
    from occbench.leaderboard import generate

    generated = generate(args.results, args.tables)
    _report_runs(generated)
    if args.check:
        return _check(generated.files, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in generated.files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"{args.out}: wrote {len(generated.files)} files "
          f"({sum(name.endswith('.md') and name != 'README.md' for name in generated.files)} tables)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "leaderboard", help="pages per seed-paper table: reported values beside reproduced ones, with differences",
        description="Write <table>.csv and <table>.md for each seed-paper table (and README.md, the index) from the "
                    "papers' reported values shipped with occbench and any results files given. Deterministic: "
                    "without --results it regenerates the committed leaderboards/ exactly.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", nargs="+", default=[], type=Path, metavar="RUN",
                        help="results.json files or run folders holding one (reproduced rows)")
    parser.add_argument("--out", type=Path, default=Path("leaderboards"),
                        help="folder to write (default: leaderboards)")
    parser.add_argument("--tables", nargs="+", metavar="TABLE",
                        help="only these pages, e.g. sgin-t1 mcsam-t1 (default: all, plus README.md)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file in --out differs from what would be written")
    parser.set_defaults(func=run)
