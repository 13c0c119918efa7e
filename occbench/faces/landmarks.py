"""dlib 68-point landmarks (docs/conventions.md §2: 0–16 jaw, 17–26 brows, 27–30 nose bridge, 31–35 nostrils,
36–47 eyes, 48–67 mouth; "left" here is image left, the subject's right). Detection: :mod:`occbench.faces.detection`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import dlib
import numpy as np

from occbench.faces.dlib_models import SHAPE_PREDICTOR_68, model_path
from occbench.labels import FOREGROUND_CLASSES

JAW = slice(0, 17)
NOSE_BRIDGE = slice(27, 31)
NOSE_TIP = slice(30, 36)
EYES = slice(36, 48)
MOUTH = slice(48, 68)

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class FaceLandmarks:
    """One face: ``points`` (68, 2) float32 (x, y) in full-image pixels; ``box`` (x0, y0, x1, y1) ints, the
    detector's box in full-image pixels (x1, y1 exclusive; may extend past the image border); ``score`` the
    detector's score when known."""

    points: np.ndarray
    box: Box
    score: float | None = None

    def mapped(self, scale_x: float, scale_y: float, offset_x: float, offset_y: float) -> FaceLandmarks:
        """The face in another image's pixels: ``x' = x * scale_x + offset_x`` (likewise y), box rounded."""
        points = self.points * np.float32([scale_x, scale_y]) + np.float32([offset_x, offset_y])
        x0, y0, x1, y1 = self.box
        box = (round(x0 * scale_x + offset_x), round(y0 * scale_y + offset_y), round(x1 * scale_x + offset_x),
               round(y1 * scale_y + offset_y))
        return FaceLandmarks(points=points.astype(np.float32), box=box, score=self.score)

    @property
    def box_area(self) -> int:
        """Area of :attr:`box` in px²."""
        return max(0, self.box[2] - self.box[0]) * max(0, self.box[3] - self.box[1])

    @property
    def box_size(self) -> int:
        """Shorter side of :attr:`box` in px."""
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])


@functools.lru_cache(maxsize=1)
def _dlib_models() -> tuple[object, object]:
    """dlib's frontal face detector and 68-point predictor, loaded once per process (the file is 100 MB)."""
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(model_path(SHAPE_PREDICTOR_68)))


def face_box_from_label(label: np.ndarray | None) -> Box | None:
    """Bounding box (x0, y0, x1, y1; x1, y1 exclusive) of the CelebAMask-HQ face classes 1–13 in a label map,
    or None when there is no label or no face pixel."""
    if label is None:
        return None
    face = (label >= FOREGROUND_CLASSES[0]) & (label <= FOREGROUND_CLASSES[-1])
    rows = np.flatnonzero(face.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(face.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
