"""DeepFill v2 free-form training masks (Yu et al., ICCV 2019, "Free-Form Image Inpainting with Gated
Convolution"): random brush strokes united with a randomly shrunk box. Masks: 1 = hole.

Defaults are the published values of the official repository JiahuiYu/generative_inpainting (v2):

- ``brush_stroke_mask`` in ``inpaint_ops.py``: 1-3 strokes (``np.random.randint(1, 4)``),
  ``min_num_vertex = 4``, ``max_num_vertex = 12`` (numpy's exclusive bound: 4-11 vertices),
  ``mean_angle = 2*pi/5``, ``angle_range = 2*pi/15``, ``min_width = 12``, ``max_width = 40``,
  ``average_radius = sqrt(H*H + W*W) / 8`` with segment lengths ``clip(N(r, r // 2), 0, 2r)``, a disc of
  the stroke width at every vertex, and left-right / top-bottom flips each with probability 1/2.
- ``random_bbox`` + ``bbox2mask`` in ``inpaint_ops.py`` with ``inpaint.yml`` (``img_shapes: [256, 256, 3]``,
  ``height: 128``, ``width: 128``, ``max_delta_height: 32``, ``max_delta_width: 32``,
  ``vertical_margin: 0``, ``horizontal_margin: 0``): a 128x128 box at a random position, shrunk on each
  side by a random 0..max_delta/2 pixels; ``inpaint_model.py`` takes the union (logical or) of both.

Deviations, all documented: the official flips are no-ops (``mask.transpose`` result discarded); here
they act when ``flip`` is true. Strokes are rasterised with OpenCV instead of PIL (round joints, the same
widths). Pixel parameters are defined at 256 px and used as-is at any protocol resolution unless
``reference_size`` is set, in which case widths, box size, deltas and margins are multiplied by
``min(H, W) / reference_size`` (the stroke radius always scales with the image diagonal, as published).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from occbench.bins import check_pair, check_range
from occbench.masks.base import HoleMaskGenerator


@dataclass(frozen=True)
class FreeFormMask(HoleMaskGenerator):
    """DeepFill v2 free-form mask: brush strokes (union) a random box.

    ``strokes``, ``vertices``: inclusive [min, max] counts per mask and per stroke. ``mean_angle`` and
    ``angle_range`` in radians. ``width``: [min, max] brush width in pixels. ``radius_divisor``: the mean
    segment length is the image diagonal divided by this. ``flip``: random horizontal/vertical flips.
    ``box``: add the box; ``box_size`` [h, w], ``max_delta`` [h, w] and ``margin`` [vertical, horizontal]
    in pixels. ``reference_size``: resolution (pixels, shorter side) the pixel values refer to; None = no
    scaling.
    """

    strokes: tuple[int, int] = (1, 3)
    vertices: tuple[int, int] = (4, 11)
    mean_angle: float = 2 * math.pi / 5
    angle_range: float = 2 * math.pi / 15
    width: tuple[float, float] = (12.0, 40.0)
    radius_divisor: float = 8.0
    flip: bool = True
    box: bool = True
    box_size: tuple[int, int] = (128, 128)
    max_delta: tuple[int, int] = (32, 32)
    margin: tuple[int, int] = (0, 0)
    reference_size: int | None = None

    def __post_init__(self) -> None:
        check_range("strokes", self.strokes, 0)
        check_range("vertices", self.vertices, 1)
        check_range("width", self.width, 1)
        check_pair("box_size", self.box_size, 1)
        check_pair("max_delta", self.max_delta, 0)
        check_pair("margin", self.margin, 0)
        if self.angle_range < 0:
            raise ValueError(f"angle_range: Expected a non-negative angle in radians, but got {self.angle_range!r}")
        if self.radius_divisor <= 0:
            raise ValueError(f"radius_divisor: Expected a positive number, but got {self.radius_divisor!r}")
        if self.reference_size is not None and self.reference_size <= 0:
            raise ValueError(f"reference_size: Expected a positive number of pixels, but got {self.reference_size!r}")

    def _scale(self, height: int, width: int) -> float:
        return 1.0 if self.reference_size is None else min(height, width) / self.reference_size

    def _stroke(self, mask: np.ndarray, rng: np.random.Generator, scale: float) -> None:
        """Draw one brush stroke (a polyline with discs at its vertices) into ``mask`` in place."""
        height, width = mask.shape
        radius = math.sqrt(height * height + width * width) / self.radius_divisor
        num_vertex = int(rng.integers(self.vertices[0], self.vertices[1] + 1))
        angle_min = self.mean_angle - rng.uniform(0, self.angle_range)
        angle_max = self.mean_angle + rng.uniform(0, self.angle_range)
        points = [(int(rng.integers(0, width)), int(rng.integers(0, height)))]
        for i in range(num_vertex):
            angle = rng.uniform(angle_min, angle_max)
            if i % 2 == 0:
                angle = 2 * math.pi - angle
            length = float(np.clip(rng.normal(radius, radius // 2), 0, 2 * radius))
            x = np.clip(points[-1][0] + length * math.cos(angle), 0, width)
            y = np.clip(points[-1][1] + length * math.sin(angle), 0, height)
            points.append((int(x), int(y)))
        brush = max(1, int(rng.uniform(self.width[0], self.width[1]) * scale))
        cv2.polylines(mask, [np.array(points, np.int32)], False, 1, thickness=brush)
        for point in points:
            cv2.circle(mask, point, brush // 2, 1, thickness=-1)

    def _box(self, mask: np.ndarray, rng: np.random.Generator, scale: float) -> list[int]:
        """Draw the shrunk random box into ``mask``; returns [top, left, height, width] of what was drawn."""
        height, width = mask.shape
        v_margin, h_margin = (min(round(m * scale), (s - 1) // 2) for m, s in zip(self.margin, (height, width)))
        box_h = max(1, min(round(self.box_size[0] * scale), height - 2 * v_margin))
        box_w = max(1, min(round(self.box_size[1] * scale), width - 2 * h_margin))
        top = int(rng.integers(v_margin, max(v_margin + 1, height - v_margin - box_h)))
        left = int(rng.integers(h_margin, max(h_margin + 1, width - h_margin - box_w)))
        delta_h = int(rng.integers(0, round(self.max_delta[0] * scale) // 2 + 1))
        delta_w = int(rng.integers(0, round(self.max_delta[1] * scale) // 2 + 1))
        delta_h, delta_w = min(delta_h, (box_h - 1) // 2), min(delta_w, (box_w - 1) // 2)
        mask[top + delta_h : top + box_h - delta_h, left + delta_w : left + box_w - delta_w] = 1
        return [top + delta_h, left + delta_w, box_h - 2 * delta_h, box_w - 2 * delta_w]

    def make_mask(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        scale = self._scale(height, width)
        mask = np.zeros((height, width), np.uint8)
        num_strokes = int(rng.integers(self.strokes[0], self.strokes[1] + 1))
        for _ in range(num_strokes):
            self._stroke(mask, rng, scale)
        flips = [bool(rng.normal() > 0), bool(rng.normal() > 0)] if self.flip else [False, False]
        if flips[0]:
            mask = mask[:, ::-1]
        if flips[1]:
            mask = mask[::-1, :]
        mask = np.ascontiguousarray(mask)
        box = self._box(mask, rng, scale) if self.box else None
        return mask, {"strokes": num_strokes, "flip_lr": flips[0], "flip_ud": flips[1], "box": box}
