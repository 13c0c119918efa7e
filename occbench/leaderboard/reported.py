"""The papers' reported values (package data ``reported/seed_tables.csv``), loaded with a schema check.

One row per (paper, table, dataset, occlusion, method, variant, metric, region); ``value`` is kept as printed
(``"0.9"`` stays ``"0.9"``) beside its float. Where the numbers come from: ``reported/PROVENANCE.md``; every
transcription choice: ``reported/README.md`` ("Ambiguities met", cited by number on the pages).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from occbench.errors import OccbenchError

COLUMNS = ("paper", "table", "dataset", "resolution", "occlusion", "method", "variant", "metric", "region", "value",
           "higher_is_better", "n_test_images", "notes")
REGIONS = ("whole", "zero_outside", "foreground", "unspecified")
"""Paper regions: ``zero_outside`` is SGIN's "masked region only", ``foreground`` the foreground-guided paper's
face + hair, ``unspecified`` where the paper does not say."""
_REQUIRED = ("paper", "table", "dataset", "occlusion", "method", "metric", "region", "value")
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Reported:
    """One reported value. ``resolution``: image side in px; ``printed``: the value as the paper prints it."""

    paper: str
    table: str
    dataset: str
    resolution: int
    occlusion: str
    method: str
    variant: str
    metric: str
    region: str
    printed: str
    higher_is_better: bool
    n_test_images: int
    notes: str

    @property
    def value(self) -> float:
        return float(self.printed)

    @property
    def key(self) -> tuple[str, ...]:
        """What identifies the cell: no two rows share it."""
        return (self.paper, self.table, self.dataset, self.occlusion, self.method, self.variant, self.metric,
                self.region)


def packaged_csv() -> Path:
    """The shipped ``seed_tables.csv``."""
    return Path(str(resources.files("occbench.leaderboard") / "reported" / "seed_tables.csv"))


def _positive_int(text: str, where: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise OccbenchError(f"{where}: Expected a positive integer, but got {text!r}")
    return int(text)


def _parse_row(row: dict[str, str], where: str) -> Reported:
    for name in _REQUIRED:
        if not row[name].strip():
            raise OccbenchError(f"{where}: column {name!r}: Expected a value, but got an empty cell")
    try:
        number = float(row["value"])
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise OccbenchError(f"{where}: column 'value': Expected a finite number, but got {row['value']!r}")
    if row["region"] not in REGIONS:
        raise OccbenchError(f"{where}: column 'region': Expected one of {', '.join(REGIONS)}, but got "
                            f"{row['region']!r}")
    if row["higher_is_better"] not in _BOOLEANS:
        raise OccbenchError(f"{where}: column 'higher_is_better': Expected true or false, but got "
                            f"{row['higher_is_better']!r}")
    return Reported(
        paper=row["paper"], table=row["table"], dataset=row["dataset"],
        resolution=_positive_int(row["resolution"], f"{where}: column 'resolution'"), occlusion=row["occlusion"],
        method=row["method"], variant=row["variant"], metric=row["metric"], region=row["region"],
        printed=row["value"], higher_is_better=_BOOLEANS[row["higher_is_better"]],
        n_test_images=_positive_int(row["n_test_images"], f"{where}: column 'n_test_images'"), notes=row["notes"])


def _check_consistent(rows: list[Reported], lines: list[int], path: Path) -> None:
    """No duplicate cell; one direction (higher_is_better) per metric across all papers."""
    seen: dict[tuple[str, ...], int] = {}
    better: dict[str, tuple[bool, int]] = {}
    for row, line in zip(rows, lines):
        if row.key in seen:
            raise OccbenchError(f"{path}:{line}: the cell {' / '.join(filter(None, row.key))} is already on line "
                                f"{seen[row.key]}; Expected one row per cell")
        seen[row.key] = line
        first = better.setdefault(row.metric, (row.higher_is_better, line))
        if first[0] != row.higher_is_better:
            raise OccbenchError(f"{path}:{line}: higher_is_better of {row.metric!r}: Expected "
                                f"{str(first[0]).lower()} (as on line {first[1]}), but got "
                                f"{str(row.higher_is_better).lower()}")


def load_reported(path: Path | None = None) -> list[Reported]:
    """Rows of ``seed_tables.csv`` (default: the shipped one) in file order; errors name the file and line."""
    path = Path(path) if path is not None else packaged_csv()
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = tuple(reader.fieldnames or ())
            if header != COLUMNS:
                raise OccbenchError(f"{path}: header: Expected columns {', '.join(COLUMNS)}, but got "
                                    f"{', '.join(header) or '(none)'}")
            rows, lines = [], []
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row or None in row.values():
                    raise OccbenchError(f"{where}: Expected {len(COLUMNS)} fields, but got a different number")
                rows.append(_parse_row(row, where))
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise OccbenchError(f"{path}: cannot read the reported values ({exc})") from exc
    if not rows:
        raise OccbenchError(f"{path}: Expected reported values, but the file has none")
    _check_consistent(rows, lines, path)
    return rows
