"""The scorer shares work between output modes and metrics; every shared value must equal the value computed
without sharing. Also: the feature cache, background prefetching and device selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from occbench.errors import OccbenchError
from occbench.evaluate.scoring import Scorer, ScoreSettings, composite
from occbench.metrics.base import MetricBackend
from occbench.metrics.distribution import InceptionMetrics
from occbench.metrics.feature_cache import FeatureCache, cached_features
from occbench.metrics.pixel import pixel_scores
from occbench.metrics.regions import REGIONS, boundary_band
from occbench.prefetch import prefetch

PIXEL = ("psnr", "ssim", "ms_ssim", "rmse", "mae", "mse", "l1")


class RecordingInception:
    """Stands in for InceptionFeatureStats: 'features' are fixed pixel statistics; sets are recorded."""

    weights_sha256 = "0" * 64

    def __init__(self) -> None:
        self.sets: dict[str, list[np.ndarray]] = {}
        self.calls = 0

    def features(self, images: torch.Tensor) -> np.ndarray:
        self.calls += len(images)
        pooled = torch.nn.functional.adaptive_avg_pool2d(images, 4).flatten(1)  # (B, 48)
        return pooled.double().numpy()

    def add(self, name: str, features: np.ndarray) -> None:
        self.sets.setdefault(name, []).append(features)


def _batch(size: int = 192, seed: int = 0):
    """4 samples; 0 and 1 copy the known pixels (pred == composite), 2 and 3 change them too."""
    gen = torch.Generator().manual_seed(seed)
    target = torch.rand(4, 3, size, size, generator=gen)
    mask = torch.zeros(4, 1, size, size)
    mask[:, :, 40:120, 48:160] = 1
    mask[1, :, 2:30, 2:30] = 1
    pred = torch.rand(4, 3, size, size, generator=gen)
    pred[:2] = composite(pred[:2], target[:2], mask[:2])
    fg = (torch.rand(4, 1, size, size, generator=gen) > 0.4).float()
    return pred, target, mask, fg


def _scorer(metrics=PIXEL, modes=("raw", "composite")) -> Scorer:
    return Scorer(ScoreSettings(metrics=metrics, modes=modes, explicit=True, feature_cache=False))


def test_shared_composite_scores_equal_direct_scores():
    pred, target, mask, fg = _batch()
    scorer = _scorer()
    scores = scorer.score_batch(pred, target, mask, fg)
    assert scorer.raw_equals_composite == 2
    for mode, images in (("raw", pred), ("composite", composite(pred, target, mask))):
        direct = pixel_scores(images, target, mask, fg, metrics=PIXEL, regions=REGIONS)
        for (metric, region), values in direct.items():
            torch.testing.assert_close(scores[(metric, region, mode)], values, rtol=0, atol=0, equal_nan=True,
                                       msg=f"{metric} {region} {mode}")


def test_composite_only_mode_scores_the_composite():
    pred, target, mask, fg = _batch(seed=1)
    scores = _scorer(modes=("composite",)).score_batch(pred, target, mask, fg)
    direct = pixel_scores(composite(pred, target, mask), target, mask, fg, metrics=PIXEL, regions=REGIONS)
    assert {k[2] for k in scores} == {"composite"}
    for (metric, region), values in direct.items():
        torch.testing.assert_close(scores[(metric, region, "composite")], values, rtol=0, atol=0, equal_nan=True)


def test_inception_runs_once_per_distinct_image_and_sets_are_complete():
    pred, target, mask, fg = _batch(seed=2)
    scorer = _scorer(metrics=("psnr",))
    stub = RecordingInception()
    backend = InceptionMetrics.__new__(InceptionMetrics)  # the back end without the network
    MetricBackend.__init__(backend, ("fid",), scorer.settings)
    backend.stats, backend.cache, backend.regions, backend._noted = stub, None, [], set()
    scorer.backends.append(backend)
    scorer.score_batch(pred, target, mask, fg)
    m = mask
    comp = composite(pred, target, m)
    expected = {"real/whole": target, "real/zero_outside": target * m, "raw/whole": pred,
                "raw/zero_outside": pred * m, "composite/whole": comp, "composite/zero_outside": comp * m}
    for name, images in expected.items():
        assert np.array_equal(np.concatenate(stub.sets[name]), stub.features(images)), name
    # real ×2, raw ×2, composite whole only for the 2 samples whose composite differs: 4+4+4+4+2
    assert stub.calls - 6 * 4 == 18


def test_boundary_band_equals_two_dimensional_pooling():
    mask = (torch.rand(3, 1, 40, 52, generator=torch.Generator().manual_seed(3)) > 0.7).float()
    for k in (0, 1, 3, 8):
        if k == 0:
            assert not boundary_band(mask, 0).any()
            continue
        size = 2 * k + 1
        dilated = torch.nn.functional.max_pool2d(mask, size, stride=1, padding=k)
        eroded = 1 - torch.nn.functional.max_pool2d(1 - mask, size, stride=1, padding=k)
        assert torch.equal(boundary_band(mask, k), dilated - eroded)


def test_feature_cache_reuses_rows_keyed_by_content(tmp_path):
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    stub = RecordingInception()
    cache = FeatureCache("ns-a", root=tmp_path)
    first = cached_features(cache, images, stub.features)
    assert stub.calls == 3 and cache.misses == 3
    again = cached_features(FeatureCache("ns-a", root=tmp_path), images, stub.features)
    assert stub.calls == 3 and np.array_equal(first, again)
    changed = images.clone()
    changed[1, 0, 0, 0] += 1e-3  # one pixel of one image: only that row is recomputed
    cached_features(FeatureCache("ns-a", root=tmp_path), changed, stub.features)
    assert stub.calls == 4
    cached_features(FeatureCache("ns-b", root=tmp_path), images, stub.features)  # other weights/settings
    assert stub.calls == 7
    assert cached_features(None, images, stub.features).shape == (3, 48) and stub.calls == 10


def test_prefetch_keeps_order_and_reraises_where_it_happened():
    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))

    def failing():
        yield 1
        yield 2
        raise ValueError("bad sample 3")

    got = []
    with pytest.raises(ValueError, match="bad sample 3"):
        for item in prefetch(failing()):
            got.append(item)
    assert got == [1, 2]
    stream = prefetch(iter(range(1000)), depth=2)
    assert next(stream) == 0
    stream.close()  # stopping early does not hang on the producer


def test_device_resolution_without_cuda(monkeypatch):
    from occbench.devices import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    for name in ("cuda", "cuda:1"):
        with pytest.raises(OccbenchError, match=rf"--device {name}: CUDA is not available"):
            resolve_device(name)
