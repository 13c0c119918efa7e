"""Per-image and dataset-level metrics for occluded-face inpainting, region-aware.

Conventions shared by every metric module (docs/conventions.md §2, §5; names and units in ``docs/results.md``):

- images ``pred`` / ``target``: float32 torch tensors ``(B, 3, H, W)`` in ``[0, data_range]`` (``data_range``
  is 1.0 for occbench's in-memory images);
- ``mask``: ``(B, 1, H, W)``, 1 = hole / occluded / missing, 0 = known (binarised at 0.5);
- ``fg``: ``(B, 1, H, W)``, 1 = foreground (the label scheme's; CelebAMask-HQ classes 1–13: skin … hair), or
  ``None`` when the sample has no labels or its scheme no foreground (Cityscapes, OST): the ``fg`` and ``hole_fg``
  regions are then omitted from the results;
- argument names and order everywhere: ``pred, target, mask, fg, *, data_range``;
- per-image scores come back as ``dict[(metric, region)] -> Tensor (B,) float64``; an empty region gives NaN
  (counted, never averaged in).

Regions (see :mod:`occbench.metrics.regions`): ``whole``, ``zero_outside`` (both images multiplied by the
mask, metric over the whole image — the SGIN paper's "masked region"), ``hole``, ``fg``, ``hole_fg`` and
``boundary`` (a band of ``boundary_px`` pixels on both sides of the hole edge). The weight-map regions
average a per-pixel map (squared error, absolute error, SSIM map, LPIPS spatial map) over the region.

Units: ``mse``/``rmse``/``mae`` on the 0–255 scale, ``l1`` on 0–1, ``psnr`` in dB for the given
``data_range``. MS-SSIM is multi-scale and has no pixel-aligned map, so it supports ``whole`` and
``zero_outside`` only. FID/KID are dataset-level (``kind="dataset"``); identity metrics need a detected
face in the whole image.

This module stays light (no torch import): import :mod:`occbench.metrics.pixel` or
:mod:`occbench.metrics.lpips_metric` for the implementations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

MIN_SAMPLES_FID = 2048
"""Fewest images per set for a FID/KID that can be compared with published values.

The covariance of 2048-d features estimated from N images has rank at most N - 1, so below 2048 images it
is rank-deficient and the matrix square root in FID is poorly determined. FID is also biased upwards at
small N (the bias shrinks roughly as 1/N), and published FIDs use 2k-50k images (10k-30k typical for
CelebA-HQ inpainting). Below this count values are still computed, but ``evaluate`` warns that they are
not comparable to published numbers.
"""

ALL_REGIONS: tuple[str, ...] = ("whole", "zero_outside", "hole", "fg", "hole_fg", "boundary")
_WHOLE_ZERO = ("whole", "zero_outside")
OUTPUT_MODES: tuple[str, ...] = ("raw", "composite")
"""``raw``: the output as the method returned it; ``composite``: ``mask * pred + (1 - mask) * target``."""


@dataclass(frozen=True)
class MetricInfo:
    """Static description of one metric, read by evaluation and by every table and plot.

    ``unit``: what the number means; ``display``: its column name; ``axis_unit``: a short unit for axis labels
    ("" when unitless); ``decimals``: digits printed; ``scale``: factor applied for display (KID is printed
    ×10³, as the inpainting literature does), stated in headers.
    """

    name: str
    unit: str
    better: Literal["higher", "lower"]
    regions: tuple[str, ...]
    kind: Literal["image", "dataset"]
    display: str
    axis_unit: str = ""
    decimals: int = 4
    scale: float = 1.0

    def header(self) -> str:
        """Column name with its display scale, e.g. "KID×10³"."""
        return self.display + ("" if self.scale == 1 else f"×10{_superscript(round(math.log10(self.scale)))}")


def _superscript(power: int) -> str:
    return str(power).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


METRIC_INFO: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("psnr", "dB (data range 1.0 on [0, 1] images, i.e. 255 on 0-255)", "higher", ALL_REGIONS, "image",
                   "PSNR", "dB", 2),
        MetricInfo("ssim", "unitless, at most 1 (Gaussian window sigma 1.5, 11 px)", "higher", ALL_REGIONS, "image",
                   "SSIM"),
        MetricInfo("ms_ssim", "unitless, at most 1 (5 scales; needs H, W >= 176 px)", "higher", _WHOLE_ZERO, "image",
                   "MS-SSIM"),
        MetricInfo("rmse", "0-255 scale (root of the per-image MSE)", "lower", ALL_REGIONS, "image", "RMSE", "0–255",
                   2),
        MetricInfo("mae", "0-255 scale", "lower", ALL_REGIONS, "image", "MAE", "0–255", 2),
        MetricInfo("mse", "0-255 scale, squared", "lower", ALL_REGIONS, "image", "MSE", "0–255²", 2),
        MetricInfo("l1", "0-1 scale (mean absolute error / data range)", "lower", ALL_REGIONS, "image", "L1", "0–1"),
        MetricInfo("lpips", "unitless distance (LPIPS v0.1, AlexNet trunk by default)", "lower", ALL_REGIONS, "image",
                   "LPIPS"),
        MetricInfo("fid", "Frechet distance of Inception-v3 pool features", "lower", _WHOLE_ZERO, "dataset", "FID",
                   "", 2),
        MetricInfo("kid", "squared MMD of Inception-v3 features (x1 in results, mean over subsets)", "lower",
                   _WHOLE_ZERO, "dataset", "KID", "", 2, 1000.0),
        MetricInfo("identity", "cosine similarity of dlib face descriptors, -1..1", "higher", ("whole",), "image",
                   "ID sim"),
        MetricInfo("identity_distance", "Euclidean distance of dlib face descriptors", "lower", ("whole",), "image",
                   "ID dist"),
        MetricInfo("mask_iou", "intersection over union of the predicted and the dataset's mask, 0..1", "higher",
                   ("whole",), "image", "mask IoU"),
        MetricInfo("mask_precision", "share of predicted hole pixels that are dataset hole pixels, 0..1", "higher",
                   ("whole",), "image", "mask prec."),
        MetricInfo("mask_recall", "share of dataset hole pixels the predicted mask covers, 0..1", "higher",
                   ("whole",), "image", "mask rec."),
    )
}


def metric_info(name: str) -> MetricInfo:
    """The record of ``name``; unknown names (a third party's metric in results) get a neutral one."""
    return METRIC_INFO.get(name) or MetricInfo(name, "", "lower", ALL_REGIONS, "image", name)


PIXEL_METRICS: tuple[str, ...] = ("psnr", "ssim", "ms_ssim", "rmse", "mae", "mse", "l1")
DEFAULT_METRICS: tuple[str, ...] = (*PIXEL_METRICS, "lpips", "fid", "kid", "identity")
"""What ``evaluate`` scores by default (``identity`` also yields ``identity_distance``)."""

MASK_METRICS: tuple[str, ...] = ("mask_iou", "mask_precision", "mask_recall")
"""Scored when a method predicted its own mask (``mask=predicted``), against the dataset's mask."""

__all__ = ["ALL_REGIONS", "DEFAULT_METRICS", "MASK_METRICS", "METRIC_INFO", "MetricInfo", "OUTPUT_MODES",
           "PIXEL_METRICS", "metric_info"]
