"""Figures from results files: metric vs hole-ratio bin, per-generator bars, and a qualitative sample grid.

Figures are built on matplotlib's Agg canvas without pyplot (no global state, nothing shown); each ``plot_*``
writes ``<out>.png`` (150 dpi) and ``<out>.pdf`` and returns both paths. ``figure_*`` return the Figure itself.
A method keeps its colour in every figure of a run set (colours follow the order of the runs as given, not
the rows a figure happens to show). Bin curves carry 95 % confidence intervals as error bars and the number
of images under each bin; bins with fewer than :data:`MIN_BIN_COUNT` images are drawn hollow and noted. Their
error bars are the normal approximation (1.96·s/√n from the bins' std and count in results.json,
:func:`occbench.report.results.ci95_half_width`), not the BCa bootstrap of ``occbench table --ci`` and
``compare``: a figure is drawn from results.json alone (no scores.csv needed) and instantly, where a bootstrap would
read every run's per-sample scores and resample each bin × method.
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
from occbench.metrics import metric_info
from occbench.report.results import SOURCE_KEY, ci95_half_width, method_labels, select_protocol

MIN_BIN_COUNT = 30  # fewer images than this in a bin: its mean is too uncertain to compare methods on
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")  # matplotlib's tab10


def axis_label(metric: str) -> str:
    """E.g. "PSNR (dB) ↑", "LPIPS ↓", "KID×10³ ↓"."""
    info = metric_info(metric)
    unit = f" ({info.axis_unit})" if info.axis_unit else ""
    return f"{info.header()}{unit} {'↑' if info.better == 'higher' else '↓'}"


def method_colors(methods: Sequence[str]) -> dict[str, str]:
    """A colour per method label, by position in the run set (the same in every figure of that set)."""
    return {method: PALETTE[i % len(PALETTE)] for i, method in enumerate(dict.fromkeys(methods))}


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


def _select(frame: pd.DataFrame, metric: str, region: str, mode: str,
            protocol: str | list[str] | None) -> pd.DataFrame:
    frame = select_protocol(frame, protocol)
    rows = frame[(frame["metric"] == metric) & (frame["region"] == region) & (frame["mode"] == mode)]
    if rows.empty:
        combos = sorted({f"{m}/{r}/{o}" for m, r, o in zip(frame["metric"], frame["region"], frame["mode"])})
        raise OccbenchError(f"no rows for metric/region/mode {metric}/{region}/{mode}. "
                            f"Available: {', '.join(combos) or 'none'}")
    return rows


def _title(region: str, mode: str, rows: pd.DataFrame) -> str:
    return f"{region} region, {mode} outputs ({rows['protocol'].iloc[0]})"


def _bin_tick(name: str, counts: pd.Series) -> str:
    counts = counts.dropna().astype(int)
    if counts.empty:
        return name
    low, high = int(counts.min()), int(counts.max())
    return f"{name}\nn={low}" if low == high else f"{name}\nn={low}–{high}"


def figure_bins(frame_bins: pd.DataFrame, *, metric: str, region: str, mode: str,
                protocol: str | list[str] | None = None) -> Figure:
    """Metric vs hole-ratio bin: one line per method with 95 % CI error bars (normal approximation from
    results.json, module docstring); images per bin under its tick."""
    colors = method_colors(frame_bins["method"])
    rows = _select(frame_bins, metric, region, mode, protocol)
    bins = rows.drop_duplicates("bin").sort_values(["lo", "hi"])["bin"].tolist()
    position = {name: i for i, name in enumerate(bins)}
    figure = _new_figure(max(5.0, 0.9 * len(bins) + 2), 3.9)
    ax = figure.add_subplot()
    methods = list(dict.fromkeys(rows["method"]))
    scale = metric_info(metric).scale
    small = False
    for k, method in enumerate(methods):
        group = rows[rows["method"] == method].drop_duplicates("bin").sort_values("lo")
        x = np.array([position[b] for b in group["bin"]], float) + (k - (len(methods) - 1) / 2) * 0.06
        y = group["value"].to_numpy(float) * scale
        err = np.array([ci95_half_width(s, n) for s, n in zip(group["std"], group["count"])]) * scale
        color = colors[method]
        ax.errorbar(x, y, yerr=np.nan_to_num(err), color=color, marker="none", capsize=3, label=str(method))
        few = group["count"].fillna(0).to_numpy(int) < MIN_BIN_COUNT
        small |= bool(few.any())
        ax.scatter(x[~few], y[~few], color=color, zorder=3, s=22)
        ax.scatter(x[few], y[few], facecolors="white", edgecolors=color, zorder=3, s=22)
    ticks = [_bin_tick(b, rows.loc[rows["bin"] == b, "count"]) for b in bins]
    ax.set_xticks(range(len(bins)), ticks, fontsize=7)
    note = f"\nhollow markers: bins with fewer than {MIN_BIN_COUNT} images (too few to compare methods on)"
    ax.set_xlabel(f"hole-to-image ratio ({rows['scheme'].iloc[0]} bins); n = images per bin" + (note if small else ""),
                  fontsize=9)
    ax.set_ylabel(axis_label(metric))
    ax.set_title(_title(region, mode, rows) + "; error bars: 95% CI (normal approx.)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.margins(x=0.08, y=0.12)
    ax.legend(fontsize=8)
    return figure


def plot_bins(frame_bins: pd.DataFrame, *, metric: str, region: str, mode: str, out: Path,
              protocol: str | list[str] | None = None) -> list[Path]:
    """Write the hole-ratio bin plot (see ``figure_bins``) as ``out.png`` and ``out.pdf``."""
    return save_figure(figure_bins(frame_bins, metric=metric, region=region, mode=mode, protocol=protocol), out)


def figure_generators(frame_gen: pd.DataFrame, *, metric: str, region: str, mode: str,
                      protocol: str | list[str] | None = None) -> Figure:
    """Grouped bars: one group per generator (mask family), one bar per method, ``n=`` above each bar."""
    colors = method_colors(frame_gen["method"])
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
        bars = ax.bar(x, group["value"].to_numpy(float) * metric_info(metric).scale, width, label=method,
                      color=colors[method])
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
                    protocol: str | list[str] | None = None) -> list[Path]:
    """Write the per-generator bar plot (see ``figure_generators``) as ``out.png`` and ``out.pdf``."""
    return save_figure(figure_generators(frame_gen, metric=metric, region=region, mode=mode, protocol=protocol), out)


def _dataset_folder(runs: list[dict], data: Path | None) -> Path:
    """The one dataset the runs were scored on: ``data`` if given, else the absolute path results record; its
    content must be the one the results name (``dataset.content_sha256``)."""
    from occbench.dataset.layout import dataset_fingerprint, read_dataset_info

    digests = {r["dataset"].get("content_sha256") for r in runs} - {None}
    protocols = {r["dataset"].get("content_hash") for r in runs} - {None}
    if len(digests) > 1 or len(protocols) > 1:
        raise OccbenchError("the runs were evaluated on different datasets; a grid needs one dataset")
    source = runs[0].get(SOURCE_KEY, "results.json")
    folder = Path(data) if data is not None else Path(str(runs[0]["dataset"].get("path") or ""))
    if not folder.is_dir():
        raise OccbenchError(f"{source}: the dataset folder it records, {folder}, does not exist (moved?); pass "
                            "--data DIR with the folder's new place")
    if digests and dataset_fingerprint(folder, read_dataset_info(folder)) not in digests:
        raise OccbenchError(f"{folder}: not the dataset {source} was scored on (its content sha256 differs)")
    return folder


def _folders(runs: list[dict], data: Path | None = None) -> tuple[Path, list[Path]]:
    folder = _dataset_folder(runs, data)
    preds = []
    for results in runs:
        recorded = results["method"].get("predictions")
        pred = Path(recorded) if recorded else None
        if (pred is None or not pred.is_dir()) and results.get(SOURCE_KEY):
            pred = Path(results[SOURCE_KEY]).parent / "pred"  # a run folder moved with its results
        if pred is None or not pred.is_dir():
            raise OccbenchError(f"{results.get(SOURCE_KEY, 'results')}: predictions folder {recorded} not found")
        preds.append(pred)
    return folder, preds


def default_ids(runs: list[dict], count: int = 4, data: Path | None = None) -> list[str]:
    """The first ``count`` sample ids (sorted) with a prediction in every run and an input in the dataset."""
    data, preds = _folders(runs, data)
    common = {p.stem for p in (data / "occluded").glob("*.png")}
    for pred in preds:
        common &= {p.stem for p in pred.glob("*.png")}
    if not common:
        raise OccbenchError(f"no sample id has an input in {data / 'occluded'} and a prediction in every run")
    return sorted(common)[:count]


def figure_grid(runs: list[dict], *, ids: Sequence[str] | None = None, count: int = 4,
                data: Path | None = None) -> Figure:
    """Rows = samples; columns = input (occluded), mask, each run's prediction, ground truth."""
    if not runs:
        raise OccbenchError("a grid needs at least one results file")
    folder, preds = _folders(runs, data)
    ids = list(ids) if ids else default_ids(runs, count, folder)
    data = folder
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


def plot_grid(runs: list[dict], *, ids: Sequence[str] | None = None, count: int = 4, out: Path,
              data: Path | None = None) -> list[Path]:
    """Write the qualitative grid (see ``figure_grid``) as ``out.png`` and ``out.pdf``."""
    return save_figure(figure_grid(runs, ids=ids, count=count, data=data), out)
