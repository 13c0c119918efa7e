"""Pixel metrics per region: against torchmetrics and scikit-image on real faces, region invariants, units."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from occbench.compat import ensure_torchvision_importable

ensure_torchvision_importable()

import torch  # noqa: E402
import torchmetrics.functional.image as tmf  # noqa: E402
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity  # noqa: E402

from occbench.evaluate.aggregate import StreamingAggregates  # noqa: E402
from occbench.metrics import get_metric  # noqa: E402
from occbench.metrics.pixel import PIXEL_METRICS, _ssim_maps, pixel_scores  # noqa: E402
from occbench.metrics.regions import REGIONS, boundary_band, region_weights, zero_outside  # noqa: E402

MASK_IDS = ("04000", "05010", "08020", "02030")  # NVIDIA irregular masks, 10-50 % hole


@lru_cache(maxsize=8)
def _load(root: str, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets (N, H, W, 3) float32 in [0, 1], fg (N, H, W) 0/1 (classes 1-13), masks (N, H, W) 0/1."""
    base = Path(root)
    images, fgs, masks = [], [], []
    for i, mask_id in enumerate(MASK_IDS):
        bgr = cv2.imread(str(base / "celebamask_hq_samples" / "images" / f"{i}.jpg"), cv2.IMREAD_COLOR)
        rgb = cv2.resize(bgr[..., ::-1], (size, size), interpolation=cv2.INTER_AREA)
        images.append(rgb.astype(np.float32) / 255.0)
        label = cv2.imread(str(base / "celebamask_hq_samples" / "labels" / f"{i}.png"), cv2.IMREAD_GRAYSCALE)
        label = cv2.resize(label, (size, size), interpolation=cv2.INTER_NEAREST)
        fgs.append(((label >= 1) & (label <= 13)).astype(np.float32))
        hole = cv2.imread(str(base / "nvidia_irregular_masks" / f"{mask_id}.png"), cv2.IMREAD_GRAYSCALE)
        masks.append((cv2.resize(hole, (size, size), interpolation=cv2.INTER_NEAREST) > 127).astype(np.float32))
    return np.stack(images), np.stack(fgs), np.stack(masks)


def _degrade(target: np.ndarray, seed: int = 0) -> np.ndarray:
    """Blur + Gaussian noise, clipped to [0, 1] (a deterministic synthetic 'prediction')."""
    rng = np.random.default_rng(seed)
    blurred = np.stack([cv2.GaussianBlur(img, (5, 5), 1.2) for img in target])
    return np.clip(blurred + rng.normal(0, 0.03, target.shape), 0, 1).astype(np.float32)


def batch(assets: Path, size: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """pred, target (4, 3, H, W), mask, fg (4, 1, H, W) from real faces, labels and masks."""
    target, fg, mask = _load(str(assets), size)
    pred = _degrade(target)
    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return to_t(pred), to_t(target), torch.from_numpy(mask)[:, None], torch.from_numpy(fg)[:, None]


def test_whole_matches_torchmetrics(assets):
    pred, target, mask, fg = batch(assets)
    s = pixel_scores(pred, target, mask, fg)
    ref_psnr = tmf.peak_signal_noise_ratio(pred, target, data_range=1.0, reduction="none", dim=(1, 2, 3))
    ref_ssim = tmf.structural_similarity_index_measure(pred, target, data_range=1.0, reduction="none")
    torch.testing.assert_close(s[("psnr", "whole")], ref_psnr.double(), atol=1e-4, rtol=0)
    torch.testing.assert_close(s[("ssim", "whole")], ref_ssim.double(), atol=1e-4, rtol=0)
    # zero_outside = the same torchmetrics functionals on masked images
    pm, tm = zero_outside(pred, mask), zero_outside(target, mask)
    ref_zero = tmf.peak_signal_noise_ratio(pm, tm, data_range=1.0, reduction="none", dim=(1, 2, 3))
    torch.testing.assert_close(s[("psnr", "zero_outside")], ref_zero.double(), atol=1e-4, rtol=0)
    ref_zero_ssim = tmf.structural_similarity_index_measure(pm, tm, data_range=1.0, reduction="none")
    torch.testing.assert_close(s[("ssim", "zero_outside")], ref_zero_ssim.double(), atol=1e-4, rtol=0)


def test_ms_ssim_matches_torchmetrics_and_small_images_give_nan(assets):
    pred, target, mask, fg = batch(assets, 192)
    s = pixel_scores(pred, target, mask, fg, metrics=("ms_ssim",))
    assert set(s) == {("ms_ssim", "whole"), ("ms_ssim", "zero_outside")}  # no pixel map, no other regions
    ref = tmf.multiscale_structural_similarity_index_measure(pred, target, data_range=1.0, reduction="none")
    torch.testing.assert_close(s[("ms_ssim", "whole")], ref.double(), atol=1e-4, rtol=0)
    pm, tm = zero_outside(pred, mask), zero_outside(target, mask)
    ref_zero = tmf.multiscale_structural_similarity_index_measure(pm, tm, data_range=1.0, reduction="none")
    torch.testing.assert_close(s[("ms_ssim", "zero_outside")], ref_zero.double(), atol=1e-4, rtol=0)
    small = pixel_scores(pred[:, :, :175, :175], target[:, :, :175, :175], mask[:, :, :175, :175],
                         metrics=("ms_ssim",), regions=("whole",))
    assert torch.isnan(small[("ms_ssim", "whole")]).all()


def test_ssim_and_ms_ssim_match_torchmetrics_on_odd_non_square_images(assets):
    pred, target, mask, fg = batch(assets, 192)
    crop = (slice(None), slice(None), slice(3, 179), slice(1, 192))  # 176 x 191: the smallest MS-SSIM height
    pred, target, mask = pred[crop], target[crop], mask[crop]
    s = pixel_scores(pred, target, mask, metrics=("ssim", "ms_ssim"), regions=("whole", "zero_outside"))
    pm, tm = zero_outside(pred, mask), zero_outside(target, mask)
    for region, (p, t) in {"whole": (pred, target), "zero_outside": (pm, tm)}.items():
        ref_ssim = tmf.structural_similarity_index_measure(p, t, data_range=1.0, reduction="none")
        ref_ms = tmf.multiscale_structural_similarity_index_measure(p, t, data_range=1.0, reduction="none")
        torch.testing.assert_close(s[("ssim", region)], ref_ssim.double(), atol=1e-4, rtol=0)
        torch.testing.assert_close(s[("ms_ssim", region)], ref_ms.double(), atol=1e-4, rtol=0)


def test_psnr_mse_match_scikit_image(assets):
    pred, target, mask, fg = batch(assets)
    s = pixel_scores(pred, target, mask, fg, metrics=("psnr", "mse"), regions=("whole",))
    for i in range(pred.shape[0]):
        p, t = pred[i].permute(1, 2, 0).numpy(), target[i].permute(1, 2, 0).numpy()
        assert s[("psnr", "whole")][i].item() == pytest.approx(peak_signal_noise_ratio(t, p, data_range=1), abs=1e-4)
        assert s[("mse", "whole")][i].item() / 255**2 == pytest.approx(mean_squared_error(t, p), rel=1e-5)


def test_ssim_matches_scikit_image_on_the_interior(assets):
    """skimage averages its SSIM map over the interior (a (win-1)/2 = 5 px border cropped; its padding differs
    from torchmetrics' only there). So skimage's mssim == our SSIM map averaged over interior weights (given
    as the hole), and the full maps agree on the interior. Per pixel this is checked in float64: in float32
    the variance E[x^2] - mu^2 cancels differently in each implementation (~5e-4 in flat areas, ~1e-5 on the
    mean). Our float64 map also equals torchmetrics' full SSIM image everywhere (border included)."""
    pred, target, mask, fg = batch(assets)
    interior = torch.zeros_like(mask)
    interior[..., 5:-5, 5:-5] = 1
    ours = pixel_scores(pred, target, interior, metrics=("ssim",), regions=("hole",))[("ssim", "hole")]
    ours64 = _ssim_maps(pred.double(), target.double(), 1.0)[0]
    _, tm64 = tmf.structural_similarity_index_measure(pred.double(), target.double(), data_range=1.0,
                                                      reduction="none", return_full_image=True)
    torch.testing.assert_close(ours64, tm64, atol=1e-9, rtol=0)
    kwargs = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1)
    for i in range(pred.shape[0]):
        p, t = pred[i].permute(1, 2, 0).numpy(), target[i].permute(1, 2, 0).numpy()
        assert ours[i].item() == pytest.approx(structural_similarity(t, p, **kwargs), abs=1e-4)
        _, full = structural_similarity(t.astype(np.float64), p.astype(np.float64), full=True, **kwargs)
        np.testing.assert_allclose(ours64[i].permute(1, 2, 0).numpy()[5:-5, 5:-5], full[5:-5, 5:-5], atol=1e-9)


def test_hole_with_all_ones_mask_equals_whole(assets):
    pred, target, _, fg = batch(assets)
    s = pixel_scores(pred, target, torch.ones_like(fg), fg, metrics=("psnr", "ssim", "rmse", "mae", "mse", "l1"))
    for metric in ("psnr", "ssim", "rmse", "mae", "mse", "l1"):
        torch.testing.assert_close(s[(metric, "hole")], s[(metric, "whole")], atol=1e-9, rtol=1e-9)
        torch.testing.assert_close(s[(metric, "hole_fg")], s[(metric, "fg")], atol=1e-9, rtol=1e-9)


def test_pixels_outside_the_region_do_not_change_it(assets):
    pred, target, mask, fg = batch(assets)
    noise = torch.rand_like(pred, generator=torch.Generator().manual_seed(1))
    before = pixel_scores(pred, target, mask, fg)
    outside = 1 - mask
    after = pixel_scores(pred * mask + noise * outside, target, mask, fg)
    for metric in ("psnr", "rmse", "mae", "mse", "l1"):
        for region in ("hole", "zero_outside"):
            torch.testing.assert_close(after[(metric, region)], before[(metric, region)], atol=1e-9, rtol=1e-9)
    for metric in ("ssim", "ms_ssim"):  # zero_outside sees masked images only
        if (metric, "zero_outside") in before:
            torch.testing.assert_close(after[(metric, "zero_outside")], before[(metric, "zero_outside")],
                                       equal_nan=True)
    # SSIM's window reaches 5 px: perturb only pixels farther than that from the hole
    far = 1 - boundary_band(mask, 6).clamp(max=1) - mask
    far = far.clamp(min=0)
    after = pixel_scores(pred * (1 - far) + noise * far, target, mask, fg, metrics=("ssim",), regions=("hole",))
    torch.testing.assert_close(after[("ssim", "hole")], before[("ssim", "hole")], atol=1e-6, rtol=0)


def test_identical_inputs_give_ideal_values(assets):
    _, target, mask, fg = batch(assets, 192)
    s = pixel_scores(target, target.clone(), mask, fg)
    for (metric, region), value in s.items():
        if metric == "psnr":
            assert torch.isinf(value).all() and (value > 0).all(), region
        elif metric in ("ssim", "ms_ssim"):
            torch.testing.assert_close(value, torch.ones_like(value), atol=1e-5, rtol=0)
        else:
            assert (value == 0).all(), (metric, region)


def test_empty_region_gives_nan(assets):
    pred, target, _, fg = batch(assets)
    s = pixel_scores(pred, target, torch.zeros_like(fg), torch.zeros_like(fg))
    for (metric, region), value in s.items():
        if region in ("hole", "fg", "hole_fg", "boundary"):
            assert torch.isnan(value).all(), (metric, region)
        else:
            assert not torch.isnan(value).any() or metric == "ms_ssim", (metric, region)
    # without labels the fg regions are omitted, not NaN
    assert not any(r in ("fg", "hole_fg") for _, r in pixel_scores(pred, target, fg))


def test_psnr_whole_and_hole_identity_for_composited_outputs(assets):
    pred, target, mask, fg = batch(assets)
    composite = mask * pred + (1 - mask) * target
    s = pixel_scores(composite, target, mask, fg, metrics=("psnr",))
    ratio = mask.flatten(1).double().mean(1)
    expected = s[("psnr", "hole")] - 10 * torch.log10(ratio)
    torch.testing.assert_close(s[("psnr", "whole")], expected, atol=1e-6, rtol=0)


def test_batch_size_independence(assets):
    pred, target, mask, fg = batch(assets)
    together = pixel_scores(pred, target, mask, fg)
    for i in range(pred.shape[0]):
        alone = pixel_scores(pred[i:i + 1], target[i:i + 1], mask[i:i + 1], fg[i:i + 1])
        assert alone.keys() == together.keys()
        for key, value in alone.items():
            torch.testing.assert_close(value[0], together[key][i], atol=1e-6, rtol=1e-6, equal_nan=True)


def test_units(assets):
    pred, target, mask, fg = batch(assets)
    s = pixel_scores(pred, target, mask, fg)
    for region in REGIONS:
        torch.testing.assert_close(s[("mae", region)], 255 * s[("l1", region)])
        torch.testing.assert_close(s[("rmse", region)] ** 2, s[("mse", region)])
    # the same images on the 0-255 scale with data_range=255 give the same numbers
    s255 = pixel_scores(pred * 255, target * 255, mask, fg, data_range=255.0, metrics=("psnr", "mse", "l1", "ssim"))
    for key, value in s255.items():
        torch.testing.assert_close(value, s[key], atol=1e-4, rtol=1e-5)
    assert all(get_metric(m).backend.endswith(":PixelMetrics") for m in PIXEL_METRICS)
    assert get_metric("ms_ssim").regions == ("whole", "zero_outside")


@pytest.mark.parametrize(("side", "k"), [(20, 3), (20, 8), (17, 1), (9, 0)])
def test_boundary_band_on_a_square_hole(side, k):
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 20:20 + side, 24:24 + side] = 1
    band = boundary_band(mask, k)
    expected = (side + 2 * k) ** 2 - max(side - 2 * k, 0) ** 2 if k else 0
    assert band.sum().item() == expected
    assert set(band.unique().tolist()) <= {0.0, 1.0}
    weights = region_weights(mask, regions=("boundary", "hole", "fg"), boundary_px=k)
    assert set(weights) == {"boundary", "hole"}  # fg omitted without labels
    assert torch.equal(weights["boundary"], band)


def test_boundary_band_ignores_the_image_border():
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., :10, :] = 1  # hole = top 10 rows, its only edge is the row boundary 9/10
    assert boundary_band(mask, 2).sum().item() == 4 * 32


def test_streaming_aggregates_of_batches_equal_the_functional_mean_and_ignore_nan(assets):
    """Evaluation's one accumulation path: per-image scores of several batches averaged over images, NaN counted."""
    pred, target, mask, fg = batch(assets)
    mask = mask.clone()
    mask[1] = 0  # image 1 has an empty hole: NaN for the hole regions, not averaged in
    kwargs = dict(metrics=("psnr", "ssim", "mae"), regions=("whole", "hole", "boundary"))
    aggregates = StreamingAggregates()
    for part in (slice(0, 2), slice(2, 4)):
        for (metric, region), values in pixel_scores(pred[part], target[part], mask[part], fg[part], **kwargs).items():
            for value in values.tolist():
                aggregates.add(generator="g", hole_ratio=0.05, metric=metric, region=region, mode="raw", value=value)
    rows = {(r["metric"], r["region"]): r for r in aggregates.to_results()["aggregates"]}
    s = pixel_scores(pred, target, mask, fg, **kwargs)
    assert set(rows) == set(s)
    for key, values in s.items():
        valid = values[~torch.isnan(values)]
        assert rows[key]["mean"] == pytest.approx(valid.mean().item(), rel=1e-12)
        assert rows[key]["count"] == len(valid) and rows[key]["nan_count"] == len(values) - len(valid)
    assert torch.isnan(s[("psnr", "hole")][1])
    assert sum(r["nan_count"] for r in rows.values()) == 6  # image 1: hole and boundary, for each of the 3 metrics


def test_bad_inputs_raise_clear_errors():
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match="Expected `mask` of shape"):
        pixel_scores(x, x, torch.ones(2, 16, 16))
    with pytest.raises(ValueError, match="Expected `target` of the same shape"):
        pixel_scores(x, x[:1], torch.ones(2, 1, 16, 16))
    with pytest.raises(ValueError, match="Expected `fg` of shape"):
        pixel_scores(x, x, torch.ones(2, 1, 16, 16), torch.ones(2, 1, 8, 8))
    with pytest.raises(ValueError, match="Expected metrics from"):
        pixel_scores(x, x, torch.ones(2, 1, 16, 16), metrics=("psnrr",))
    with pytest.raises(ValueError, match="Expected regions from"):
        pixel_scores(x, x, torch.ones(2, 1, 16, 16), regions=("holes",))
    with pytest.raises(TypeError, match="Expected floating point"):
        pixel_scores((x * 255).to(torch.uint8), (x * 255).to(torch.uint8), torch.ones(2, 1, 16, 16))


def test_psnr_is_inf_only_where_the_region_is_error_free():
    target = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    pred = target.clone()
    pred[..., :4, :] += 0.1
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 8:, :] = 1  # the error lies outside the hole
    s = pixel_scores(pred, target, mask, metrics=("psnr",), regions=("whole", "hole"))
    assert math.isinf(s[("psnr", "hole")].item()) and math.isfinite(s[("psnr", "whole")].item())
