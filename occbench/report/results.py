"""Load ``results.json`` files (docs/results.md) and flatten them into long pandas frames.

The file layout (format ids read, bin schemes, keys) is :mod:`occbench.results_schema`'s; a metric's direction
missing from a file comes from the metric's record. Every frame carries a ``method`` display label (unique across
the loaded runs) and the dataset ``protocol``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from occbench.errors import OccbenchError
from occbench.metrics import metric_info
from occbench.results_schema import BIN_SCHEMES, check_results

AGGREGATE_COLUMNS = ["method", "protocol", "metric", "region", "mode", "value", "std", "count", "better"]
BIN_COLUMNS = ["method", "protocol", "scheme", "bin", "lo", "hi", "metric", "region", "mode", "value", "std",
               "count"]
GENERATOR_COLUMNS = ["method", "protocol", "generator", "metric", "region", "mode", "value", "count"]
SOURCE_KEY = "_source"  # added by load_results: the results.json path the dict was read from
SCORES_FILE = "scores.csv"  # the per-sample scores `occbench evaluate` writes beside results.json


def _read_one(path: Path) -> dict:
    file = path / "results.json" if path.is_dir() else path
    if not file.is_file():
        where = f"{path}: no results.json in this folder" if path.is_dir() else f"{file}: no such file"
        raise OccbenchError(f"{where}; expected a results.json written by `occbench evaluate` or its run folder")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OccbenchError(f"{file}: not valid JSON ({exc})") from exc
    try:
        check_results(data, str(file))
    except ValueError as exc:
        raise OccbenchError(str(exc)) from None
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


def scores_path(results: dict) -> Path | None:
    """The run's scores.csv (beside its results.json; it may not exist), or None for results not read from disk."""
    source = results.get(SOURCE_KEY)
    return Path(source).parent / SCORES_FILE if source else None


def read_scores(results: dict, needed_by: str) -> pd.DataFrame:
    """The run's per-sample scores (scores.csv beside its results.json, docs/results.md) with string ids and float
    values (NaN where empty); errors name the file and what ``needed_by`` (the command reading it) expected."""
    from occbench.stats import ID, KEY, VALUE

    path = scores_path(results)
    if path is None or not path.is_file():
        where = f"{path}: no such file" if path else f"results of {results['method']['name']!r} have no file"
        raise OccbenchError(f"{where}; {needed_by} needs the per-sample scores (scores.csv) that `occbench evaluate` "
                            "writes beside results.json")
    try:
        frame = pd.read_csv(path, dtype={ID: str}, keep_default_na=False, na_values={VALUE: [""]})
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise OccbenchError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in (ID, *KEY, VALUE) if c not in frame.columns]
    if missing:
        raise OccbenchError(f"{path}: Expected columns {', '.join((ID, *KEY, VALUE))}, but got "
                            f"{', '.join(map(str, frame.columns))}")
    frame[VALUE] = pd.to_numeric(frame[VALUE], errors="coerce")
    return frame


def method_labels(runs: list[dict], rename: dict[str, str] | None = None) -> list[str]:
    """Display labels, unique within each dataset: the name given at evaluate (``--name``) or the method's name,
    "(predicted mask)" when masks were predicted; ``rename`` maps a label or method name to another label.
    Labels that still collide within a dataset get the shortest part of their run folder's path that tells them
    apart (``telea (a/telea)``, ``telea (b/telea)``)."""
    rename = rename or {}
    labels = []
    for results in runs:
        method = results["method"]
        label = str(method.get("display_name") or method["name"])
        if method.get("mask") == "predicted" and not method.get("display_name"):
            label += " (predicted mask)"
        labels.append(rename.get(label, rename.get(str(method["name"]), label)))
    keys = [(label, _protocol(r)) for label, r in zip(labels, runs)]
    for key in {k for k in keys if keys.count(k) > 1}:
        clashing = [i for i, k in enumerate(keys) if k == key]
        folders = [Path(runs[i][SOURCE_KEY]).parent.parts if runs[i].get(SOURCE_KEY) else (f"#{i + 1}",)
                   for i in clashing]
        suffixes = [f"#{n}" for n in range(1, len(clashing) + 1)]  # the same file given twice
        for depth in range(1, max(len(f) for f in folders) + 1):
            candidate = ["/".join(f[-depth:]) for f in folders]
            if len(set(candidate)) == len(candidate):
                suffixes = candidate
                break
        for i, suffix in zip(clashing, suffixes):
            labels[i] = f"{labels[i]} ({suffix})"
    return labels


def _better(metric: str, given: object) -> str:
    return str(given) if given in ("higher", "lower") else metric_info(metric).better


def _protocol(results: dict) -> str:
    return str(results["dataset"].get("protocol") or "")


def row_keys(runs: list[dict], rename: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Each run's row in a table: (dataset protocol, method label as :func:`method_labels` makes it)."""
    return list(zip(map(_protocol, runs), method_labels(runs, rename)))


def aggregates_frame(runs: list[dict], rename: dict[str, str] | None = None) -> pd.DataFrame:
    """Per-image aggregates and dataset-level metrics (FID, KID), one row per (method, metric, region, mode)."""
    rows = []
    for label, results in zip(method_labels(runs, rename), runs):
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


def bins_frame(runs: list[dict], scheme: str = "pconv6", rename: dict[str, str] | None = None) -> pd.DataFrame:
    """Hole-ratio bin rows of one scheme (``pconv6`` or ``lama10``); ``value`` is the bin mean."""
    if scheme not in BIN_SCHEMES:
        raise OccbenchError(f"scheme: Expected one of {', '.join(BIN_SCHEMES)}, but got {scheme!r}")
    rows = []
    for label, results in zip(method_labels(runs, rename), runs):
        for row in (results.get("bins") or {}).get(scheme) or []:
            rows.append({"method": label, "protocol": _protocol(results), "scheme": scheme, "bin": row["bin"],
                         "lo": row.get("lo"), "hi": row.get("hi"), "metric": row["metric"], "region": row["region"],
                         "mode": row["mode"], "value": row.get("mean"), "std": row.get("std"),
                         "count": row.get("count")})
    frame = pd.DataFrame(rows, columns=BIN_COLUMNS)
    for column in ("lo", "hi", "value", "std"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype("Int64")
    return frame


def generators_frame(runs: list[dict], rename: dict[str, str] | None = None) -> pd.DataFrame:
    """Per-generator (mask family) rows; ``value`` is the mean over that generator's samples."""
    rows = []
    for label, results in zip(method_labels(runs, rename), runs):
        for row in results.get("by_generator") or []:
            rows.append({"method": label, "protocol": _protocol(results), "generator": row["generator"],
                         "metric": row["metric"], "region": row["region"], "mode": row["mode"],
                         "value": row.get("mean"), "count": row.get("count")})
    frame = pd.DataFrame(rows, columns=GENERATOR_COLUMNS)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").astype("Int64")
    return frame


def ci95_half_width(std: float, count: float) -> float:
    """Half-width of the normal-approximation 95 % confidence interval of a mean over ``count`` images whose
    population standard deviation (as results store it) is ``std``: 1.96·s/√n with the sample deviation s. Only
    for the bin plots, which read results.json alone; tables and ``occbench compare`` use the BCa bootstrap over
    the per-image scores (:mod:`occbench.stats`)."""
    if count is None or pd.isna(count) or count < 2 or std is None or pd.isna(std):
        return float("nan")
    return 1.959964 * float(std) * (count / (count - 1)) ** 0.5 / count ** 0.5


def select_protocol(frame: pd.DataFrame, protocol: str | list[str] | None = None) -> pd.DataFrame:
    """Rows of one protocol; with ``protocol=None`` the frame must hold a single one (a plot shows one dataset)."""
    if isinstance(protocol, list):
        if len(protocol) > 1:
            raise OccbenchError(f"--protocol: a figure shows one dataset, but got {', '.join(protocol)}")
        protocol = protocol[0] if protocol else None
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
