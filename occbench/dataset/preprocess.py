"""Fitting a source image (and its labels) to the protocol's square resolution.

``short-side``: scale so the shorter side equals the resolution (or the protocol's ``short_side``, e.g. 512 for
SGE-Net's Cityscapes), then cut the centre ``resolution``² out (the longer side, and with ``short_side`` both sides,
centred; odd margins leave the extra pixel at the bottom / right).
``stretch``: resize both sides to the resolution (aspect ratio not kept).
``crop: face`` (photos that are not aligned): a square around the detected face, its side the face box's side
divided by ``face_ratio``, placed so the box centre sits at ``face_center_y`` of the crop's height (horizontally
centred), as in aligned CelebA-HQ: on the 48 CelebA-HQ faces of ../shared/assets dlib's box side is 0.61 of the image
side (median; 0.51-0.61 from the 5th to the 95th percentile) and its centre at (0.49, 0.62) of the image, hence the
defaults 0.6 and 0.62. A square reaching past the image is moved inside it; one larger than the image's shorter side
is shrunk to it (the face then fills more of the crop; both recorded in the sample's params).
Images use area interpolation when shrinking and bicubic when enlarging; labels always use nearest
neighbour. An image (or face crop) whose side is below the resolution (or ``short_side``) is an error for the sample
unless the protocol sets ``upscale: true`` (enlargements are noted). Labels may come at another size than the image
(CelebAMask-HQ: 512 vs 1024) but must have the same aspect ratio. Images longer than :data:`MAX_ASPECT` times their
width (or the reverse) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from occbench.errors import SampleError
from occbench.protocol import Preprocess

MAX_ASPECT = 20  # longer side / shorter side; a 1x8000 strip would otherwise become 256x2,048,000 pixels


@dataclass(frozen=True)
class Fit:
    """Source → target geometry: cut ``region`` (x0, y0, x1, y1; source px) out, resize it to ``resized`` (w, h),
    then cut the ``resolution``² square at ``offset`` (left, top) of the resized image."""

    region: tuple[int, int, int, int]
    resized: tuple[int, int]
    offset: tuple[int, int]
    resolution: int

    @property
    def scale(self) -> tuple[float, float]:
        """Target pixels per source pixel, (x, y)."""
        x0, y0, x1, y1 = self.region
        return self.resized[0] / (x1 - x0), self.resized[1] / (y1 - y0)

    def point_transform(self) -> tuple[float, float, float, float]:
        """``(scale_x, scale_y, offset_x, offset_y)`` with ``x_target = x_source * scale_x + offset_x``."""
        sx, sy = self.scale
        return sx, sy, -self.region[0] * sx - self.offset[0], -self.region[1] * sy - self.offset[1]

    def apply(self, array: np.ndarray, interpolation: int) -> np.ndarray:
        x0, y0, x1, y1 = self.region
        if (x0, y0, x1, y1) != (0, 0, array.shape[1], array.shape[0]):
            array = array[y0:y1, x0:x1]
        if self.resized != (array.shape[1], array.shape[0]):
            array = cv2.resize(array, self.resized, interpolation=interpolation)
        left, top = self.offset
        size = self.resolution
        return np.ascontiguousarray(array[top : top + size, left : left + size])

    def describe(self) -> dict[str, object]:
        """JSON-ready record (source region and the scale applied)."""
        return {"region": list(self.region), "scale": round(self.scale[0], 4)}


def plan_fit(shape: tuple[int, ...], resolution: int, policy: Preprocess, name: str,
             face_box: tuple[float, float, float, float] | None = None) -> Fit:
    """The geometry for an image of ``shape``; ``face_box`` (source px) is required by ``crop: face``."""
    height, width = shape[:2]
    if max(height, width) > MAX_ASPECT * min(height, width):
        raise SampleError(f"{name}: image is {width}x{height}; Expected an aspect ratio of at most {MAX_ASPECT}:1 "
                          "(fitting it would first scale it to an enormous strip)")
    if policy.crop == "face":
        if face_box is None:
            raise SampleError(f"{name}: crop 'face' needs a detected face")
        return _face_fit(height, width, resolution, policy, name, face_box)
    side = (policy.short_side or resolution) if policy.resize == "short-side" else resolution
    if min(height, width) < side and not policy.upscale:
        what = f"the protocol's short side {side}" if side != resolution else f"the protocol resolution {resolution}"
        raise SampleError(f"{name}: image is {width}x{height}, smaller than {what} "
                          "(set preprocess.upscale: true in the protocol to enlarge such images)")
    if policy.resize == "stretch":
        return Fit((0, 0, width, height), (resolution, resolution), (0, 0), resolution)
    scale = side / min(height, width)
    new_h, new_w = max(side, round(height * scale)), max(side, round(width * scale))
    return Fit((0, 0, width, height), (new_w, new_h), ((new_w - resolution) // 2, (new_h - resolution) // 2),
               resolution)


def _face_fit(height: int, width: int, resolution: int, policy: Preprocess, name: str,
              box: tuple[float, float, float, float]) -> Fit:
    face_side = min(box[2] - box[0], box[3] - box[1])
    side = min(round(face_side / policy.face_ratio), height, width)
    if side < resolution and not policy.upscale:
        raise SampleError(f"{name}: the face crop is {side} px (face box {face_side:.0f} px), smaller than the "
                          f"protocol resolution {resolution} (set preprocess.upscale: true to enlarge small faces)")
    centre_x = (box[0] + box[2]) / 2
    top = (box[1] + box[3]) / 2 - policy.face_center_y * side
    x0 = int(np.clip(round(centre_x - side / 2), 0, width - side))
    y0 = int(np.clip(round(top), 0, height - side))
    return Fit((x0, y0, x0 + side, y0 + side), (resolution, resolution), (0, 0), resolution)


def _enlarges(fit: Fit) -> bool:
    """Whether the region's shorter side is below the resized image's (then bicubic, else area interpolation)."""
    x0, y0, x1, y1 = fit.region
    return min(x1 - x0, y1 - y0) < min(fit.resized)


def _interpolation(fit: Fit) -> int:
    return cv2.INTER_CUBIC if _enlarges(fit) else cv2.INTER_AREA


def fit_image(image: np.ndarray, resolution: int, policy: Preprocess, name: str, fit: Fit | None = None,
              notes: list[str] | None = None) -> np.ndarray:
    """RGB uint8 image → ``(resolution, resolution, 3)``. ``name`` identifies the file in errors; ``fit`` the
    geometry (default: :func:`plan_fit` without a face); enlargements are appended to ``notes``."""
    fit = fit or plan_fit(image.shape, resolution, policy, name)
    if notes is not None and _enlarges(fit):
        x0, y0, x1, y1 = fit.region
        notes.append(f"upscaled x{min(fit.resized) / min(x1 - x0, y1 - y0):.2f}")
    return fit.apply(image, _interpolation(fit))


def fit_label(label: np.ndarray, image_shape: tuple[int, ...], resolution: int, policy: Preprocess,
              name: str, fit: Fit | None = None) -> np.ndarray:
    """Label map → ``(resolution, resolution)`` with nearest neighbour, aligned with the image (``fit``: the image's
    geometry, default :func:`plan_fit` of ``image_shape``)."""
    (lh, lw), (ih, iw) = label.shape[:2], image_shape[:2]
    if abs(lh * iw - lw * ih) > max(ih, iw):  # aspect ratios differ by more than a pixel
        raise SampleError(f"{name}: label map is {lw}x{lh} but the image is {iw}x{ih}; expected the same aspect ratio")
    if (lh, lw) != (ih, iw):
        label = cv2.resize(label, (iw, ih), interpolation=cv2.INTER_NEAREST)
    fit = fit or plan_fit(image_shape, resolution, policy, name)
    return fit.apply(label, cv2.INTER_NEAREST)
