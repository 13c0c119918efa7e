"""Leaderboards of the seed papers' tables: reported values beside reproduced ones (``occbench leaderboard``).

- :mod:`~occbench.leaderboard.reported`: the papers' values (package data, with provenance) and their schema check;
- :mod:`~occbench.leaderboard.conventions`: per table, the paper's convention in words and in occbench names;
- :mod:`~occbench.leaderboard.runs`: a tolerant reader of ``results.json``;
- :mod:`~occbench.leaderboard.build`: which run value goes in which cell;
- :mod:`~occbench.leaderboard.render`: CSV, Markdown page and index.

:func:`generate` returns every file of ``leaderboards/`` as text; it is deterministic for given inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from occbench.errors import OccbenchError
from occbench.leaderboard.build import boards, place
from occbench.leaderboard.conventions import TABLES
from occbench.leaderboard.render import board_csv, board_markdown, readme
from occbench.leaderboard.reported import load_reported
from occbench.leaderboard.runs import Run, read_run


@dataclass
class Generated:
    """``files``: file name → text; ``placed``: run source → keys of the tables it went into; ``refused``: run
    source → [(table key, why not)] for every table it did not fit."""

    files: dict[str, str]
    placed: dict[str, list[str]] = field(default_factory=dict)
    refused: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def generate(results: Sequence[Path | str] = (), tables: Sequence[str] | None = None,
             reported: Path | None = None) -> Generated:
    """Pages for ``tables`` (default: all, and the index README.md) from the reported values (default: the
    shipped CSV) and the runs in ``results`` (run folders or results.json files)."""
    unknown = [t for t in tables or () if t not in TABLES]
    if unknown:
        raise OccbenchError(f"--tables: Unknown table {unknown[0]!r}. Available: {', '.join(TABLES)}")
    runs: list[Run] = [read_run(p) for p in results]
    all_boards = boards(load_reported(reported))
    out = Generated({})
    for run in runs:
        out.placed[run.source], out.refused[run.source] = [], []
    for board in all_boards:
        placed = []
        for run in runs:
            why = place(board, run)
            if why is None:
                placed.append(run)
                out.placed[run.source].append(board.spec.key)
            else:
                out.refused[run.source].append((board.spec.key, why))
        if tables is None or board.spec.key in tables:
            out.files[f"{board.spec.key}.csv"] = board_csv(board)
            out.files[f"{board.spec.key}.md"] = board_markdown(board, placed)
    if tables is None:
        out.files["README.md"] = readme(all_boards)
    return out


__all__ = ["Generated", "TABLES", "generate", "load_reported", "read_run"]
