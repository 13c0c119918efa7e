"""The layout of an evaluation's files (docs/results.md), shared by the writer (``occbench.evaluate``) and the
readers (``occbench.report``, leaderboards): format id, bin schemes, scores.csv columns, results.json keys.

Readers accept every id in :data:`READABLE_FORMATS`. A change that old readers would misread (a renamed or
re-meant key) bumps :data:`RESULTS_FORMAT` and adds the old id here with its conversion; an added optional key
does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from occbench.bins import LAMA_BINS, PCONV_BINS, Bin

RESULTS_FORMAT = "occbench-results/1"
READABLE_FORMATS: tuple[str, ...] = (RESULTS_FORMAT,)

SCORE_COLUMNS: tuple[str, ...] = ("id", "generator", "hole_ratio", "metric", "region", "mode", "value")
"""scores.csv, one row per (sample, metric, region, mode); ``value`` empty for NaN."""

BIN_SCHEMES: dict[str, tuple[Bin, ...]] = {"pconv6": PCONV_BINS, "lama10": LAMA_BINS}
"""Hole-ratio bin schemes of ``results.json["bins"]``, by name."""

RESULT_KEYS: tuple[str, ...] = ("format", "method", "dataset", "settings", "provenance", "pixel_check", "warnings",
                                "aggregates", "bins", "by_generator", "dataset_metrics")
"""Top-level keys of results.json as written (``segmentation`` is added when the method segmented)."""
REQUIRED_KEYS: tuple[str, ...] = ("format", "method", "dataset")
"""What a reader needs; everything else may be missing in a file (read as empty)."""

STAT_KEYS: tuple[str, ...] = ("mean", "std", "count", "nan_count")
"""Running statistics of per-image scores over images (NaN scores only counted)."""
AGGREGATE_KEYS: tuple[str, ...] = ("metric", "region", "mode", *STAT_KEYS, "better")
BIN_KEYS: tuple[str, ...] = ("bin", "lo", "hi", "metric", "region", "mode", *STAT_KEYS)
GENERATOR_KEYS: tuple[str, ...] = ("generator", "metric", "region", "mode", *STAT_KEYS)
DATASET_METRIC_KEYS: tuple[str, ...] = ("metric", "region", "mode", "value", "std", "count", "better")
"""Rows of ``dataset_metrics`` (KID adds ``subset_size``)."""


def bin_label(lo: float, hi: float) -> str:
    """A bin's name in results, e.g. ``0.01-0.1``."""
    return f"{lo:g}-{hi:g}"


def check_results(data: Any, where: str) -> None:
    """Raise ``ValueError("<where>: <key>: Expected ..., but got ...")`` unless ``data`` is a results.json object
    a reader can use: a readable format id, ``method`` and ``dataset`` objects, a method name."""
    if not isinstance(data, Mapping) or data.get("format") not in READABLE_FORMATS:
        got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
        expected = " or ".join(repr(f) for f in READABLE_FORMATS)
        raise ValueError(f"{where}: format: Expected {expected}, but got {got!r}")
    for key in REQUIRED_KEYS[1:]:
        if not isinstance(data.get(key), Mapping):
            raise ValueError(f"{where}: {key}: Expected an object, but got {data.get(key)!r}")
    if not data["method"].get("name"):
        raise ValueError(f"{where}: method.name: missing")
