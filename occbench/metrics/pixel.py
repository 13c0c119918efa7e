"""Pixel metrics (PSNR, SSIM, MS-SSIM, RMSE, MAE, MSE, L1) per image and per region.

Functional :func:`pixel_scores` + torchmetrics class :class:`RegionPixelMetrics` (state: sums and counts,
delegating to the functional). Inputs follow :mod:`occbench.metrics` (``pred``/``target`` ``(B, 3, H, W)`` in
``[0, data_range]``, ``mask``/``fg`` ``(B, 1, H, W)``, 1 = hole / foreground).

How a score is computed: each per-pixel map is computed ONCE per batch — squared error and absolute error
(both averaged over channels) and the SSIM map — and reduced over every region's weight map:
``sum(w * map) / sum(w)``, NaN for an empty region. ``zero_outside`` (both images × mask, metric over the
whole image) derives the error metrics from the same maps (``error_map * mask`` averaged over the whole
image); SSIM/MS-SSIM ``zero_outside`` need the masked images, which are stacked with the originals into one
batch.

SSIM and MS-SSIM follow torchmetrics' definitions exactly (``structural_similarity_index_measure`` with
``return_full_image=True`` and ``multiscale_structural_similarity_index_measure`` with their defaults:
Gaussian window sigma 1.5, 11 px, reflect padding so the map is image-aligned, k1 0.01, k2 0.03; MS-SSIM with
5 scales, betas (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), ``normalize="relu"``, contrast term averaged
without a 5 px border) but are computed here: the Gaussian blur with reflect padding is applied as two
matrix products (``A_H @ X @ A_W^T``, ~3x faster than torchmetrics' 11×11 depthwise convolution on CPU),
and MS-SSIM's first scale reuses the SSIM moments. Tests check both against torchmetrics (and SSIM against
scikit-image) to 1e-4. The SSIM map is averaged over channels.

Units and polarity: ``psnr`` dB (higher better), ``10*log10(data_range^2 / MSE_region)`` with the MSE on the
``[0, data_range]`` scale, ``inf`` when the region's MSE is 0; ``ssim``/``ms_ssim`` unitless, 1 = identical
(higher better); ``mse``/``rmse``/``mae`` on the 0–255 scale (values ×``(255/data_range)^2`` or
``255/data_range``), ``l1`` on the 0–1 scale (absolute error / ``data_range``), all lower better. ``rmse`` is
the root of each image's region MSE (then averaged over images). ``psnr`` whole equals torchmetrics'
``peak_signal_noise_ratio(..., reduction="none", dim=(1, 2, 3))``.

MS-SSIM has no pixel-aligned map, so only ``whole`` and ``zero_outside`` exist. With 5 scales and an 11 px
window torchmetrics requires ``H // 16 > 10``, i.e. ``H, W >= 176`` px (:data:`MS_SSIM_MIN_SIZE`); smaller
images yield NaN for ``ms_ssim`` instead of an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from occbench.compat import ensure_torchvision_importable

ensure_torchvision_importable()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor  # noqa: E402
from torchmetrics import Metric  # noqa: E402

from occbench.metrics import PIXEL_METRICS  # noqa: E402
from occbench.metrics.regions import REGIONS, binarize, check_map, check_regions, region_means, region_weights  # noqa: E402,I001

MS_SSIM_REGIONS: tuple[str, ...] = ("whole", "zero_outside")
MS_SSIM_BETAS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_MIN_SIZE = 176  # torchmetrics: H // (len(betas) - 1) ** 2 > kernel_size - 1
SSIM_SIGMA, SSIM_RADIUS, SSIM_K1, SSIM_K2 = 1.5, 5, 0.01, 0.03  # radius = int(3.5 * sigma + 0.5)
_MSE_BASED = ("psnr", "rmse", "mse")
_ABS_BASED = ("mae", "l1")


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
    unknown = [m for m in metrics if m not in PIXEL_METRICS]
    if unknown:
        raise ValueError(f"Expected metrics from {PIXEL_METRICS}, but got unknown {unknown}")
    return tuple(dict.fromkeys(metrics))


def metric_region_pairs(metrics: Sequence[str], regions: Sequence[str], has_fg: bool = True) -> list[tuple[str, str]]:
    """The ``(metric, region)`` keys :func:`pixel_scores` returns for these arguments, in order."""
    pairs = []
    for metric in check_metrics(metrics):
        for region in check_regions(regions):
            if metric == "ms_ssim" and region not in MS_SSIM_REGIONS:
                continue
            if not has_fg and region in ("fg", "hole_fg"):
                continue
            pairs.append((metric, region))
    return pairs


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


def _ms_ssim(pred: Tensor, target: Tensor, data_range: float, first: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """Per-image MS-SSIM ``(N,)`` float64 (torchmetrics' defaults); ``first`` = precomputed scale-1 maps."""
    if min(pred.shape[-2:]) < MS_SSIM_MIN_SIZE:
        return torch.full((pred.shape[0],), float("nan"), dtype=torch.float64, device=pred.device)
    r = SSIM_RADIUS
    result = torch.ones(pred.shape[0], dtype=torch.float64, device=pred.device)
    for scale, beta in enumerate(MS_SSIM_BETAS):
        ssim_map, cs_map = first if scale == 0 and first is not None else _ssim_maps(pred, target, data_range)
        if scale < len(MS_SSIM_BETAS) - 1:
            value = cs_map[..., r:-r, r:-r].flatten(1).to(torch.float64).mean(1)
            pred, target = F.avg_pool2d(pred, 2), F.avg_pool2d(target, 2)
        else:
            value = ssim_map.flatten(1).to(torch.float64).mean(1)
        result = result * value.relu() ** beta
    return result


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
    return value / data_range  # l1


def _structural(pred: Tensor, target: Tensor, m: Tensor, metrics: tuple[str, ...], regions: tuple[str, ...],
                data_range: float) -> tuple[Tensor | None, dict[tuple[str, str], Tensor]]:
    """SSIM map of the original images (channel-averaged, for the weight-map regions) and the whole-image
    scores ``{("ssim" | "ms_ssim", "whole" | "zero_outside"): (B,)}``, with ONE scale-1 SSIM pass over the
    stacked originals and masked copies (MS-SSIM reuses it)."""
    want_ssim_map = "ssim" in metrics and any(r != "zero_outside" for r in regions)
    want_ms = "ms_ssim" in metrics
    variants = []  # which image sets go through the shared pass
    if want_ssim_map or (want_ms and "whole" in regions):
        variants.append("whole")
    if "zero_outside" in regions and ("ssim" in metrics or want_ms):
        variants.append("zero_outside")
    if not variants:
        return None, {}
    batch = pred.shape[0]
    preds = torch.cat([pred if v == "whole" else pred * m for v in variants])
    targets = torch.cat([target if v == "whole" else target * m for v in variants])
    ssim_all, cs_all = _ssim_maps(preds, targets, data_range)
    ms_all = _ms_ssim(preds, targets, data_range, first=(ssim_all, cs_all)) if want_ms else None
    scores: dict[tuple[str, str], Tensor] = {}
    for i, variant in enumerate(variants):
        part = slice(i * batch, (i + 1) * batch)
        if ms_all is not None and variant in regions:
            scores[("ms_ssim", variant)] = ms_all[part]
        if "ssim" in metrics and variant == "zero_outside":
            scores[("ssim", variant)] = ssim_all[part].flatten(1).to(torch.float64).mean(1)
    ssim_map = ssim_all[:batch].mean(1, keepdim=True) if want_ssim_map else None
    return ssim_map, scores


@torch.no_grad()
def pixel_scores(pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None = None, *, data_range: float = 1.0,
                 metrics: Sequence[str] = PIXEL_METRICS, regions: Sequence[str] = REGIONS,
                 boundary_px: int = 8, weights: Mapping[str, Tensor] | None = None) -> dict[tuple[str, str], Tensor]:
    """Per-image pixel metrics for every (metric, region): ``{(metric, region): Tensor (B,) float64}``.

    ``pred``/``target``: ``(B, C, H, W)`` float in ``[0, data_range]``; ``mask``: ``(B, 1, H, W)`` 1 = hole;
    ``fg``: ``(B, 1, H, W)`` 1 = foreground or None (then ``fg``/``hole_fg`` keys are omitted). ``ms_ssim``
    only has ``whole``/``zero_outside`` keys (NaN when ``H`` or ``W`` < 176). Empty region → NaN. Units and
    definitions: see the module docstring. ``weights``: this batch's :func:`region_weights` when the caller
    already has them (e.g. shared between output modes and metrics); computed here otherwise.
    """
    _check_inputs(pred, target, mask, fg)
    metrics, regions = check_metrics(metrics), check_regions(regions)
    m = binarize(mask).to(pred.device, pred.dtype)
    if weights is None:
        weights = region_weights(m, None if fg is None else fg.to(pred.device), regions=regions,
                                 boundary_px=boundary_px)
    else:
        weights = {r: weights[r] for r in regions if r in weights}
    diff = pred - target
    maps: dict[str, Tensor] = {}
    if any(x in metrics for x in _MSE_BASED):
        maps["sq"] = diff.square().mean(1, keepdim=True)
    if any(x in metrics for x in _ABS_BASED):
        maps["abs"] = diff.abs().mean(1, keepdim=True)
    means = region_means(maps, weights)
    if "zero_outside" in regions:  # error maps × mask averaged over the whole image
        means.update(region_means({k: v * m for k, v in maps.items()}, {"zero_outside": torch.ones_like(m)}))
    ssim_map, structural = _structural(pred, target, m, metrics, regions, data_range)
    if ssim_map is not None:
        means.update(region_means({"ssim": ssim_map}, weights))

    out: dict[tuple[str, str], Tensor] = {}
    for metric, region in metric_region_pairs(metrics, regions, has_fg=fg is not None):
        if (metric, region) in structural:
            out[(metric, region)] = structural[(metric, region)]
        elif metric == "ssim":
            out[(metric, region)] = means[("ssim", region)]
        else:
            key = ("sq" if metric in _MSE_BASED else "abs", region)
            out[(metric, region)] = _finish(metric, means[key], data_range)
    return out


class RegionPixelMetrics(Metric):
    """torchmetrics metric: mean over images of :func:`pixel_scores` for each (metric, region).

    State: ``total`` and ``count`` (float64, one slot per (metric, region) pair), summed over updates and
    processes. NaN scores (empty regions, MS-SSIM on small images) are excluded and counted in ``nan_count``.
    ``compute()`` returns ``{(metric, region): Tensor scalar float64}`` (NaN where no image had the region).
    Note that PSNR is ``inf`` for an image identical to its target in the region, which makes the mean inf.
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False

    def __init__(self, metrics: Sequence[str] = PIXEL_METRICS, regions: Sequence[str] = REGIONS,
                 boundary_px: int = 8, data_range: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.metrics, self.regions = check_metrics(metrics), check_regions(regions)
        self.boundary_px, self.data_range = boundary_px, data_range
        self.pairs = metric_region_pairs(self.metrics, self.regions)
        self._index = {pair: i for i, pair in enumerate(self.pairs)}
        n = len(self.pairs)
        self.add_state("total", default=torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("nan_count", default=torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None = None) -> None:
        scores = pixel_scores(pred, target, mask, fg, data_range=self.data_range, metrics=self.metrics,
                              regions=self.regions, boundary_px=self.boundary_px)
        for pair, values in scores.items():
            i = self._index[pair]
            valid = ~torch.isnan(values)
            self.total[i] += values[valid].sum().to(self.total.device)
            self.count[i] += valid.sum().to(self.count.device)
            self.nan_count[i] += (~valid).sum().to(self.nan_count.device)

    def compute(self) -> dict[tuple[str, str], Tensor]:
        means = torch.where(self.count > 0, self.total / self.count.clamp_min(1.0),
                            torch.full_like(self.total, float("nan")))
        return {pair: means[i] for pair, i in self._index.items()}
