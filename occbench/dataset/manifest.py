"""Manifest, skipped list and the per-shard progress logs that make builds resumable.

While building, every finished sample (produced or skipped) is appended and flushed to
``.build/progress-<shard>.csv`` *after* its files were written atomically, so a killed build loses at
most the samples in flight. Finalising merges all progress logs into ``manifest.csv`` (status ``ok``)
and ``skipped.csv``, both sorted by id, so they do not depend on worker count or completion order.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from occbench.image_io import write_atomic

MANIFEST_COLUMNS = (
    "id", "source_id", "variant", "generator", "params", "hole_ratio", "fg_ratio", "hole_fg_ratio", "notes",
    "status", "sha256_target", "sha256_occluded", "sha256_mask", "sha256_label", "sha256_label_occ",
)
SKIPPED_COLUMNS = ("id", "source_id", "variant", "reason")
PROGRESS_COLUMNS = (*MANIFEST_COLUMNS, "reason")


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file; a torn last line (killed mid-write) is dropped."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        text = handle.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.DictReader(text.splitlines()))
    return [row for row in rows if row.get("status")]


class ProgressLog:
    """Append-only CSV of finished samples for one shard; each row is flushed as it is written."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        new = not path.exists() or path.stat().st_size == 0
        self._handle = path.open("a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._handle, fieldnames=PROGRESS_COLUMNS, extrasaction="ignore")
        if new:
            self._writer.writeheader()
            self._handle.flush()

    def _repair(self) -> None:
        """Cut a torn last line left by a killed process, so appends start on a fresh line."""
        if self.path.is_file():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def append(self, row: dict[str, Any]) -> None:
        self._writer.writerow(row)
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def _csv_bytes(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> bytes:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_manifest(root: Path, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Write manifest.csv (ok rows) and skipped.csv, sorted by id. Returns (ok, skipped) counts."""
    ok = sorted((r for r in rows if r["status"] == "ok"), key=lambda r: r["id"])
    skipped = sorted((r for r in rows if r["status"] != "ok"), key=lambda r: r["id"])
    write_atomic(root / "manifest.csv", _csv_bytes(ok, MANIFEST_COLUMNS))
    write_atomic(root / "skipped.csv", _csv_bytes(skipped, SKIPPED_COLUMNS))
    return len(ok), len(skipped)
