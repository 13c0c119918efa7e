"""``celebahq``: CelebA-HQ images with CelebAMask-HQ parsing labels (combined maps or official part masks)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from occbench.errors import OccbenchError, SampleError
from occbench.image_io import IMAGE_EXTENSIONS, read_gray, read_image
from occbench.labels import ANNO_PART_CLASS
from occbench.sources.base import Source, SourceItem, SourceSample
from occbench.sources.celeba import PARTITIONS, read_partition
from occbench.sources.folder import check_label_aspect, read_label, select_listed, under_root

LABEL_DIR_CANDIDATES = ("CelebAMask-HQ-mask", "CelebAMask-HQ-label", "labels", "mask")
LABEL_MODES = ("auto", "combined", "parts", "none")
ID_RANGES = {  # split → inclusive CelebA-HQ id range
    "pconv-train": (0, 26999),
    "pconv-test": (27000, 29999),
    "sean-test": (28000, 29999),
    "sgin-train": (0, 22299),
    "sgin-val": (27200, 29999),
}
_PART_FILE = re.compile(r"^(\d{5})_(" + "|".join(ANNO_PART_CLASS) + r")\.png$")
_INT = re.compile(r"^\d+$")


def read_hq_mapping(path: Path) -> dict[int, str]:
    """Parse ``CelebA-HQ-to-CelebA-mapping.txt`` (header, then ``idx orig_idx orig_file``): id → CelebA stem."""
    if not path.is_file():
        raise OccbenchError(f"{path}: CelebA-HQ-to-CelebA mapping file not found (ships with CelebAMask-HQ; "
                            "lines 'idx orig_idx orig_file')")
    out: dict[int, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        fields = line.split()
        if not fields or (number == 1 and not fields[0].isdigit()):
            continue
        if len(fields) != 3 or not fields[0].isdigit():
            raise OccbenchError(f"{path}:{number}: Expected 'idx orig_idx orig_file', but got {line.strip()!r}")
        out[int(fields[0])] = Path(fields[2]).stem
    return out


def scan_parts(anno_root: Path) -> dict[int, list[tuple[int, Path]]]:
    """Id → [(class, part file)] in painting order, from ``anno_root/<k>/<05d id>_<part>.png``."""
    found: dict[int, list[tuple[int, Path]]] = {}
    for sub in sorted(p for p in anno_root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        with os.scandir(sub) as entries:
            for entry in entries:
                match = _PART_FILE.match(entry.name)
                if match:
                    found.setdefault(int(match[1]), []).append((ANNO_PART_CLASS[match[2]], Path(entry.path)))
    return {key: sorted(parts) for key, parts in found.items()}


def paint_parts(item: SourceItem) -> np.ndarray:
    """Combine binary part masks (non-zero = part) into one class map; later classes overwrite earlier."""
    label: np.ndarray | None = None
    for value, path in item.label_parts:
        part = read_gray(path)
        if label is None:
            label = np.zeros(part.shape, np.uint8)
        elif part.shape != label.shape:
            raise SampleError(f"{path}: part mask is {part.shape[1]}x{part.shape[0]}, other parts of "
                              f"{item.id} are {label.shape[1]}x{label.shape[0]}")
        label[part != 0] = value
    assert label is not None
    return label


@dataclass(frozen=True)
class CelebAHQSource(Source):
    """CelebA-HQ (1024 px) with CelebAMask-HQ labels. Layout under ``root`` (the CelebAMask-HQ download)::

        CelebA-HQ-img/<i>.jpg                      i = 0..29999 (``image_dir``; .png accepted)
        CelebAMask-HQ-mask-anno/<k>/<05d i>_<part>.png   official part masks, k = i // 2000 (``anno_dir``)
        <label_dir>/<i>.png                        or combined 19-class maps (``label_dir``; auto-detected
                                                   among CelebAMask-HQ-mask, CelebAMask-HQ-label, labels, mask)
        CelebA-HQ-to-CelebA-mapping.txt            for the official-* splits (``mapping_file``)

    Ids are the CelebA-HQ integer ids as strings (``"28083"``), sorted as strings. Labels come back at
    native size (512 px maps for 1024 px images; the build resizes them nearest); an aspect-ratio mismatch
    raises SampleError. Part masks (non-zero = part) are painted in the official ``g_mask.py`` order
    (skin, nose, eye_g, ..., neck, cloth), later parts overwriting earlier ones.

    Parameters:
        image_dir, label_dir, anno_dir, mapping_file, celeba_partition: paths, relative to ``root``
            unless absolute (the shared test samples use ``image_dir="images", label_dir="labels"``).
        labels: ``"auto"`` (combined maps if a label folder exists, else part masks if ``anno_dir``
            exists, else none), ``"combined"``, ``"parts"`` or ``"none"``. With labels required, an item
            without its label file(s) raises SampleError naming them.
        celeba_partition: CelebA's ``list_eval_partition.txt`` (``<file> <0|1|2>``), official-* splits only.

    Splits: ``all``; ``pconv-train`` (ids 0–26999) / ``pconv-test`` (27000–29999), the 27k/3k split of
    PConv and the foreground-guided paper; ``sean-test`` (28000–29999, SPADE/SEAN's test set);
    ``official-train|val|test`` (CelebAMask-HQ's split: an image's CelebA partition via the mapping file);
    ``list:<file>`` (ids or image file names, one per line).
    """

    image_dir: str = "CelebA-HQ-img"
    label_dir: str | None = None
    anno_dir: str = "CelebAMask-HQ-mask-anno"
    labels: str = "auto"
    mapping_file: str = "CelebA-HQ-to-CelebA-mapping.txt"
    celeba_partition: str = "list_eval_partition.txt"

    has_labels: ClassVar[bool] = True
    splits: ClassVar[tuple[str, ...]] = ("all", *ID_RANGES, "official-train", "official-val", "official-test")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.labels not in LABEL_MODES:
            raise ValueError(f"labels: Expected one of {', '.join(LABEL_MODES)}, but got {self.labels!r}")
        if self.label_dir is not None and self.labels in ("parts", "none"):
            raise ValueError(f"label_dir: Expected none with labels={self.labels!r}, but got {self.label_dir!r}")

    def layout_hint(self) -> str:
        return (f"{self.image_dir}/<id>.jpg with labels in {self.label_dir or '|'.join(LABEL_DIR_CANDIDATES)}/<id>.png "
                f"or {self.anno_dir}/<id // 2000>/<05d id>_<part>.png")

    def label_source(self) -> tuple[str, Path | None]:
        """The label mode in effect (``combined``, ``parts`` or ``none``) and its folder; checks it exists."""
        if self.labels == "none":
            return "none", None
        root = self.require_root()
        anno_root = under_root(root, self.anno_dir)
        if self.labels == "parts":
            if not anno_root.is_dir():
                raise OccbenchError(f"{anno_root}: CelebAMask-HQ part-mask folder not found "
                                    f"(expected {self.layout_hint()})")
            return "parts", anno_root
        names = (self.label_dir,) if self.label_dir is not None else LABEL_DIR_CANDIDATES
        for name in names:
            if under_root(root, name).is_dir():
                return "combined", under_root(root, name)
        if self.labels == "combined" or self.label_dir is not None:
            raise OccbenchError(f"{' / '.join(str(under_root(root, n)) for n in names)}: label folder not found "
                                f"(expected {self.layout_hint()})")
        return ("parts", anno_root) if anno_root.is_dir() else ("none", None)

    def provides_labels(self) -> bool:
        return self.label_source()[0] != "none"

    def _images(self, root: Path) -> dict[int, Path]:
        folder = under_root(root, self.image_dir)
        if not folder.is_dir():
            raise OccbenchError(f"{folder}: image folder does not exist (expected {self.layout_hint()})")
        images: dict[int, Path] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_EXTENSIONS or not _INT.match(path.stem) or not path.is_file():
                continue  # other files (hidden, README, ...) are not CelebA-HQ images
            key = int(path.stem)
            if key in images:
                raise OccbenchError(f"{images[key]} and {path} are both CelebA-HQ image {key}; remove one")
            images[key] = path
        if not images:
            raise OccbenchError(f"{folder}: no CelebA-HQ images (<id>.jpg) found (expected {self.layout_hint()})")
        return images

    def _select(self, root: Path, images: dict[int, Path]) -> list[int]:
        if self.split in ID_RANGES:
            low, high = ID_RANGES[self.split]
            return [key for key in images if low <= key <= high]
        if self.split.startswith("official-"):
            mapping_path, partition_path = under_root(root, self.mapping_file), under_root(root, self.celeba_partition)
            mapping, partition = read_hq_mapping(mapping_path), read_partition(partition_path)
            wanted = PARTITIONS[self.split.removeprefix("official-")]
            chosen = []
            for key in images:
                if key not in mapping:
                    raise OccbenchError(f"{mapping_path}: CelebA-HQ image {key} is not listed")
                if mapping[key] not in partition:
                    raise OccbenchError(f"{partition_path}: CelebA file {mapping[key]} (CelebA-HQ {key}) is not listed")
                if partition[mapping[key]] == wanted:
                    chosen.append(key)
            return chosen
        return list(images)

    def items(self) -> list[SourceItem]:
        root = self.require_root()
        images = self._images(root)
        mode, label_root = self.label_source()
        parts = scan_parts(label_root) if mode == "parts" and label_root is not None else {}
        label_names = set(os.listdir(label_root)) if mode == "combined" and label_root is not None else set()

        def make(key: int) -> SourceItem:
            label_path = None
            if mode == "combined" and label_root is not None:
                name = f"{key}.png" if f"{key}.png" in label_names or f"{key:05d}.png" not in label_names \
                    else f"{key:05d}.png"
                label_path = label_root / name
            return SourceItem(id=str(key), image_path=images[key], label_path=label_path,
                              label_parts=tuple(parts.get(key, ())))

        if self.split.startswith("list:"):
            by_id = {str(key): make(key) for key in images}
            return select_listed(self.split, root, by_id,
                                 lambda entry: str(int(Path(entry).stem)) if _INT.match(Path(entry).stem) else None)
        return sorted((make(key) for key in self._select(root, images)), key=lambda item: item.id)

    def load(self, item: SourceItem) -> SourceSample:
        notes: list[str] = []
        image = read_image(item.image_path, notes)
        if item.label_path is not None:
            return SourceSample(image=image, label=read_label(item.label_path, image.shape), notes=notes)
        if item.label_parts:
            label = paint_parts(item)
            check_label_aspect(label.shape, image.shape, item.label_parts[0][1])
            return SourceSample(image=image, label=label, notes=notes)
        mode, label_root = self.label_source()
        if mode == "parts" and label_root is not None:
            key = int(item.id)
            raise SampleError(f"{label_root / str(key // 2000)}/{key:05d}_<part>.png: no part masks found for "
                              f"CelebA-HQ image {key} (expected e.g. {key:05d}_skin.png)")
        return SourceSample(image=image, label=None, notes=notes)
