"""``helen``: the HELEN face-parsing release (Smith et al., "Exemplar-Based Face Parsing", CVPR 2013), the data
SGIN trains its semantic map predictor on.

Supported layout (``SmithCVPR2013_dataset_resized``, as distributed)::

    images/<name>.jpg                       (2,330 faces)
    labels/<name>/<name>_lbl00.png … _lbl10.png   (one grey map per class, HELEN order: background, face skin,
                                            left/right eyebrow, left/right eye, nose, upper lip, inner mouth,
                                            lower lip, hair; values 0–255)
    exemplars.txt  tuning.txt  testing.txt  (the official 2,000 / 230 / 100 split; lines "<n> , <name>")

The eleven maps are combined by arg-max (a pixel belongs to the class whose map is brightest there; the release
paints soft edges), then mapped to CelebAMask-HQ classes with :data:`occbench.labels.HELEN_TO_CELEBAMASK`, so a
built dataset's labels follow the one label order of occbench (HELEN's classes are all CelebAMask-HQ classes;
:func:`occbench.labels.to_helen` maps back exactly).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from occbench.errors import OccbenchError, SampleError
from occbench.image_io import IMAGE_EXTENSIONS, read_gray, read_image
from occbench.labels import HELEN_CLASSES, helen_to_celebamask
from occbench.sources.base import Source, SourceItem, SourceSample
from occbench.sources.folder import check_label_aspect, select_listed, under_root

SPLIT_FILES = {"train": "exemplars.txt", "val": "tuning.txt", "test": "testing.txt"}


def read_split(path: Path) -> list[str]:
    """Names listed in a HELEN split file (``"<n> , <name>"`` per line, or just ``<name>``)."""
    if not path.is_file():
        raise OccbenchError(f"{path}: HELEN split file not found (exemplars.txt, tuning.txt or testing.txt)")
    names = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        name = text.split(",")[-1].strip()
        if not name:
            raise OccbenchError(f"{path}:{number}: Expected '<n> , <name>', but got {text!r}")
        names.append(name)
    return names


def combine_helen_maps(maps: list[np.ndarray], where: object) -> np.ndarray:
    """Arg-max of HELEN's 11 per-class maps, as CelebAMask-HQ classes (uint8)."""
    shapes = {m.shape for m in maps}
    if len(shapes) != 1:
        raise SampleError(f"{where}: HELEN label maps differ in size: {sorted(shapes)}")
    return helen_to_celebamask(np.argmax(np.stack(maps), axis=0).astype(np.uint8))


@dataclass(frozen=True)
class HelenSource(Source):
    """HELEN faces with parsing labels (see the module docstring). Ids are the image names. Splits: ``all``,
    ``train`` (exemplars), ``val`` (tuning), ``test`` (testing), ``list:<file>``."""

    image_dir: str = "images"
    label_dir: str = "labels"

    has_labels: ClassVar[bool] = True
    splits: ClassVar[tuple[str, ...]] = ("all", "train", "val", "test")

    def layout_hint(self) -> str:
        return (f"{self.image_dir}/<name>.jpg, {self.label_dir}/<name>/<name>_lbl00..10.png and "
                "exemplars.txt/tuning.txt/testing.txt")

    def items(self) -> list[SourceItem]:
        root = self.require_root()
        images, labels = under_root(root, self.image_dir), under_root(root, self.label_dir)
        if not images.is_dir():
            raise OccbenchError(f"{images}: image folder does not exist (expected {self.layout_hint()})")
        by_id = {}
        for path in sorted(images.iterdir()):
            if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file() and not path.name.startswith("."):
                parts = tuple((i, labels / path.stem / f"{path.stem}_lbl{i:02d}.png")
                              for i in range(len(HELEN_CLASSES)))
                by_id[path.stem] = SourceItem(id=path.stem, image_path=path, label_parts=parts)
        if not by_id:
            raise OccbenchError(f"{images}: no images found (expected {self.layout_hint()})")
        if self.split.startswith("list:"):
            return select_listed(self.split, root, by_id, lambda entry: Path(entry).stem)
        if self.split in SPLIT_FILES:
            path = under_root(root, SPLIT_FILES[self.split])
            names = read_split(path)
            missing = [n for n in names if n not in by_id]
            if missing:
                raise OccbenchError(f"{path}: {len(missing)} listed faces have no image in {images}, e.g. "
                                    f"{missing[0]}")
            by_id = {name: by_id[name] for name in names}
        return [by_id[key] for key in sorted(by_id)]

    def load(self, item: SourceItem) -> SourceSample:
        notes: list[str] = []
        image = read_image(item.image_path, notes)
        missing = [str(path) for _, path in item.label_parts if not path.is_file()]
        if missing:
            raise SampleError(f"{missing[0]}: HELEN label map not found ({len(missing)} of 11 missing)")
        label = combine_helen_maps([read_gray(path) for _, path in item.label_parts], item.label_parts[0][1])
        check_label_aspect(label.shape, image.shape, item.label_parts[0][1])
        return SourceSample(image=image, label=label, notes=notes)
