"""Arguments several commands share, defined once."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

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


def seed_number(text: str) -> int:
    """argparse type for ``--seed``: a whole number >= 0."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"Expected a whole number >= 0, but got {text!r}")
    return int(text)


BOOTSTRAP_DEFAULTS = {"resamples": 2000, "seed": 0}


def add_bootstrap(parser: argparse.ArgumentParser, switch: str | None = None) -> None:
    """``--resamples`` and ``--seed`` of the BCa bootstrap intervals over images (:mod:`occbench.stats`).
    ``switch``: the flag that turns the intervals on (e.g. ``--ci``); the two then default to None, so that the
    command can refuse them without it (:func:`bootstrap_settings`)."""
    suffix = f" with {switch}" if switch else ""
    parser.add_argument("--resamples", type=positive_int, default=None if switch else BOOTSTRAP_DEFAULTS["resamples"],
                        help=f"bootstrap resamples of each interval{suffix} (default 2000)")
    parser.add_argument("--seed", type=seed_number, default=None if switch else BOOTSTRAP_DEFAULTS["seed"],
                        help=f"seed of the bootstrap resampling{suffix} (default 0)")


def bootstrap_settings(args: argparse.Namespace, switch: str, enabled: bool) -> tuple[int, int] | None:
    """(resamples, seed) when ``enabled`` (defaults filled in), else None; either flag given without ``switch``
    is an OccbenchError (it would change nothing)."""
    from occbench.errors import OccbenchError

    given = [f"--{name}" for name in BOOTSTRAP_DEFAULTS if getattr(args, name) is not None]
    if not enabled:
        if given:
            raise OccbenchError(f"{' and '.join(given)} set the intervals of {switch}: Expected {switch} with them")
        return None
    return tuple(BOOTSTRAP_DEFAULTS[name] if getattr(args, name) is None else getattr(args, name)
                 for name in BOOTSTRAP_DEFAULTS)


LEGACY_ASSET_FLAGS = ("--mask-dir", "--occluder-dir", "--templates-dir")


class _LegacyAssetsFlag(argparse.Action):
    """The three names ``--assets-dir`` had before it was one flag: accepted, with a note naming the new one."""

    def __call__(self, parser, namespace, values, option_string=None):
        import sys

        print(f"occbench: note: {option_string} is now --assets-dir (the old name still works)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_assets_dir(parser: argparse.ArgumentParser) -> None:
    """``--assets-dir``: the one folder a generator reads (a mask folder, QuickDraw strokes, an occluder bank,
    MaskTheFace templates, a texture folder); the earlier names stay accepted but hidden."""
    parser.add_argument("--assets-dir", dest="assets_dir", type=Path,
                        help="files the generator reads: a mask folder (external), QuickDraw .ndjson files, an "
                             "occluder bank (natocc, from build-occluders), MaskTheFace templates (facemask), "
                             "textures (randocc); see occbench ls generators")
    parser.add_argument(*LEGACY_ASSET_FLAGS, dest="assets_dir", type=Path, action=_LegacyAssetsFlag,
                        help=argparse.SUPPRESS)


def emit(text: str, out: Path | None) -> None:
    """Write ``text`` to ``out`` (creating its folder) and print the path, or print ``text`` when there is no
    ``out`` (the --out convention of the commands that render tables)."""
    if out is None:
        print(text, end="")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(out)
