"""``cityscapes``: Cityscapes street scenes (Cordts et al., CVPR 2016) with gtFine labels as train ids; the official
splits and SGE-Net's.

Supported layouts under ``root`` (``leftImg8bit_trainvaltest`` and ``gtFine_trainvaltest`` unpacked together)::

    leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png     split = train | val | test
    gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png

or flat, one folder of each (as pix2pixHD ships its Cityscapes samples)::

    leftImg8bit/<city>_<seq>_<frame>_leftImg8bit.png
    gtFine/<city>_<seq>_<frame>_gtFine_labelIds.png

In the flat layout an image belongs to the split of its city (Cityscapes splits by city, :data:`CITIES`).
``labelIds`` maps (label ids 0–33) become the 19 train ids with the official table
(:data:`occbench.labels.CITYSCAPES_LABELID_TO_TRAINID`, every other id → 255 = ignore): scheme ``cityscapes19``;
with ``scheme: cityscapes20`` those other ids become class 19 ``void`` instead.

Cityscapes' public **test** annotations are placeholders without classes: labels of test-split images are not read
and come out all-ignore (255, in both schemes), so a semantic loss ignores them while the images still train the
inpainting (SGE-Net trains on train + test).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from occbench.errors import OccbenchError, SampleError
from occbench.image_io import read_gray, read_image
from occbench.labels import IGNORE, cityscapes_train_ids, convert
from occbench.sources.base import Source, SourceItem, SourceSample
from occbench.sources.folder import check_label_aspect, select_listed, under_root

OFFICIAL_SPLITS = ("train", "val", "test")
SPLIT_PARTS: dict[str, tuple[str, ...]] = {
    "all": OFFICIAL_SPLITS, "train": ("train",), "val": ("val",), "test": ("test",),
    "sgenet-train": ("train", "test"),  # 2,975 + 1,525: SGE-Net's training set
    "sgenet-test": ("val",),  # 500: SGE-Net's test set
}
CITIES: dict[str, tuple[str, ...]] = {
    "train": ("aachen", "bochum", "bremen", "cologne", "darmstadt", "dusseldorf", "erfurt", "hamburg", "hanover",
              "jena", "krefeld", "monchengladbach", "strasbourg", "stuttgart", "tubingen", "ulm", "weimar", "zurich"),
    "val": ("frankfurt", "lindau", "munster"),
    "test": ("berlin", "bielefeld", "bonn", "leverkusen", "mainz", "munich"),
}
"""The official split of each city (cityscapesScripts; 2,975 / 500 / 1,525 images)."""
CITY_SPLIT = {city: split for split, cities in CITIES.items() for city in cities}
SCHEMES = ("cityscapes19", "cityscapes20")
IMAGE_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelIds.png"
_STEM = re.compile(r"^([A-Za-z]+)_(\d+)_(\d+)$")


@dataclass(frozen=True)
class CityscapesSource(Source):
    """Cityscapes images with train-id labels (see the module docstring). Ids ``<city>_<seq>_<frame>``. Splits:
    ``train``, ``val``, ``test`` (official), ``sgenet-train`` (train + test), ``sgenet-test`` (val), ``all``,
    ``list:<file>`` (ids or image file names).

    Parameters:
        scheme: ``cityscapes19`` (train ids, other label ids ignored) or ``cityscapes20`` (+ ``void``).
        image_dir, label_dir: the two folders, relative to ``root`` unless absolute.
    """

    scheme: str = "cityscapes19"
    image_dir: str = "leftImg8bit"
    label_dir: str = "gtFine"

    has_labels: ClassVar[bool] = True
    splits: ClassVar[tuple[str, ...]] = tuple(SPLIT_PARTS)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme: Expected one of {', '.join(SCHEMES)}, but got {self.scheme!r}")

    @property
    def label_scheme(self) -> str:  # type: ignore[override]  # a parameter here, a class constant elsewhere
        return self.scheme

    def layout_hint(self) -> str:
        return (f"{self.image_dir}/<split>/<city>/<id>{IMAGE_SUFFIX} and {self.label_dir}/<split>/<city>/<id>"
                f"{LABEL_SUFFIX}, or both folders flat")

    def _folders(self) -> tuple[Path, Path, Path]:
        root = self.require_root()
        images, labels = under_root(root, self.image_dir), under_root(root, self.label_dir)
        for folder, what in ((images, "image"), (labels, "label")):
            if not folder.is_dir():
                raise OccbenchError(f"{folder}: Cityscapes {what} folder not found (expected {self.layout_hint()})")
        return root, images, labels

    def _nested(self, images: Path, labels: Path) -> dict[str, tuple[str, SourceItem]]:
        """Id → (split, item) of the ``<split>/<city>/`` layout."""
        found: dict[str, tuple[str, SourceItem]] = {}
        for split in OFFICIAL_SPLITS:
            for path in sorted((images / split).glob(f"*/*{IMAGE_SUFFIX}")):
                item_id = path.name.removesuffix(IMAGE_SUFFIX)
                label = None if split == "test" else labels / split / path.parent.name / f"{item_id}{LABEL_SUFFIX}"
                found[item_id] = (split, SourceItem(id=item_id, image_path=path, label_path=label))
        return found

    def _flat(self, images: Path, labels: Path) -> dict[str, tuple[str | None, SourceItem]]:
        """Id → (split of its city or None, item) of the flat layout."""
        found: dict[str, tuple[str | None, SourceItem]] = {}
        for path in sorted(images.glob(f"*{IMAGE_SUFFIX}")):
            item_id = path.name.removesuffix(IMAGE_SUFFIX)
            match = _STEM.match(item_id)
            split = CITY_SPLIT.get(match[1]) if match else None
            label = None if split == "test" else labels / f"{item_id}{LABEL_SUFFIX}"
            found[item_id] = (split, SourceItem(id=item_id, image_path=path, label_path=label))
        return found

    def items(self) -> list[SourceItem]:
        root, images, labels = self._folders()
        nested = any((images / split).is_dir() for split in OFFICIAL_SPLITS)
        found = self._nested(images, labels) if nested else self._flat(images, labels)
        if not found:
            raise OccbenchError(f"{images}: no Cityscapes images (*{IMAGE_SUFFIX}) found (expected "
                                f"{self.layout_hint()})")
        if self.split.startswith("list:"):
            by_id = {item_id: item for item_id, (_, item) in found.items()}
            return select_listed(self.split, root, by_id,
                                 lambda entry: Path(entry).name.removesuffix(IMAGE_SUFFIX).removesuffix(".png"))
        wanted = SPLIT_PARTS[self.split]
        unknown = [item for split, item in found.values() if split is None]
        if unknown and self.split != "all":
            raise OccbenchError(f"{unknown[0].image_path}: its city is not an official Cityscapes city, so its split "
                                f"is unknown; use split 'all' or 'list:<file>' ({len(unknown)} such images)")
        chosen = [item for split, item in found.values() if split in wanted or (split is None and self.split == "all")]
        if not chosen:
            where = f"{images}/<{'|'.join(wanted)}>" if nested else \
                f"{images} (flat layout: cities {', '.join(c for part in wanted for c in CITIES[part])})"
            raise OccbenchError(f"{where}: no images of split {self.split!r} found (expected {self.layout_hint()})")
        return sorted(chosen, key=lambda item: item.id)

    def load(self, item: SourceItem) -> SourceSample:
        notes: list[str] = []
        image = read_image(item.image_path, notes)
        if item.label_path is None:  # a test-split image: its public annotation is a placeholder
            return SourceSample(image=image, label=np.full(image.shape[:2], IGNORE, np.uint8), notes=notes)
        if not item.label_path.is_file():
            raise SampleError(f"{item.label_path}: Cityscapes label map not found (expected <id>{LABEL_SUFFIX} for "
                              f"{item.image_path.name})")
        label = cityscapes_train_ids(read_gray(item.label_path), item.label_path)
        if self.scheme != "cityscapes19":
            label = convert(label, "cityscapes19", self.scheme)
        check_label_aspect(label.shape, image.shape, item.label_path)
        return SourceSample(image=image, label=label, notes=notes)
