"""Classical per-image inpainting methods (docs/conventions.md §4), on RGB uint8 arrays through :class:`ImageMethod`.

Shared conventions:

- ``mask`` is uint8 ``(H, W)``, nonzero = hole (1 in memory, docs/conventions.md §2); hole pixels of ``image`` are never
  read.
- Known pixels are returned unchanged, exactly. OpenCV's ``cv2.inpaint`` and scikit-image's
  ``inpaint_biharmonic`` already do (checked on random images and masks with OpenCV 5.0 / scikit-image 0.26);
  every method still composites ``where(mask, filled, image)`` as a guarantee, a no-op for them.
- An image without any known pixel is filled with mid-grey 128 (0.5 on the [0, 1] scale, rounded to uint8):
  nothing can be propagated into it. An image without any hole is returned as a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np
from skimage.restoration import inpaint_biharmonic

from occbench.methods.base import ImageMethod

ALL_HOLE_FILL = 128  # uint8 value of 0.5 grey, used when an image has no known pixel
MAX_RADIUS = 100  # cv2.inpaint rounds the radius and clamps it to [1, 100]; larger values would be ignored


def _check_image(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Validate the uint8 contract; return the boolean hole map (True = hole)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"Expected image RGB uint8 of shape (H, W, 3), but got {image.dtype} {image.shape}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"Expected mask of shape {image.shape[:2]}, but got {mask.shape}")
    return mask != 0


def _composite(image: np.ndarray, filled: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Hole pixels from ``filled``, known pixels from ``image`` (uint8 RGB)."""
    return np.where(hole[:, :, None], filled, image).astype(np.uint8)


def _trivial(image: np.ndarray, hole: np.ndarray) -> np.ndarray | None:
    """The result for an image with no hole (a copy) or no known pixel (grey); None otherwise."""
    if not hole.any():
        return image.copy()
    if hole.all():
        return np.full_like(image, ALL_HOLE_FILL)
    return None


@dataclass(frozen=True)
class _OpenCVInpaint(ImageMethod):
    """Shared code of the two ``cv2.inpaint`` algorithms. ``radius``: neighbourhood radius in pixels."""

    radius: int = 3
    _flag: ClassVar[int]

    def __post_init__(self) -> None:
        if not 1 <= self.radius <= MAX_RADIUS:
            raise ValueError(f"radius: Expected pixels in [1, {MAX_RADIUS}], but got {self.radius}")

    def inpaint_image(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        hole = _check_image(image, mask)
        trivial = _trivial(image, hole)
        if trivial is not None:
            return trivial
        filled = cv2.inpaint(np.ascontiguousarray(image), hole.astype(np.uint8), float(self.radius), self._flag)
        return _composite(image, filled, hole)


@dataclass(frozen=True)
class TeleaInpaint(_OpenCVInpaint):
    """Fast-marching inpainting: A. Telea, "An Image Inpainting Technique Based on the Fast Marching Method",
    Journal of Graphics Tools 9(1), 2004.

    Uses ``cv2.inpaint(image, mask, radius, cv2.INPAINT_TELEA)``; channels are filled independently, so the
    RGB order does not matter. ``radius`` (pixels, integer in [1, 100], default 3) is the neighbourhood each
    hole pixel is estimated from.
    """

    _flag: ClassVar[int] = cv2.INPAINT_TELEA


@dataclass(frozen=True)
class NavierStokesInpaint(_OpenCVInpaint):
    """Fluid-dynamics inpainting: M. Bertalmio, A. L. Bertozzi, G. Sapiro, "Navier-Stokes, Fluid Dynamics, and
    Image and Video Inpainting", CVPR 2001.

    Uses ``cv2.inpaint(image, mask, radius, cv2.INPAINT_NS)``; channels are filled independently.
    ``radius`` (pixels, integer in [1, 100], default 3) is the neighbourhood considered around each hole pixel.
    """

    _flag: ClassVar[int] = cv2.INPAINT_NS


@dataclass(frozen=True)
class BiharmonicInpaint(ImageMethod):
    """Biharmonic-equation inpainting: S. B. Damelin, N. S. Hoang, "On Surface Completion and Image Inpainting
    by Biharmonic Functions: Numerical Aspects", International Journal of Mathematics and Mathematical
    Sciences, 2018 (the reference cited by scikit-image).

    Uses ``skimage.restoration.inpaint_biharmonic(image / 255, hole, split_into_regions=..., channel_axis=-1)``
    on float64 in [0, 1], then ``round(x * 255)`` back to uint8. ``split_into_regions`` (default True) solves
    each connected hole separately: same result, much faster on images with many small holes.
    """

    split_into_regions: bool = True

    def inpaint_image(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        hole = _check_image(image, mask)
        trivial = _trivial(image, hole)
        if trivial is not None:
            return trivial
        filled = inpaint_biharmonic(image.astype(np.float64) / 255.0, hole,
                                    split_into_regions=self.split_into_regions, channel_axis=-1)
        filled = np.clip(np.round(filled * 255.0), 0, 255).astype(np.uint8)
        return _composite(image, filled, hole)


@dataclass(frozen=True)
class MeanFill(ImageMethod):
    """Fills every hole pixel with the mean colour of the known pixels of the same image (a floor baseline).

    ``per_channel`` (default True): the mean of each RGB channel separately; False: one grey value, the mean
    over all channels. Means are rounded to uint8 with ``numpy.round`` (half to even). An image without
    known pixels gets 0.5 grey (128).
    """

    per_channel: bool = True

    def inpaint_image(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        hole = _check_image(image, mask)
        trivial = _trivial(image, hole)
        if trivial is not None:
            return trivial
        known = image[~hole].astype(np.float64)  # (N, 3)
        mean = known.mean(axis=0) if self.per_channel else np.full(3, known.mean())
        fill = np.round(mean).astype(np.uint8)
        return _composite(image, np.broadcast_to(fill, image.shape), hole)
