"""Paper-style comparison tables: rows = methods, columns = metrics, each cell "whole | hole" (SGIN Table 1).

Decimals per metric (``DECIMALS``): PSNR, MAE, RMSE, MSE (0–255) and FID 2; SSIM, MS-SSIM, LPIPS, ℓ1 (0–1), KID
and identity 4; others 4. The best value of each (metric, region) column is bold, compared as displayed (rounded),
so ties all get bold; a column with fewer than two values gets none. Missing values print as "–".
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from occbench.errors import OccbenchError
from occbench.image_io import write_atomic
from occbench.metrics import MIN_SAMPLES_FID
from occbench.report.results import select_methods, select_protocol

DECIMALS = {"psnr": 2, "mae": 2, "rmse": 2, "mse": 2, "fid": 2, "ssim": 4, "ms_ssim": 4, "lpips": 4, "l1": 4,
            "kid": 4, "identity": 4, "identity_distance": 4}
NAMES = {"psnr": "PSNR", "ssim": "SSIM", "ms_ssim": "MS-SSIM", "rmse": "RMSE", "mae": "MAE", "mse": "MSE",
         "l1": "L1", "lpips": "LPIPS", "fid": "FID", "kid": "KID", "identity": "ID sim", "identity_distance": "ID dist"}
MISSING = "–"
_STYLES = {  # bold template, separator between regions, missing value, arrows
    "plain": ("{}", " | ", MISSING, {"higher": "↑", "lower": "↓"}),
    "markdown": ("**{}**", " | ", MISSING, {"higher": "↑", "lower": "↓"}),
    "latex": ("\\textbf{{{}}}", " \\textbar{} ", "--", {"higher": "$\\uparrow$", "lower": "$\\downarrow$"}),
}
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def table_values(frame: pd.DataFrame, *, metrics: Sequence[str], regions: Sequence[str] = ("whole", "hole"),
                 mode: str = "composite", methods: Sequence[str] | None = None,
                 protocol: str | None = None) -> pd.DataFrame:
    """Numeric wide table: index = method labels, columns = (metric, region); ``attrs['better']`` per metric."""
    if not metrics or not regions:
        raise OccbenchError("a table needs at least one metric and one region")
    frame = select_protocol(frame, protocol)
    labels = select_methods(frame, list(methods) if methods else None)
    rows = frame[(frame["mode"] == mode) & frame["method"].isin(labels)]
    if rows.empty:
        modes = ", ".join(sorted(frame["mode"].unique())) or "none"
        raise OccbenchError(f"mode: no results for {mode!r}. Available: {modes}")
    for metric in metrics:
        if not ((rows["metric"] == metric) & rows["region"].isin(regions)).any():
            available = ", ".join(sorted(rows["metric"].unique()))
            raise OccbenchError(f"metrics: no {metric!r} values for regions {', '.join(regions)} in {mode!r} mode. "
                                f"Available: {available}")
    means = rows.groupby(["method", "metric", "region"])["value"].first()
    columns = pd.MultiIndex.from_tuples([(m, r) for m in metrics for r in regions], names=["metric", "region"])
    values = pd.DataFrame(index=pd.Index(labels, name="method"), columns=columns, dtype=float)
    for (label, metric, region), value in means.items():
        if (metric, region) in values.columns:
            values.loc[label, (metric, region)] = value
    better = rows.drop_duplicates("metric").set_index("metric")["better"].to_dict()
    values.attrs.update(better={m: better.get(m, "lower") for m in metrics}, regions=tuple(regions), mode=mode,
                        protocol=str(rows["protocol"].iloc[0]))
    return values


def _fmt(value: float, metric: str) -> str:
    return f"{value:.{DECIMALS.get(metric, 4)}f}"


def best_cells(values: pd.DataFrame) -> pd.DataFrame:
    """Boolean frame: True where a cell holds its column's best value (as displayed; ties all True)."""
    best = pd.DataFrame(False, index=values.index, columns=values.columns)
    for metric, region in values.columns:
        column = values[(metric, region)].dropna().round(DECIMALS.get(metric, 4))
        if len(column) < 2:
            continue
        target = column.max() if values.attrs["better"][metric] == "higher" else column.min()
        best.loc[column.index[column == target], (metric, region)] = True
    return best


def header(metric: str, better: str, style: str = "plain") -> str:
    """Column header with its direction, e.g. "PSNR ↑", "LPIPS ↓" (LaTeX: ``$\\uparrow$``)."""
    return f"{NAMES.get(metric, metric)} {_STYLES[style][3][better]}"


def _display(values: pd.DataFrame, style: str) -> pd.DataFrame:
    bold, sep, missing, _ = _STYLES[style]
    best = best_cells(values)
    metrics = list(dict.fromkeys(values.columns.get_level_values(0)))
    out = pd.DataFrame(index=values.index)
    for metric in metrics:
        parts = []
        for region in values.attrs["regions"]:
            cells = []
            for label in values.index:
                value = values.loc[label, (metric, region)]
                text = missing if value is None or math.isnan(value) else _fmt(value, metric)
                cells.append(bold.format(text) if best.loc[label, (metric, region)] else text)
            parts.append(cells)
        out[header(metric, values.attrs["better"][metric], style)] = [sep.join(p) for p in zip(*parts)]
    out.index.name = "Method"
    return out


def make_table(frame: pd.DataFrame, *, metrics: Sequence[str], regions: Sequence[str] = ("whole", "hole"),
               mode: str = "composite", methods: Sequence[str] | None = None, protocol: str | None = None,
               style: str = "markdown") -> pd.DataFrame:
    """Display strings: rows = methods, columns "PSNR ↑"…, cells "whole | hole"; best bold per ``style``
    (``markdown``: ``**x**``, ``latex``: ``\\textbf{x}``, ``plain``: none)."""
    if style not in _STYLES:
        raise OccbenchError(f"style: Expected one of {', '.join(_STYLES)}, but got {style!r}")
    values = table_values(frame, metrics=metrics, regions=regions, mode=mode, methods=methods, protocol=protocol)
    table = _display(values, style)
    table.attrs.update(values.attrs)
    return table


def caption(regions: Sequence[str], mode: str, protocol: str = "", note: str = "") -> str:
    """E.g. "values: whole | hole, composite outputs (celebahq-center-256); best in bold"."""
    where = f"values: {' | '.join(regions)}" if len(regions) > 1 else f"values: {regions[0]} region"
    dataset = f" ({protocol})" if protocol else ""
    return f"{where}, {mode} outputs{dataset}; best in bold{note}"


def small_sample_note(frame: pd.DataFrame, metrics: Sequence[str], mode: str, protocol: str = "") -> str:
    """A caption warning when FID/KID in the table rest on fewer than MIN_SAMPLES_FID samples, else ""."""
    shown = frame[frame["metric"].isin([m for m in metrics if m in ("fid", "kid")]) & (frame["mode"] == mode)
                  & ((frame["protocol"] == protocol) if protocol else True)]
    counts = shown["count"].dropna()
    if counts.empty or int(counts.min()) >= MIN_SAMPLES_FID:
        return ""
    return (f". WARNING: FID/KID rest on {int(counts.min())} samples (< {MIN_SAMPLES_FID}): biased and not "
            "comparable to published values")


def to_markdown(frame: pd.DataFrame, *, metrics: Sequence[str], regions: Sequence[str] = ("whole", "hole"),
                mode: str = "composite", methods: Sequence[str] | None = None, protocol: str | None = None,
                with_caption: bool = True) -> str:
    """GitHub pipe table (``|`` inside cells escaped as ``\\|``), then an italic caption line."""
    table = make_table(frame, metrics=metrics, regions=regions, mode=mode, methods=methods, protocol=protocol,
                       style="markdown")

    def cell(text: object) -> str:
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(x) for x in ["Method", *table.columns]) + " |",
             "|:--|" + "|".join(":-:" for _ in table.columns) + "|"]
    lines += ["| " + " | ".join(cell(x) for x in [label, *row]) + " |" for label, row in table.iterrows()]
    if with_caption:
        note = small_sample_note(frame, metrics, mode, table.attrs["protocol"])
        lines += ["", f"*{caption(regions, mode, table.attrs['protocol'], note)}*".replace("|", "\\|")]
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters (``_`` → ``\\_`` …)."""
    return re.sub(r"[\\&%$#_{}~^]", lambda m: _LATEX_SPECIAL[m.group()], text)


def to_latex(frame: pd.DataFrame, *, metrics: Sequence[str], regions: Sequence[str] = ("whole", "hole"),
             mode: str = "composite", methods: Sequence[str] | None = None, protocol: str | None = None,
             label: str = "tab:occbench") -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``) with a caption naming regions and mode."""
    table = make_table(frame, metrics=metrics, regions=regions, mode=mode, methods=methods, protocol=protocol,
                       style="latex")
    note = small_sample_note(frame, metrics, mode, table.attrs["protocol"])
    text = latex_escape(caption(regions, mode, table.attrs["protocol"], note)).replace("|", r"\textbar{}")
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{text}}}", rf"\label{{{label}}}",
             r"\begin{tabular}{l" + "c" * len(table.columns) + "}", r"\toprule",
             " & ".join(["Method", *table.columns]) + r" \\", r"\midrule"]
    lines += [" & ".join([latex_escape(str(name)), *row]) + r" \\" for name, row in table.iterrows()]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(frame: pd.DataFrame, *, metrics: Sequence[str], regions: Sequence[str] = ("whole", "hole"),
           mode: str = "composite", methods: Sequence[str] | None = None, protocol: str | None = None) -> str:
    """Numeric wide CSV: method, protocol, mode, then one ``<metric>_<region>`` column each; full precision."""
    values = table_values(frame, metrics=metrics, regions=regions, mode=mode, methods=methods, protocol=protocol)
    wide = pd.DataFrame({"method": values.index, "protocol": values.attrs["protocol"], "mode": mode})
    for metric, region in values.columns:
        wide[f"{metric}_{region}"] = values[(metric, region)].to_numpy()
    return wide.to_csv(index=False, lineterminator="\n")


BLOCK_START, BLOCK_END = "<!-- occbench:results -->", "<!-- /occbench:results -->"


def update_block(path: Path, table: str, command: str) -> None:
    """Replace the generated results block of a Markdown file (READMEs' tables are generated, never typed)."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(BLOCK_START), text.find(BLOCK_END)
    if start < 0 or end < start:
        raise OccbenchError(f"{path}: Expected a block '{BLOCK_START}' ... '{BLOCK_END}' to replace, but found none")
    body = f"{BLOCK_START}\n<!-- generated by: {command} -->\n\n{table.rstrip()}\n\n"
    write_atomic(path, (text[:start] + body + text[end:]).encode("utf-8"))
