"""Write a board as CSV (one row per value) and as a Markdown page, and the index ``README.md``.

Pure functions of their inputs (no dates, no machine paths beyond the results paths given), so regenerating from
the same inputs gives the same bytes. Reported values are printed as the paper prints them; reproduced values
with as many decimals as the column's reported values; differences are reproduced − reported.
"""

from __future__ import annotations

import csv
import io

from occbench.leaderboard.build import Board, Cell
from occbench.leaderboard.conventions import PAPERS, STATUSES
from occbench.leaderboard.runs import Run

CSV_COLUMNS = ("paper", "table", "dataset", "occlusion", "resolution", "method", "variant", "source", "metric",
               "region", "occbench_metric", "occbench_region", "mode", "status", "value", "difference", "n_images",
               "run", "notes")
METRIC_NAMES = {"psnr": "PSNR", "ssim": "SSIM", "ms_ssim": "MS-SSIM", "rmse": "RMSE", "lpips": "LPIPS", "fid": "FID",
                "mse": "MSE", "mae": "MAE", "l1": "ℓ1"}
"""How the papers name their metrics (column headers)."""
REGION_NAMES = {"whole": "whole", "zero_outside": "masked", "foreground": "face+hair", "unspecified": "region n/s"}
REPORTED_DIR = "../occbench/leaderboard/reported"  # from leaderboards/ to the package data


def board_csv(board: Board) -> str:
    """Long CSV: reported rows in file order, then reproduced rows in the order the runs were given."""
    spec, out = board.spec, io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for cell in board.cells:
        diff = cell.difference
        writer.writerow([spec.paper, spec.table, *cell.block, board.resolution(cell.block), cell.method, cell.variant,
                         cell.source, cell.metric, cell.region, cell.column.metric or "", cell.column.region or "",
                         spec.mode, cell.column.status, cell.printed, "" if diff is None else f"{diff:+.6g}",
                         "" if cell.count is None else cell.count, cell.run.source if cell.run else "", cell.notes])
    return out.getvalue()


def _split_notes(notes: str) -> list[str]:
    """``; ``-separated note segments, not splitting inside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(notes):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth == 0:
            parts.append(notes[start:i].strip())
            start = i + 1
    parts.append(notes[start:].strip())
    return [p for p in parts if p]


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _decimals(board: Board, metric: str, region: str) -> int:
    printed = [r.printed for r in board.reported if (r.metric, r.region) == (metric, region)]
    return max((len(p.partition(".")[2]) for p in printed), default=4)


def _header(board: Board, metric: str, region: str) -> str:
    arrow = "↑" if board.higher_is_better(metric) else "↓"
    name = METRIC_NAMES.get(metric, metric) + arrow
    regions = {r for m, r in board.columns if m == metric}
    return name if len(regions) == 1 else f"{name} {REGION_NAMES.get(region, region)}"


def _convention(board: Board) -> list[str]:
    spec = board.spec
    lines = ["## Convention", ""]
    for block in board.blocks:
        n, res = board.n_test_images(block), board.resolution(block)
        lines.append(f"- **{' · '.join(block)}**: {res}×{res} px, {n:,} test images; occbench protocol "
                     f"`{spec.protocols[block]}`, output mode `{spec.mode}`, `mask={spec.mask}`.")
    lines += [f"- **{aspect}**: {text}" for aspect, text in spec.convention]
    cited = ", ".join(str(a) for a in spec.ambiguities)
    lines += [f"- **Ambiguities cited**: {cited}, numbered as in [README.md]({REPORTED_DIR}/README.md), section "
              "\"Ambiguities met\".", ""]
    return lines


def _columns(board: Board) -> list[str]:
    lines = ["## Columns: paper → occbench", "",
             "| Paper metric | Paper region | occbench metric | occbench region | Mode | Status | Why |",
             "|---|---|---|---|---|---|---|"]
    for metric, region in board.columns:
        col = board.spec.column(metric, region)
        lines.append(f"| {METRIC_NAMES.get(metric, metric)} | {region} | {col.metric or '—'} | {col.region or '—'} "
                     f"| {board.spec.mode if col.metric else '—'} | {col.status} | {_esc(col.note)} |")
    return [*lines, ""]


def _values(board: Board, runs: list[Run]) -> list[str]:
    lines = ["## Values", ""]
    for block in board.blocks:
        cells = [c for c in board.cells if c.block == block]
        rows: list[tuple[str, str, str, Run | None]] = []
        for cell in cells:
            key = (cell.method, cell.variant, cell.source, cell.run)
            if key not in rows:
                rows.append(key)
        # reproduced rows right below the reported row they reproduce; others after all reported rows
        ordered = [r for r in rows if r[2] == "reported"]
        for row in (r for r in rows if r[2] == "reproduced"):
            after = [i for i, o in enumerate(ordered) if o[:2] == row[:2]]
            ordered.insert(after[-1] + 1 if after else len(ordered), row)
        res = board.resolution(block)
        lines += [f"### {' · '.join(block)} ({res} px, n = {board.n_test_images(block):,})", "",
                  "| Method | Variant | Row | " + " | ".join(_header(board, *c) for c in board.columns) + " |",
                  "|---|---|---|" + "---:|" * len(board.columns)]
        for method, variant, source, run in ordered:
            found = {(c.metric, c.region): c for c in cells if (c.method, c.variant, c.source, c.run) ==
                     (method, variant, source, run)}
            values = [_shown(board, found.get(col), *col) for col in board.columns]
            tag = source if run is None else f"{source} [r{runs.index(run) + 1}]"
            lines.append(f"| {_esc(method)} | {_esc(variant)} | {tag} | " + " | ".join(values) + " |")
        lines.append("")
    if runs:
        lines += [f"- r{i + 1}: `{run.source}`: method `{run.method}` (\"{_esc(run.label)}\"), protocol "
                  f"`{run.protocol}`, {run.resolution} px, `mask={run.mask}`, {run.samples} samples"
                  for i, run in enumerate(runs)]
        lines.append("")
    return lines


def _shown(board: Board, cell: Cell | None, metric: str, region: str) -> str:
    if cell is None:
        return "—"
    return cell.printed if cell.source == "reported" else f"{cell.value:.{_decimals(board, metric, region)}f}"


def _comparison(board: Board, runs: list[Run]) -> list[str]:
    lines = ["## Reported beside reproduced", ""]
    reproduced = [c for c in board.cells if c.source == "reproduced"]
    if not reproduced:
        return [*lines, "No reproduced values on this page: add them with `occbench leaderboard --results RUN_DIR "
                        "...` (see [README.md](README.md)).", ""]
    lines += ["| Method | Variant | Block | Metric | Region | Reported | Reproduced | Difference (reproduced − "
              "reported) | n reported | n reproduced | Run |", "|---|---|---|---|---|---:|---:|---:|---:|---:|---|"]
    for c in reproduced:
        digits = _decimals(board, c.metric, c.region)
        ref = c.reference
        diff = "—" if c.difference is None else f"{c.difference:+.{digits}f}"
        lines.append(f"| {_esc(c.method)} | {_esc(c.variant)} | {' · '.join(c.block)} | "
                     f"{METRIC_NAMES.get(c.metric, c.metric)} | {c.region} | {ref.printed if ref else '—'} | "
                     f"{c.value:.{digits}f} | {diff} | {ref.n_test_images if ref else '—'} | "
                     f"{'—' if c.count is None else c.count} | r{runs.index(c.run) + 1} |")
    lines += ["", "A reproduced value has no difference when the paper has no value for its cell: another method, "
                  "or a mask source other than the paper's (row labelled `(mask=...)`).", ""]
    return lines


def _scope(cells: list[tuple[str, ...]], row: list[tuple[str, ...]]) -> str:
    """Which of a row's (block, metric, region) cells a note covers, in words ("" when all of them)."""
    if set(cells) == set(row):
        return ""
    picked = [set(values) for values in zip(*cells)]
    if set(cells) == {c for c in row if all(v in p for v, p in zip(c, picked))}:  # a whole selection
        parts = [", ".join(_unique_list([v for v in values if v in p])) for values, p in zip(zip(*row), picked)
                 if p != set(values)]
    else:
        parts = [" ".join(c) for c in cells]
    return " [" + "; ".join(parts) + "]"


def _transcription(board: Board) -> list[str]:
    lines = ["## Transcription notes", "", "From the CSV's `notes` column; brackets name the values a note is about "
                                           "when it is not about all of the row's values.", ""]
    for method, variant in dict.fromkeys((r.method, r.variant) for r in board.reported):
        mine = [r for r in board.reported if (r.method, r.variant) == (method, variant)]
        row = [(" · ".join((r.dataset, r.occlusion)), METRIC_NAMES.get(r.metric, r.metric), r.region) for r in mine]
        covers: dict[str, list[tuple[str, ...]]] = {}
        for cell, r in zip(row, mine):
            for segment in _split_notes(r.notes):
                covers.setdefault(segment, []).append(cell)
        notes = [segment + _scope(cells, row) for segment, cells in covers.items()]
        name = method + (f", {variant}" if variant else "")
        lines.append(f"- **{_esc(name)}**: " + "; ".join(_esc(n) for n in notes) + ".")
    return [*lines, ""]


def _unique_list(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def board_markdown(board: Board, runs: list[Run]) -> str:
    """The page of one table. ``runs``: the runs placed on it, numbered r1, r2, … in this order."""
    spec = board.spec
    lines = ["<!-- Generated by `occbench leaderboard`; do not edit: see README.md to regenerate. -->", "",
             f"# {spec.title}", "",
             f"{PAPERS[spec.paper]}, {spec.table}: {len(board.reported)} reported values, transcribed from the "
             f"paper ([seed_tables.csv]({REPORTED_DIR}/seed_tables.csv), provenance in "
             f"[PROVENANCE.md]({REPORTED_DIR}/PROVENANCE.md)); all values of this page in "
             f"[{spec.key}.csv]({spec.key}.csv). Reported and reproduced values are separate rows, never mixed.", ""]
    lines += _convention(board) + _columns(board) + _values(board, runs) + _comparison(board, runs)
    excluded = [(m, r) for m, r in board.columns if spec.column(m, r).metric is None]
    if excluded:
        lines += ["## Not comparable", ""]
        lines += [f"- **{METRIC_NAMES.get(m, m)} ({r})**: not comparable because {spec.column(m, r).note}"
                  for m, r in excluded]
        lines.append("")
    lines += _transcription(board)
    return "\n".join(lines).rstrip("\n") + "\n"


def readme(boards: list[Board]) -> str:
    """The index of ``leaderboards/``: what the pages are and how to add reproduced rows."""
    lines = ["<!-- Generated by `occbench leaderboard`; do not edit. -->", "", "# Leaderboards", "",
             "One page per table of the four seed papers: the values each paper reports (`reported` rows), beside "
             "values reproduced with occbench (`reproduced` rows) where results files were given, under the "
             "paper's convention stated in words. Each page has a CSV twin with one row per value.", "",
             "| Page | CSV | Paper | Table | Blocks | Reported | Reproduced | Columns needing a variant | "
             "Not comparable |", "|---|---|---|---|---|---:|---:|---|---|"]
    for b in boards:
        spec = b.spec
        cols = [(f"{METRIC_NAMES.get(m, m)} ({r})", spec.column(m, r).status) for m, r in b.columns]
        variants = ", ".join(c for c, s in cols if s == "variant") or "—"
        excluded = ", ".join(c for c, s in cols if s == "not comparable") or "—"
        repro = sum(c.source == "reproduced" for c in b.cells)
        lines.append(f"| [{spec.key}]({spec.key}.md) | [csv]({spec.key}.csv) | {PAPERS[spec.paper]} | {spec.table} "
                     f"| {'; '.join(' · '.join(k) for k in b.blocks)} | {len(b.reported)} | {repro} | {variants} | "
                     f"{excluded} |")
    lines += ["", "## Reading a page", "",
              "- **Convention**: data, resolution, test-set size, masks, region, output mode, units and data range, "
              "SSIM variant, FID sample count; where the paper is silent, the reading used and the number of the "
              f"ambiguity in [the transcription notes]({REPORTED_DIR}/README.md) that records it.",
              "- **Columns**: each paper metric and region as an occbench metric, region and output mode, with a "
              "status:"]
    lines += [f"  - `{name}`: {meaning}." for name, meaning in STATUSES.items()]
    lines += ["- **Values**: the paper's table, reported values exactly as printed; reproduced rows (tagged r1, "
              "r2, …) sit below the row they reproduce.",
              "- **Reported beside reproduced**: one line per reproduced value with the difference **reproduced − "
              "reported** (positive: the reproduction scored higher; for ↓ metrics that is worse).", "",
              "## Adding reproduced rows", "",
              "1. Build the table's dataset with the protocol named on the page and evaluate a method on it, for "
              "example `occbench build-dataset celebahq-natocc-sgin-256 --source-dir ... --assets-dir ... --out "
              "data/sgin256` then `occbench evaluate --method sgin --checkpoint sgin.pt --mask predicted --data "
              "data/sgin256 --out runs/sgin256` (the mask source the paper used is on each page). For a "
              "method occbench does not implement, score its PNGs with `occbench evaluate --predictions DIR --name "
              "DeepFill-v2 ...`: a `--name` equal to the paper's row (method, or method and variant) puts the "
              "values in that row.",
              "2. `occbench leaderboard --results runs/sgin256 runs/deepfill --out leaderboards` regenerates every "
              "page with the runs placed where they fit; the command says where each run went, or why not.",
              "", "A run fills a cell only under the table's protocol (hence resolution), occbench metric, region and "
              "output mode; it shares a cell with a reported value only when its mask source (`mask=given` or "
              "`predicted`) is the paper's. The committed pages hold reported values only: "
              "`occbench leaderboard --out leaderboards --check` verifies they are up to date "
              "(tests/test_leaderboard.py does the same).", ""]
    return "\n".join(lines)
