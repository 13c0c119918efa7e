"""Paper-style comparison tables: rows = methods (in blocks per dataset), columns = metric × region sub-columns.

Every fact about a metric (display name, direction, decimals, display scale such as KID ×10³, kind) comes from
its registered record (:func:`occbench.metrics.metric_info`). The best value of each (metric, region) column
within a dataset block is bold, compared as displayed (rounded), so ties all get bold; a column with fewer than
two values gets none. Missing values print as "–". A table from :func:`with_intervals` shows each per-image
metric as ``mean [low, high]``: the 95% BCa bootstrap interval of the mean over images, computed from the run's
per-sample scores (scores.csv) exactly as ``occbench compare`` does (:func:`occbench.stats.mean_intervals`,
seeded; the caption states resamples and seed); "[–, –]" where it is undefined (fewer than two images, an
infinite score). Dataset-level metrics (FID, KID) have no per-image spread and show the value alone.
Warnings (FID on too few images) go to footnotes under the table, never into the caption.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from occbench.errors import OccbenchError
from occbench.image_io import write_atomic
from occbench.metrics import MIN_SAMPLES_FID, metric_info
from occbench.report.results import select_methods

MISSING = "–"
CONFIDENCE = 0.95  # level of a table's intervals
ARROWS = {"plain": {"higher": "↑", "lower": "↓"}, "latex": {"higher": r"$\uparrow$", "lower": r"$\downarrow$"}}
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


@dataclass(frozen=True)
class Bootstrap:
    """Settings of a table's intervals: 95% BCa bootstrap of the mean over images (:mod:`occbench.stats`),
    ``n_resamples`` resamples drawn from ``numpy.random.default_rng(seed)``."""

    n_resamples: int = 2000
    seed: int = 0


@dataclass
class Table:
    """Numbers of a table: ``values`` and interval bounds ``lows`` / ``highs`` (NaN where none) indexed by
    (protocol, method) rows and (metric, region) columns, the bootstrap settings when it has intervals (``ci``),
    and footnotes."""

    values: pd.DataFrame
    lows: pd.DataFrame
    highs: pd.DataFrame
    metrics: tuple[str, ...]
    regions: tuple[str, ...]
    mode: str
    ci: Bootstrap | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def protocols(self) -> list[str]:
        return list(dict.fromkeys(self.values.index.get_level_values(0)))


def build_table(frame: pd.DataFrame, *, metrics: Sequence[str], regions: Sequence[str] = ("whole", "hole"),
                mode: str = "composite", methods: Sequence[str] | None = None,
                protocols: Sequence[str] | None = None) -> Table:
    """Select and arrange the aggregates of ``frame`` (from :func:`occbench.report.results.aggregates_frame`);
    no intervals (:func:`with_intervals` adds them)."""
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
    for row in rows.itertuples(index=False):
        key = (row.protocol, row.method)
        if (row.metric, row.region) in columns and key in index:
            values.loc[key, (row.metric, row.region)] = row.value
    no_bounds = pd.DataFrame(math.nan, index=index, columns=columns)
    table = Table(values, no_bounds, no_bounds.copy(), tuple(metrics), tuple(regions), mode)
    table.notes += _sample_notes(rows, metrics)
    return table


def with_intervals(table: Table, scores: Mapping[tuple[str, str], pd.DataFrame], bootstrap: Bootstrap = Bootstrap(),
                   *, progress: bool = False) -> Table:
    """``table`` with the 95% BCa interval of every per-image cell, from its row's per-sample scores.

    ``scores``: scores.csv frames (:func:`occbench.report.results.read_scores`) by row, (protocol, method label);
    a row without one gets no intervals, nor do dataset-level metrics (FID, KID). Each interval is exactly
    ``occbench.stats.bootstrap_ci(the cell's scores, 0.95, bootstrap.n_resamples, bootstrap.seed)``, as
    ``occbench compare`` prints it. A cell whose value results.json has but its scores.csv lacks is an error.
    ``progress``: a bar on stderr (per row) when it takes more than a second.
    """
    from tqdm import tqdm

    from occbench.stats import METRIC, REGION, mean_intervals

    lows, highs = table.lows.copy(), table.highs.copy()
    shown = [column for column in table.values.columns if metric_info(column[0]).kind == "image"]
    metrics = list(dict.fromkeys(metric for metric, _ in shown))
    keys = [key for key in table.values.index if key in scores]
    for key in tqdm(keys, desc="bootstrap intervals", unit="run", disable=not progress or not shown, delay=1):
        source = f"scores of {key[1]} on {key[0]}"
        try:
            means = mean_intervals(scores[key], source, metrics=metrics, regions=table.regions, modes=[table.mode],
                                   confidence=CONFIDENCE, n_resamples=bootstrap.n_resamples, seed=bootstrap.seed)
        except ValueError as exc:
            raise OccbenchError(str(exc)) from None
        means = means.set_index([METRIC, REGION])
        for column in shown:
            if column in means.index:
                _check_same_mean(source, column, means.loc[column, "mean"], table.values.loc[key, column])
                lows.loc[key, column], highs.loc[key, column] = means.loc[column, ["ci_low", "ci_high"]]
            elif not pd.isna(table.values.loc[key, column]):
                raise OccbenchError(f"{source}: Expected per-sample {column[0]} scores in the {column[1]} region "
                                    f"({table.mode} outputs), as results.json has, but got none (stale scores.csv?)")
    return replace(table, lows=lows, highs=highs, ci=bootstrap)


def _check_same_mean(source: str, column: tuple[str, str], from_scores: float, from_results: float) -> None:
    """The mean of a cell's per-sample scores must be the results.json mean the table shows (equal up to the
    summation order): otherwise scores.csv belongs to another evaluation and its interval would not be this value's."""
    a, b = float(from_scores), float(from_results)
    if (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        return
    raise OccbenchError(f"{source}: the mean {column[0]} over {column[1]} of scores.csv is {a:.8g}, results.json says "
                        f"{b:.8g}; Expected the scores.csv written with that results.json (a stale or replaced file?)")


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


def fmt_value(value: float, metric: str) -> str:
    """``value`` as the tables display it: the metric's scale (KID ×10³) and decimals."""
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
    missing = "--" if style == "latex" else MISSING
    value = table.values.loc[key, column]
    if pd.isna(value):
        return missing
    text = fmt_value(value, column[0])
    if table.ci and metric_info(column[0]).kind == "image":
        low, high = (table.lows.loc[key, column], table.highs.loc[key, column])
        bounds = [missing if pd.isna(bound) else fmt_value(bound, column[0]) for bound in (low, high)]
        text = f"{text} [{bounds[0]}, {bounds[1]}]"
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


def caption(table: Table, shown_as: str = "mean [low, high]:") -> str:
    """E.g. "whole and hole regions, composite outputs; mean [low, high]: 95% BCa bootstrap interval over images,
    2000 resamples, seed 0; best per dataset in bold" (``shown_as`` says where the intervals are)."""
    regions = " and ".join(table.regions) + (" regions" if len(table.regions) > 1 else " region")
    spread = ""
    if table.ci:
        spread = (f"; {shown_as} {CONFIDENCE:.0%} BCa bootstrap interval over images, {table.ci.n_resamples} "
                  f"resamples, seed {table.ci.seed}")
        whole_set = [metric_info(m).display for m in table.metrics if metric_info(m).kind != "image"]
        spread += f" ({'/'.join(whole_set)}: one value per image set, no interval)" if whole_set else ""
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
    unscaled), and when the table has intervals ``<metric>_<region>_ci_low`` / ``_ci_high`` (95% BCa bounds, empty
    for FID/KID) after each, then ``ci_resamples`` and ``ci_seed``; full precision."""
    wide = pd.DataFrame({"protocol": table.values.index.get_level_values(0),
                         "method": table.values.index.get_level_values(1), "mode": table.mode})
    for metric, region in table.values.columns:
        wide[f"{metric}_{region}"] = table.values[(metric, region)].to_numpy()
        if table.ci:
            wide[f"{metric}_{region}_ci_low"] = table.lows[(metric, region)].to_numpy()
            wide[f"{metric}_{region}_ci_high"] = table.highs[(metric, region)].to_numpy()
    if table.ci:
        wide["ci_resamples"], wide["ci_seed"] = table.ci.n_resamples, table.ci.seed
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
