"""The generator interface.

A generator turns a target (RGB uint8 at protocol resolution, plus optional labels) into an occluded
sample, drawing all randomness from the ``rng`` it is given (seeded per sample, docs/conventions.md §3).
Masks in memory are uint8 ``(H, W)`` with **1 = occluded / missing** (written to disk as 255).

Hole-mask generators only implement :meth:`HoleMaskGenerator.make_mask`; the occluded image is the
target with hole pixels set to 0. Face generators (``uses_faces``) also take ``faces=``: the faces the build
found on the full-resolution source (:mod:`occbench.faces.detection`), in target pixels. Generators that need
user files (external mask folders, QuickDraw strokes) declare ``needs_dir = True``; the build passes
``--mask-dir`` through :meth:`Generator.setup`, which runs once per worker before any sample.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


@dataclass
class GeneratedSample:
    """Output of a generator. ``params`` are the values drawn for this sample (recorded in the manifest)."""

    occluded: np.ndarray
    mask: np.ndarray
    label_occ: np.ndarray | None = None
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class Generator(ABC):
    """Base class. Subclasses are frozen dataclasses whose fields are their documented parameters."""

    needs_dir: ClassVar[bool] = False
    uses_given: ClassVar[bool] = False  # True: the sample is the source's own occlusion (``given``), not drawn
    uses_faces: ClassVar[bool] = False  # True: generate() takes ``faces`` from the build's face stage

    def needs_faces(self, has_labels: bool) -> bool:
        """Whether the build must detect faces for a sample (with or without labels); see ``uses_faces``."""
        return False

    def setup(self, mask_dir: Path | None) -> None:  # noqa: B027 - optional hook, empty by default
        """Load external files once per worker. Default: nothing to load."""

    def check_resolution(self, resolution: int) -> None:  # noqa: B027 - optional hook, empty by default
        """Raise ValueError (``"param: Expected ..., but got ..."``) or OccbenchError when the parameters (or,
        after :meth:`setup`, the files) cannot produce a sample at ``resolution`` x ``resolution``."""

    @abstractmethod
    def generate(self, target: np.ndarray, label: np.ndarray | None, rng: np.random.Generator) -> GeneratedSample:
        """Occlude ``target`` (RGB uint8 ``(H, W, 3)``)."""


@dataclass(frozen=True)
class HoleMaskGenerator(Generator):
    """A generator that only makes a hole mask; the occluded image is the target with the hole zeroed."""

    @abstractmethod
    def make_mask(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        """Return a uint8 ``(height, width)`` mask with 1 = hole, and the parameters drawn for it."""

    def generate(self, target: np.ndarray, label: np.ndarray | None, rng: np.random.Generator) -> GeneratedSample:
        mask, params = self.make_mask(target.shape[0], target.shape[1], rng)
        mask = (mask > 0).astype(np.uint8)
        occluded = target * (1 - mask)[:, :, None]
        return GeneratedSample(occluded=occluded, mask=mask, label_occ=None, params=params)


def hole_ratio(mask: np.ndarray) -> float:
    """Fraction of pixels that are holes (mask > 0)."""
    return float(np.count_nonzero(mask)) / float(mask.size)


PCONV_BINS: tuple[tuple[float, float], ...] = ((0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))
LAMA_BINS: tuple[tuple[float, float], ...] = tuple((i / 10, (i + 1) / 10) for i in range(10))
