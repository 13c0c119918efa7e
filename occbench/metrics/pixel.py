"""Pixel metrics (PSNR, SSIM, MS-SSIM, RMSE, MAE, MSE, L1 and the paper variants) per image and per region.

Functional :func:`pixel_scores` and its back end :class:`PixelMetrics` (the :class:`~occbench.metrics.base.
MetricBackend` every pixel metric's record names). Inputs follow :mod:`occbench.metrics` (``pred``/``target``
``(B, 3, H, W)`` in ``[0, data_range]``, ``mask``/``fg`` ``(B, 1, H, W)``, 1 = hole / foreground; ``parts``
``(B, 5, H, W)``, 1 = pixels of each face part, for the ``hole_<part>`` regions).

How a score is computed: each per-pixel map is computed ONCE per batch — squared error and absolute error
(both averaged over channels), the absolute error of the channel means and the SSIM map — and reduced over every
region's weight map: ``sum(w * map) / sum(w)``, NaN for an empty region. ``zero_outside`` (both images × mask,
metric over the whole image) derives the error metrics from the same maps (``error_map * mask`` averaged over the
whole image); the structural metrics' ``zero_outside`` need the masked images, which are stacked with the
originals into one batch.

SSIM and MS-SSIM follow torchmetrics' definitions exactly (``structural_similarity_index_measure`` with
``return_full_image=True`` and ``multiscale_structural_similarity_index_measure`` with their defaults:
Gaussian window sigma 1.5, 11 px, reflect padding so the map is image-aligned, k1 0.01, k2 0.03; MS-SSIM with
5 scales, betas (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), ``normalize="relu"``, contrast term averaged
without a 5 px border) but are computed here: the Gaussian blur with reflect padding is applied as two
matrix products (``A_H @ X @ A_W^T``, ~3x faster than torchmetrics' 11×11 depthwise convolution on CPU),
and every MS-SSIM scale is computed once for all MS-SSIM variants (the first reuses the SSIM moments). Tests
check both against torchmetrics (and SSIM against scikit-image) to 1e-4. The SSIM map is averaged over channels.

Units and polarity: ``psnr`` dB (higher better), ``10*log10(data_range^2 / MSE_region)`` with the MSE on the
``[0, data_range]`` scale, ``inf`` when the region's MSE is 0; ``ssim``/``ms_ssim`` unitless, 1 = identical
(higher better); ``mse``/``rmse``/``mae`` on the 0–255 scale (values ×``(255/data_range)^2`` or
``255/data_range``), ``l1`` on the 0–1 scale (absolute error / ``data_range``), all lower better. ``rmse`` is
the root of each image's region MSE (then averaged over images). ``psnr`` whole equals torchmetrics'
``peak_signal_noise_ratio(..., reduction="none", dim=(1, 2, 3))``.

MS-SSIM has no pixel-aligned map, so only ``whole`` and ``zero_outside`` exist. With 5 scales and an 11 px
window torchmetrics requires ``H // 16 > 10``, i.e. ``H, W >= 176`` px (:data:`MS_SSIM_MIN_SIZE`); smaller
images yield NaN for ``ms_ssim`` instead of an error.

Paper variants (opt-in; their records in :mod:`occbench.metrics.catalog` cite the source):

- ``ms_ssim_reduced``: MS-SSIM over 4 scales with the first four standard betas renormalised to sum to 1
  (:data:`MS_SSIM_REDUCED_BETAS`), defined from 99 px (SGIN's Table 2 is at 128 px); equal to torchmetrics'
  ``multiscale_structural_similarity_index_measure(..., betas=MS_SSIM_REDUCED_BETAS)``.
- ``ssim_mcsam``: M-CSAM's SSIM, :func:`ssim_uniform` (scikit-image's uniform 11×11 window with sample
  covariance on the uint8 images); ``whole`` and ``zero_outside`` only (its map covers the interior only).
- ``l1_mcsam``: M-CSAM's ℓ1, ``|mean_c(pred) - mean_c(target)|`` (channel mean first) / ``data_range``, 0–1 scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from occbench.compat import ensure_torchvision_importable

ensure_torchvision_importable()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor  # noqa: E402

from occbench.metrics.base import MetricBackend, Values  # noqa: E402
from occbench.metrics.catalog import BUILTIN  # noqa: E402
from occbench.metrics.regions import (  # noqa: E402
    FG_REGIONS,
    PART_REGIONS,
    REGIONS,
    binarize,
    check_map,
    check_regions,
    region_means,
    region_weights,
)

_BACKEND = f"{__name__}:PixelMetrics"
_REGIONS_OF = {info.name: info.regions for info in BUILTIN if info.backend == _BACKEND}
IMPLEMENTED: tuple[str, ...] = tuple(_REGIONS_OF)
"""Every metric :func:`pixel_scores` computes (its records name :class:`PixelMetrics` as their back end)."""
PIXEL_METRICS: tuple[str, ...] = tuple(info.name for info in BUILTIN if info.backend == _BACKEND and info.default)
"""The pixel metrics ``evaluate`` scores by default (the paper variants are opt-in)."""

SSIM_SIGMA, SSIM_RADIUS, SSIM_K1, SSIM_K2 = 1.5, 5, 0.01, 0.03  # radius = int(3.5 * sigma + 0.5)
MS_SSIM_BETAS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_REDUCED_BETAS: tuple[float, ...] = tuple(b / sum(MS_SSIM_BETAS[:4]) for b in MS_SSIM_BETAS[:4])
_BETAS = {"ms_ssim": MS_SSIM_BETAS, "ms_ssim_reduced": MS_SSIM_REDUCED_BETAS}
MCSAM_WINDOW = 11  # ssim_mcsam: side of scikit-image's uniform window, px
_MAP_OF = {"psnr": "sq", "rmse": "sq", "mse": "sq", "mae": "abs", "l1": "abs", "l1_mcsam": "gray_abs"}


def ms_ssim_min_size(scales: int) -> int:
    """Smallest side torchmetrics accepts for MS-SSIM with ``scales`` scales and the 11 px window:
    ``H >= 2**scales`` and ``H // (scales - 1)**2 > 10`` (176 px for 5 scales, 99 px for 4)."""
    return max(2**scales, (2 * SSIM_RADIUS + 1) * max(1, scales - 1) ** 2)


MS_SSIM_MIN_SIZE = ms_ssim_min_size(len(MS_SSIM_BETAS))


def _check_inputs(pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None) -> None:
    check_map("pred", pred, channels=None)
    if target.shape != pred.shape:
        raise ValueError(f"Expected `target` of the same shape as `pred` {tuple(pred.shape)}, but got "
                         f"{tuple(target.shape)}")
    if not pred.is_floating_point() or not target.is_floating_point():
        raise TypeError(f"Expected floating point images, but got {pred.dtype} and {target.dtype}")
    check_map("mask", mask, like=pred)
    if fg is not None:
        check_map("fg", fg, like=pred)


def check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    """Validate pixel metric names; returns them as a tuple (order kept, duplicates dropped)."""
    unknown = [m for m in metrics if m not in IMPLEMENTED]
    if unknown:
        raise ValueError(f"Expected metrics from {IMPLEMENTED}, but got unknown {unknown}")
    return tuple(dict.fromkeys(metrics))


def metric_region_pairs(metrics: Sequence[str], regions: Sequence[str], has_fg: bool = True,
                        has_parts: bool = True) -> list[tuple[str, str]]:
    """The ``(metric, region)`` keys :func:`pixel_scores` returns for these arguments, in order (each metric's
    regions are those its record lists; ``fg``/``hole_fg`` only with a foreground, ``hole_<part>`` only with part
    maps)."""
    regions = check_regions(regions)
    missing = (() if has_fg else FG_REGIONS) + (() if has_parts else PART_REGIONS)
    return [(metric, region) for metric in check_metrics(metrics) for region in regions
            if region in _REGIONS_OF[metric] and region not in missing]


@lru_cache(maxsize=32)
def _blur_operator(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``(n, n)`` matrix of the 1-D Gaussian blur (sigma 1.5, 11 taps) after reflect padding (no edge repeat)."""
    taps = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=torch.float64)
    gauss = torch.exp(-((taps / SSIM_SIGMA) ** 2) / 2)
    gauss /= gauss.sum()
    idx = (torch.arange(n)[:, None] + taps.long()[None, :]).abs()
    idx = torch.where(idx > n - 1, 2 * (n - 1) - idx, idx)
    op = torch.zeros(n, n, dtype=torch.float64).scatter_add_(1, idx, gauss.expand(n, -1).contiguous())
    return op.to(dtype=dtype, device=device)


def _ssim_maps(pred: Tensor, target: Tensor, data_range: float) -> tuple[Tensor, Tensor]:
    """SSIM map and contrast-sensitivity map ``(N, C, H, W)``, torchmetrics' definitions (see module doc)."""
    h, w = pred.shape[-2:]
    if min(h, w) <= SSIM_RADIUS:
        raise ValueError(f"Expected images larger than {SSIM_RADIUS} px for SSIM, but got {h}x{w}")
    a_h = _blur_operator(h, pred.dtype, pred.device)
    a_w = _blur_operator(w, pred.dtype, pred.device)
    stacked = torch.stack([pred, target, pred * pred, target * target, pred * target])
    mu_p, mu_t, e_pp, e_tt, e_pt = a_h @ stacked @ a_w.T
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    mu_pp, mu_tt, mu_pt = mu_p.square(), mu_t.square(), mu_p * mu_t
    upper = 2 * (e_pt - mu_pt) + c2
    lower = (e_pp - mu_pp).clamp_min(0) + (e_tt - mu_tt).clamp_min(0) + c2
    return (2 * mu_pt + c1) * upper / ((mu_pp + mu_tt + c1) * lower), upper / lower


def _ms_ssim(pred: Tensor, target: Tensor, data_range: float, names: Sequence[str],
             first: tuple[Tensor, Tensor] | None = None) -> dict[str, Tensor]:
    """Per-image MS-SSIM ``(N,)`` float64 of each variant in ``names`` (torchmetrics' definition with that
    variant's betas; NaN when the images are too small for it). Each scale is computed once for all variants;
    ``first`` = precomputed scale-1 maps."""
    side = min(pred.shape[-2:])
    fits = [name for name in names if side >= ms_ssim_min_size(len(_BETAS[name]))]
    nan = torch.full((pred.shape[0],), float("nan"), dtype=torch.float64, device=pred.device)
    out = {name: nan for name in names}
    if not fits:
        return out
    r, scales = SSIM_RADIUS, max(len(_BETAS[name]) for name in fits)
    contrast, similarity = [], []  # per scale: cs map mean without the border, SSIM map mean (only where used)
    for scale in range(scales):
        ssim_map, cs_map = first if scale == 0 and first is not None else _ssim_maps(pred, target, data_range)
        last_of = [name for name in fits if len(_BETAS[name]) == scale + 1]
        contrast.append(cs_map[..., r:-r, r:-r].flatten(1).to(torch.float64).mean(1) if scale < scales - 1 else None)
        similarity.append(ssim_map.flatten(1).to(torch.float64).mean(1) if last_of else None)
        if scale < scales - 1:
            pred, target = F.avg_pool2d(pred, 2), F.avg_pool2d(target, 2)
    for name in fits:
        betas = _BETAS[name]
        result = torch.ones_like(nan)
        for scale, beta in enumerate(betas):
            value = similarity[scale] if scale == len(betas) - 1 else contrast[scale]
            result = result * value.relu() ** beta
        out[name] = result
    return out


def ssim_uniform(pred: Tensor, target: Tensor, *, data_range: float = 1.0, win_size: int = MCSAM_WINDOW) -> Tensor:
    """Per-image SSIM ``(B,)`` float64 as scikit-image computes it on uint8 RGB images (M-CSAM's SSIM).

    Equals ``skimage.metrics.structural_similarity(t, p, win_size=win_size, gaussian_weights=False,
    use_sample_covariance=True, channel_axis=-1, data_range=255)`` on the uint8 images
    ``round(255 * x / data_range)``: means, variances (× N/(N-1), N = win_size²) and covariance over a uniform
    window, k1 0.01, k2 0.03, the map averaged over the interior (a ``(win_size - 1) / 2`` px border dropped, so
    padding never matters) and the channels. NaN for images smaller than the window.
    """
    if min(pred.shape[-2:]) < win_size:
        return torch.full((pred.shape[0],), float("nan"), dtype=torch.float64, device=pred.device)
    to_uint8 = 255.0 / data_range
    p = (pred.to(torch.float64) * to_uint8).round().clamp(0, 255)
    t = (target.to(torch.float64) * to_uint8).round().clamp(0, 255)
    moments = F.avg_pool2d(torch.cat([p, t, p * p, t * t, p * t], dim=1), win_size, stride=1)  # interior windows
    mu_p, mu_t, e_pp, e_tt, e_pt = moments.chunk(5, dim=1)
    n = win_size**2
    var_p, var_t = (e_pp - mu_p * mu_p) * n / (n - 1), (e_tt - mu_t * mu_t) * n / (n - 1)
    cov = (e_pt - mu_p * mu_t) * n / (n - 1)
    c1, c2 = (SSIM_K1 * 255) ** 2, (SSIM_K2 * 255) ** 2
    ssim = (2 * mu_p * mu_t + c1) * (2 * cov + c2) / ((mu_p * mu_p + mu_t * mu_t + c1) * (var_p + var_t + c2))
    return ssim.flatten(1).mean(1)


def _finish(metric: str, value: Tensor, data_range: float) -> Tensor:
    """Turn a region-mean squared/absolute error (``[0, data_range]`` scale) into the metric's unit."""
    scale = 255.0 / data_range
    if metric == "psnr":
        return 10.0 * torch.log10(data_range**2 / value)  # inf when value == 0, NaN stays NaN
    if metric == "mse":
        return value * scale**2
    if metric == "rmse":
        return value.sqrt() * scale
    if metric == "mae":
        return value * scale
    return value / data_range  # l1, l1_mcsam


def _structural(pred: Tensor, target: Tensor, m: Tensor, metrics: tuple[str, ...], regions: tuple[str, ...],
                data_range: float) -> tuple[Tensor | None, dict[tuple[str, str], Tensor]]:
    """SSIM map of the original images (channel-averaged, for the weight-map regions) and the whole-image
    structural scores ``{(ssim | ms_ssim* | ssim_mcsam, whole | zero_outside): (B,)}``, computed on one batch
    stacking the originals and their masked copies, with ONE scale-1 SSIM pass (every MS-SSIM variant reuses it)."""
    want_map = "ssim" in metrics and any(r != "zero_outside" for r in regions)
    ms_names = [name for name in metrics if name in _BETAS]
    gaussian = "ssim" in metrics or bool(ms_names)
    if not (gaussian or "ssim_mcsam" in metrics):
        return None, {}
    variants = [v for v in ("whole", "zero_outside") if v in regions]
    if want_map and "whole" not in variants:
        variants.insert(0, "whole")
    if not variants:
        return None, {}
    batch = pred.shape[0]
    preds = torch.cat([pred if v == "whole" else pred * m for v in variants])
    targets = torch.cat([target if v == "whole" else target * m for v in variants])
    ssim_all, ms_all = None, {}
    if gaussian:
        ssim_all, cs_all = _ssim_maps(preds, targets, data_range)
        ms_all = _ms_ssim(preds, targets, data_range, ms_names, first=(ssim_all, cs_all)) if ms_names else {}
    uniform = ssim_uniform(preds, targets, data_range=data_range) if "ssim_mcsam" in metrics else None
    scores: dict[tuple[str, str], Tensor] = {}
    for i, variant in enumerate(variants):
        if variant not in regions:
            continue
        part = slice(i * batch, (i + 1) * batch)
        for name, values in ms_all.items():
            scores[(name, variant)] = values[part]
        if "ssim" in metrics and variant == "zero_outside":
            scores[("ssim", variant)] = ssim_all[part].flatten(1).to(torch.float64).mean(1)
        if uniform is not None:
            scores[("ssim_mcsam", variant)] = uniform[part]
    ssim_map = ssim_all[:batch].mean(1, keepdim=True) if want_map else None
    return ssim_map, scores


@torch.no_grad()
def pixel_scores(pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None = None, *, data_range: float = 1.0,
                 metrics: Sequence[str] = PIXEL_METRICS, regions: Sequence[str] = REGIONS,
                 boundary_px: int = 8, weights: Mapping[str, Tensor] | None = None,
                 parts: Tensor | None = None) -> dict[tuple[str, str], Tensor]:
    """Per-image pixel metrics for every (metric, region): ``{(metric, region): Tensor (B,) float64}``.

    ``pred``/``target``: ``(B, C, H, W)`` float in ``[0, data_range]``; ``mask``: ``(B, 1, H, W)`` 1 = hole;
    ``fg``: ``(B, 1, H, W)`` 1 = foreground or None (then ``fg``/``hole_fg`` keys are omitted); ``parts``:
    ``(B, 5, H, W)`` face-part maps (:func:`~occbench.metrics.regions.region_weights`) or None (then the
    ``hole_<part>`` keys are omitted). ``metrics``: any of :data:`IMPLEMENTED` (default :data:`PIXEL_METRICS`);
    each gets the regions its record lists (``ms_ssim``: ``whole``/``zero_outside``, NaN when ``H`` or ``W`` <
    176). Empty region → NaN. Units and definitions: see the module docstring. ``weights``: this batch's
    :func:`region_weights` when the caller already has them (e.g. shared between output modes and metrics; they
    then also say whether the part regions exist, ``parts`` is ignored); computed here otherwise.
    """
    _check_inputs(pred, target, mask, fg)
    metrics, regions = check_metrics(metrics), check_regions(regions)
    m = binarize(mask).to(pred.device, pred.dtype)
    if weights is None:
        weights = region_weights(m, None if fg is None else fg.to(pred.device), regions=regions,
                                 boundary_px=boundary_px, parts=None if parts is None else parts.to(pred.device))
    else:
        weights = {r: weights[r] for r in regions if r in weights}
    diff = pred - target
    maps: dict[str, Tensor] = {}
    wanted = {_MAP_OF[x] for x in metrics if x in _MAP_OF}
    if "sq" in wanted:
        maps["sq"] = diff.square().mean(1, keepdim=True)
    if "abs" in wanted:
        maps["abs"] = diff.abs().mean(1, keepdim=True)
    if "gray_abs" in wanted:
        maps["gray_abs"] = diff.mean(1, keepdim=True).abs()
    means = region_means(maps, weights)
    if "zero_outside" in regions:  # error maps × mask averaged over the whole image
        means.update(region_means({k: v * m for k, v in maps.items()}, {"zero_outside": torch.ones_like(m)}))
    ssim_map, structural = _structural(pred, target, m, metrics, regions, data_range)
    if ssim_map is not None:
        means.update(region_means({"ssim": ssim_map}, weights))

    out: dict[tuple[str, str], Tensor] = {}
    has_parts = any(region in weights for region in PART_REGIONS)
    for metric, region in metric_region_pairs(metrics, regions, has_fg=fg is not None, has_parts=has_parts):
        if (metric, region) in structural:
            out[(metric, region)] = structural[(metric, region)]
        elif metric == "ssim":
            out[(metric, region)] = means[("ssim", region)]
        else:
            out[(metric, region)] = _finish(metric, means[(_MAP_OF[metric], region)], data_range)
    return out


class PixelMetrics(MetricBackend):
    """Back end of every pixel metric: :func:`pixel_scores` with the settings' ``data_range`` and ``boundary_px``."""

    def per_image(self, pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None, *, regions: Sequence[str],
                  weights: Mapping[str, Tensor], prepared: list | None) -> Values:
        scores = pixel_scores(pred, target, mask, fg, data_range=self.settings.data_range, metrics=self.metrics,
                              regions=regions, boundary_px=self.settings.boundary_px, weights=weights)
        return {key: value.cpu() for key, value in scores.items()}
