"""Per-image and dataset-level metrics for occluded-face inpainting, region-aware: the one metric layer.

Every metric is a registered :class:`MetricInfo` (``occbench.registry.METRICS``; built-ins in
:mod:`occbench.metrics.catalog`, plugins through the entry-point group ``occbench.metrics``): the ONE record of its
unit, direction, display name, decimals, display scale, regions, kind, whether ``evaluate`` scores it by default,
where its definition comes from, and the back end that computes it (``backend = "module:Class"``, a
:class:`occbench.metrics.base.MetricBackend`, imported only when the metric is scored). Evaluation, tables, plots
and results readers all read this record; nothing else restates it.

Conventions shared by every back end (docs/conventions.md §2, §5; names and units in ``docs/results.md``):

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
``boundary`` (a band of ``boundary_px`` pixels on both sides of the hole edge); opt-in, the face-part regions
:data:`PART_REGIONS` (hole ∩ eyes / nose / mouth / skin / hair of the dataset's parsing labels; ``parts``
``(B, 5, H, W)``, one 0/1 channel per part of :data:`FACE_PARTS`, or None without face-part
labels, when they are omitted like ``fg``). The weight-map regions
average a per-pixel map (squared error, absolute error, SSIM map, LPIPS spatial map) over the region; a metric
without a pixel-aligned map (MS-SSIM, FID, the M-CSAM SSIM) lists only the regions it supports.

Paper variants (``ssim_mcsam``, ``l1_mcsam``, ``ms_ssim_reduced``) are metrics like the others; the paper
conventions no metric can express are listed, with the reason, in docs/results.md.

This module stays light (no torch import): the back ends live in :mod:`occbench.metrics.pixel`,
:mod:`occbench.metrics.lpips_metric`, :mod:`occbench.metrics.distribution` and :mod:`occbench.metrics.identity`.
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

REGIONS: tuple[str, ...] = ("whole", "zero_outside", "hole", "fg", "hole_fg", "boundary")
"""The regions ``evaluate`` scores by default (docs/conventions.md §5)."""
FACE_PARTS: tuple[str, ...] = ("eyes", "nose", "mouth", "skin", "hair")
"""The face parts of the per-part regions, in this order (the channel order of part maps). Which classes make up
each part is the label scheme's (:attr:`occbench.labels.LabelScheme.parts`)."""
PART_REGIONS: tuple[str, ...] = tuple(f"hole_{part}" for part in FACE_PARTS)
"""Hole ∩ face part (``hole_eyes``, ``hole_nose``, ``hole_mouth``, ``hole_skin``, ``hole_hair``; parts from the
dataset's label scheme, :attr:`occbench.labels.LabelScheme.parts`): opt-in (``evaluate --parts``)."""
ALL_REGIONS: tuple[str, ...] = REGIONS + PART_REGIONS
"""Every region name."""
OUTPUT_MODES: tuple[str, ...] = ("raw", "composite")
"""``raw``: the output as the method returned it; ``composite``: ``mask * pred + (1 - mask) * target``."""


@dataclass(frozen=True)
class MetricInfo:
    """Everything known about one metric, read by evaluation and by every table, plot and results reader.

    ``unit``: what the number means (scale, data range, window…); ``better``: polarity; ``regions``: the regions it
    can be scored on; ``kind``: ``image`` (per-image scores, averaged over images) or ``dataset`` (one value per
    image set: FID, KID); ``display``: its column name; ``axis_unit``: a short unit for axis labels ("" when
    unitless); ``decimals``: digits printed; ``scale``: factor applied for display (KID is printed ×10³, as the
    inpainting literature does), stated in headers; ``backend``: ``"module:Class"`` of the
    :class:`~occbench.metrics.base.MetricBackend` computing it ("" for the mask-agreement metrics ``evaluate``
    computes itself); ``default``: scored by ``evaluate`` unless ``--metrics`` says otherwise; ``selectable``: may
    be named in ``--metrics`` (``identity_distance`` comes with ``identity``, ``mask_*`` with ``mask=predicted``);
    ``source``: where the definition or convention comes from.
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
    backend: str = ""
    default: bool = False
    selectable: bool = True
    source: str = ""

    def __post_init__(self) -> None:
        unknown = [r for r in self.regions if r not in ALL_REGIONS]
        if self.better not in ("higher", "lower") or self.kind not in ("image", "dataset") or unknown:
            raise ValueError(f"metric {self.name!r}: Expected better in (higher, lower), kind in (image, dataset) and "
                             f"regions from {ALL_REGIONS}, but got {self.better!r}, {self.kind!r}, "
                             f"{list(self.regions)}")

    def backend_class(self) -> type:
        """The :class:`~occbench.metrics.base.MetricBackend` subclass named by :attr:`backend` (imported now)."""
        from occbench.registry import _load  # the one loader of lazy "module:attr" targets

        if not self.backend:
            raise ValueError(f"metric {self.name!r}: Expected a 'module:Class' back end, but got none (computed by "
                             "evaluate itself)")
        return _load(self.backend)

    def header(self) -> str:
        """Column name with its display scale, e.g. "KID×10³"."""
        return self.display + ("" if self.scale == 1 else f"×10{_superscript(round(math.log10(self.scale)))}")


def _superscript(power: int) -> str:
    return str(power).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def get_metric(name: str) -> MetricInfo:
    """The registered record of ``name``; unknown names raise :class:`~occbench.errors.RegistryError` with
    suggestions."""
    from occbench.registry import METRICS

    info = METRICS.get(name)
    if not isinstance(info, MetricInfo) or info.name != name:
        raise TypeError(f"metric {name!r}: Expected a MetricInfo named {name!r} in the registry, but got {info!r}")
    return info


def metric_info(name: str) -> MetricInfo:
    """The record of ``name``; a name that is not registered (a third party's metric in results) gets a neutral
    one (lower is better, 4 decimals, displayed by its name)."""
    from occbench.registry import METRICS

    return get_metric(name) if name in METRICS else MetricInfo(name, "", "lower", ALL_REGIONS, "image", name)


def metric_names() -> list[str]:
    """Every registered metric: the built-ins in catalogue order, then plugins by name."""
    from occbench.metrics.catalog import BUILTIN
    from occbench.registry import METRICS

    builtin = [info.name for info in BUILTIN]
    return builtin + [name for name in METRICS.names() if name not in builtin]


def default_metrics() -> tuple[str, ...]:
    """What ``evaluate`` scores without ``--metrics`` (``identity`` also yields ``identity_distance``)."""
    return tuple(name for name in metric_names() if get_metric(name).default)


def selectable_metrics() -> tuple[str, ...]:
    """The names ``evaluate --metrics`` accepts."""
    return tuple(name for name in metric_names() if get_metric(name).selectable)


__all__ = ["ALL_REGIONS", "FACE_PARTS", "MIN_SAMPLES_FID", "MetricInfo", "OUTPUT_MODES", "PART_REGIONS", "REGIONS",
           "default_metrics", "get_metric", "metric_info", "metric_names", "selectable_metrics"]
