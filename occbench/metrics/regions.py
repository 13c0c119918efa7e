"""Metric regions as weight maps built from the hole mask, the foreground map and the face-part maps
(docs/conventions.md §5).

Conventions: ``mask`` and ``fg`` are ``(B, 1, H, W)`` tensors, binarised at 0.5 (bool, 0/1 float and 0/1 or
0/255 uint8 all work): ``mask`` 1 = hole (occluded / missing), ``fg`` 1 = foreground (the label scheme's,
e.g. CelebAMask-HQ classes 1–13). ``parts`` is ``(B, 5, H, W)``, binarised the same way: channel ``i`` is 1 on the
pixels of face part ``FACE_PARTS[i]`` (eyes, nose, mouth, skin, hair; classes from the label scheme's
:attr:`~occbench.labels.LabelScheme.parts`), and region ``hole_<part>`` is hole ∩ that part. A weight map is a
float32 ``(B, 1, H, W)`` tensor of 0/1; a region's score for a per-pixel map ``m`` is ``sum(w * m) / sum(w)`` per
image, NaN when ``sum(w) == 0`` (empty region: e.g. a hole that misses the nose gives NaN for ``hole_nose``).

``zero_outside`` is not a weight map but an image transform (:func:`zero_outside`): both images are multiplied
by the mask and the metric runs over the whole image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from occbench.metrics import ALL_REGIONS, FACE_PARTS, PART_REGIONS, REGIONS

WEIGHT_REGIONS: tuple[str, ...] = ("whole", "hole", "fg", "hole_fg", "boundary", *PART_REGIONS)
FG_REGIONS: tuple[str, ...] = ("fg", "hole_fg")


def check_regions(regions: Sequence[str]) -> tuple[str, ...]:
    """Validate region names (any of :data:`~occbench.metrics.ALL_REGIONS`); returns them as a tuple (order kept,
    duplicates dropped)."""
    unknown = [r for r in regions if r not in ALL_REGIONS]
    if unknown:
        raise ValueError(f"Expected regions from {ALL_REGIONS}, but got unknown {unknown}")
    return tuple(dict.fromkeys(regions))


def check_map(name: str, x: Tensor, like: Tensor | None = None, channels: int | None = 1) -> None:
    """Raise ``ValueError("Expected ..., but got ...")`` unless ``x`` is ``(B, channels, H, W)`` matching ``like``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"Expected `{name}` to be a torch.Tensor, but got {type(x).__name__}")
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        want = f"(B, {channels}, H, W)" if channels is not None else "(B, C, H, W)"
        raise ValueError(f"Expected `{name}` of shape {want}, but got {tuple(x.shape)}")
    if like is not None and (x.shape[0] != like.shape[0] or x.shape[2:] != like.shape[2:]):
        raise ValueError(f"Expected `{name}` of shape ({like.shape[0]}, {x.shape[1]}, {like.shape[2]}, "
                         f"{like.shape[3]}) to match the images, but got {tuple(x.shape)}")


def binarize(x: Tensor) -> Tensor:
    """0/1 float32 map: ``x > 0.5`` (works for bool, 0/1 floats and 0/1 or 0/255 integers)."""
    return (x > 0.5).to(torch.float32) if x.dtype != torch.bool else x.to(torch.float32)


def boundary_band(mask: Tensor, k: int) -> Tensor:
    """Pixels within ``k`` px (Chebyshev distance) of the hole edge, on both sides: ``dilate(mask) - erode(mask)``.

    Dilation and erosion use a ``(2k+1) x (2k+1)`` square via ``max_pool2d`` (stride 1, padding k). Padding is
    ignored by the max, so the image border is not a hole edge: a hole touching the border is not eroded
    from that side. For a square hole of side ``s > 2k`` away from the border the band has
    ``(s + 2k)^2 - (s - 2k)^2`` pixels (k rows/columns of hole and k of known pixels across each edge).
    ``k = 0`` gives an empty band. Returns a float32 0/1 ``(B, 1, H, W)`` map.
    """
    if k < 0:
        raise ValueError(f"Expected `boundary_px` >= 0, but got {k}")
    m = binarize(mask)
    if k == 0:
        return torch.zeros_like(m)
    return _square_max(m, k) - (1.0 - _square_max(1.0 - m, k))


def _square_max(x: Tensor, k: int) -> Tensor:
    """Max over a ``(2k+1) x (2k+1)`` square (padding ignored), as a row pass then a column pass (same result as
    one 2-D max pool, ~k times cheaper)."""
    size = 2 * k + 1
    rows = F.max_pool2d(x, (1, size), stride=1, padding=(0, k))
    return F.max_pool2d(rows, (size, 1), stride=1, padding=(k, 0))


def zero_outside(x: Tensor, mask: Tensor) -> Tensor:
    """``x * mask``: pixels outside the hole set to 0 (the ``zero_outside`` region's image transform)."""
    return x * binarize(mask).to(x.dtype)


def region_weights(mask: Tensor, fg: Tensor | None = None, *, regions: Sequence[str] = REGIONS,
                   boundary_px: int = 8, parts: Tensor | None = None) -> dict[str, Tensor]:
    """Weight maps ``(B, 1, H, W)`` float32 0/1 for the requested weight-map regions.

    ``whole`` = ones, ``hole`` = mask, ``fg`` = fg, ``hole_fg`` = mask * fg, ``boundary`` =
    :func:`boundary_band` (``boundary_px`` px on both sides of the hole edge), ``hole_<part>`` = mask * that
    part's channel of ``parts`` ``(B, 5, H, W)``. ``zero_outside`` is skipped (image transform, see
    :func:`zero_outside`); ``fg`` and ``hole_fg`` are omitted when ``fg`` is None, the part regions when
    ``parts`` is None.
    """
    regions = check_regions(regions)
    check_map("mask", mask)
    m = binarize(mask)
    if fg is not None:
        check_map("fg", fg, like=m)
        f = binarize(fg).to(m.device)
    if parts is not None:
        check_map("parts", parts, like=m, channels=len(FACE_PARTS))
        p = binarize(parts).to(m.device)
    out: dict[str, Tensor] = {}
    for region in regions:
        if region == "zero_outside" or (region in FG_REGIONS and fg is None) or (region in PART_REGIONS
                                                                                 and parts is None):
            continue
        if region == "whole":
            out[region] = torch.ones_like(m)
        elif region == "hole":
            out[region] = m
        elif region == "fg":
            out[region] = f
        elif region == "hole_fg":
            out[region] = m * f
        elif region in PART_REGIONS:
            i = PART_REGIONS.index(region)
            out[region] = m * p[:, i : i + 1]
        else:
            out[region] = boundary_band(m, boundary_px)
    return out


def region_means(maps: Mapping[str, Tensor], weights: Mapping[str, Tensor]) -> dict[tuple[str, str], Tensor]:
    """Weighted means of per-pixel maps: ``{(map_name, region): sum(w*map)/sum(w)}`` as ``(B,)`` float64.

    ``maps`` are ``(B, 1, H, W)``; all maps and regions are reduced in one batched contraction. NaN where the
    region is empty (``sum(w) == 0``).
    """
    if not maps or not weights:
        return {}
    names, regions = list(maps), list(weights)
    stacked_maps = torch.stack([maps[n].flatten(1) for n in names]).to(torch.float64)  # (M, B, P)
    stacked_w = torch.stack([weights[r].flatten(1) for r in regions]).to(torch.float64)  # (R, B, P)
    sums = torch.einsum("mbp,rbp->mrb", stacked_maps, stacked_w)
    counts = stacked_w.sum(-1)  # (R, B)
    means = torch.where(counts > 0, sums / counts.clamp_min(1.0), torch.full_like(sums, float("nan")))
    return {(n, r): means[i, j] for i, n in enumerate(names) for j, r in enumerate(regions)}
