"""Dataset-level metrics: FID and KID on TF-Inception v3 pool3 features (2048-d).

One feature extractor is shared by every named feature set (e.g. ``"real/whole"``, ``"raw/whole"``).
The network is torchmetrics' :class:`NoTrainInceptionV3` (torch-fidelity's ``inception-v3-compat``, the FID
Inception) with torchmetrics' default resize to 299x299: bilinear with ``antialias=True``. That is the resize
``FrechetInceptionDistance()`` uses by default, so occbench's values equal torchmetrics' on the same images;
for images that are not 299x299 it differs slightly from torch-fidelity's TF1-compatible resize
(``antialias=False``). Inputs are float images in [0, 1], converted as torchmetrics does with
``normalize=True``: ``(images * 255).byte()`` (truncation, not rounding). The network runs with
channels-last weights (about 2x faster on CPU; features agree with the default layout to ~1e-5).

FID is ``|mu_r - mu_f|^2 + tr(C_r) + tr(C_f) - 2 tr sqrt(C_r C_f)`` in float64. The trace of the matrix
square root is computed as the reference implementations do, from symmetric problems only (never the
general eigenvalue problem torchmetrics solves, which costs seconds per value):

- fewer images than feature dimensions (``min(n_r, n_f) < 2048``): the non-zero eigenvalues of ``C_r C_f``
  are the squared singular values of ``A_r A_f^T / sqrt((n_r - 1)(n_f - 1))`` (``A`` = centred features), so
  the trace is that small matrix's nuclear norm — exact, and milliseconds;
- otherwise: ``S = sqrt(C_r)`` by a symmetric eigendecomposition (once per real set, reused for every fake
  set), then ``tr sqrt(S C_f S)`` from ``eigvalsh`` (LAPACK through numpy).

The features are kept as float32 (8 KB per image per set: memory grows by that much per image); means and
centred covariances are computed from them in float64 when a value is asked for. KID is torchmetrics'
:func:`~torchmetrics.image.kid.poly_mmd` (cubic polynomial kernel) over random subsets.

:class:`InceptionMetrics` is the back end the ``fid`` and ``kid`` records name: feature sets ``real/<region>``
(the targets, once per image) and ``<mode>/<region>`` (each output mode) for the regions ``whole`` and
``zero_outside``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from occbench.compat import ensure_torchvision_importable
from occbench.distributed import Dist, gather_objects, gather_rows
from occbench.errors import OccbenchError
from occbench.metrics import MIN_SAMPLES_FID, get_metric  # noqa: F401 - MIN_SAMPLES_FID re-exported for callers
from occbench.metrics.base import MetricBackend, MetricSettings, Values
from occbench.metrics.feature_cache import FeatureCache, cached_features
from occbench.weights import KNOWN, find_weights, load_state_dict, verify_weights

FEATURE_DIM = 2048
DISTRIBUTION_REGIONS = ("whole", "zero_outside")  # regions FID and KID are computed on (whole images compared)


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues clipped to 0)."""
    values, vectors = np.linalg.eigh(cov)
    return (vectors * np.sqrt(values.clip(min=0.0))) @ vectors.T


def trace_sqrt_product(cov_real: np.ndarray, cov_fake: np.ndarray, sqrt_real: np.ndarray | None = None) -> float:
    """``tr sqrt(C_r C_f)`` of symmetric PSD covariances (float64): ``eigvalsh(S C_f S)`` with ``S = sqrt(C_r)``."""
    s = _sqrt_psd(cov_real) if sqrt_real is None else sqrt_real
    product = s @ cov_fake @ s
    return float(np.sqrt(np.linalg.eigvalsh((product + product.T) / 2).clip(min=0.0)).sum())


def frechet_distance(mean_real: np.ndarray, cov_real: np.ndarray, mean_fake: np.ndarray, cov_fake: np.ndarray,
                     sqrt_real: np.ndarray | None = None) -> float:
    """FID from means ``(D,)`` and covariances ``(D, D)`` (float64). ``sqrt_real``: precomputed ``sqrt(C_r)``."""
    diff = mean_real - mean_fake
    return float(diff @ diff + np.trace(cov_real) + np.trace(cov_fake)
                 - 2 * trace_sqrt_product(cov_real, cov_fake, sqrt_real))


def frechet_distance_features(real: np.ndarray, fake: np.ndarray) -> float:
    """FID from the features ``(n_r, D)``, ``(n_f, D)`` themselves, exact and cheap when ``min(n_r, n_f) < D``.

    Uses the unbiased covariance (``n - 1``), as torchmetrics and torch-fidelity do.
    """
    a = real.astype(np.float64) - real.mean(0, dtype=np.float64)
    b = fake.astype(np.float64) - fake.mean(0, dtype=np.float64)
    scale = (len(a) - 1) * (len(b) - 1)
    nuclear = np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt(scale)
    diff = real.mean(0, dtype=np.float64) - fake.mean(0, dtype=np.float64)
    return float(diff @ diff + (a * a).sum() / (len(a) - 1) + (b * b).sum() / (len(b) - 1) - 2 * nuclear)


class _FeatureSet:
    """The float32 features of one named set, and the cached square root of its covariance."""

    def __init__(self) -> None:
        self.count = 0
        self.chunks: list[np.ndarray] = []
        self.sqrt_cov: np.ndarray | None = None  # cached sqrt of the covariance (when used as the real set)
        self._moments: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, features: np.ndarray) -> None:
        self.count += len(features)
        self.chunks.append(features.astype(np.float32))
        self.sqrt_cov = self._moments = None

    def features(self) -> np.ndarray:
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks, axis=0)]
        return self.chunks[0]

    def mean_cov(self, rows: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Mean (D,) and unbiased covariance (D, D) in float64, centred and accumulated ``rows`` at a time
        (computed once per set)."""
        if self._moments is None:
            self._moments = self._mean_cov(rows)
        return self._moments

    def _mean_cov(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        feats = self.features()
        mean = feats.mean(0, dtype=np.float64)
        cov = np.zeros((feats.shape[1],) * 2, dtype=np.float64)
        for start in range(0, len(feats), rows):
            block = feats[start:start + rows].astype(np.float64) - mean
            cov += block.T @ block
        return mean, cov / (len(feats) - 1)


class InceptionFeatureStats:
    """Named sets of Inception pool3 features with FID and KID between any two of them.

    Args:
        weights_dir: extra folder to search first for ``weights-inception-2015-12-05-6726825d.pth``
            (see :func:`occbench.weights.find_weights`); raises MissingWeightsError when not found.
        device: torch device that runs Inception; statistics are kept on the CPU.
        kid_subset_size: images per KID subset (torchmetrics' default 1000); half the smaller set is used
            when a set has fewer images (see :meth:`kid_subset_size_for`).
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
        load_state_dict(self.weights_path)  # torch-fidelity unpickles it with weights_only=False: tensors only
        ensure_torchvision_importable()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.device = torch.device(device)
        self.model = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(FEATURE_DIM)],
                                        feature_extractor_weights_path=str(self.weights_path))
        self.model = self.model.to(self.device, memory_format=torch.channels_last)
        self.kid_subset_size = kid_subset_size
        self.kid_subsets = kid_subsets
        self.seed = seed
        self._sets: dict[str, _FeatureSet] = {}

    @property
    def weights_sha256(self) -> str:
        """sha256 of the Inception weight file (hex; checked when the file was found)."""
        return verify_weights(self.weights_path, KNOWN["inception"])

    @torch.no_grad()
    def features(self, images: Tensor) -> np.ndarray:
        """Pool3 features ``(B, 2048)`` float32 of float RGB images ``(B, 3, H, W)`` in [0, 1]."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"Expected images of shape (B, 3, H, W), but got {tuple(images.shape)}")
        if not images.is_floating_point():
            raise ValueError(f"Expected float images in [0, 1], but got dtype {images.dtype}")
        if images.shape[0] == 0:
            return np.zeros((0, FEATURE_DIM), dtype=np.float32)
        uint8 = (images * 255).byte().to(self.device)
        return self.model(uint8).to("cpu", torch.float32).numpy()

    def add(self, set_name: str, features: np.ndarray) -> None:
        """Add precomputed features ``(B, 2048)`` (from :meth:`features`) to the set ``set_name``."""
        if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
            raise ValueError(f"Expected features of shape (B, {FEATURE_DIM}), but got {tuple(features.shape)}")
        if len(features):
            self._sets.setdefault(set_name, _FeatureSet()).add(features)

    def update(self, set_name: str, images: Tensor) -> None:
        """Add a batch of float RGB images (B, 3, H, W) in [0, 1] to the set ``set_name``."""
        self.add(set_name, self.features(images))

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

    def gather(self, ddp: Dist) -> None:
        """Under ``torchrun``: every set becomes the concatenation, in rank order, of all processes' features of
        that name (torchmetrics' gather; collective). With blocks of whole batches per process
        (:func:`~occbench.distributed.shard_batches`) the sets hold the single-process features in the
        single-process order, so FID and KID (whose subsets index into that order) come out the same."""
        if not ddp.active:
            return
        names = sorted(set().union(*gather_objects(sorted(self._sets), ddp)))
        for name in names:
            local = self._sets.get(name)
            features = local.features() if local is not None else np.zeros((0, FEATURE_DIM), dtype=np.float32)
            merged = _FeatureSet()
            merged.add(gather_rows(torch.from_numpy(features), ddp).numpy())
            self._sets[name] = merged

    def same_features(self, a: str, b: str) -> bool:
        """Whether two sets hold exactly the same features (then every distance to a third set is the same)."""
        first, second = self._get(a), self._get(b)
        return first.count == second.count and np.array_equal(first.features(), second.features())

    def fid(self, real: str, fake: str) -> float:
        """Fréchet Inception Distance between two sets (>= 0 up to rounding, lower is better; unitless)."""
        real_set, fake_set = self._get(real), self._get(fake)
        if min(real_set.count, fake_set.count) < FEATURE_DIM:
            return frechet_distance_features(real_set.features(), fake_set.features())
        mean_real, cov_real = real_set.mean_cov()
        mean_fake, cov_fake = fake_set.mean_cov()
        if real_set.sqrt_cov is None:
            real_set.sqrt_cov = _sqrt_psd(cov_real)
        return frechet_distance(mean_real, cov_real, mean_fake, cov_fake, sqrt_real=real_set.sqrt_cov)

    def kid_subset_size_for(self, real: str, fake: str) -> int:
        """Images per KID subset: ``kid_subset_size``, or half the smaller set when a set has fewer images
        (subsets of a whole set would all be the same draw, and their standard deviation a rounding error)."""
        smallest = min(self.count(real), self.count(fake))
        return self.kid_subset_size if smallest >= self.kid_subset_size else max(2, smallest // 2)

    def kid(self, real: str, fake: str) -> tuple[float, float]:
        """Kernel Inception Distance (mean, std over subsets; population std as torchmetrics; lower is better).

        Each subset draws :meth:`kid_subset_size_for` images without replacement from each set.
        The MMD is computed in float64 with torchmetrics' ``poly_mmd`` (degree 3, gamma 1/2048, coef 1).
        """
        ensure_torchvision_importable()
        from torchmetrics.image.kid import poly_mmd

        feats_real = torch.from_numpy(self._get(real).features()).double()
        feats_fake = torch.from_numpy(self._get(fake).features()).double()
        size = self.kid_subset_size_for(real, fake)
        rng = np.random.default_rng(self.seed)
        scores = []
        for _ in range(self.kid_subsets):
            idx_real = torch.from_numpy(rng.choice(len(feats_real), size=size, replace=False))
            idx_fake = torch.from_numpy(rng.choice(len(feats_fake), size=size, replace=False))
            scores.append(poly_mmd(feats_real[idx_real], feats_fake[idx_fake]))
        stacked = torch.stack(scores)
        return float(stacked.mean()), float(stacked.std(unbiased=False))


class InceptionMetrics(MetricBackend):
    """Back end of ``fid`` and ``kid``: per-image Inception features, accumulated per output mode and region.

    The real images' features come from :meth:`prepare` (once per sample, cached across evaluations with
    ``feature_cache``); a composite set equal to its raw set (every output already was its composite) reuses
    the raw values.
    """

    dataset_level = True

    def __init__(self, metrics: Sequence[str], settings: MetricSettings) -> None:
        super().__init__(metrics, settings)
        self.stats = InceptionFeatureStats(weights_dir=settings.weights_dir, device=settings.device,
                                           kid_subset_size=settings.kid_subset_size)
        self.weights_used = {"inception": {"path": str(self.stats.weights_path), "sha256": self.stats.weights_sha256}}
        self.cache = None
        if settings.feature_cache:
            device_type = torch.device(settings.device).type
            self.cache = FeatureCache(f"inception-v3-compat/pool3/resize-bilinear-antialias/channels-last/"
                                      f"{self.stats.weights_sha256}/torch-{torch.__version__}/{device_type}")
        self.regions: list[str] = []  # regions with a real set, in order of first use
        self._noted: set[str] = set()

    def prepare(self, target: Tensor, mask: Tensor, fg: Tensor | None, *, regions: Sequence[str]) -> list | None:
        for region in (r for r in DISTRIBUTION_REGIONS if r in regions):
            if region not in self.regions:
                self.regions.append(region)
            images = target if region == "whole" else target * mask
            self.stats.add(f"real/{region}", cached_features(self.cache, images, self.stats.features))
        return None

    def per_image(self, pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None, *, regions: Sequence[str],
                  weights: Mapping[str, Tensor], prepared: list | None) -> Values:
        """``{("inception", region): (B, 2048) float32}`` features of ``pred`` (× mask for ``zero_outside``)."""
        return {("inception", region): torch.from_numpy(self.stats.features(pred if region == "whole" else pred * mask))
                for region in DISTRIBUTION_REGIONS if region in regions}

    def add(self, mode: str, values: Values) -> None:
        for (_, region), features in values.items():
            self.stats.add(f"{mode}/{region}", features.numpy())

    def cache_stats(self) -> dict[str, dict[str, int]]:
        return {} if self.cache is None else {"inception": {"hits": self.cache.hits, "misses": self.cache.misses}}

    def gather(self, ddp: Dist) -> None:
        regions = gather_objects(self.regions, ddp)
        self.regions = list(dict.fromkeys(r for part in regions for r in part))
        self.stats.gather(ddp)

    def compute(self, modes: Sequence[str]) -> list[dict[str, Any]]:
        """FID/KID rows per mode and region (value None, with a warning, below 2 samples)."""
        rows: list[dict[str, Any]] = []
        better = {name: get_metric(name).better for name in self.metrics}
        for mode in modes:
            for region in self.regions:
                real, fake = f"real/{region}", f"{mode}/{region}"
                count = self.stats.count(fake)
                if mode == "composite" and count >= 2 and "raw" in modes and \
                        self.stats.same_features(fake, f"raw/{region}"):  # every composite was its raw output
                    rows += [{**row, "mode": mode} for row in rows if row["region"] == region and row["mode"] == "raw"]
                    continue
                if count < 2:  # a covariance needs two samples
                    self.warnings.append(f"FID/KID ({mode}, {region}) need at least 2 samples, got {count}: "
                                         "not computed")
                    rows += [{"metric": m, "region": region, "mode": mode, "value": None, "std": None, "count": count,
                              "better": better[m]} for m in ("fid", "kid") if m in self.metrics]
                    continue
                if "fid" in self.metrics:
                    rows.append({"metric": "fid", "region": region, "mode": mode,
                                 "value": _finite_or_none(self.stats.fid(real, fake)), "std": None, "count": count,
                                 "better": better["fid"]})
                if "kid" in self.metrics:
                    rows.append(self._kid_row(real, fake, region, mode, count, better["kid"]))
        return rows

    def _kid_row(self, real: str, fake: str, region: str, mode: str, count: int, better: str) -> dict[str, Any]:
        mean, std = self.stats.kid(real, fake)
        size = self.stats.kid_subset_size_for(real, fake)
        if size < self.settings.kid_subset_size and f"kid-subsets-{size}" not in self._noted:
            self._noted.add(f"kid-subsets-{size}")
            self.warnings.append(f"KID uses subsets of {size} images (half of the {count} available, fewer than the "
                                 f"standard {self.settings.kid_subset_size}); its std is over those subsets")
        return {"metric": "kid", "region": region, "mode": mode, "value": _finite_or_none(mean),
                "std": _finite_or_none(std), "count": count, "subset_size": size, "better": better}


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
