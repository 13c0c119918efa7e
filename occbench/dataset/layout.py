"""Paths and reading of a built dataset (docs/conventions.md §3).

::

    <out>/dataset.json           protocol (name, version, content hash, resolved text), seed, counts, source
    <out>/manifest.csv           one row per produced sample (see manifest.MANIFEST_COLUMNS)
    <out>/skipped.csv            samples not produced, with the reason
    <out>/target/<id>.png        RGB ground truth at protocol resolution
    <out>/occluded/<id>.png      RGB input a method sees (hole zeroed or occluder pasted)
    <out>/mask/<id>.png          uint8, 255 = occluded
    <out>/label/<id>.png         classes of the target in the dataset's label_scheme (when the source has labels)
    <out>/label_occ/<id>.png     labels after occlusion (occluder generators only)
    <out>/.build/                progress logs for resume and sharding (safe to delete once complete)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from occbench.errors import OccbenchError
from occbench.ids import check_sample_id

KINDS = ("target", "occluded", "mask", "label", "label_occ")


def read_json(path: Path) -> Any:
    """A JSON file occbench wrote; unreadable or damaged files are an error naming the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OccbenchError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OccbenchError(f"{path}: damaged JSON ({exc}); delete the file (or its folder) and rerun") from exc
DATASET_FORMAT = "occbench-dataset/1"


@dataclass(frozen=True)
class DatasetLayout:
    """Where each file of a built dataset lives."""

    root: Path

    def file(self, kind: str, sample_id: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"Expected a kind in {KINDS}, but got {kind!r}")
        return self.root / kind / f"{check_sample_id(sample_id, str(self.root))}.png"

    @property
    def dataset_json(self) -> Path:
        return self.root / "dataset.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.csv"

    @property
    def skipped(self) -> Path:
        return self.root / "skipped.csv"

    @property
    def build_dir(self) -> Path:
        return self.root / ".build"


def read_manifest(root: str | Path, info: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """The rows of a complete dataset's ``manifest.csv``, checked: every id valid and unique, and as many rows as
    ``dataset.json`` counts (a truncated or edited manifest is an error, not a smaller dataset)."""
    from occbench.dataset.manifest import read_rows

    layout = DatasetLayout(Path(root))
    info = read_dataset_info(root) if info is None else info
    rows = read_rows(layout.manifest)
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        sample_id = check_sample_id(row.get("id"), f"{layout.manifest}:{number}")
        if sample_id in seen:
            raise OccbenchError(f"{layout.manifest}:{number}: sample id {sample_id!r} appears twice")
        seen.add(sample_id)
    expected = info.get("counts", {}).get("ok")
    if expected is not None and len(rows) != expected:
        raise OccbenchError(f"{layout.manifest}: {len(rows)} rows, but {layout.dataset_json} counts {expected} "
                            "samples; the manifest was truncated or edited (rebuild the dataset)")
    return rows


def dataset_fingerprint(root: str | Path, info: dict[str, Any]) -> str:
    """What identifies a built dataset's content: the sha256 of its manifest, which holds every file's sha256
    (recorded in dataset.json by the build; recomputed for datasets built before it was recorded)."""
    from occbench.fingerprint import sha256_file

    return info.get("content_sha256") or sha256_file(DatasetLayout(Path(root)).manifest)


def read_dataset_info(root: str | Path) -> dict[str, Any]:
    """Read ``dataset.json`` of a complete dataset; a clear error when it is missing or incomplete."""
    layout = DatasetLayout(Path(root))
    if not layout.dataset_json.is_file():
        hint = " (the build is incomplete: rerun build-dataset to resume)" if layout.build_dir.is_dir() else ""
        raise OccbenchError(f"{layout.dataset_json}: not found; expected a dataset built by "
                            f"`occbench build-dataset`{hint}")
    info = read_json(layout.dataset_json)
    if not isinstance(info, dict) or info.get("format") != DATASET_FORMAT:
        got = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise OccbenchError(f"{layout.dataset_json}: Expected format {DATASET_FORMAT!r}, but got {got!r}")
    return info
