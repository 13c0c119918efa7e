"""Assemble a table's cells: the reported values, then the reproduced values of the runs that fit its convention.

A run enters a table only through the protocol that reproduces one of its (dataset, occlusion) blocks, at the
block's resolution. Within it, a value fills a column only under the table's occbench metric, region and output
mode, and sits in the same cell as a reported value (and gets a difference, reproduced − reported) only when the
run's method matches that row and its mask source (given / predicted) is the paper's. Anything else is a row of
its own, never mixed into a reported cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from occbench.leaderboard.conventions import TABLES, Column, TableSpec
from occbench.leaderboard.reported import Reported
from occbench.leaderboard.runs import Run, metric_key


@dataclass(frozen=True)
class Cell:
    """One value of a page. ``source``: ``reported`` or ``reproduced``; ``reference``: for a reproduced value,
    the reported value of the same cell, if any."""

    block: tuple[str, str]
    method: str
    variant: str
    source: str
    metric: str
    region: str
    column: Column
    value: float
    printed: str
    count: int | None
    notes: str
    run: Run | None = None
    reference: Reported | None = None

    @property
    def difference(self) -> float | None:
        """Reproduced − reported (so a positive PSNR difference means the reproduction scored higher)."""
        return None if self.reference is None else self.value - self.reference.value


@dataclass
class Board:
    """One seed-paper table: its spec, reported rows (file order), columns and blocks (first-seen order), cells."""

    spec: TableSpec
    reported: list[Reported]
    columns: list[tuple[str, str]]
    blocks: list[tuple[str, str]]
    cells: list[Cell]

    def resolution(self, block: tuple[str, str]) -> int:
        return next(r.resolution for r in self.reported if (r.dataset, r.occlusion) == block)

    def n_test_images(self, block: tuple[str, str]) -> int:
        return next(r.n_test_images for r in self.reported if (r.dataset, r.occlusion) == block)

    def higher_is_better(self, metric: str) -> bool:
        return next(r.higher_is_better for r in self.reported if r.metric == metric)


def _unique(items):
    return list(dict.fromkeys(items))


def boards(rows: list[Reported]) -> list[Board]:
    """One board per table spec, with its reported cells; every reported row must belong to a spec."""
    out = []
    for spec in TABLES.values():
        mine = [r for r in rows if (r.paper, r.table) == (spec.paper, spec.table)]
        cells = [Cell((r.dataset, r.occlusion), r.method, r.variant, "reported", r.metric, r.region,
                      spec.column(r.metric, r.region), r.value, r.printed, r.n_test_images, r.notes) for r in mine]
        out.append(Board(spec, mine, _unique((r.metric, r.region) for r in mine),
                         _unique((r.dataset, r.occlusion) for r in mine), cells))
    return out


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def _row_of(spec: TableSpec, run: Run, rows: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The reported (method, variant) a run reproduces: by its label, else by occbench method name (aliases)."""
    wanted = _norm(run.label)
    for method, variant in rows:
        names = {_norm(method + variant), _norm(variant) if variant else _norm(method)}
        if wanted in names:
            return method, variant
    alias = spec.aliases.get(run.label) or (spec.aliases.get(run.method) if run.label == run.method else None)
    return alias if alias in rows else None


def place(board: Board, run: Run) -> str | None:
    """Add ``run``'s values to ``board``; returns why it does not fit (None when placed)."""
    spec = board.spec
    blocks = [b for b in board.blocks if spec.protocols.get(b) == run.protocol]
    if not blocks:
        return f"protocol {run.protocol!r} is not one of {', '.join(sorted(set(spec.protocols.values())))}"
    block = blocks[0]
    if run.resolution != board.resolution(block):
        return (f"resolution: Expected {board.resolution(block)} px for {' · '.join(block)}, but the run's dataset "
                f"is at {run.resolution if run.resolution is not None else 'an unknown resolution'}")
    rows = _unique((r.method, r.variant) for r in board.reported if (r.dataset, r.occlusion) == block)
    row = _row_of(spec, run, rows)
    if row is None and spec.ablation:
        return f"{run.label!r} is none of this ablation's rows ({', '.join(' '.join(filter(None, r)) for r in rows)})"
    label, variant = (row if row else (run.label, ""))
    if run.mask != spec.mask:
        row, label, variant = None, f"{run.label} (mask={run.mask})", ""
    reported = {(r.method, r.variant, r.metric, r.region): r for r in board.reported
                if (r.dataset, r.occlusion) == block}
    added = 0
    for metric, region in board.columns:
        column = spec.column(metric, region)
        if column.metric is None:
            continue
        found = run.values.get((metric_key(column.metric), column.region, spec.mode))
        if found is None:
            continue
        value, count = found
        reference = reported.get((*row, metric, region)) if row else None
        notes = f"protocol {run.protocol}; {run.resolution} px; mask={run.mask}; method {run.method}"
        board.cells.append(Cell(block, label, variant, "reproduced", metric, region, column, value, f"{value:.6g}",
                                count if count is not None else run.samples, notes, run, reference))
        added += 1
    if not added:
        columns = [spec.column(metric, region) for metric, region in board.columns]
        wanted = ", ".join(_unique(f"{c.metric}/{c.region}" for c in columns if c.metric))
        return f"no values for this table's columns in {spec.mode!r} mode (needs any of {wanted})"
    return None
