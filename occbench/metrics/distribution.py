"""Dataset-level metrics: FID and KID on TF-Inception v3 pool3 features (2048-d).

One feature extractor is shared by every named feature set (e.g. ``"real"``, ``"raw"``, ``"composite"``).
The network is torchmetrics' :class:`NoTrainInceptionV3` (torch-fidelity's ``inception-v3-compat``, the FID
Inception) with torchmetrics' default resize to 299x299: bilinear with ``antialias=True``. That is the resize
``FrechetInceptionDistance()`` uses by default, so occbench's values equal torchmetrics' on the same images;
for images that are not 299x299 it differs slightly from torch-fidelity's TF1-compatible resize
(``antialias=False``). Inputs are float images in [0, 1], converted as torchmetrics does with
``normalize=True``: ``(images * 255).byte()`` (truncation, not rounding).

FID uses torchmetrics' formula (:func:`torchmetrics.image.fid._compute_fid`) on means and covariances
built from float64 running sums, so its memory does not grow with the number of images. KID needs the
features themselves (float32, 2048 x 4 bytes = 8 KB per image per set) and torchmetrics'
:func:`~torchmetrics.image.kid.poly_mmd` (cubic polynomial kernel) over random subsets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from occbench.compat import ensure_torchvision_importable
from occbench.errors import OccbenchError
from occbench.metrics import MIN_SAMPLES_FID  # noqa: F401 - re-exported for callers of this module
from occbench.weights import find_weights, sha256_file

FEATURE_DIM = 2048


class _FeatureSet:
    """Running statistics of one named set: float64 sums for FID and float32 features for KID."""

    def __init__(self, dim: int) -> None:
        self.count = 0
        self.sum = torch.zeros(dim, dtype=torch.float64)
        self.outer_sum = torch.zeros(dim, dim, dtype=torch.float64)
        self.chunks: list[np.ndarray] = []

    def add(self, features: Tensor) -> None:
        feats64 = features.detach().to("cpu", torch.float64)
        self.count += feats64.shape[0]
        self.sum += feats64.sum(dim=0)
        self.outer_sum += feats64.T @ feats64
        self.chunks.append(features.detach().to("cpu", torch.float32).numpy())

    def mean_cov(self) -> tuple[Tensor, Tensor]:
        """Mean (D,) and unbiased covariance (D, D), computed exactly as torchmetrics' FID does."""
        mean = (self.sum / self.count).unsqueeze(0)
        cov = (self.outer_sum - self.count * mean.T @ mean) / (self.count - 1)
        return mean.squeeze(0), cov

    def features(self) -> np.ndarray:
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks, axis=0)]
        return self.chunks[0]


class InceptionFeatureStats:
    """Named sets of Inception pool3 features with FID and KID between any two of them.

    Args:
        weights_dir: extra folder to search first for ``weights-inception-2015-12-05-6726825d.pth``
            (see :func:`occbench.weights.find_weights`); raises MissingWeightsError when not found.
        device: torch device that runs Inception; statistics are kept on the CPU.
        kid_subset_size: images per KID subset (torchmetrics' default 1000); ``min(kid_subset_size, n)``
            is used when a set is smaller.
        kid_subsets: number of KID subsets (torchmetrics' default 100).
        seed: seed of the numpy Generator that draws KID subsets (a fresh one per :meth:`kid` call,
            so repeated calls agree; global RNG is never used).
    """

    def __init__(self, weights_dir: str | Path | None = None, device: str | torch.device = "cpu",
                 kid_subset_size: int = 1000, kid_subsets: int = 100, seed: int = 0) -> None:
        if kid_subset_size < 2 or kid_subsets < 1:
            raise ValueError(f"Expected kid_subset_size >= 2 and kid_subsets >= 1, but got "
                             f"{kid_subset_size} and {kid_subsets}")
        self.weights_path = find_weights("inception", weights_dir)
        ensure_torchvision_importable()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.device = torch.device(device)
        self.model = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(FEATURE_DIM)],
                                        feature_extractor_weights_path=str(self.weights_path)).to(self.device)
        self.kid_subset_size = kid_subset_size
        self.kid_subsets = kid_subsets
        self.seed = seed
        self._sets: dict[str, _FeatureSet] = {}
        self._sha256: str | None = None

    @property
    def weights_sha256(self) -> str:
        """sha256 of the Inception weight file (hex, computed once on first access)."""
        if self._sha256 is None:
            self._sha256 = sha256_file(self.weights_path)
        return self._sha256

    @torch.no_grad()
    def update(self, set_name: str, images: Tensor) -> None:
        """Add a batch of float RGB images (B, 3, H, W) in [0, 1] to the set ``set_name``."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"Expected images of shape (B, 3, H, W), but got {tuple(images.shape)}")
        if not images.is_floating_point():
            raise ValueError(f"Expected float images in [0, 1], but got dtype {images.dtype}")
        if images.shape[0] == 0:
            return
        uint8 = (images * 255).byte().to(self.device)
        features = self.model(uint8)
        self._sets.setdefault(set_name, _FeatureSet(FEATURE_DIM)).add(features)

    def count(self, set_name: str) -> int:
        """Number of images added to ``set_name`` (0 for an unknown name)."""
        feature_set = self._sets.get(set_name)
        return feature_set.count if feature_set else 0

    def _get(self, set_name: str, minimum: int = 2) -> _FeatureSet:
        n = self.count(set_name)
        if n < minimum:
            raise OccbenchError(f"Expected at least {minimum} images in feature set '{set_name}', but got {n}"
                                f" (sets: {sorted(self._sets)})")
        return self._sets[set_name]

    def fid(self, real: str, fake: str) -> float:
        """Fréchet Inception Distance between two sets (>= 0, lower is better; unitless)."""
        ensure_torchvision_importable()
        from torchmetrics.image.fid import _compute_fid

        mean_real, cov_real = self._get(real).mean_cov()
        mean_fake, cov_fake = self._get(fake).mean_cov()
        return float(_compute_fid(mean_real, cov_real, mean_fake, cov_fake))

    def kid(self, real: str, fake: str) -> tuple[float, float]:
        """Kernel Inception Distance (mean, std over subsets; population std as torchmetrics; lower is better).

        Each subset draws ``min(kid_subset_size, n_real, n_fake)`` images without replacement from each set.
        The MMD is computed in float64 with torchmetrics' ``poly_mmd`` (degree 3, gamma 1/2048, coef 1).
        """
        ensure_torchvision_importable()
        from torchmetrics.image.kid import poly_mmd

        feats_real = torch.from_numpy(self._get(real).features()).double()
        feats_fake = torch.from_numpy(self._get(fake).features()).double()
        size = min(self.kid_subset_size, len(feats_real), len(feats_fake))
        rng = np.random.default_rng(self.seed)
        scores = []
        for _ in range(self.kid_subsets):
            idx_real = torch.from_numpy(rng.choice(len(feats_real), size=size, replace=False))
            idx_fake = torch.from_numpy(rng.choice(len(feats_fake), size=size, replace=False))
            scores.append(poly_mmd(feats_real[idx_real], feats_fake[idx_fake]))
        stacked = torch.stack(scores)
        return float(stacked.mean()), float(stacked.std(unbiased=False))
