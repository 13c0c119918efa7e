"""LaMa evaluation masks (Suvorov et al., WACV 2022, "Resolution-robust Large Mask Inpainting with Fourier
Convolutions"): the ``random_thick_256`` / ``random_medium_256`` / ``random_thin_256`` generators. Masks: 1 = hole.

Source: advimman/lama, ``configs/data_gen/random_{thick,medium,thin}_256.yaml`` (parameters),
``saicinpainting/training/data/masks.py`` (``MixedMaskGenerator``, ``make_random_irregular_mask``,
``make_random_rectangle_mask``) and ``bin/gen_mask_dataset.py`` (filtering). Published values:

=============  ==========================================  =================================================
preset         irregular (proba 1)                         box
=============  ==========================================  =================================================
thick          times 1-5, max_width 100, max_len 200,      proba 0.3, margin 10, bbox 30-150, times 1-3
               max_angle 4
medium         times 4-5, max_width 50, max_len 100,       proba 0.3, margin 0, bbox 10-50, times 1-5
               max_angle 4
thin           times 4-50, max_width 10, max_len 40,       none (box_proba 0)
               max_angle 4
=============  ==========================================  =================================================

All three use ``max_tamper_area: 0.5``: masks covering more than half the image are rejected and redrawn.

Behaviour reproduced from that code (not from the paper's prose):

- ``MixedMaskGenerator`` draws ONE kind per mask with probabilities proportional to ``irregular_proba`` and
  ``box_proba`` (thick/medium: irregular 1/1.3, box 0.3/1.3); it does not unite strokes and boxes.
- Irregular: ``times`` strokes, each from a random start with 1-5 segments; segment angle
  ``0.01 + randint(max_angle)`` radians (mirrored to ``2*pi - angle`` for even strokes), length
  ``10 + randint(max_len)``, width ``5 + randint(max_width)`` pixels, end points clipped to the image.
  Without a ramp, ``RandomIrregularMaskGenerator`` passes ``max_times + 1`` on, so the number of strokes is
  uniform in ``[min_times, max_times + 1]``; occbench keeps that off-by-one to match the published masks.
- Box: ``times`` uniform in ``[box_min_times, box_max_times]``; each side uniform in
  ``[bbox_min_size, bbox_max_size]`` (capped at the image side minus both margins), placed inside the margin.
- ``gen_mask_dataset.py`` draws 5 variants and keeps a random one with area <= ``max_tamper_area``: the
  same distribution as redrawing until one passes, which is what occbench does (``max_tries`` draws).
  Its square crop is a no-op on square images; occbench draws directly at protocol resolution.

Pixel values are defined at 256 px. With ``reference_size`` set, lengths, widths, box sizes and margins
drawn are multiplied by ``min(H, W) / reference_size``; the default None uses them as-is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from occbench.bins import hole_ratio
from occbench.errors import SampleError
from occbench.masks.base import HoleMaskGenerator


@dataclass(frozen=True)
class LamaMask(HoleMaskGenerator):
    """LaMa's mixed irregular/box mask generator; defaults are those of ``saicinpainting`` (irregular only).

    Lengths and widths in pixels, angles in radians (``max_angle``: angle = 0.01 + randint(max_angle)).
    ``max_tamper_area``: largest accepted hole ratio; ``max_tries``: draws before giving up.
    """

    irregular_proba: float = 1.0
    max_angle: int = 4
    max_len: int = 60
    max_width: int = 20
    min_times: int = 0
    max_times: int = 10
    box_proba: float = 0.0
    margin: int = 10
    bbox_min_size: int = 30
    bbox_max_size: int = 100
    box_min_times: int = 0
    box_max_times: int = 3
    max_tamper_area: float = 1.0
    max_tries: int = 50
    reference_size: int | None = None

    def __post_init__(self) -> None:
        for name in ("irregular_proba", "box_proba", "margin", "min_times", "box_min_times"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: Expected a non-negative value, but got {getattr(self, name)!r}")
        if self.irregular_proba + self.box_proba <= 0:
            raise ValueError(f"irregular_proba: Expected irregular_proba + box_proba > 0, but got "
                             f"{self.irregular_proba!r} + {self.box_proba!r}")
        for name in ("max_angle", "max_len", "max_width", "bbox_min_size", "max_tries"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: Expected a value >= 1, but got {getattr(self, name)!r}")
        pairs = (("max_times", "min_times"), ("box_max_times", "box_min_times"), ("bbox_max_size", "bbox_min_size"))
        for upper, lower in pairs:
            if getattr(self, upper) < getattr(self, lower):
                raise ValueError(f"{upper}: Expected a value >= {lower} ({getattr(self, lower)}), "
                                 f"but got {getattr(self, upper)!r}")
        if not 0 < self.max_tamper_area <= 1:
            raise ValueError(f"max_tamper_area: Expected a value in (0, 1], but got {self.max_tamper_area!r}")
        if self.reference_size is not None and self.reference_size <= 0:
            raise ValueError(f"reference_size: Expected a positive number of pixels, but got {self.reference_size!r}")

    def _irregular(self, mask: np.ndarray, rng: np.random.Generator, scale: float) -> int:
        """Draw LaMa's irregular strokes into ``mask``; returns the number of strokes."""
        height, width = mask.shape
        times = int(rng.integers(self.min_times, self.max_times + 2))  # [min, max + 1], see module docstring
        for i in range(times):
            x, y = int(rng.integers(width)), int(rng.integers(height))
            for _ in range(1 + int(rng.integers(5))):
                angle = 0.01 + int(rng.integers(self.max_angle))
                if i % 2 == 0:
                    angle = 2 * 3.1415926 - angle
                length = (10 + int(rng.integers(self.max_len))) * scale
                brush = max(1, round((5 + int(rng.integers(self.max_width))) * scale))
                end_x = int(np.clip(int(x + length * math.sin(angle)), 0, width))
                end_y = int(np.clip(int(y + length * math.cos(angle)), 0, height))
                cv2.line(mask, (x, y), (end_x, end_y), 1, brush)
                x, y = end_x, end_y
        return times

    def _boxes(self, mask: np.ndarray, rng: np.random.Generator, scale: float) -> int:
        """Draw LaMa's random rectangles into ``mask``; returns the number of boxes."""
        height, width = mask.shape
        margin = min(round(self.margin * scale), (min(height, width) - 1) // 2)
        min_size = max(1, round(self.bbox_min_size * scale))
        max_size = min(round(self.bbox_max_size * scale), height - 2 * margin, width - 2 * margin)
        min_size = min(min_size, max_size)
        times = int(rng.integers(self.box_min_times, self.box_max_times + 1))
        for _ in range(times):
            box_w = int(rng.integers(min_size, max_size + 1))
            box_h = int(rng.integers(min_size, max_size + 1))
            left = int(rng.integers(margin, width - margin - box_w + 1))
            top = int(rng.integers(margin, height - margin - box_h + 1))
            mask[top : top + box_h, left : left + box_w] = 1
        return times

    def make_mask(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        scale = 1.0 if self.reference_size is None else min(height, width) / self.reference_size
        p_box = self.box_proba / (self.irregular_proba + self.box_proba)
        for attempt in range(1, self.max_tries + 1):
            mask = np.zeros((height, width), np.uint8)
            kind = "box" if rng.random() < p_box else "irregular"
            times = self._boxes(mask, rng, scale) if kind == "box" else self._irregular(mask, rng, scale)
            ratio = hole_ratio(mask)
            if ratio <= self.max_tamper_area:
                return mask, {"kind": kind, "times": times, "attempts": attempt}
        raise SampleError(f"{type(self).__name__}: no mask with hole ratio <= max_tamper_area "
                          f"({self.max_tamper_area}) in {self.max_tries} tries at {height}x{width}")


@dataclass(frozen=True)
class LamaThickMask(LamaMask):
    """LaMa ``random_thick_256`` (advimman/lama ``configs/data_gen/random_thick_256.yaml``)."""

    max_len: int = 200
    max_width: int = 100
    min_times: int = 1
    max_times: int = 5
    box_proba: float = 0.3
    margin: int = 10
    bbox_min_size: int = 30
    bbox_max_size: int = 150
    box_min_times: int = 1
    box_max_times: int = 3
    max_tamper_area: float = 0.5


@dataclass(frozen=True)
class LamaMediumMask(LamaMask):
    """LaMa ``random_medium_256`` (advimman/lama ``configs/data_gen/random_medium_256.yaml``)."""

    max_len: int = 100
    max_width: int = 50
    min_times: int = 4
    max_times: int = 5
    box_proba: float = 0.3
    margin: int = 0
    bbox_min_size: int = 10
    bbox_max_size: int = 50
    box_min_times: int = 1
    box_max_times: int = 5
    max_tamper_area: float = 0.5


@dataclass(frozen=True)
class LamaThinMask(LamaMask):
    """LaMa ``random_thin_256`` (advimman/lama ``configs/data_gen/random_thin_256.yaml``; no boxes)."""

    max_len: int = 40
    max_width: int = 10
    min_times: int = 4
    max_times: int = 50
    box_proba: float = 0.0
    max_tamper_area: float = 0.5
