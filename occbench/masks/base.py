"""Hole masks: generators that only make a mask; the occluded image is the target with the hole set to 0.

Subclasses implement :meth:`HoleMaskGenerator.make_mask` (uint8 ``(H, W)``, 1 = hole; the generator interface is
:mod:`occbench.generator`).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from occbench.bins import LAMA_BINS, PCONV_BINS, hole_ratio  # noqa: F401 - re-exported for the mask modules
from occbench.generator import GeneratedSample, Generator


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
