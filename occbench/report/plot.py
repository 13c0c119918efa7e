"""Figures from results files: metric vs hole-ratio bin, per-generator bars, and a qualitative sample grid.

Figures are built on matplotlib's Agg canvas without pyplot (no global state, nothing shown); each ``plot_*``
writes ``<out>.png`` (150 dpi) and ``<out>.pdf`` and returns both paths. ``figure_*`` return the Figure itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from occbench.errors import OccbenchError
from occbench.image_io import read_gray, read_image
from occbench.report.results import HIGHER_IS_BETTER, SOURCE_KEY, method_labels, select_protocol
from occbench.report.table import NAMES

UNITS = {"psnr": "dB", "mae": "0–255", "rmse": "0–255", "mse": "0–255", "l1": "0–1"}


def axis_label(metric: str) -> str:
    """E.g. "PSNR (dB) ↑", "LPIPS ↓"."""
    unit = f" ({UNITS[metric]})" if metric in UNITS else ""
    return f"{NAMES.get(metric, metric)}{unit} {'↑' if metric in HIGHER_IS_BETTER else '↓'}"


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, out: Path) -> list[Path]:
    """Write ``out.png`` and ``out.pdf`` (a trailing .png/.pdf on ``out`` is dropped); returns the paths."""
    out = Path(out)
    if out.suffix.lower() in (".png", ".pdf"):
        out = out.with_suffix("")
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.parent / f"{out.name}.png", out.parent / f"{out.name}.pdf"]
    figure.savefig(paths[0], dpi=150)
    figure.savefig(paths[1])
    return paths


def _select(frame: pd.DataFrame, metric: str, region: str, mode: str, protocol: str | None) -> pd.DataFrame:
    frame = select_protocol(frame, protocol)
    rows = frame[(frame["metric"] == metric) & (frame["region"] == region) & (frame["mode"] == mode)]
    if rows.empty:
        combos = sorted({f"{m}/{r}/{o}" for m, r, o in zip(frame["metric"], frame["region"], frame["mode"])})
        raise OccbenchError(f"no rows for metric/region/mode {metric}/{region}/{mode}. "
                            f"Available: {', '.join(combos) or 'none'}")
    return rows


def _title(region: str, mode: str, rows: pd.DataFrame) -> str:
    return f"{region} region, {mode} outputs ({rows['protocol'].iloc[0]})"


def figure_bins(frame_bins: pd.DataFrame, *, metric: str, region: str, mode: str,
                protocol: str | None = None) -> Figure:
    """Metric vs hole-ratio bin: one line with markers per method, sample count ``n=`` at each point."""
    rows = _select(frame_bins, metric, region, mode, protocol)
    bins = rows.drop_duplicates("bin").sort_values(["lo", "hi"])["bin"].tolist()
    position = {name: i for i, name in enumerate(bins)}
    figure = _new_figure(max(5.0, 0.8 * len(bins) + 2), 3.6)
    ax = figure.add_subplot()
    for method, group in rows.groupby("method", sort=False):
        group = group.drop_duplicates("bin").sort_values("lo")
        x = [position[b] for b in group["bin"]]
        (line,) = ax.plot(x, group["value"].to_numpy(float), marker="o", label=str(method))
        for xi, yi, n in zip(x, group["value"], group["count"]):
            if pd.notna(yi):
                ax.annotate(f"n={n}", (xi, yi), textcoords="offset points", xytext=(0, 6), ha="center",
                            fontsize=7, color=line.get_color())
    ax.set_xticks(range(len(bins)), bins, rotation=30 if len(bins) > 6 else 0)
    ax.set_xlabel(f"hole-to-image ratio ({rows['scheme'].iloc[0]} bins)")
    ax.set_ylabel(axis_label(metric))
    ax.set_title(_title(region, mode, rows), fontsize=9)
    ax.grid(alpha=0.3)
    ax.margins(x=0.08, y=0.12)
    ax.legend(fontsize=8)
    return figure


def plot_bins(frame_bins: pd.DataFrame, *, metric: str, region: str, mode: str, out: Path,
              protocol: str | None = None) -> list[Path]:
    """Write the hole-ratio bin plot (see ``figure_bins``) as ``out.png`` and ``out.pdf``."""
    return save_figure(figure_bins(frame_bins, metric=metric, region=region, mode=mode, protocol=protocol), out)


def figure_generators(frame_gen: pd.DataFrame, *, metric: str, region: str, mode: str,
                      protocol: str | None = None) -> Figure:
    """Grouped bars: one group per generator (mask family), one bar per method, ``n=`` above each bar."""
    rows = _select(frame_gen, metric, region, mode, protocol)
    generators = sorted(rows["generator"].unique())
    methods = list(dict.fromkeys(rows["method"]))
    width = 0.8 / len(methods)
    figure = _new_figure(max(5.0, 1.2 * len(generators) * max(1, len(methods) / 2) + 2), 3.6)
    ax = figure.add_subplot()
    for i, method in enumerate(methods):
        group = rows[rows["method"] == method].drop_duplicates("generator").set_index("generator")
        group = group.reindex(generators)
        x = np.arange(len(generators)) + (i - (len(methods) - 1) / 2) * width
        bars = ax.bar(x, group["value"].to_numpy(float), width, label=method)
        labels = [f"n={n}" if pd.notna(n) else "" for n in group["count"]]
        ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
    ax.set_xticks(range(len(generators)), generators)
    ax.set_xlabel("mask generator")
    ax.set_ylabel(axis_label(metric))
    ax.set_title(_title(region, mode, rows), fontsize=9)
    ax.margins(y=0.12)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


def plot_generators(frame_gen: pd.DataFrame, *, metric: str, region: str, mode: str, out: Path,
                    protocol: str | None = None) -> list[Path]:
    """Write the per-generator bar plot (see ``figure_generators``) as ``out.png`` and ``out.pdf``."""
    return save_figure(figure_generators(frame_gen, metric=metric, region=region, mode=mode, protocol=protocol), out)


def _resolve(path: str | None, results: dict) -> Path | None:
    """A path as recorded, else relative to the results file's folder."""
    if not path:
        return None
    candidate = Path(path)
    source = results.get(SOURCE_KEY)
    if not candidate.exists() and not candidate.is_absolute() and source:
        relative = Path(source).parent / candidate
        if relative.exists():
            return relative
    return candidate


def _folders(runs: list[dict]) -> tuple[Path, list[Path]]:
    hashes = {r["dataset"].get("content_hash") for r in runs} - {None}
    data = [_resolve(r["dataset"].get("path"), r) for r in runs]
    if len(hashes) > 1 or (not hashes and len({str(d) for d in data}) > 1):
        raise OccbenchError("the runs were evaluated on different datasets; a grid needs one dataset")
    if data[0] is None or not data[0].is_dir():
        raise OccbenchError(f"{runs[0].get(SOURCE_KEY, 'results')}: dataset.path {data[0]} is not a folder")
    preds = []
    for results in runs:
        pred = _resolve(results["method"].get("predictions"), results)
        if pred is None and results.get(SOURCE_KEY):
            pred = Path(results[SOURCE_KEY]).parent / "pred"
        if pred is None or not pred.is_dir():
            raise OccbenchError(f"{results.get(SOURCE_KEY, 'results')}: predictions folder {pred} not found")
        preds.append(pred)
    return data[0], preds


def default_ids(runs: list[dict], count: int = 4) -> list[str]:
    """The first ``count`` sample ids (sorted) with a prediction in every run and an input in the dataset."""
    data, preds = _folders(runs)
    common = {p.stem for p in (data / "occluded").glob("*.png")}
    for pred in preds:
        common &= {p.stem for p in pred.glob("*.png")}
    if not common:
        raise OccbenchError(f"no sample id has an input in {data / 'occluded'} and a prediction in every run")
    return sorted(common)[:count]


def figure_grid(runs: list[dict], *, ids: Sequence[str] | None = None, count: int = 4) -> Figure:
    """Rows = samples; columns = input (occluded), mask, each run's prediction, ground truth."""
    if not runs:
        raise OccbenchError("a grid needs at least one results file")
    data, preds = _folders(runs)
    ids = list(ids) if ids else default_ids(runs, count)
    titles = ["input", "mask", *method_labels(runs), "ground truth"]
    figure = _new_figure(1.7 * len(titles), 1.7 * len(ids) + 0.3)
    axes = figure.subplots(len(ids), len(titles), squeeze=False)
    for row, sample_id in enumerate(ids):
        images = [read_image(data / "occluded" / f"{sample_id}.png"), read_gray(data / "mask" / f"{sample_id}.png"),
                  *[read_image(pred / f"{sample_id}.png") for pred in preds],
                  read_image(data / "target" / f"{sample_id}.png")]
        for col, image in enumerate(images):
            ax = axes[row, col]
            if image.ndim == 2:
                ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            else:
                ax.imshow(image, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(titles[col], fontsize=8)
            if col == 0:
                ax.set_ylabel(sample_id, fontsize=7)
    return figure


def plot_grid(runs: list[dict], *, ids: Sequence[str] | None = None, count: int = 4, out: Path) -> list[Path]:
    """Write the qualitative grid (see ``figure_grid``) as ``out.png`` and ``out.pdf``."""
    return save_figure(figure_grid(runs, ids=ids, count=count), out)
