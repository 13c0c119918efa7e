"""One self-contained HTML report page from results files: tables, figures, a sortable sample grid, provenance.

The page makes no network request: CSS and JavaScript are inline, figures are matplotlib PNGs and thumbnails
JPEG (masks PNG) as ``data:`` URIs. Tables are :func:`occbench.report.table.build_table`'s (the whole/hole table
is exactly ``occbench table --ci``'s, its interval in each value's tooltip: 95% BCa bootstrap, 2000 resamples,
seed 0, for runs with a scores.csv; the report adds the raw-output and remaining-region tables); figures are
:mod:`occbench.report.plot`'s. Per-occluder-category bars (manifest parameters ``category``, ``kind``,
``mask_type``) average each run's per-sample scores (scores.csv) over that category's samples, NaNs excluded.
The grid embeds, per dataset, the first ``samples`` ids plus each method's ``samples`` best and worst by one
metric; an inline script sorts it (by id, or best/worst first for a method) and shows ``samples`` rows. The page
has no timestamp, so the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from occbench import __version__
from occbench.errors import OccbenchError
from occbench.metrics import PART_REGIONS, metric_info, metric_names
from occbench.report.results import (
    GENERATOR_COLUMNS,
    SOURCE_KEY,
    aggregates_frame,
    bins_frame,
    generators_frame,
    load_results,
    method_labels,
    row_keys,
    run_name,
    scores_path,
)
from occbench.report.results import read_scores as read_run_scores
from occbench.report.table import (
    MISSING,
    Table,
    best_cells,
    build_table,
    caption,
    fmt_value,
    header,
    with_intervals,
)
from occbench.results_schema import BIN_SCHEMES

THUMB_PX = 128  # longest side of a grid thumbnail
JPEG_QUALITY = 80
TABLE_REGIONS = (("whole", "hole"), ("zero_outside", "boundary", "fg", "hole_fg"), PART_REGIONS)  # parts: --parts
PLOT_REGIONS = ("whole", "hole")
CATEGORY_KEYS = ("category", "kind", "mask_type")  # natocc: category, kind; facemask: mask_type
DATA_KEYS = ("aggregates", "bins", "by_generator", "dataset_metrics", SOURCE_KEY)  # not provenance
TABLE_METRICS = ("psnr", "ssim", "ms_ssim", "lpips", "mae", "fid")  # occbench table's default columns, first

CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:0 16px 40px;color:#222}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:6px 0;z-index:1}
nav a{margin-right:14px}h2{border-bottom:2px solid #eee;padding-top:8px}
table{border-collapse:collapse;margin:8px 0 4px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:center}
td:first-child,th:first-child{text-align:left}tr.block td{background:#f4f4f4;font-style:italic}
.caption,.note{color:#555;font-size:12px}figure{display:inline-block;margin:6px 12px 6px 0}
figure img{max-width:100%}.grid td{vertical-align:top;font-size:12px}.grid img{display:block;margin:auto}
.grid .best{font-weight:bold}.prov td{text-align:left;max-width:420px;word-break:break-all;font-size:12px}
.prov tr.differs td{background:#fff6e0}.scroll{overflow-x:auto}
"""
ERROR_JS = """window.occbenchErrors=0;function occbenchError(){window.occbenchErrors++;
document.documentElement.setAttribute('data-js-errors',String(window.occbenchErrors));}
window.addEventListener('error',occbenchError);var occbenchConsoleError=console.error;
console.error=function(){occbenchError();occbenchConsoleError.apply(console,arguments);};"""
SORT_JS = """function occbenchSort(grid,key){var body=grid.tBodies[0],rows=Array.prototype.slice.call(body.rows);
var n=parseInt(grid.getAttribute('data-samples'),10),p=key.split(':');
var higher=grid.getAttribute('data-better')==='higher';
function byId(a,b){return a.getAttribute('data-id')<b.getAttribute('data-id')?-1:1;}
rows.sort(function(a,b){if(p[0]==='id')return byId(a,b);var x=parseFloat(a.getAttribute('data-s'+p[0])),
y=parseFloat(b.getAttribute('data-s'+p[0]));if(isNaN(x)||isNaN(y))return isNaN(x)-isNaN(y)||byId(a,b);
return ((higher===(p[1]==='best'))?y-x:x-y)||byId(a,b);});
rows.forEach(function(r,i){r.hidden=i>=n;body.appendChild(r);});}
var occbenchHash=/sort=([^&]+)/.exec(location.hash);
Array.prototype.forEach.call(document.querySelectorAll('select.sort'),function(s){
var grid=document.getElementById(s.getAttribute('data-grid'));
if(occbenchHash&&s.querySelector('option[value="'+occbenchHash[1]+'"]'))s.value=occbenchHash[1];
s.addEventListener('change',function(){occbenchSort(grid,s.value);});occbenchSort(grid,s.value);});
document.body.setAttribute('data-ready','1');"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def dataset_key(results: dict) -> str:
    """What identifies the dataset a run was scored on: its content sha256, else protocol hash and path."""
    data = results["dataset"]
    return str(data.get("content_sha256") or f"{data.get('content_hash')}:{data.get('path')}")


def group_by_dataset(runs: list[dict], allow_different: bool = False) -> list[list[int]]:
    """Run indices grouped by dataset (first-seen order); several groups are an error unless ``allow_different``."""
    groups: dict[str, list[int]] = {}
    for i, results in enumerate(runs):
        groups.setdefault(dataset_key(results), []).append(i)
    if len(groups) > 1 and not allow_different:
        names = "; ".join(f"{', '.join(run_name(runs[i], i) for i in idx)} on "
                          f"{runs[idx[0]]['dataset'].get('protocol')} ({key[:12]})" for key, idx in groups.items())
        raise OccbenchError(f"the runs were evaluated on different datasets: {names}. One report compares methods "
                            "on one dataset; pass --allow-different-data to show them anyway (tables in blocks "
                            "per protocol, one sample grid per dataset)")
    return list(groups.values())


def table_html(table: Table) -> str:
    """An HTML version of ``occbench table``'s Markdown: best per dataset in bold, the interval (when the table
    has them) in each cell's tooltip."""
    best = best_cells(table)
    multi = len(table.regions) > 1
    head = "<tr><th rowspan='2'>Method</th>" if multi else "<tr><th>Method</th>"
    if multi:
        head += "".join(f"<th colspan='{len(table.regions)}'>{_e(header(m))}</th>" for m in table.metrics)
        head += "</tr><tr>" + "".join(f"<th>{_e(r)}</th>" for _ in table.metrics for r in table.regions) + "</tr>"
    else:
        head += "".join(f"<th>{_e(header(m))}</th>" for m in table.metrics) + "</tr>"
    body = []
    for protocol in table.protocols:
        body.append(f"<tr class='block'><td colspan='{1 + len(table.values.columns)}'>{_e(protocol)}</td></tr>")
        for key in table.values.loc[[protocol]].index:
            cells = [f"<td>{_e(key[1])}</td>"]
            for column in table.values.columns:
                value, metric = table.values.loc[key, column], column[0]
                if pd.isna(value):
                    cells.append(f"<td>{MISSING}</td>")
                    continue
                text = fmt_value(value, metric)
                low, high = table.lows.loc[key, column], table.highs.loc[key, column]
                tip = "" if pd.isna(low) or pd.isna(high) else (
                    f" title='95% BCa interval [{fmt_value(low, metric)}, {fmt_value(high, metric)}]'")
                text = f"<strong>{text}</strong>" if best.loc[key, column] else text
                cells.append(f"<td{tip}>{text}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f"<li>{_e(note)}</li>" for note in table.notes)
    return (f"<div class='scroll'><table class='results'><thead>{head}</thead><tbody>{''.join(body)}</tbody>"
            f"</table></div><p class='caption'>{_e(caption(table, 'hover a value for its'))}</p>"
            + (f"<ol class='note'>{notes}</ol>" if notes else ""))


def _ordered_metrics(names: Sequence[str]) -> list[str]:
    present = set(names)
    order = [*TABLE_METRICS, *metric_names(), *sorted(present)]
    return [m for m in dict.fromkeys(order) if m in present]


def report_tables(frame: pd.DataFrame, scores: dict[tuple[str, str], pd.DataFrame] | None = None
                  ) -> list[tuple[str, Table]]:
    """Per output mode: the whole/hole table (``occbench table``'s, with every metric present), then the other
    regions present; a (mode, regions) pair without values is left out. ``scores``: per-sample scores by row
    (protocol, method label), for the intervals (:func:`occbench.report.table.with_intervals`, default settings)."""
    tables = []
    for mode in ("composite", "raw"):
        for regions in TABLE_REGIONS:
            rows = frame[(frame["mode"] == mode) & frame["region"].isin(regions) & frame["value"].notna()]
            shown = [r for r in regions if r in set(rows["region"])]
            if shown:
                table = build_table(frame, metrics=_ordered_metrics(rows["metric"].unique()), regions=shown,
                                    mode=mode)
                tables.append((f"{mode} outputs, {', '.join(shown)}",
                               with_intervals(table, scores) if scores else table))
    return tables


def figure_uri(figure) -> str:
    """A matplotlib Figure as a ``data:image/png`` URI (100 dpi, no software metadata)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(title: str, make, *args, **kwargs) -> str:
    """``<figure>`` with ``make(*args, **kwargs)`` embedded; a figure whose rows are missing becomes a note."""
    try:
        uri = figure_uri(make(*args, **kwargs))
    except OccbenchError as exc:
        return f"<p class='note'>{_e(title)}: not drawn ({_e(exc)})</p>"
    return f"<figure><img alt='{_e(title)}' src='{uri}'><figcaption class='caption'>{_e(title)}</figcaption></figure>"


def _regions(frame: pd.DataFrame, metric: str, mode: str) -> list[str]:
    rows = frame[(frame["metric"] == metric) & (frame["mode"] == mode) & frame["value"].notna()]
    return [r for r in PLOT_REGIONS if r in set(rows["region"])]


def bin_figures(runs: list[dict], metric: str, mode: str) -> str:
    """Hole-ratio bin curves (:func:`occbench.report.plot.figure_bins`) per protocol, bin scheme and region."""
    from occbench.report.plot import figure_bins

    parts = []
    for scheme in BIN_SCHEMES:
        frame = bins_frame(runs, scheme)
        for protocol in dict.fromkeys(frame["protocol"]):
            for region in _regions(frame[frame["protocol"] == protocol], metric, mode):
                parts.append(_figure(f"{metric}, {region} region, {scheme} bins, {protocol}", figure_bins, frame,
                                     metric=metric, region=region, mode=mode, protocol=protocol))
    return "".join(parts) or "<p class='note'>no hole-ratio bins in these results</p>"


def read_scores(results: dict) -> pd.DataFrame | None:
    """The run's scores.csv (:func:`occbench.report.results.read_scores`), or None when it is missing."""
    path = scores_path(results)
    return read_run_scores(results, "report") if path is not None and path.is_file() else None


def dataset_folder(results: dict, data: Path | None) -> Path | None:
    """The dataset folder (``data`` or the recorded path), checked against the content sha256; None if absent."""
    from occbench.dataset.layout import dataset_fingerprint, read_dataset_info

    folder = Path(data) if data is not None else Path(str(results["dataset"].get("path") or ""))
    if not (folder / "dataset.json").is_file():
        return None
    digest = results["dataset"].get("content_sha256")
    if digest and dataset_fingerprint(folder, read_dataset_info(folder)) != digest:
        raise OccbenchError(f"{folder}: not the dataset {results.get(SOURCE_KEY)} was scored on (its content "
                            "sha256 differs)")
    return folder


def sample_params(folder: Path) -> pd.DataFrame:
    """Manifest rows: id, generator, hole_ratio and the category keys found in the per-sample params."""
    from occbench.dataset.layout import read_manifest

    rows = []
    for row in read_manifest(folder):
        try:
            params = json.loads(row.get("params") or "{}")
        except json.JSONDecodeError:
            params = {}
        params = params if isinstance(params, dict) else {}
        rows.append({"id": row["id"], "generator": row.get("generator"), "hole_ratio": row.get("hole_ratio"),
                     **{k: str(params[k]) for k in CATEGORY_KEYS if params.get(k) not in (None, "")}})
    return pd.DataFrame(rows).set_index("id")


def breakdown_figures(runs: list[dict], labels: list[str], groups: list[list[int]], params: dict[int, pd.DataFrame],
                      metric: str, mode: str, scores: list[pd.DataFrame | None]) -> str:
    """Per-generator bars (results' ``by_generator``) and per-occluder-category bars (scores × manifest params);
    ``scores``: each run's scores.csv frame (:func:`read_scores`), None where it is missing."""
    from occbench.report.plot import figure_generators

    parts = []
    frame = generators_frame(runs)
    for protocol in dict.fromkeys(frame["protocol"]):
        for region in _regions(frame[frame["protocol"] == protocol], metric, mode):
            parts.append(_figure(f"{metric} per generator, {region} region, {protocol}", figure_generators, frame,
                                 metric=metric, region=region, mode=mode, protocol=protocol))
    for g, group in enumerate(groups):
        table = params.get(g)
        keys = [k for k in CATEGORY_KEYS if table is not None and k in table.columns]
        for key in keys:
            cats = category_frame([(labels[i], runs[i], scores[i]) for i in group if scores[i] is not None],
                                  table[key], metric, mode)
            for region in _regions(cats, metric, mode):
                parts.append(_figure(f"{metric} per occluder {key}, {region} region, dataset {g + 1}",
                                     _category_figure, cats, key, metric=metric, region=region, mode=mode))
    return "".join(parts) or "<p class='note'>no per-generator results</p>"


def category_frame(scored: list[tuple[str, dict, pd.DataFrame]], categories: pd.Series, metric: str,
                   mode: str) -> pd.DataFrame:
    """Mean per-sample score per (method, region, category) in :func:`generators_frame`'s columns (the category in
    ``generator``); ``scored``: (label, results, scores.csv frame) per run; ``categories``: category by sample id."""
    rows = []
    for label, results, scores in scored:
        scores = scores[(scores["metric"] == metric) & (scores["mode"] == mode)]
        scores = scores.assign(category=scores["id"].map(categories)).dropna(subset=["category", "value"])
        for (region, category), values in scores.groupby(["region", "category"]):
            rows.append({"method": label, "protocol": results["dataset"].get("protocol"), "generator": category,
                         "metric": metric, "region": region, "mode": mode, "value": values["value"].mean(),
                         "count": len(values)})
    return pd.DataFrame(rows, columns=GENERATOR_COLUMNS)


def _category_figure(frame: pd.DataFrame, key: str, **selection):
    """:func:`occbench.report.plot.figure_generators` over occluder categories (in its ``generator`` column)."""
    from occbench.report.plot import figure_generators

    figure = figure_generators(frame, **selection)
    figure.axes[0].set_xlabel(f"occluder {key}")
    return figure


def thumbnail_uri(path: Path, gray: bool = False, size: int = THUMB_PX) -> str:
    """An image file downscaled to ``size`` px (longest side): JPEG, or PNG for masks."""
    import cv2

    from occbench.image_io import read_gray, read_image

    image = read_gray(path) if gray else read_image(path)[:, :, ::-1]
    scale = size / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_NEAREST if gray else cv2.INTER_AREA)
    kind, options = (".png", [cv2.IMWRITE_PNG_COMPRESSION, 9]) if gray else \
        (".jpg", [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    ok, buffer = cv2.imencode(kind, np.ascontiguousarray(image), options)
    if not ok:
        raise OccbenchError(f"{path}: could not encode a thumbnail")
    mime = "png" if gray else "jpeg"
    return f"data:image/{mime};base64," + base64.b64encode(buffer.tobytes()).decode("ascii")


def _pred_folder(results: dict) -> Path | None:
    recorded = results["method"].get("predictions")
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    source = results.get(SOURCE_KEY)
    moved = Path(source).parent / "pred" if source else None  # a run folder moved with its results
    return moved if moved is not None and moved.is_dir() else None


def _score_pivot(scores: pd.DataFrame | None, region: str, mode: str) -> pd.DataFrame:
    if scores is None:
        return pd.DataFrame()
    rows = scores[(scores["region"] == region) & (scores["mode"] == mode)]
    return rows.pivot_table(index="id", columns="metric", values="value", aggfunc="first", dropna=False)


def _grid_ids(ids: list[str], ranks: list[pd.Series], samples: int, better: str) -> list[str]:
    chosen = set(ids[:samples])
    for rank in ranks:
        values = rank.reindex(ids).dropna().sort_index()
        for best_first in (True, False):
            ascending = (better == "lower") == best_first
            chosen |= set(values.sort_values(ascending=ascending, kind="mergesort").index[:samples])
    return sorted(chosen)


def _sample_meta(params: pd.DataFrame | None, sample_id: str) -> list[str]:
    if params is None or sample_id not in params.index:
        return []
    row = params.loc[sample_id].dropna()
    ratio = pd.to_numeric(row.get("hole_ratio"), errors="coerce")
    return [f"hole {ratio:.1%}" if k == "hole_ratio" and pd.notna(ratio) else str(v) for k, v in row.items()]


def _score_text(metric: str, value: float) -> str:
    info = metric_info(metric)
    return MISSING if pd.isna(value) else f"{value * info.scale:.{info.decimals}f}"


def grid_html(runs: list[dict], labels: list[str], group: list[int], folder: Path | None,
              params: pd.DataFrame | None, *, number: int, samples: int, metric: str, region: str, mode: str,
              scores: list[pd.DataFrame | None]) -> str:
    """The sample grid of one dataset: input, mask, each method's output with its score, target; sortable.
    ``scores``: each run's scores.csv frame (:func:`read_scores`), None where it is missing."""
    if folder is None:
        return (f"<p class='note'>dataset folder {_e(runs[group[0]]['dataset'].get('path'))} not found (moved?); "
                "pass --data DIR to show samples</p>")
    preds = [_pred_folder(runs[i]) for i in group]
    if None in preds:
        missing = ", ".join(labels[i] for i, p in zip(group, preds) if p is None)
        return f"<p class='note'>no predictions folder for {_e(missing)}: no sample grid</p>"
    ids = {p.stem for p in (folder / "occluded").glob("*.png")}
    for pred in preds:
        ids &= {p.stem for p in pred.glob("*.png")}
    ids = sorted(ids)
    if not ids:
        return "<p class='note'>no sample has an input and a prediction in every run: no sample grid</p>"
    pivots = [_score_pivot(scores[i], region, mode) for i in group]
    ranks = [p[metric] if metric in p.columns else pd.Series(dtype=float) for p in pivots]
    info = metric_info(metric)
    rows = []
    for sample_id in _grid_ids(ids, ranks, samples, info.better):
        values = [rank.get(sample_id, float("nan")) for rank in ranks]
        finite = [v for v in values if pd.notna(v)]
        top = (max(finite) if info.better == "higher" else min(finite)) if len(finite) > 1 else None
        attrs = "".join(f" data-s{k}='{float(v)!r}'" for k, v in enumerate(values) if pd.notna(v))
        meta = _sample_meta(params, sample_id)
        cells = [f"<th>{_e(sample_id)}<br><span class='note'>{_e(' · '.join(meta))}</span></th>",
                 f"<td><img alt='input' src='{thumbnail_uri(folder / 'occluded' / f'{sample_id}.png')}'></td>",
                 f"<td><img alt='mask' src='{thumbnail_uri(folder / 'mask' / f'{sample_id}.png', gray=True)}'></td>"]
        for k, (pred, pivot) in enumerate(zip(preds, pivots)):
            tip = "; ".join(f"{m} {_score_text(m, v)}" for m, v in
                            (pivot.loc[sample_id].items() if sample_id in pivot.index else []))
            best = " class='best'" if top is not None and values[k] == top else ""
            cells.append(f"<td title='{_e(tip)}'><img alt='{_e(labels[group[k]])}' "
                         f"src='{thumbnail_uri(pred / f'{sample_id}.png')}'><span{best}>{_e(info.display)} "
                         f"{_score_text(metric, values[k])}</span></td>")
        cells.append(f"<td><img alt='target' src='{thumbnail_uri(folder / 'target' / f'{sample_id}.png')}'></td>")
        rows.append(f"<tr data-id='{_e(sample_id)}'{attrs}>{''.join(cells)}</tr>")
    options = ["<option value='id'>sample id</option>"] + [
        f"<option value='{k}:{order}'>{_e(labels[i])}: {order} first</option>"
        for k, i in enumerate(group) if not ranks[k].empty for order in ("best", "worst")]
    heads = "".join(f"<th>{_e(x)}</th>" for x in ["sample", "input", "mask", *[labels[i] for i in group], "target"])
    return (f"<p>Sort: <select class='sort' data-grid='grid-{number}'>{''.join(options)}</select> "
            f"<span class='note'>{samples} rows shown; scores: {_e(info.header())} "
            f"({'higher' if info.better == 'higher' else 'lower'} is better), {_e(region)} region, {_e(mode)} "
            "outputs; hover a cell for every metric; best score of a row in bold</span></p>"
            f"<div class='scroll'><table class='grid' id='grid-{number}' data-samples='{samples}' "
            f"data-better='{info.better}'><thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _flatten(value: object, prefix: str, out: dict[str, object]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def _value_text(value: object) -> str:
    if value is None or value == [] or value == {}:
        return MISSING
    if isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value):
        return ", ".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def provenance_html(runs: list[dict], labels: list[str]) -> str:
    """Everything results.json records besides the numbers, a column per run; rows that differ are shaded."""
    flat = []
    for i, results in enumerate(runs):
        values: dict[str, object] = {"results file": results.get(SOURCE_KEY) or run_name(results, i)}
        for key, item in results.items():
            if key not in DATA_KEYS:
                _flatten(item, key, values)
        flat.append(values)
    keys = list(dict.fromkeys(k for values in flat for k in values))
    rows = []
    for key in keys:
        texts = [_value_text(values.get(key)) for values in flat]
        differs = " class='differs'" if len(set(texts)) > 1 else ""
        rows.append(f"<tr{differs}><th>{_e(key)}</th>" + "".join(f"<td>{_e(t)}</td>" for t in texts) + "</tr>")
    heads = "".join(f"<th>{_e(label)}</th>" for label in labels)
    return (f"<div class='scroll'><table class='prov'><thead><tr><th>key</th>{heads}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _check_metric(frame: pd.DataFrame, metric: str, region: str, mode: str) -> str:
    """The region the grid ranks on (``region``, else ``whole``); errors when ``metric`` cannot rank samples."""
    present = sorted(frame.loc[frame["value"].notna(), "metric"].unique())
    if metric not in present:
        raise OccbenchError(f"--metric: no {metric!r} values in these results. Available: {', '.join(present)}")
    if metric_info(metric).kind != "image":
        raise OccbenchError(f"--metric: {metric!r} is one value per dataset; the sample grid needs a per-image metric")
    rows = frame[(frame["metric"] == metric) & (frame["mode"] == mode) & frame["value"].notna()]
    return region if region in set(rows["region"]) else "whole"


def render_report(runs: list[dict], *, samples: int = 8, metric: str = "psnr", region: str = "hole",
                  mode: str = "composite", data: Path | None = None, allow_different_data: bool = False,
                  title: str = "occbench report") -> str:
    """The report page for loaded results (:func:`occbench.report.results.load_results`) as one HTML string."""
    if samples < 1:
        raise OccbenchError(f"--samples: Expected a whole number >= 1, but got {samples}")
    groups = group_by_dataset(runs, allow_different_data)
    labels = method_labels(runs)
    frame = aggregates_frame(runs)
    region = _check_metric(frame, metric, region, mode)
    folders = [dataset_folder(runs[group[0]], data) for group in groups]
    params = {g: sample_params(folder) for g, folder in enumerate(folders) if folder is not None}
    summary = "".join(
        f"<tr><td>{_e(label)}</td><td>{_e(run_name(r, i))}</td><td>{_e(r['method'].get('name'))}</td>"
        f"<td>{_e(r['method'].get('mask', ''))}</td><td>{_e(r['dataset'].get('protocol'))}</td>"
        f"<td>{_e(r['dataset'].get('samples', ''))}</td><td>{_e(len(r.get('warnings') or []))}</td></tr>"
        for i, (label, r) in enumerate(zip(labels, runs)))
    scores = [read_scores(results) for results in runs]  # each scores.csv read once, for tables, bars and grid
    by_row = {key: found for key, found in zip(row_keys(runs), scores) if found is not None}
    tables = "".join(f"<h3>{_e(name)}</h3>{table_html(table)}" for name, table in report_tables(frame, by_row))
    grids = "".join(
        (f"<h3>Dataset {g + 1}: {_e(runs[group[0]]['dataset'].get('protocol'))}</h3>" if len(groups) > 1 else "")
        + grid_html(runs, labels, group, folders[g], params.get(g), number=g, samples=samples, metric=metric,
                    region=region, mode=mode, scores=scores) for g, group in enumerate(groups))
    sections = [("runs", "Runs", "<table><thead><tr><th>label</th><th>run</th><th>method</th><th>mask</th>"
                 f"<th>protocol</th><th>samples</th><th>warnings</th></tr></thead><tbody>{summary}</tbody></table>"),
                ("tables", "Tables", tables),
                ("bins", "Hole-ratio bins", bin_figures(runs, metric, mode)),
                ("breakdown", "Per generator and occluder category",
                 breakdown_figures(runs, labels, groups, params, metric, mode, scores)),
                ("samples", "Samples", grids),
                ("provenance", "Provenance", provenance_html(runs, labels))]
    nav = "".join(f"<a href='#{key}'>{_e(name)}</a>" for key, name, _ in sections)
    body = "".join(f"<section id='{key}'><h2>{_e(name)}</h2>{content}</section>" for key, name, content in sections)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<script>{ERROR_JS}</script><style>{CSS}</style></head><body><h1>{_e(title)}</h1>"
            f"<p class='note'>{len(runs)} run(s); written by occbench {_e(__version__)}; self-contained (no network)."
            f"</p><nav>{nav}</nav>{body}<script>{SORT_JS}</script></body></html>\n")


def write_report(paths: Sequence[Path], out: Path, **options) -> Path:
    """Load the results files, render the page (options: :func:`render_report`'s) and write it to ``out``."""
    from occbench.image_io import write_atomic

    text = render_report(load_results(list(paths)), **options)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, text.encode("utf-8"))
    return out
