"""The ``occbench`` command line: one module per command, each importing its heavy dependencies only
when it runs, so ``occbench --help`` and ``occbench ls methods`` start without torch, pandas or OpenCV.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from occbench import __version__
from occbench.errors import OccbenchError

DESCRIPTION = ("Synthesise occluded-face datasets under versioned protocols, run reference inpainting methods, and "
               "score them under shared rules.")
EXAMPLES = """examples:
    occbench ls protocols
    occbench validate celebahq-center-256
    occbench build-dataset demo-center --out runs/demo/data --workers 2
    occbench build-dataset celebahq-center-256 --source-dir /data/CelebAMask-HQ --out data/c256 --shard 0/8
    occbench predict --method telea --data runs/demo/data --out runs/demo/telea
    occbench evaluate --method telea --data runs/demo/data --out runs/demo/telea --device auto
    occbench table runs/demo/*/results.json --regions whole hole
    occbench plot runs/demo/*/results.json --kind bins --metric psnr --out runs/demo/psnr_bins
    occbench train --method fgi --data data/c256-train --out runs/fgi --device cuda --amp bf16

Run 'occbench COMMAND --help' for a command's options and examples; 'python -m occbench' works the same.
"""

# Modules of occbench.cli, in the order their commands appear in --help. Each defines register(subparsers).
COMMANDS = ("ls", "validate", "build_dataset", "build_occluders", "preview", "predict", "evaluate", "train",
            "table", "compare", "plot", "report", "leaderboard", "reproduce", "edit")


def build_parser() -> argparse.ArgumentParser:
    """The full parser; building it imports only the command modules (no torch, pandas, cv2)."""
    parser = argparse.ArgumentParser(prog="occbench", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"occbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"occbench.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``occbench`` console script and of ``python -m occbench``."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except OccbenchError as exc:
        print(f"occbench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder occbench was told to use: full disk, read-only, missing
        where = exc.filename or "(no file name)"
        print(f"occbench: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("occbench: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
