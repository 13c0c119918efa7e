"""A content-addressed cache of per-image results that depend on the reference (real) images only.

Every method scored on a dataset is compared with the same real images (the targets, and the targets with
pixels outside the hole zeroed), so their Inception features and their dlib face boxes and descriptors are
computed once and reused by later evaluations, as clean-fid keeps reference statistics. A cache entry is
keyed by the sha256 of everything that determines the result: the exact float32 pixels, the weight files'
sha256, the extractor's settings, the library versions and the device type (CPU and CUDA kernels differ in
the last bits). A changed image, weight file or library therefore never reuses a stale entry.

Location: :func:`occbench.cache.cache_root` (``$OCCBENCH_CACHE``, else ``~/.cache/occbench``), under
``features/``; each entry is one small ``.npy`` file (8 KB for an Inception feature vector). Delete the
folder to clear it; ``evaluate --no-feature-cache`` neither reads nor writes it. An unwritable cache is
skipped silently (it only costs time).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from occbench.cache import cache_root


class FeatureCache:
    """Per-image feature vectors keyed by image content plus a namespace (extractor identity).

    ``namespace``: a string naming everything about the extractor that changes its output (weights sha256,
    settings, torch version, device type).
    """

    def __init__(self, namespace: str, root: Path | None = None) -> None:
        self.folder = (root or cache_root()) / "features"
        self.namespace = namespace.encode()
        self.hits = 0
        self.misses = 0

    def keys(self, images: torch.Tensor) -> list[str]:
        """One key per image of a ``(B, C, H, W)`` float tensor: sha256 of namespace, shape and float32 bytes."""
        array = images.detach().to("cpu", torch.float32).contiguous().numpy()
        keys = []
        for image in array:
            digest = hashlib.sha256(self.namespace)
            digest.update(repr(image.shape).encode())
            digest.update(image.tobytes())
            keys.append(digest.hexdigest())
        return keys

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        try:
            value = np.load(self._path(key), allow_pickle=False)
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, features: np.ndarray) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as handle:
                np.save(handle, np.ascontiguousarray(features), allow_pickle=False)
            tmp.replace(path)
        except OSError:
            pass


def cached_features(cache: FeatureCache | None, images: torch.Tensor, extract) -> np.ndarray:
    """Features ``(B, D)`` of ``images``: cached rows are read, the others computed in one ``extract`` call."""
    if cache is None:
        return extract(images)
    keys = cache.keys(images)
    found = [cache.get(key) for key in keys]
    todo = [i for i, value in enumerate(found) if value is None]
    if todo:
        fresh = extract(images[todo])
        for i, row in zip(todo, fresh):
            cache.put(keys[i], row)
            found[i] = row
    return np.stack(found)
