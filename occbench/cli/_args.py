"""Arguments several commands share, defined once."""

from __future__ import annotations

import argparse
import re

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def device_name(text: str) -> str:
    """argparse type for ``--device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (checked against the machine
    when the command runs, by :func:`occbench.devices.resolve_device`)."""
    if not DEVICE_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"Expected auto, cpu, cuda or cuda:N, but got {text!r}")
    return text


def add_device(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--device", type=device_name, default="auto",
                        help=f"where {what} runs: auto (CUDA when available, else CPU), cpu, cuda or cuda:N "
                             "(default auto)")


def add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (--batch-size, --limit, --workers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"Expected a whole number >= 1, but got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"Expected a whole number >= 1, but got {value}")
    return value
