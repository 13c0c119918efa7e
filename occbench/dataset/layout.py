"""Paths and reading of a built dataset (DESIGN §3).

::

    <out>/dataset.json           protocol (name, version, content hash, resolved text), seed, counts, source
    <out>/manifest.csv           one row per produced sample (see manifest.MANIFEST_COLUMNS)
    <out>/skipped.csv            samples not produced, with the reason
    <out>/target/<id>.png        RGB ground truth at protocol resolution
    <out>/occluded/<id>.png      RGB input a method sees (hole zeroed or occluder pasted)
    <out>/mask/<id>.png          uint8, 255 = occluded
    <out>/label/<id>.png         CelebAMask-HQ classes of the target (when the source has labels)
    <out>/label_occ/<id>.png     labels after occlusion (occluder generators only)
    <out>/.build/                progress logs for resume and sharding (safe to delete once complete)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from occbench.errors import OccbenchError

KINDS = ("target", "occluded", "mask", "label", "label_occ")
DATASET_FORMAT = "occbench-dataset/1"


@dataclass(frozen=True)
class DatasetLayout:
    """Where each file of a built dataset lives."""

    root: Path

    def file(self, kind: str, sample_id: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"Expected a kind in {KINDS}, but got {kind!r}")
        return self.root / kind / f"{sample_id}.png"

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


def read_dataset_info(root: str | Path) -> dict[str, Any]:
    """Read ``dataset.json`` of a complete dataset; a clear error when it is missing or incomplete."""
    layout = DatasetLayout(Path(root))
    if not layout.dataset_json.is_file():
        hint = " (the build is incomplete: rerun build-dataset to resume)" if layout.build_dir.is_dir() else ""
        raise OccbenchError(f"{layout.dataset_json}: not found; expected a dataset built by "
                            f"`occbench build-dataset`{hint}")
    try:
        info = json.loads(layout.dataset_json.read_text())
    except json.JSONDecodeError as exc:
        raise OccbenchError(f"{layout.dataset_json}: invalid JSON ({exc})") from exc
    if info.get("format") != DATASET_FORMAT:
        raise OccbenchError(f"{layout.dataset_json}: Expected format {DATASET_FORMAT!r}, "
                            f"but got {info.get('format')!r}")
    return info
