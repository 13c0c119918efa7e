"""``occbench preview``: one image under several protocols' generators, side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from occbench.cli._args import add_assets_dir


def run(args: argparse.Namespace) -> int:
    from occbench.report.preview import preview

    for path in preview(args.protocols, out=Path(args.out), source_name=args.source, source_dir=args.source_dir,
                        item_id=args.id, assets_dir=args.assets_dir, columns=args.columns):
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("preview", help="one image under several protocols' generators, side by side",
                            epilog="example: occbench preview folder-center-256 folder-facemask-256 "
                                   "folder-randocc-256 --source demo --id astronaut --out docs/generators")
    parser.add_argument("protocols", nargs="+", metavar="PROTOCOL")
    parser.add_argument("--out", required=True, help="output path without suffix (PNG and PDF are written)")
    parser.add_argument("--source", help="use this registered source instead of the protocols' own (e.g. demo)")
    parser.add_argument("--source-dir", type=Path, help="root folder of the source images")
    parser.add_argument("--id", help="source item id to show (default: the first)")
    add_assets_dir(parser)
    parser.add_argument("--columns", type=int, default=4)
    parser.set_defaults(func=run)
