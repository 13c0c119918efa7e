"""``toyfaces``: synthetic face-like images with CelebAMask-HQ parsing labels, drawn from nothing (no download).

For exercising everything that needs labels (SGIN's parser and inpainter, label regions of the metrics) on a
fresh machine or a bare GPU box: a skin ellipse under a hair cap, eyes, brows, nose and lips, each class
painted in its own random colour with pixel noise. Shapes, positions and colours vary per image, drawn from a
generator seeded by the image id (so every build is identical). They are not faces: numbers on them say that
the pipeline runs, not how well a method inpaints faces.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from occbench.labels import CLASS_INDEX
from occbench.sources.base import Source, SourceItem, SourceSample
from occbench.sources.folder import select_listed


def toy_face(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One RGB uint8 image ``(size, size, 3)`` and its uint8 CelebAMask-HQ label map, from ``seed``."""
    rng = np.random.default_rng(seed)
    s = size / 80  # shapes are laid out on an 80-px canvas
    jitter = lambda spread: int(round(rng.uniform(-spread, spread) * s))  # noqa: E731
    cx, cy = int(40 * s) + jitter(4), int(45 * s) + jitter(3)
    label = np.zeros((size, size), np.uint8)
    axes = (int(rng.uniform(18, 24) * s), int(rng.uniform(24, 30) * s))
    cv2.ellipse(label, (cx, cy), axes, 0, 0, 360, CLASS_INDEX["skin"], -1)
    cv2.ellipse(label, (cx, cy - int(15 * s)), (axes[0] + int(4 * s), int(18 * s)), 0, 180, 360,
                CLASS_INDEX["hair"], -1)
    eye_dx, eye_y = int(rng.uniform(8, 11) * s), cy - int(5 * s)
    for side, dx in (("l", eye_dx), ("r", -eye_dx)):
        cv2.circle(label, (cx + dx, eye_y), max(1, int(3 * s)), CLASS_INDEX[f"{side}_eye"], -1)
        cv2.line(label, (cx + dx - int(4 * s), eye_y - int(6 * s)), (cx + dx + int(4 * s), eye_y - int(6 * s)),
                 CLASS_INDEX[f"{side}_brow"], max(1, int(2 * s)))
    cv2.circle(label, (cx, cy + int(5 * s)), max(1, int(3 * s)), CLASS_INDEX["nose"], -1)
    lip_y, half = cy + int(15 * s), int(rng.uniform(6, 9) * s)
    cv2.rectangle(label, (cx - half, lip_y), (cx + half, lip_y + int(2 * s)), CLASS_INDEX["u_lip"], -1)
    cv2.rectangle(label, (cx - half, lip_y + int(3 * s)), (cx + half, lip_y + int(5 * s)), CLASS_INDEX["l_lip"], -1)
    palette = rng.integers(30, 230, (256, 3)).astype(np.uint8)
    image = palette[label].astype(np.int16) + rng.integers(0, 12, (size, size, 3))
    return np.clip(image, 0, 255).astype(np.uint8), label


@dataclass(frozen=True)
class ToyFacesSource(Source):
    """``count`` synthetic labelled images ``toy000``, ``toy001``, … of ``size`` px (``root`` ignored).

    Parameters:
        count: number of images (default 16).
        size: side in pixels (default 256).

    Splits: ``all``; ``list:<file>`` (ids, one per line).
    """

    count: int = 16
    size: int = 256

    has_labels: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.count <= 100_000 or not 16 <= self.size <= 4096:
            raise ValueError(f"count, size: Expected 1..100000 images of 16..4096 px, but got {self.count}, "
                             f"{self.size}")

    def layout_hint(self) -> str:
        return "nothing: images are drawn by occbench/sources/toyfaces.py"

    def items(self) -> list[SourceItem]:
        here = Path(__file__)  # the drawing code is this source's only input (its fingerprint)
        by_id = {f"toy{i:03d}": SourceItem(id=f"toy{i:03d}", image_path=here) for i in range(self.count)}
        if self.split.startswith("list:"):
            return select_listed(self.split, None, by_id, lambda entry: entry)
        return list(by_id.values())

    def load(self, item: SourceItem) -> SourceSample:
        seed = int.from_bytes(hashlib.sha256(item.id.encode()).digest()[:8], "little")
        image, label = toy_face(seed, self.size)
        return SourceSample(image=image, label=label, notes=[])
