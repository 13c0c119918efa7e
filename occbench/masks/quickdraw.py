"""Hand-drawn stroke masks rasterised from Google QuickDraw drawings the user brings. Masks: 1 = hole.

In the spirit of QD-IMD, the Quick Draw Irregular Mask Dataset (Iskakov, 2018, "Semi-parametric Image
Inpainting"), whose masks are QuickDraw strokes with hole ratios from about 0.01 to 0.6. occbench does not
ship drawings: point ``--assets-dir`` at a folder of QuickDraw ``.ndjson`` files (one JSON object per line).
Both published formats are read: *simplified* (``"drawing": [[xs...], [ys...]]`` per stroke, 0-255
coordinates) and *raw* (a third list of times, which is ignored, and unscaled coordinates). Every drawing
is normalised to its bounding box (aspect kept) before it is scaled and placed; other keys are ignored, and
lines with ``"recognized": false`` are kept unless ``recognized_only`` is true.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from occbench.bins import check_bins, check_range, hole_ratio, in_bin
from occbench.errors import OccbenchError, SampleError
from occbench.masks.base import HoleMaskGenerator

Drawing = list[np.ndarray]  # strokes, each (n, 2) float32 x/y in [0, 1] of the drawing's longer side


def parse_drawing(obj: Any) -> Drawing:
    """Strokes of one QuickDraw record, normalised to [0, 1]; raises ValueError when malformed."""
    strokes = obj.get("drawing") if isinstance(obj, dict) else None
    if not isinstance(strokes, list) or not strokes:
        raise ValueError("expected an object with a non-empty 'drawing' list of strokes")
    arrays = []
    for stroke in strokes:
        if not (isinstance(stroke, list) and len(stroke) in (2, 3) and all(isinstance(c, list) for c in stroke)):
            raise ValueError("expected each stroke as [[xs...], [ys...]] or [[xs...], [ys...], [times...]]")
        xs, ys = stroke[0], stroke[1]
        if len(xs) != len(ys) or not xs:
            raise ValueError(f"stroke has {len(xs)} x and {len(ys)} y values; expected equal, non-zero counts")
        try:
            arrays.append(np.array([xs, ys], np.float64).T)
        except (TypeError, ValueError) as exc:
            raise ValueError("stroke coordinates must be numbers") from exc
    points = np.concatenate(arrays)
    low = points.min(axis=0)
    extent = max(float((points.max(axis=0) - low).max()), 1.0)
    return [((a - low) / extent).astype(np.float32) for a in arrays]


def load_ndjson(path: Path, name: str, recognized_only: bool) -> tuple[list[Drawing], list[str]]:
    """Drawings of one ``.ndjson`` file and their ids (``name:line``); errors name the file and line."""
    drawings, ids = [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise OccbenchError(f"{path}:{number}: malformed JSON ({exc.msg}); expected one QuickDraw "
                                    f"record per line") from exc
            try:
                drawing = parse_drawing(obj)
            except ValueError as exc:
                raise OccbenchError(f"{path}:{number}: {exc}") from exc
            if recognized_only and obj.get("recognized") is False:
                continue
            drawings.append(drawing)
            ids.append(f"{name}:{number}")
    return drawings, ids


@dataclass(frozen=True)
class QuickDrawMask(HoleMaskGenerator):
    """Masks made of QuickDraw drawings (needs ``--assets-dir`` with ``*.ndjson`` files, searched recursively).

    ``drawings``: [min, max] drawings per mask. ``stroke_width``: [min, max] line width in pixels at protocol
    resolution. ``scale``: [min, max] size of a drawing's longer side relative to the shorter image side;
    drawings are placed at uniform positions that keep them inside the image when they fit.
    ``bins``: optional [lo, hi] hole-ratio bins; one is drawn uniformly per mask and further drawings are
    added (one overshooting the bin is discarded) until the ratio lies in it; masks starting above it are
    restarted. ``max_tries``: drawings rasterised per mask (restarts included) before a SampleError.
    ``recognized_only``: skip records with ``"recognized": false``.
    """

    needs_dir = True

    drawings: tuple[int, int] = (1, 3)
    stroke_width: tuple[int, int] = (4, 12)
    scale: tuple[float, float] = (0.3, 0.8)
    bins: tuple[tuple[float, float], ...] | None = None
    max_tries: int = 500
    recognized_only: bool = False
    _drawings: list[Drawing] | None = field(default=None, init=False, repr=False, compare=False)
    _ids: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_range("drawings", self.drawings, 1)
        check_range("stroke_width", self.stroke_width, 1)
        check_range("scale", self.scale, 0.01)
        if self.bins is not None:
            check_bins("bins", self.bins)
        if self.max_tries < 1:
            raise ValueError(f"max_tries: Expected a value >= 1, but got {self.max_tries!r}")

    def setup(self, assets_dir: Path | None) -> None:
        """Read every ``*.ndjson`` under ``assets_dir`` (sorted by relative path, so the order is deterministic)."""
        if assets_dir is None or not Path(assets_dir).is_dir():
            raise OccbenchError(f"quickdraw: needs --assets-dir, a folder of QuickDraw .ndjson files; got {assets_dir}")
        root = Path(assets_dir)
        files = sorted(root.rglob("*.ndjson"), key=lambda p: p.relative_to(root).as_posix())
        if not files:
            raise OccbenchError(f"{root}: no *.ndjson files found; download QuickDraw drawings "
                                f"(simplified or raw .ndjson) into this folder")
        drawings: list[Drawing] = []
        ids: list[str] = []
        for path in files:
            more, more_ids = load_ndjson(path, path.relative_to(root).as_posix(), self.recognized_only)
            drawings += more
            ids += more_ids
        if not drawings:
            raise OccbenchError(f"{root}: the .ndjson files hold no usable drawings (recognized_only="
                                f"{self.recognized_only})")
        object.__setattr__(self, "_drawings", drawings)
        object.__setattr__(self, "_ids", ids)

    def _stamp(self, mask: np.ndarray, rng: np.random.Generator) -> str:
        """Rasterise one random drawing into ``mask`` in place; returns its id."""
        height, width = mask.shape
        index = int(rng.integers(len(self._drawings)))
        size = rng.uniform(*self.scale) * min(height, width)
        thickness = int(rng.integers(self.stroke_width[0], self.stroke_width[1] + 1))
        strokes = self._drawings[index]
        extent = np.max([s.max(axis=0) for s in strokes], axis=0) * size
        x0 = rng.uniform(min(0.0, width - 1 - extent[0]), max(0.0, width - 1 - extent[0]))
        y0 = rng.uniform(min(0.0, height - 1 - extent[1]), max(0.0, height - 1 - extent[1]))
        for stroke in strokes:
            points = np.round(stroke * size + (x0, y0)).astype(np.int32)
            if len(points) == 1:
                cv2.circle(mask, (int(points[0, 0]), int(points[0, 1])), max(1, thickness // 2), 1, thickness=-1)
            else:
                cv2.polylines(mask, [points], False, 1, thickness=thickness)
        return self._ids[index]

    def make_mask(self, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        if self._drawings is None:
            raise RuntimeError("QuickDrawMask.setup(assets_dir) must run before make_mask")
        index = None if self.bins is None else int(rng.integers(len(self.bins)))
        low = 0.0 if index is None else self.bins[index][0]
        tries = 0
        while tries < self.max_tries:
            mask = np.zeros((height, width), np.uint8)
            used = [self._stamp(mask, rng) for _ in range(int(rng.integers(self.drawings[0], self.drawings[1] + 1)))]
            tries += len(used)
            if index is None:
                return mask, {"drawings": used, "bin": None}
            ratio = hole_ratio(mask)
            while ratio < low and tries < self.max_tries:
                candidate = mask.copy()
                drawing = self._stamp(candidate, rng)
                tries += 1
                new_ratio = hole_ratio(candidate)
                if new_ratio < low or in_bin(new_ratio, self.bins, index):
                    mask, ratio = candidate, new_ratio
                    used.append(drawing)
            if in_bin(ratio, self.bins, index):
                return mask, {"drawings": used, "bin": list(self.bins[index]), "hole_ratio": ratio}
        raise SampleError(f"QuickDrawMask: no {height}x{width} mask in hole-ratio bin {list(self.bins[index])} after "
                          f"{self.max_tries} drawings; widen the bin, change scale/stroke_width or raise max_tries")
