"""``ost``: Outdoor Scenes (OST; Wang et al., "Recovering Realistic Texture in Image Super-resolution by Deep Spatial
Feature Transform", CVPR 2018) with 8-class segmentation annotations.

Supported layout under ``root``::

    images/<name>.png|.jpg          any depth: ids from relative paths (``animal/a_01.png`` → ``animal__a_01``)
    annotations/<name>.png          same relative path, extension .png

or that pair of folders under ``train/`` and ``test/`` (OutdoorSceneTrain and OutdoorSceneTest300), which gives the
``train`` and ``test`` splits (``all`` = both; names must then differ between the two).

Annotation formats (``annotation``), both in the ``ost8`` scheme (SFTGAN's order: 0 background, 1 sky, 2 water,
3 grass, 4 mountain, 5 building, 6 plant, 7 animal; 255 void = ignore):

- ``byte``: single-channel PNG, pixel = class index, 255 = void: the "byte images" SFTGAN's
  ``test_segmentation.py`` writes (its network's arg-max saved with ``cv2.imwrite``);
- ``colour``: RGB PNG in SFTGAN's palette (its ``*_colorimg`` output, :data:`occbench.labels.OST_PALETTE`), white =
  void; any other colour is an error naming the file and the colour.

SFTGAN segments images cut down to a multiple of 8 on each side (``modcrop``, top-left kept): an annotation of
exactly that size is aligned by cutting the image the same way (noted per sample). Other sizes must keep the
image's aspect ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from occbench.errors import OccbenchError, SampleError
from occbench.image_io import list_image_files, read_gray, read_image
from occbench.labels import OST8
from occbench.sources.base import Source, SourceItem, SourceSample, id_from_relpath
from occbench.sources.folder import check_label_aspect, ids_for_relpaths, select_listed, under_root

ANNOTATION_FORMATS = ("byte", "colour")
MODCROP = 8  # SFTGAN's segmentation input: each side cut down to a multiple of 8


@dataclass(frozen=True)
class OSTSource(Source):
    """Outdoor Scenes images with ``ost8`` annotations (see the module docstring). Splits: ``all``, ``train`` and
    ``test`` (with ``train/`` and ``test/`` subfolders), ``list:<file>`` (ids, or image paths relative to the
    images folder).

    Parameters:
        annotation: ``byte`` (class-index PNGs, 255 = void) or ``colour`` (SFTGAN's palette).
        image_dir, annotation_dir: the two folders, relative to ``root`` (or to ``root/<split>``).
    """

    annotation: str = "byte"
    image_dir: str = "images"
    annotation_dir: str = "annotations"

    has_labels: ClassVar[bool] = True
    splits: ClassVar[tuple[str, ...]] = ("all", "train", "test")
    label_scheme: ClassVar[str] = "ost8"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.annotation not in ANNOTATION_FORMATS:
            raise ValueError(f"annotation: Expected one of {', '.join(ANNOTATION_FORMATS)}, but got "
                             f"{self.annotation!r}")

    def layout_hint(self) -> str:
        return (f"[train/|test/]{self.image_dir}/<name>.png|.jpg and [train/|test/]{self.annotation_dir}/<name>.png "
                f"({self.annotation} annotations)")

    def _split_roots(self, root: Path) -> list[Path]:
        """The folders holding ``image_dir`` and ``annotation_dir`` for the chosen split."""
        halves = [root / "train", root / "test"]
        has_halves = all(folder.is_dir() for folder in halves)
        if self.split in ("train", "test"):
            if not has_halves:
                missing = next(folder for folder in halves if not folder.is_dir())
                raise OccbenchError(f"{missing}: not found; split {self.split!r} needs {root}/train and {root}/test "
                                    f"(expected {self.layout_hint()})")
            return [root / self.split]
        return halves if has_halves else [root]

    def _items_under(self, base: Path, problems: list[str]) -> dict[str, SourceItem]:
        images, annotations = under_root(base, self.image_dir), under_root(base, self.annotation_dir)
        for folder, what in ((images, "image"), (annotations, "annotation")):
            if not folder.is_dir():
                raise OccbenchError(f"{folder}: OST {what} folder not found (expected {self.layout_hint()})")
        relpaths, found_problems = list_image_files(images, exclude=annotations)
        problems += found_problems
        return {item_id: SourceItem(id=item_id, image_path=images / rel,
                                    label_path=annotations / rel.with_suffix(".png"))
                for item_id, rel in ids_for_relpaths(relpaths).items()}

    def items(self) -> list[SourceItem]:
        root = self.require_root()
        by_id: dict[str, SourceItem] = {}
        problems: list[str] = []
        for base in self._split_roots(root):
            for item_id, item in self._items_under(base, problems).items():
                if item_id in by_id:
                    raise OccbenchError(f"{by_id[item_id].image_path} and {item.image_path} both have id {item_id!r}; "
                                        "rename one (ids must be unique across train/ and test/)")
                by_id[item_id] = item
        object.__setattr__(self, "_problems", tuple(problems))
        if not by_id:
            raise OccbenchError(f"{root}: no OST images found (expected {self.layout_hint()})")
        if self.split.startswith("list:"):
            return select_listed(self.split, root, by_id, lambda entry: entry if entry in by_id else
                                 id_from_relpath(entry.replace("\\", "/").removeprefix("./")))
        return [by_id[key] for key in sorted(by_id)]

    def problems(self) -> list[str]:
        return list(getattr(self, "_problems", ()))

    def read_annotation(self, path: Path) -> np.ndarray:
        """An annotation file as an ``ost8`` label map (uint8, 255 = void)."""
        if not path.is_file():
            raise SampleError(f"{path}: OST annotation not found")
        if self.annotation == "colour":
            return OST8.from_colors(read_image(path), path)
        label = read_gray(path)
        OST8.check(label, path)
        return label

    def load(self, item: SourceItem) -> SourceSample:
        notes: list[str] = []
        image = read_image(item.image_path, notes)
        assert item.label_path is not None
        label = self.read_annotation(item.label_path)
        height, width = image.shape[:2]
        cut = (height - height % MODCROP, width - width % MODCROP)
        if label.shape != (height, width) and label.shape == cut:
            image = np.ascontiguousarray(image[: cut[0], : cut[1]])
            notes.append(f"image cut to {cut[1]}x{cut[0]} (SFTGAN modcrop) to match its annotation")
        check_label_aspect(label.shape, image.shape, item.label_path)
        return SourceSample(image=image, label=label, notes=notes)
