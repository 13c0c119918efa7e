"""Fitting a source image (and its labels) to the protocol's square resolution.

``short-side``: scale so the shorter side equals the resolution (or the protocol's ``short_side``, e.g. 512 for
SGE-Net's Cityscapes), then cut the centre ``resolution``² out (the longer side, and with ``short_side`` both sides,
centred; odd margins leave the extra pixel at the bottom / right).
``stretch``: resize both sides to the resolution (aspect ratio not kept).
Images use area interpolation when shrinking and bicubic when enlarging; labels always use nearest
neighbour. An image whose shorter side is below the resolution (or ``short_side``) is an error for the sample
unless the protocol sets ``upscale: true``. Labels may come at another size than the image (CelebAMask-HQ: 512 vs
1024) but
must have the same aspect ratio. Images longer than :data:`MAX_ASPECT` times their width (or the reverse)
are refused.
"""

from __future__ import annotations

import cv2
import numpy as np

from occbench.errors import SampleError
from occbench.protocol import Preprocess

MAX_ASPECT = 20  # longer side / shorter side; a 1x8000 strip would otherwise become 256x2,048,000 pixels


def _crop_box(height: int, width: int, size: int) -> tuple[int, int]:
    return (height - size) // 2, (width - size) // 2


def _fit(array: np.ndarray, resolution: int, policy: Preprocess, interpolation: int) -> np.ndarray:
    height, width = array.shape[:2]
    if policy.resize == "stretch":
        if (height, width) == (resolution, resolution):
            return array
        return cv2.resize(array, (resolution, resolution), interpolation=interpolation)
    side = policy.short_side or resolution
    scale = side / min(height, width)
    new_h, new_w = max(side, round(height * scale)), max(side, round(width * scale))
    if (new_h, new_w) != (height, width):
        array = cv2.resize(array, (new_w, new_h), interpolation=interpolation)
    top, left = _crop_box(new_h, new_w, resolution)
    return np.ascontiguousarray(array[top : top + resolution, left : left + resolution])


def fit_image(image: np.ndarray, resolution: int, policy: Preprocess, name: str) -> np.ndarray:
    """RGB uint8 image → ``(resolution, resolution, 3)``. ``name`` identifies the file in errors."""
    height, width = image.shape[:2]
    if max(height, width) > MAX_ASPECT * min(height, width):
        raise SampleError(f"{name}: image is {width}x{height}; Expected an aspect ratio of at most {MAX_ASPECT}:1 "
                          "(fitting it would first scale it to an enormous strip)")
    side = (policy.short_side or resolution) if policy.resize == "short-side" else resolution
    if min(height, width) < side and not policy.upscale:
        what = f"the protocol's short side {side}" if side != resolution else f"the protocol resolution {resolution}"
        raise SampleError(f"{name}: image is {width}x{height}, smaller than {what} "
                          "(set preprocess.upscale: true in the protocol to enlarge such images)")
    shrinking = min(height, width) >= side
    return _fit(image, resolution, policy, cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def fit_label(label: np.ndarray, image_shape: tuple[int, ...], resolution: int, policy: Preprocess,
              name: str) -> np.ndarray:
    """Label map → ``(resolution, resolution)`` with nearest neighbour, aligned with the image."""
    (lh, lw), (ih, iw) = label.shape[:2], image_shape[:2]
    if abs(lh * iw - lw * ih) > max(ih, iw):  # aspect ratios differ by more than a pixel
        raise SampleError(f"{name}: label map is {lw}x{lh} but the image is {iw}x{ih}; expected the same aspect ratio")
    if (lh, lw) != (ih, iw):
        label = cv2.resize(label, (iw, ih), interpolation=cv2.INTER_NEAREST)
    return _fit(label, resolution, policy, cv2.INTER_NEAREST)
