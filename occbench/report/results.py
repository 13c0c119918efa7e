"""Load ``results.json`` files (docs/results.md) and flatten them into long pandas frames.

Every frame carries a ``method`` display label (unique across the loaded runs) and the dataset ``protocol``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from occbench.errors import OccbenchError

FORMAT = "occbench-results/1"
SCHEMES = ("pconv6", "lama10")
AGGREGATE_COLUMNS = ["method", "protocol", "metric", "region", "mode", "value", "std", "count", "better"]
BIN_COLUMNS = ["method", "protocol", "scheme", "bin", "lo", "hi", "metric", "region", "mode", "value", "count"]
GENERATOR_COLUMNS = ["method", "protocol", "generator", "metric", "region", "mode", "value", "count"]
HIGHER_IS_BETTER = frozenset({"psnr", "ssim", "ms_ssim", "identity"})
SOURCE_KEY = "_source"  # added by load_results: the results.json path the dict was read from


def _read_one(path: Path) -> dict:
    file = path / "results.json" if path.is_dir() else path
    if not file.is_file():
        where = f"{path}: no results.json in this folder" if path.is_dir() else f"{file}: no such file"
        raise OccbenchError(f"{where}; expected a results.json written by `occbench evaluate` or its run folder")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OccbenchError(f"{file}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise OccbenchError(f"{file}: format: Expected {FORMAT!r}, but got {got!r}")
    for key in ("method", "dataset"):
        if not isinstance(data.get(key), dict):
            raise OccbenchError(f"{file}: {key}: Expected an object, but got {data.get(key)!r}")
    if not data["method"].get("name"):
        raise OccbenchError(f"{file}: method.name: missing")
    data[SOURCE_KEY] = str(file)
    return data


def load_results(paths: list[Path]) -> list[dict]:
    """Read results.json files (or run folders holding one), in the order given; errors name the file."""
    if not paths:
        raise OccbenchError("no results files given")
    return [_read_one(Path(p)) for p in paths]


def run_name(results: dict, index: int) -> str:
    """The run folder name (the results file's parent), or ``#index`` for results not read from disk."""
    source = results.get(SOURCE_KEY)
    return Path(source).parent.name if source else f"#{index + 1}"


def method_labels(runs: list[dict]) -> list[str]:
    """Display labels: method name, "(predicted mask)" when masks were predicted, run folder if still ambiguous."""
    labels = []
    for results in runs:
        method = results["method"]
        label = str(method["name"])
        if method.get("mask") == "predicted":
            label += " (predicted mask)"
        labels.append(label)
    for label in {x for x in labels if labels.count(x) > 1}:
        for i, other in enumerate(list(labels)):
            if other == label:
                labels[i] = f"{label} [{run_name(runs[i], i)}]"
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):  # still equal (same folder names): number them
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[i] = f"{label} #{seen[label]}"
    return labels


def _better(metric: str, given: object) -> str:
    if given in ("higher", "lower"):
        return str(given)
    return "higher" if metric in HIGHER_IS_BETTER else "lower"


def _protocol(results: dict) -> str:
    return str(results["dataset"].get("protocol") or "")


def aggregates_frame(runs: list[dict]) -> pd.DataFrame:
    """Per-image aggregates and dataset-level metrics (FID, KID), one row per (method, metric, region, mode)."""
    rows = []
    for label, results in zip(method_labels(runs), runs):
        protocol = _protocol(results)
        for agg in results.get("aggregates") or []:
            rows.append({"method": label, "protocol": protocol, "metric": agg["metric"], "region": agg["region"],
                         "mode": agg["mode"], "value": agg.get("mean"), "std": agg.get("std"),
                         "count": agg.get("count"), "better": _better(agg["metric"], agg.get("better"))})
        for dm in results.get("dataset_metrics") or []:
            rows.append({"method": label, "protocol": protocol, "metric": dm["metric"], "region": dm["region"],
                         "mode": dm["mode"], "value": dm.get("value"), "std": dm.get("std"),
                         "count": dm.get("count"), "better": _better(dm["metric"], dm.get("better"))})
    frame = pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)
    for column in ("value", "std"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype("Int64")
    return frame


def bins_frame(runs: list[dict], scheme: str = "pconv6") -> pd.DataFrame:
    """Hole-ratio bin rows of one scheme (``pconv6`` or ``lama10``); ``value`` is the bin mean."""
    if scheme not in SCHEMES:
        raise OccbenchError(f"scheme: Expected one of {', '.join(SCHEMES)}, but got {scheme!r}")
    rows = []
    for label, results in zip(method_labels(runs), runs):
        for row in (results.get("bins") or {}).get(scheme) or []:
            rows.append({"method": label, "protocol": _protocol(results), "scheme": scheme, "bin": row["bin"],
                         "lo": row.get("lo"), "hi": row.get("hi"), "metric": row["metric"], "region": row["region"],
                         "mode": row["mode"], "value": row.get("mean"), "count": row.get("count")})
    frame = pd.DataFrame(rows, columns=BIN_COLUMNS)
    for column in ("lo", "hi", "value"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype("Int64")
    return frame


def generators_frame(runs: list[dict]) -> pd.DataFrame:
    """Per-generator (mask family) rows; ``value`` is the mean over that generator's samples."""
    rows = []
    for label, results in zip(method_labels(runs), runs):
        for row in results.get("by_generator") or []:
            rows.append({"method": label, "protocol": _protocol(results), "generator": row["generator"],
                         "metric": row["metric"], "region": row["region"], "mode": row["mode"],
                         "value": row.get("mean"), "count": row.get("count")})
    frame = pd.DataFrame(rows, columns=GENERATOR_COLUMNS)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype("Int64")
    return frame


def select_protocol(frame: pd.DataFrame, protocol: str | None = None) -> pd.DataFrame:
    """Rows of one protocol; with ``protocol=None`` the frame must hold a single one (tables never mix datasets)."""
    present = sorted(frame["protocol"].dropna().unique())
    if protocol is not None:
        if protocol not in present:
            raise OccbenchError(f"protocol: Unknown {protocol!r}. Available: {', '.join(present) or 'none'}")
        return frame[frame["protocol"] == protocol]
    if len(present) > 1:
        raise OccbenchError(f"results span protocols {', '.join(present)}; choose one (--protocol)")
    return frame


def select_methods(frame: pd.DataFrame, methods: list[str] | None) -> list[str]:
    """Method labels in display order: all (first-seen order) or the requested ones, by label or method name."""
    labels = list(dict.fromkeys(frame["method"]))
    if not methods:
        return labels
    chosen: list[str] = []
    for name in methods:
        matches = [x for x in labels if x == name] or [x for x in labels if x.split(" ")[0] == name]
        if not matches:
            raise OccbenchError(f"methods: Unknown {name!r}. Available: {', '.join(labels)}")
        chosen += [x for x in matches if x not in chosen]
    return chosen
