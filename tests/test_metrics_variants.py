"""Paper-convention metric variants against reference implementations: ``ssim_mcsam`` (scikit-image),
``l1_mcsam`` (closed form), ``ms_ssim_reduced`` (torchmetrics with the same betas)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from occbench.compat import ensure_torchvision_importable

ensure_torchvision_importable()

import torch  # noqa: E402
import torchmetrics.functional.image as tmf  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402

from occbench.metrics import get_metric  # noqa: E402
from occbench.metrics.pixel import MS_SSIM_BETAS, MS_SSIM_REDUCED_BETAS, ms_ssim_min_size, pixel_scores  # noqa: E402

SKIMAGE_MCSAM = dict(win_size=11, gaussian_weights=False, use_sample_covariance=True, channel_axis=-1,
                     data_range=255)


def _faces(assets, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets and degraded predictions (N, H, W, 3) uint8 from real faces, NVIDIA masks (N, H, W) 0/1."""
    folder = assets / "celebamask_hq_samples" / "images"
    targets, preds, masks = [], [], []
    for i, mask_id in enumerate(("04000", "05010", "08020")):
        rgb = cv2.resize(cv2.imread(str(folder / f"{i}.jpg"))[..., ::-1], (size, size), interpolation=cv2.INTER_AREA)
        noise = np.random.default_rng(i).normal(0, 6, rgb.shape)
        preds.append(np.clip(cv2.GaussianBlur(rgb, (5, 5), 1.2) + noise, 0, 255).astype(np.uint8))
        targets.append(np.ascontiguousarray(rgb))
        hole = cv2.imread(str(assets / "nvidia_irregular_masks" / f"{mask_id}.png"), cv2.IMREAD_GRAYSCALE)
        masks.append((cv2.resize(hole, (size, size), interpolation=cv2.INTER_NEAREST) > 127).astype(np.uint8))
    return np.stack(targets), np.stack(preds), np.stack(masks)


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def _check_ssim_mcsam(target: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> None:
    s = pixel_scores(_tensor(pred), _tensor(target), torch.from_numpy(mask)[:, None].float(),
                     metrics=("ssim_mcsam",), regions=("whole", "zero_outside", "hole"))
    assert set(s) == {("ssim_mcsam", "whole"), ("ssim_mcsam", "zero_outside")}  # no pixel-aligned map
    for i in range(len(target)):
        whole = structural_similarity(target[i], pred[i], **SKIMAGE_MCSAM)
        m = mask[i][..., None]
        zero = structural_similarity(target[i] * m, pred[i] * m, **SKIMAGE_MCSAM)
        assert s[("ssim_mcsam", "whole")][i].item() == pytest.approx(whole, abs=1e-9)
        assert s[("ssim_mcsam", "zero_outside")][i].item() == pytest.approx(zero, abs=1e-9)


def test_ssim_mcsam_equals_scikit_image_on_a_tiny_synthetic_pair():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 256, (2, 14, 17, 3), dtype=np.uint8)
    pred = np.clip(target.astype(int) + rng.integers(-40, 41, target.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((2, 14, 17), np.uint8)
    mask[:, 3:11, 4:13] = 1
    _check_ssim_mcsam(target, pred, mask)
    # float inputs off the uint8 grid are quantised as the paper's PNG outputs were
    nudged = _tensor(pred) + 0.3 / 255
    s = pixel_scores(nudged, _tensor(target), torch.zeros(2, 1, 14, 17), metrics=("ssim_mcsam",), regions=("whole",))
    assert s[("ssim_mcsam", "whole")][0].item() == pytest.approx(structural_similarity(target[0], pred[0],
                                                                                        **SKIMAGE_MCSAM), abs=1e-9)
    small = pixel_scores(_tensor(pred)[..., :10, :], _tensor(target)[..., :10, :], torch.zeros(2, 1, 10, 17),
                         metrics=("ssim_mcsam",), regions=("whole",))
    assert torch.isnan(small[("ssim_mcsam", "whole")]).all()  # smaller than the 11 px window


def test_ssim_mcsam_equals_scikit_image_on_real_faces(assets):
    target, pred, mask = _faces(assets, 128)
    _check_ssim_mcsam(target, pred, mask)
    ours = pixel_scores(_tensor(pred), _tensor(target), torch.from_numpy(mask)[:, None].float(),
                        metrics=("ssim", "ssim_mcsam"), regions=("whole",))
    assert not torch.allclose(ours[("ssim", "whole")], ours[("ssim_mcsam", "whole")])  # a different convention


def test_l1_mcsam_takes_the_channel_mean_first():
    pred = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1).expand(1, 3, 8, 8).clone()
    target = pred.flip(1)  # (0.6, 0.4, 0.2): the same channel mean, different colour
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :, :4] = 1
    s = pixel_scores(pred, target, mask, metrics=("l1", "l1_mcsam"), regions=("whole", "hole", "zero_outside"))
    assert s[("l1_mcsam", "whole")].item() == pytest.approx(0.0, abs=1e-7)
    assert s[("l1", "whole")].item() == pytest.approx(0.8 / 3, abs=1e-6)  # |.| first: (0.4 + 0 + 0.4) / 3
    gray = torch.full((1, 3, 8, 8), 0.5)
    target = torch.full((1, 3, 8, 8), 0.6)
    target[..., :4] = 0.3  # left half (the hole): |0.5 - 0.3| = 0.2, right half: 0.1
    s = pixel_scores(gray, target, mask, metrics=("l1_mcsam",), regions=("whole", "hole", "zero_outside"))
    assert s[("l1_mcsam", "whole")].item() == pytest.approx(0.15, abs=1e-6)
    assert s[("l1_mcsam", "hole")].item() == pytest.approx(0.2, abs=1e-6)
    assert s[("l1_mcsam", "zero_outside")].item() == pytest.approx(0.1, abs=1e-6)  # 0.2 on half the image
    s255 = pixel_scores(gray * 255, target * 255, mask, data_range=255.0, metrics=("l1_mcsam",), regions=("whole",))
    assert s255[("l1_mcsam", "whole")].item() == pytest.approx(0.15, abs=1e-6)  # always the 0-1 scale


def _smooth_pair(size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(3, 3, size // 8, size // 8, generator=gen)
    target = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    pred = (target + 0.05 * torch.randn(target.shape, generator=gen)).clamp(0, 1)
    mask = torch.zeros(3, 1, size, size)
    mask[..., size // 4: 3 * size // 4, size // 5: size // 2] = 1
    return pred, target, mask


def _reference_reduced(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return tmf.multiscale_structural_similarity_index_measure(pred, target, data_range=1.0, reduction="none",
                                                              betas=MS_SSIM_REDUCED_BETAS).double()


@pytest.mark.parametrize("size", [99, 128])
def test_ms_ssim_reduced_equals_torchmetrics_with_the_same_betas(size):
    assert MS_SSIM_REDUCED_BETAS == pytest.approx(tuple(b / sum(MS_SSIM_BETAS[:4]) for b in MS_SSIM_BETAS[:4]))
    assert sum(MS_SSIM_REDUCED_BETAS) == pytest.approx(1.0) and ms_ssim_min_size(4) == 99
    pred, target, mask = _smooth_pair(size)
    s = pixel_scores(pred, target, mask, metrics=("ms_ssim", "ms_ssim_reduced"), regions=("whole", "zero_outside"))
    assert torch.isnan(s[("ms_ssim", "whole")]).all()  # 5 scales need 176 px
    torch.testing.assert_close(s[("ms_ssim_reduced", "whole")], _reference_reduced(pred, target), atol=1e-4, rtol=0)
    torch.testing.assert_close(s[("ms_ssim_reduced", "zero_outside")], _reference_reduced(pred * mask, target * mask),
                               atol=1e-4, rtol=0)
    too_small = pixel_scores(pred[..., :98, :98], target[..., :98, :98], mask[..., :98, :98],
                             metrics=("ms_ssim_reduced",), regions=("whole",))
    assert torch.isnan(too_small[("ms_ssim_reduced", "whole")]).all()


def test_ms_ssim_reduced_on_real_faces_and_shared_scales(assets):
    target, pred, mask = _faces(assets, 192)
    p, t, m = _tensor(pred), _tensor(target), torch.from_numpy(mask)[:, None].float()
    both = pixel_scores(p, t, m, metrics=("ms_ssim", "ms_ssim_reduced"), regions=("whole",))
    torch.testing.assert_close(both[("ms_ssim_reduced", "whole")], _reference_reduced(p, t), atol=1e-4, rtol=0)
    alone = pixel_scores(p, t, m, metrics=("ms_ssim",), regions=("whole",))  # sharing scales changes nothing
    torch.testing.assert_close(both[("ms_ssim", "whole")], alone[("ms_ssim", "whole")], atol=0, rtol=0)


def test_variants_are_registered_with_their_facts():
    for name, regions in (("ssim_mcsam", ("whole", "zero_outside")), ("l1_mcsam", None),
                          ("ms_ssim_reduced", ("whole", "zero_outside"))):
        info = get_metric(name)
        assert info.source and info.selectable and not info.default and info.backend.endswith(":PixelMetrics")
        assert regions is None or info.regions == regions
    assert get_metric("l1_mcsam").better == "lower" and get_metric("ssim_mcsam").better == "higher"
