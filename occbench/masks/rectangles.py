"""Rectangular holes: a centred box (``center``) and half of the image (``half``). Masks: 1 = hole."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from occbench.masks.base import HoleMaskGenerator

SIDES = ("random", "left", "right", "top", "bottom")
DEFAULT_SIZE = 0.5  # CenterMask side when neither size nor area_fraction is given


def _side_px(value: float, side: int) -> int:
    """A length in pixels (``value > 1``) or as a fraction of ``side`` (``value <= 1``), clipped to ``side``."""
    pixels = round(value * side) if value <= 1 else round(value)
    return int(min(max(pixels, 1), side))


@dataclass(frozen=True)
class CenterMask(HoleMaskGenerator):
    """A centred rectangular hole, optionally jittered.

    Give at most one of (neither: ``size: 0.5``, half the side):

    - ``size``: side of the hole, in pixels at protocol resolution when > 1 or as a fraction of the image
      side when <= 1 (so 1 means the whole side); one number (square) or ``[h, w]``. SGE-Net's 128x128
      hole at 256 px is ``size: 128`` (or ``size: 0.5``).
    - ``area_fraction``: fraction of the image area; the hole has sides ``sqrt(area_fraction) * H`` and
      ``sqrt(area_fraction) * W`` (a square on square images). SGIN's "center mask taking 70% of the
      image" is ambiguous (area or side); occbench reads it as ``area_fraction: 0.7``.

    ``jitter``: maximum random offset of the centre in pixels along each axis (uniform integers in
    ``[-jitter, jitter]``, drawn from the sample's rng); the hole is shifted back inside the image if needed.
    With an odd margin the box sits one pixel nearer the top/left (top = (H - h) // 2).
    """

    size: float | tuple[float, float] | None = None
    area_fraction: float | None = None
    jitter: int = 0

    def __post_init__(self) -> None:
        if self.size is not None and self.area_fraction is not None:
            raise ValueError(f"size: Expected only one of size or area_fraction, but got size={self.size!r} "
                             f"and area_fraction={self.area_fraction!r}")
        if self.size is not None:
            sizes = self.size if isinstance(self.size, (tuple, list)) else (self.size, self.size)
            if len(sizes) != 2 or any(s <= 0 for s in sizes):
                raise ValueError(f"size: Expected a positive number or [h, w], but got {self.size!r}")
        if self.area_fraction is not None and not 0 < self.area_fraction <= 1:
            raise ValueError(f"area_fraction: Expected a value in (0, 1], but got {self.area_fraction!r}")
        if self.jitter < 0:
            raise ValueError(f"jitter: Expected a non-negative number of pixels, but got {self.jitter!r}")

    def check_resolution(self, resolution: int) -> None:
        sizes = self.size if isinstance(self.size, (tuple, list)) else (self.size, self.size)
        too_big = [s for s in sizes if s is not None and s > 1 and s > resolution]
        if too_big:
            raise ValueError(f"size: Expected at most the image side ({resolution} px), but got {self.size!r}")

    def hole_size(self, height: int, width: int) -> tuple[int, int]:
        """Hole height and width in pixels for an image of ``height`` x ``width``."""
        if self.area_fraction is not None:
            root = math.sqrt(self.area_fraction)
            return _side_px(root, height), _side_px(root, width)
        size = DEFAULT_SIZE if self.size is None else self.size
        size_h, size_w = size if isinstance(size, (tuple, list)) else (size, size)
        return _side_px(size_h, height), _side_px(size_w, width)

    def make_mask(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        hole_h, hole_w = self.hole_size(height, width)
        top, left = (height - hole_h) // 2, (width - hole_w) // 2
        if self.jitter > 0:
            dy, dx = rng.integers(-self.jitter, self.jitter + 1, size=2)
            top = int(np.clip(top + dy, 0, height - hole_h))
            left = int(np.clip(left + dx, 0, width - hole_w))
        mask = np.zeros((height, width), np.uint8)
        mask[top : top + hole_h, left : left + hole_w] = 1
        return mask, {"top": top, "left": left, "height": hole_h, "width": hole_w}


@dataclass(frozen=True)
class HalfMask(HoleMaskGenerator):
    """A hole covering one side of the image.

    ``side``: "left", "right", "top", "bottom", or "random" (one of the four drawn from the sample's rng).
    ``fraction``: share of the width (left/right) or height (top/bottom) covered, default 0.5; the hole
    spans ``round(fraction * W)`` columns (or rows).
    """

    side: str = "random"
    fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"side: Expected one of {', '.join(SIDES)}, but got {self.side!r}")
        if not 0 < self.fraction < 1:
            raise ValueError(f"fraction: Expected a value in (0, 1), but got {self.fraction!r}")

    def make_mask(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        side = self.side if self.side != "random" else SIDES[1 + int(rng.integers(4))]
        mask = np.zeros((height, width), np.uint8)
        cols, rows = round(self.fraction * width), round(self.fraction * height)
        if side == "left":
            mask[:, :cols] = 1
        elif side == "right":
            mask[:, width - cols :] = 1
        elif side == "top":
            mask[:rows, :] = 1
        else:
            mask[height - rows :, :] = 1
        return mask, {"side": side}
