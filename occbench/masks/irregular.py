"""PConv-style irregular masks generated to land in a hole-ratio bin. Masks: 1 = hole.

The NVIDIA irregular mask set of Liu et al. (ECCV 2018, "Image Inpainting for Irregular Holes Using Partial
Convolutions") comes from video occlusion estimation and is sorted into six hole-ratio bins (PCONV_BINS).
Its generator is not public; this is occbench's synthetic stand-in in the style of common re-implementations:
random thick polylines, discs and ellipses, sized relative to the shorter image side, so that it can be
produced at any resolution. Use ``external`` with the real NVIDIA files where exact masks matter.

Landing in a bin: elements are added one at a time until the hole ratio reaches the bin's lower bound; an
element that would push it past the upper bound is discarded and the following ones are drawn at half the
size (repeatedly), so the result is always inside the bin. If the sizes shrink below a pixel first, the
mask is restarted; after ``max_tries`` restarts a SampleError is raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from occbench.bins import PCONV_BINS, Bin, check_bins, hole_ratio, in_bin
from occbench.errors import SampleError
from occbench.masks.base import HoleMaskGenerator

MIN_SHRINK = 1 / 256  # element sizes below this fraction of the first ones restart the mask


def _draw_element(mask: np.ndarray, rng: np.random.Generator, shrink: float) -> None:
    """Draw one random polyline, disc or ellipse into ``mask`` (sizes relative to the shorter side)."""
    height, width = mask.shape
    side = min(height, width) * shrink
    kind = int(rng.integers(3))
    x, y = int(rng.integers(width)), int(rng.integers(height))
    if kind == 0:  # polyline of 1-4 segments
        points = [(x, y)]
        thickness = max(1, round(rng.uniform(0.02, 0.08) * side))
        for _ in range(int(rng.integers(1, 5))):
            angle = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(0.05, 0.3) * side
            x = int(np.clip(x + length * np.cos(angle), 0, width - 1))
            y = int(np.clip(y + length * np.sin(angle), 0, height - 1))
            points.append((x, y))
        cv2.polylines(mask, [np.array(points, np.int32)], False, 1, thickness=thickness)
    elif kind == 1:  # disc
        cv2.circle(mask, (x, y), max(1, round(rng.uniform(0.02, 0.08) * side)), 1, thickness=-1)
    else:  # filled ellipse
        axes = (max(1, round(rng.uniform(0.02, 0.15) * side)), max(1, round(rng.uniform(0.02, 0.08) * side)))
        cv2.ellipse(mask, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, 1, thickness=-1)


@dataclass(frozen=True)
class IrregularMask(HoleMaskGenerator):
    """Random irregular masks whose hole ratio lies in a bin.

    ``bins``: list of [lo, hi] hole-ratio bins (default: PConv's six, 0.01-0.1 ... 0.5-0.6; half-open, the
    top bound inclusive); the bin is drawn uniformly from the sample's rng. ``bin_index``: fix one bin instead.
    ``max_tries``: restarts allowed before a SampleError. The drawn params record the bin and its index.
    """

    bins: tuple[tuple[float, float], ...] = PCONV_BINS
    bin_index: int | None = None
    max_tries: int = 20

    def __post_init__(self) -> None:
        check_bins("bins", self.bins)
        if self.bin_index is not None and not 0 <= self.bin_index < len(self.bins):
            raise ValueError(f"bin_index: Expected an index in [0, {len(self.bins) - 1}], but got {self.bin_index!r}")
        if self.max_tries < 1:
            raise ValueError(f"max_tries: Expected a value >= 1, but got {self.max_tries!r}")

    def _fill(self, mask: np.ndarray, rng: np.random.Generator, index: int) -> int | None:
        """Grow ``mask`` into bin ``index``; returns the number of elements kept, or None on failure."""
        low = self.bins[index][0]
        shrink, kept, ratio = 1.0, 0, 0.0
        while kept == 0 or ratio < low:  # every kept ratio is < low or inside the bin
            candidate = mask.copy()
            _draw_element(candidate, rng, shrink)
            new_ratio = hole_ratio(candidate)
            if new_ratio < low or in_bin(new_ratio, self.bins, index):
                mask[...] = candidate
                kept, ratio = kept + 1, new_ratio
            else:
                shrink /= 2
                if shrink < MIN_SHRINK:
                    return None
        return kept

    def make_mask(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        index = self.bin_index if self.bin_index is not None else int(rng.integers(len(self.bins)))
        bin_: Bin = self.bins[index]
        for attempt in range(1, self.max_tries + 1):
            mask = np.zeros((height, width), np.uint8)
            kept = self._fill(mask, rng, index)
            if kept is not None:
                return mask, {"bin": list(bin_), "bin_index": index, "elements": kept, "attempts": attempt}
        raise SampleError(f"IrregularMask: could not land a {height}x{width} mask in hole-ratio bin {list(bin_)} "
                          f"within {self.max_tries} tries; widen the bin or raise max_tries")
