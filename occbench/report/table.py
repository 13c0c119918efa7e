"""Paper-style comparison tables: rows = methods (in blocks per dataset), columns = metric × region sub-columns.

Every fact about a metric (display name, direction, decimals, display scale such as KID ×10³, kind) comes from
its registered record (:func:`occbench.metrics.metric_info`). The best value of each (metric, region) column
within a dataset block is bold, compared as displayed (rounded), so ties all get bold; a column with fewer than
two values gets none. Missing values print as "–". With ``ci=True`` each per-image metric shows
``mean ± half-width`` of its 95% confidence interval over images (normal approximation, 1.96·s/√n with the
sample standard deviation); dataset-level metrics (FID, KID) have no per-image spread and show the value alone.
Warnings (FID on too few images) go to footnotes under the table, never into the caption.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from occbench.errors import OccbenchError
from occbench.image_io import write_atomic
from occbench.metrics import MIN_SAMPLES_FID, metric_info
from occbench.report.results import ci95_half_width, select_methods

MISSING = "–"
ARROWS = {"plain": {"higher": "↑", "lower": "↓"}, "latex": {"higher": r"$\uparrow$", "lower": r"$\downarrow$"}}
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


@dataclass
class Table:
    """Numbers of a table: ``values`` / ``half_widths`` indexed by (protocol, method) rows and (metric, region)
    columns, the better direction of each metric, and footnotes."""

    values: pd.DataFrame
    half_widths: pd.DataFrame
    metrics: tuple[str, ...]
    regions: tuple[str, ...]
    mode: str
    ci: bool
    notes: list[str] = field(default_factory=list)

    @property
    def protocols(self) -> list[str]:
        return list(dict.fromkeys(self.values.index.get_level_values(0)))


def build_table(frame: pd.DataFrame, *, metrics: Sequence[str], regions: Sequence[str] = ("whole", "hole"),
                mode: str = "composite", methods: Sequence[str] | None = None,
                protocols: Sequence[str] | None = None, ci: bool = False) -> Table:
    """Select and arrange the aggregates of ``frame`` (from :func:`occbench.report.results.aggregates_frame`)."""
    if not metrics or not regions:
        raise OccbenchError("a table needs at least one metric and one region")
    present = list(dict.fromkeys(frame["protocol"].dropna()))
    chosen = list(protocols) if protocols else present
    unknown = [p for p in chosen if p not in present]
    if unknown:
        raise OccbenchError(f"protocol: Unknown {', '.join(unknown)}. Available: {', '.join(present) or 'none'}")
    frame = frame[frame["protocol"].isin(chosen)]
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
    index = pd.MultiIndex.from_tuples([(p, m) for p in chosen for m in labels
                                       if ((rows["protocol"] == p) & (rows["method"] == m)).any()],
                                      names=["protocol", "method"])
    columns = pd.MultiIndex.from_tuples([(m, r) for m in metrics for r in regions], names=["metric", "region"])
    values = pd.DataFrame(index=index, columns=columns, dtype=float)
    half = values.copy()
    for row in rows.itertuples(index=False):
        key = (row.protocol, row.method)
        if (row.metric, row.region) in columns and key in index:
            values.loc[key, (row.metric, row.region)] = row.value
            if metric_info(row.metric).kind == "image":
                half.loc[key, (row.metric, row.region)] = ci95_half_width(row.std, row.count)
    table = Table(values, half, tuple(metrics), tuple(regions), mode, ci)
    table.notes += _sample_notes(rows, metrics)
    return table


def _sample_notes(rows: pd.DataFrame, metrics: Sequence[str]) -> list[str]:
    notes = []
    shown = rows[rows["metric"].isin([m for m in metrics if metric_info(m).kind == "dataset"])]
    for protocol, group in shown.groupby("protocol", sort=False):
        counts = group["count"].dropna()
        if not counts.empty and int(counts.min()) < MIN_SAMPLES_FID:
            names = "/".join(metric_info(m).display for m in dict.fromkeys(group["metric"]))
            notes.append(f"{names} on {protocol} rest on {int(counts.min())} images (< {MIN_SAMPLES_FID}): biased "
                         "and not comparable to published values")
    return notes


def _fmt(value: float, metric: str) -> str:
    info = metric_info(metric)
    return f"{value * info.scale:.{info.decimals}f}"


def best_cells(table: Table) -> pd.DataFrame:
    """Boolean frame: True where a cell holds its column's best value within its dataset block (as displayed)."""
    best = pd.DataFrame(False, index=table.values.index, columns=table.values.columns)
    for protocol in table.protocols:
        block = table.values.loc[[protocol]]
        for metric, region in table.values.columns:
            info = metric_info(metric)
            column = (block[(metric, region)].dropna() * info.scale).round(info.decimals)
            if len(column) < 2:
                continue
            target = column.max() if info.better == "higher" else column.min()
            best.loc[column.index[column == target], (metric, region)] = True
    return best


def _cell(table: Table, key: tuple, column: tuple, bold: bool, style: str) -> str:
    value = table.values.loc[key, column]
    if pd.isna(value):
        return "--" if style == "latex" else MISSING
    text = _fmt(value, column[0])
    half = table.half_widths.loc[key, column]
    if table.ci and not pd.isna(half):
        spread = _fmt(half, column[0])
        text = f"{text} $\\pm$ {spread}" if style == "latex" else f"{text} ± {spread}"
    if bold:
        return f"\\textbf{{{text}}}" if style == "latex" else f"**{text}**"
    return text


def header(metric: str, style: str = "plain") -> str:
    """E.g. "PSNR ↑", "KID×10³ ↓" (LaTeX: ``KID$\\times 10^{3}$ $\\downarrow$``)."""
    info = metric_info(metric)
    name = info.header()
    if style == "latex":
        name = latex_escape(info.display) + ("" if info.scale == 1 else
                                             rf"$\times 10^{{{round(math.log10(info.scale))}}}$")
    return f"{name} {ARROWS['latex' if style == 'latex' else 'plain'][info.better]}"


def caption(table: Table) -> str:
    """E.g. "whole and hole regions, composite outputs; mean ± 95% CI over images; best in bold"."""
    regions = " and ".join(table.regions) + (" regions" if len(table.regions) > 1 else " region")
    spread = "; mean ± 95% confidence interval over images" if table.ci else ""
    return f"{regions}, {table.mode} outputs{spread}; best per dataset in bold"


def to_markdown(table: Table) -> str:
    """GitHub pipe table: a column per (metric, region), a bold row naming each dataset, caption and footnotes."""
    best = best_cells(table)
    heads = [f"{header(m)} {r}" if len(table.regions) > 1 else header(m) for m, r in table.values.columns]
    lines = ["| " + " | ".join(["Method", *heads]) + " |", "|:--|" + "|".join(":-:" for _ in heads) + "|"]
    for protocol in table.protocols:
        lines.append("| " + " | ".join([f"*{protocol}*", *[""] * len(heads)]) + " |")
        for key in table.values.loc[[protocol]].index:
            cells = [_cell(table, key, column, bool(best.loc[key, column]), "markdown")
                     for column in table.values.columns]
            lines.append("| " + " | ".join(text.replace("|", "\\|") for text in [key[1], *cells]) + " |")
    lines += ["", f"*{caption(table)}*"]
    lines += [f"{i}. {note}" for i, note in enumerate(table.notes, start=1)]
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters (``_`` → ``\\_`` …)."""
    return re.sub(r"[\\&%$#_{}~^]", lambda m: _LATEX_SPECIAL[m.group()], text)


def to_latex(table: Table, label: str = "tab:occbench") -> str:
    """A booktabs ``table``: metric headers spanning their region sub-columns (``\\multicolumn`` + ``\\cmidrule``),
    a row naming each dataset, footnotes under the tabular. Needs ``\\usepackage{booktabs}``."""
    best = best_cells(table)
    n_regions, n_cols = len(table.regions), 1 + len(table.values.columns)
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{latex_escape(caption(table))}}}",
             rf"\label{{{label}}}", r"\begin{tabular}{l" + "".join(" " + "c" * n_regions for _ in table.metrics) + "}",
             r"\toprule"]
    if n_regions > 1:
        lines.append(" & ".join(["", *[rf"\multicolumn{{{n_regions}}}{{c}}{{{header(m, 'latex')}}}"
                                       for m in table.metrics]]) + r" \\")
        lines.append(" ".join(rf"\cmidrule(lr){{{2 + i * n_regions}-{1 + (i + 1) * n_regions}}}"
                              for i in range(len(table.metrics))))
        lines.append(" & ".join(["Method", *[latex_escape(r) for _ in table.metrics for r in table.regions]]) + r" \\")
    else:
        lines.append(" & ".join(["Method", *[header(m, "latex") for m in table.metrics]]) + r" \\")
    for protocol in table.protocols:
        lines += [r"\midrule", rf"\multicolumn{{{n_cols}}}{{l}}{{\textit{{{latex_escape(protocol)}}}}} \\"]
        for key in table.values.loc[[protocol]].index:
            cells = [_cell(table, key, column, bool(best.loc[key, column]), "latex")
                     for column in table.values.columns]
            lines.append(" & ".join([latex_escape(key[1]), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.notes:
        lines += [r"\par\smallskip", r"\begin{minipage}{\linewidth}\footnotesize"]
        lines += [rf"{i}. {latex_escape(note)}\\" for i, note in enumerate(table.notes, start=1)]
        lines += [r"\end{minipage}"]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """Numeric wide CSV: protocol, method, mode, one ``<metric>_<region>`` column each (results' own units: KID
    unscaled), and ``<metric>_<region>_ci95`` half-widths when the table has CIs; full precision."""
    wide = pd.DataFrame({"protocol": table.values.index.get_level_values(0),
                         "method": table.values.index.get_level_values(1), "mode": table.mode})
    for metric, region in table.values.columns:
        wide[f"{metric}_{region}"] = table.values[(metric, region)].to_numpy()
        if table.ci:
            wide[f"{metric}_{region}_ci95"] = table.half_widths[(metric, region)].to_numpy()
    return wide.to_csv(index=False, lineterminator="\n")


RENDERERS = {"md": to_markdown, "latex": to_latex, "csv": to_csv}
BLOCK_START, BLOCK_END = "<!-- occbench:results -->", "<!-- /occbench:results -->"


def update_block(path: Path, table: str, command: str) -> None:
    """Replace the generated results block of a Markdown file (READMEs' tables are generated, never typed)."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(BLOCK_START), text.find(BLOCK_END)
    if start < 0 or end < start:
        raise OccbenchError(f"{path}: Expected a block '{BLOCK_START}' ... '{BLOCK_END}' to replace, but found none")
    body = f"{BLOCK_START}\n<!-- generated by: {command} -->\n\n{table.rstrip()}\n\n"
    write_atomic(path, (text[:start] + body + text[end:]).encode("utf-8"))
