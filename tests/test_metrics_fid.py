"""FID / KID: occbench's streaming statistics against torchmetrics on the same real images.

Uses the offline FID Inception file from ../shared/weights (skips when absent). Inception runs on the CPU at
~0.3 s per image here, so the sets are small (16 CelebA-HQ faces vs 16 COCO images at 128 px); the values are
only there to compare implementations, not to be meaningful FIDs.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import shared_path
from PIL import Image

from occbench.compat import ensure_torchvision_importable
from occbench.errors import OccbenchError
from occbench.metrics.distribution import (
    MIN_SAMPLES_FID,
    InceptionFeatureStats,
    _FeatureSet,
    frechet_distance,
    frechet_distance_features,
)
from occbench.weights import MissingWeightsError

ensure_torchvision_importable()  # before torchmetrics is imported in the tests below

WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_SHA256 = "ffcd0de280400bafa7dbdec1ce33e99b089b03f38f8977875724c1bf5a21a8a0"  # shared/weights/README.md
N, SIZE = 16, 128
GOLDEN_FID = 380.97795  # occbench == torchmetrics on these 16 vs 16 images (PIL bicubic to 128 px)


def _load(folder: Path, n: int = N, size: int = SIZE) -> torch.Tensor:
    files = sorted(folder.glob("*.jpg"))[:n]
    arrays = [np.asarray(Image.open(f).convert("RGB").resize((size, size), Image.BICUBIC)) for f in files]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255


@pytest.fixture(scope="module")
def weights_file() -> Path:
    return shared_path("weights", WEIGHTS_NAME)


@pytest.fixture(scope="module")
def images() -> dict[str, torch.Tensor]:
    return {"faces": _load(shared_path("assets", "celeba_hq_faces_sean")),
            "coco": _load(shared_path("assets", "coco128_seg", "images", "train2017"))}


@pytest.fixture(scope="module")
def stats(weights_file: Path, images: dict[str, torch.Tensor]) -> InceptionFeatureStats:
    """Both sets added in one batch each; KID with one subset of all 16 images (deterministic)."""
    feature_stats = InceptionFeatureStats(weights_dir=weights_file.parent, kid_subset_size=N, kid_subsets=1)
    for name, batch in images.items():
        feature_stats.update(name, batch)
    return feature_stats


@pytest.fixture(scope="module")
def fid_value(stats: InceptionFeatureStats) -> float:
    return stats.fid("faces", "coco")


def test_min_samples_constant():
    assert MIN_SAMPLES_FID == 2048


def test_frechet_distance_closed_form():
    """Diagonal covariances: FID = |mu_r - mu_f|^2 + sum(a + b - 2 sqrt(a b)), a golden that needs no network."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 2.0, 64), rng.uniform(0.1, 2.0, 64)
    mu_r, mu_f = rng.normal(size=64), rng.normal(size=64)
    expected = float(((mu_r - mu_f) ** 2).sum() + (a + b - 2 * np.sqrt(a * b)).sum())
    assert frechet_distance(mu_r, np.diag(a), mu_f, np.diag(b)) == pytest.approx(expected, rel=1e-12)
    rotation, _ = np.linalg.qr(rng.normal(size=(64, 64)))  # the distance does not depend on the basis
    rotated = frechet_distance(rotation @ mu_r, rotation @ np.diag(a) @ rotation.T, rotation @ mu_f,
                               rotation @ np.diag(b) @ rotation.T)
    assert rotated == pytest.approx(expected, rel=1e-9)


def _features(n: int, shift: float, seed: int, dim: int = 2048) -> np.ndarray:
    """Inception-like features: non-negative, correlated, float32."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(64, dim)) / 8
    return np.maximum(rng.normal(size=(n, 64)) @ mixing + shift, 0).astype(np.float32)


@pytest.mark.parametrize("n_real, n_fake", [(40, 24), (300, 300)])
def test_fid_routes_equal_torchmetrics_on_the_same_features(n_real: int, n_fake: int):
    """Fewer images than dimensions: the exact small-set route, the symmetric route and torchmetrics agree.

    torchmetrics takes the general eigenvalues of the rank-deficient product C_r C_f: ~2000 of them are rounding
    noise around 0 whose square roots add a few 1e-4 in absolute terms (relative ~2e-7), and the symmetric
    route's near-zero eigenvalues carry less of the same noise; the small-set route (used below 2048 images) is
    exact, so agreement is checked relatively."""
    from torchmetrics.image.fid import _compute_fid

    real, fake = _FeatureSet(), _FeatureSet()
    real.add(_features(n_real, 0.1, 1))
    fake.add(_features(n_fake, 0.3, 2))
    (mu_r, cov_r), (mu_f, cov_f) = real.mean_cov(), fake.mean_cov()
    reference = float(_compute_fid(*(torch.from_numpy(x) for x in (mu_r, cov_r, mu_f, cov_f))))
    small = frechet_distance_features(real.features(), fake.features())
    symmetric = frechet_distance(mu_r, cov_r, mu_f, cov_f)
    assert small == pytest.approx(reference, rel=1e-6)
    assert symmetric == pytest.approx(small, rel=1e-7)  # its near-zero eigenvalues carry rounding noise too
    assert frechet_distance_features(real.features(), real.features()) == pytest.approx(0, abs=1e-9)


@pytest.mark.slow
def test_fid_symmetric_route_equals_torchmetrics_above_feature_dimension():
    """n >= 2048 (the comparable regime): eigh on sqrt(C_r) C_f sqrt(C_r) equals torchmetrics' eigvals."""
    from torchmetrics.image.fid import _compute_fid

    stats = InceptionFeatureStats.__new__(InceptionFeatureStats)  # the statistics part only, no network
    stats._sets = {}
    stats.add("real", _features(2100, 0.1, 3))
    stats.add("fake", _features(2100, 0.2, 4))
    reference = float(_compute_fid(*(torch.from_numpy(x) for x in (*stats._sets["real"].mean_cov(),
                                                                    *stats._sets["fake"].mean_cov()))))
    assert stats.fid("real", "fake") == pytest.approx(reference, abs=1e-4)
    assert stats._sets["real"].sqrt_cov is not None  # kept for the next fake set


@pytest.mark.slow
def test_count_and_weights_provenance(stats: InceptionFeatureStats, weights_file: Path):
    assert stats.count("faces") == N and stats.count("coco") == N and stats.count("unknown") == 0
    assert stats.weights_path == weights_file
    assert stats.weights_sha256 == WEIGHTS_SHA256


@pytest.mark.slow
def test_fid_matches_torchmetrics(stats: InceptionFeatureStats, fid_value: float, weights_file: Path,
                                  images: dict[str, torch.Tensor]):
    from torchmetrics.image.fid import FrechetInceptionDistance

    reference = FrechetInceptionDistance(feature=2048, normalize=True, feature_extractor_weights_path=str(weights_file))
    reference.update(images["faces"], real=True)
    reference.update(images["coco"], real=False)
    expected = float(reference.compute())
    assert fid_value == pytest.approx(expected, rel=1e-5)  # observed 3e-8 (torchmetrics returns float32)
    assert fid_value == pytest.approx(GOLDEN_FID, rel=1e-4)


@pytest.mark.slow
def test_fid_identical_sets_is_zero(stats: InceptionFeatureStats):
    assert abs(stats.fid("faces", "faces")) < 1e-3  # observed -1.9e-4 (eigvals of a rank-15 product)


@pytest.mark.slow
def test_fid_independent_of_batch_size(weights_file: Path, images: dict[str, torch.Tensor], fid_value: float):
    batched = InceptionFeatureStats(weights_dir=weights_file.parent)
    for start in range(0, N, 3):
        batched.update("faces", images["faces"][start:start + 3])
    for start in range(0, N, 8):
        batched.update("coco", images["coco"][start:start + 8])
    assert batched.count("faces") == N
    assert batched.fid("faces", "coco") == pytest.approx(fid_value, rel=1e-6)  # observed 1.5e-9


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_kid_matches_torchmetrics(stats: InceptionFeatureStats, weights_file: Path, images: dict[str, torch.Tensor],
                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from torchmetrics.image.kid import KernelInceptionDistance

    # KernelInceptionDistance takes no weights path: it loads from the torch hub cache, so point one at the file.
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    os.symlink(weights_file, checkpoints / WEIGHTS_NAME)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reference = KernelInceptionDistance(subsets=1, subset_size=N, normalize=True)
    reference.update(images["faces"], real=True)
    reference.update(images["coco"], real=False)
    expected_mean, expected_std = (float(v) for v in reference.compute())
    mean, std = stats.kid("faces", "coco")  # one subset of all 16: the same sample up to order
    assert mean == pytest.approx(expected_mean, rel=1e-5)  # observed 1.1e-6: torchmetrics sums in float32
    assert std == expected_std == 0.0
    assert mean > 0.1  # faces vs everyday COCO scenes are far apart (observed 0.193)


@pytest.mark.slow
def test_kid_subsets_are_seeded(stats: InceptionFeatureStats):
    sampled = copy.copy(stats)  # shares the features; only the KID settings change
    sampled.kid_subset_size, sampled.kid_subsets = 8, 10
    first = sampled.kid("faces", "coco")
    assert sampled.kid("faces", "coco") == first  # a fresh Generator per call: repeatable
    assert first[1] > 0  # different subsets give different values
    sampled.seed = 1
    assert sampled.kid("faces", "coco") != first
    assert sampled.kid("faces", "faces")[0] < first[0] / 3  # same distribution: far smaller


@pytest.mark.slow
def test_bad_inputs_and_small_sets(stats: InceptionFeatureStats):
    with pytest.raises(ValueError, match=r"Expected images of shape \(B, 3, H, W\)"):
        stats.update("x", torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="Expected float images"):
        stats.update("x", torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(OccbenchError, match="Expected at least 2 images in feature set 'missing', but got 0"):
        stats.fid("faces", "missing")
    with pytest.raises(OccbenchError, match="'missing'"):
        stats.kid("missing", "faces")


def test_missing_weights_error_names_file_and_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    env_dir, hub_home, given = tmp_path / "env", tmp_path / "torch_home", tmp_path / "given"
    for folder in (env_dir, hub_home, given):
        folder.mkdir()
    monkeypatch.setenv("OCCBENCH_WEIGHTS", str(env_dir))
    monkeypatch.setenv("TORCH_HOME", str(hub_home))
    with pytest.raises(MissingWeightsError) as info:
        InceptionFeatureStats(weights_dir=given)
    message = str(info.value)
    assert WEIGHTS_NAME in message and "MB" in message
    for folder in (given, env_dir, hub_home / "hub" / "checkpoints"):
        assert str(folder) in message
