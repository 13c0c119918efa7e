"""A tolerant reader of ``results.json`` (docs/results.md) for the leaderboards: only what a cell needs.

Unknown fields are ignored, so the results format may grow. Metric names are compared with ``-`` and ``_``
treated alike (``ms-ssim-reduced`` is ``ms_ssim_reduced``). Values: ``aggregates[*].mean`` (per-image scores
averaged over images) and ``dataset_metrics[*].value`` (FID, KID).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from occbench.errors import OccbenchError

FORMAT_PREFIX = "occbench-results/"


def metric_key(name: str) -> str:
    """The form metric names are matched in: lower case, ``-`` read as ``_``."""
    return name.strip().lower().replace("-", "_")


@dataclass(frozen=True)
class Run:
    """One evaluated run. ``resolution``: image side in px (None when it cannot be found); ``values``:
    (metric key, region, mode) → (value, number of images)."""

    source: str
    method: str
    label: str
    mask: str
    protocol: str
    resolution: int | None
    samples: int | None
    values: dict[tuple[str, str, str], tuple[float, int | None]]


def _resolution(dataset: dict) -> int | None:
    """The dataset's side length: from results, else its dataset.json, else the shipped protocol of that name."""
    if isinstance(dataset.get("resolution"), int):
        return dataset["resolution"]
    info_file = Path(str(dataset.get("path") or "")) / "dataset.json"
    if dataset.get("path") and info_file.is_file():
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            info = {}
        if isinstance(info.get("resolution"), int):
            return info["resolution"]
    from occbench.protocol import load_protocol, shipped_protocols

    name = dataset.get("protocol")
    return load_protocol(name).resolution if name in shipped_protocols() else None


def _values(data: dict, file: Path) -> dict[tuple[str, str, str], tuple[float, int | None]]:
    values = {}
    entries = [(e, "mean") for e in data.get("aggregates") or []]
    entries += [(e, "value") for e in data.get("dataset_metrics") or []]
    for entry, field in entries:
        try:
            key = (metric_key(entry["metric"]), str(entry["region"]), str(entry["mode"]))
            value = float(entry[field]) if entry[field] is not None else math.nan
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise OccbenchError(f"{file}: an aggregate entry: Expected metric, region, mode and {field}, but got "
                                f"{entry!r}") from exc
        count = entry.get("count")
        if math.isfinite(value):
            values[key] = (value, count if isinstance(count, int) else None)
    return values


def read_run(path: Path | str) -> Run:
    """A run folder holding ``results.json``, or the file itself; errors name the file and what was expected."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise OccbenchError(f"{file}: not found; expected a run folder or results.json written by `occbench "
                            "evaluate`") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OccbenchError(f"{file}: not valid JSON ({exc})") from exc
    fmt = data.get("format") if isinstance(data, dict) else None
    if not isinstance(fmt, str) or not fmt.startswith(FORMAT_PREFIX):
        raise OccbenchError(f"{file}: format: Expected '{FORMAT_PREFIX}N', but got {fmt!r}")
    method, dataset = data.get("method"), data.get("dataset")
    if not isinstance(method, dict) or not method.get("name"):
        raise OccbenchError(f"{file}: method.name: Expected the method's name, but got {method!r}")
    if not isinstance(dataset, dict) or not dataset.get("protocol"):
        raise OccbenchError(f"{file}: dataset.protocol: Expected the protocol's name, but got {dataset!r}")
    samples = dataset.get("samples")
    return Run(source=str(file), method=str(method["name"]),
               label=str(method.get("display_name") or method["name"]), mask=str(method.get("mask") or "given"),
               protocol=str(dataset["protocol"]), resolution=_resolution(dataset),
               samples=samples if isinstance(samples, int) else None, values=_values(data, file))
