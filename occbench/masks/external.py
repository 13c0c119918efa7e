"""Hole masks from a folder of image files the user brings (NVIDIA irregular test set, QD-IMD, MAT masks).

Polarity is never guessed (docs/conventions.md §2): ``polarity`` is required. "white_hole": pixels >= ``threshold`` are
holes (NVIDIA PConv masks, 255 = hole). "black_hole": pixels < ``threshold`` are holes (QD-IMD and MAT,
0 = hole). As a guard, ``check_polarity`` fails when the median hole ratio over the folder, under the
declared polarity, exceeds 0.6 (NVIDIA and QD-IMD stay below it; inverted masks do not). Large-hole sets
can trip it legitimately (MAT's two example masks cover 72 % and 51 %): set ``check_polarity: false`` there.

Masks are binarised at load, kept bit-packed in memory, and resized to the protocol resolution with nearest
neighbour on first use at each resolution; hole ratios and bins are computed after that resize.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from occbench.bins import bin_of, check_bins
from occbench.errors import OccbenchError, SampleError
from occbench.image_io import IMAGE_EXTENSIONS, list_image_files, read_gray
from occbench.masks.base import HoleMaskGenerator
from occbench.polarity import check_polarity_name, hole_from_gray, other_polarity

LOGGER = logging.getLogger(__name__)
MAX_MEDIAN_RATIO = 0.6


@dataclass(frozen=True)
class _Packed:
    """A binary mask stored as packed bits (1 = hole)."""

    shape: tuple[int, int]
    bits: np.ndarray

    @classmethod
    def pack(cls, hole: np.ndarray) -> _Packed:
        return cls((int(hole.shape[0]), int(hole.shape[1])), np.packbits(hole.astype(bool), axis=None))

    def unpack(self) -> np.ndarray:
        count = self.shape[0] * self.shape[1]
        return np.unpackbits(self.bits, count=count).reshape(self.shape)

    def ratio(self) -> float:
        return float(np.unpackbits(self.bits).sum()) / float(self.shape[0] * self.shape[1])


@dataclass(frozen=True)
class _Resolution:
    """Masks resized to one protocol resolution, with their ratios and the indices usable under ``bins``."""

    masks: list[_Packed]
    ratios: np.ndarray
    bin_index: list[int | None]
    usable: np.ndarray


@dataclass(frozen=True)
class ExternalMaskFolder(HoleMaskGenerator):
    """Masks drawn from a folder of mask images (needs ``--assets-dir``; searched recursively).

    ``polarity`` (required): "white_hole" (255 = hole, NVIDIA) or "black_hole" (0 = hole, QD-IMD, MAT).
    ``bins``: optional [lo, hi] hole-ratio bins at protocol resolution; masks outside every bin are excluded.
    Each sample's rng picks one of the usable masks uniformly (deterministic per sample).
    ``threshold``: grey level separating hole from kept pixels (1-255). ``check_polarity``: fail on a folder
    that looks inverted. Unreadable files are skipped and listed in :attr:`skipped`. The drawn params
    record the mask's relative file name, its bin and its hole ratio.
    """

    needs_dir = True

    polarity: str
    bins: tuple[tuple[float, float], ...] | None = None
    threshold: int = 128
    check_polarity: bool = True
    _names: list[str] | None = field(default=None, init=False, repr=False, compare=False)
    _masks: list[_Packed] | None = field(default=None, init=False, repr=False, compare=False)
    _skipped: list[tuple[str, str]] | None = field(default=None, init=False, repr=False, compare=False)
    _root: Path | None = field(default=None, init=False, repr=False, compare=False)
    _by_size: dict[tuple[int, int], _Resolution] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_polarity_name(self.polarity, self.threshold)
        if self.bins is not None:
            check_bins("bins", self.bins)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """``(relative file name, reason)`` of the files setup() could not read."""
        return list(self._skipped or [])

    def _hole(self, gray: np.ndarray) -> np.ndarray:
        return hole_from_gray(gray, self.polarity, self.threshold)

    def setup(self, assets_dir: Path | None) -> None:
        """Read and binarise every image under ``assets_dir``; unreadable files are skipped and recorded."""
        if assets_dir is None or not Path(assets_dir).is_dir():
            raise OccbenchError(f"external: needs --assets-dir, a folder of mask images; got {assets_dir}")
        root = Path(assets_dir)
        relpaths, problems = list_image_files(root)
        files = [root / rel for rel in relpaths]
        if not files:
            raise OccbenchError(f"{root}: no mask images found (extensions {', '.join(IMAGE_EXTENSIONS)})")
        names, masks, skipped = [], [], [(problem, "not listed") for problem in problems]
        for path in files:
            name = path.relative_to(root).as_posix()
            try:
                masks.append(_Packed.pack(self._hole(read_gray(path))))
                names.append(name)
            except SampleError as exc:
                skipped.append((name, str(exc)))
        if not masks:
            raise OccbenchError(f"{root}: none of the {len(files)} mask images could be read; first error: "
                                f"{skipped[0][1]}")
        if skipped:
            LOGGER.warning("%s: skipped %d unreadable mask file(s), e.g. %s", root, len(skipped), skipped[0][1])
        self._check_polarity(root, masks)
        for key, value in (("_root", root), ("_names", names), ("_masks", masks), ("_skipped", skipped),
                           ("_by_size", {})):
            object.__setattr__(self, key, value)

    def _check_polarity(self, root: Path, masks: list[_Packed]) -> None:
        if not self.check_polarity:
            return
        median = float(np.median([m.ratio() for m in masks]))
        if median > MAX_MEDIAN_RATIO:
            other = other_polarity(self.polarity)
            raise OccbenchError(
                f"{root}: median hole ratio {median:.3f} under polarity {self.polarity!r} is above "
                f"{MAX_MEDIAN_RATIO}; the masks look inverted. Set polarity: {other} (or check_polarity: false "
                f"if these masks really cover most of the image, as MAT's large masks can)")

    def _at(self, height: int, width: int) -> _Resolution:
        """The masks at ``height`` x ``width`` (computed once per resolution and worker)."""
        cached = self._by_size.get((height, width))
        if cached is not None:
            return cached
        resized, ratios, bins = [], [], []
        for packed in self._masks:
            hole = packed.unpack()
            if hole.shape != (height, width):
                hole = cv2.resize(hole, (width, height), interpolation=cv2.INTER_NEAREST)
            resized.append(_Packed.pack(hole))
            ratios.append(float(np.count_nonzero(hole)) / hole.size)
            bins.append(None if self.bins is None else bin_of(ratios[-1], self.bins))
        usable = np.array([i for i, b in enumerate(bins) if self.bins is None or b is not None], np.int64)
        if usable.size == 0:
            raise OccbenchError(f"{self._root}: no mask has a hole ratio inside bins {[list(b) for b in self.bins]} "
                                f"at {height}x{width}")
        result = _Resolution(resized, np.array(ratios), bins, usable)
        self._by_size[(height, width)] = result
        return result

    def check_resolution(self, resolution: int) -> None:
        if self._masks is not None:
            self._at(resolution, resolution)  # raises when no mask lands in a bin at this resolution

    def make_mask(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        if self._masks is None:
            raise RuntimeError("ExternalMaskFolder.setup(assets_dir) must run before make_mask")
        table = self._at(height, width)
        index = int(table.usable[rng.integers(len(table.usable))])
        bin_index = table.bin_index[index]
        return table.masks[index].unpack(), {
            "mask_file": self._names[index],
            "bin": None if bin_index is None else list(self.bins[bin_index]),
            "hole_ratio": float(table.ratios[index]),
        }
