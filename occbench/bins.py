"""Hole ratios and hole-ratio bins: the vocabulary shared by hole masks, occlusion synthesis, evaluation and reports,
and the parameter range checks the generators share.

A bin is ``(lo, hi)`` with ``0 <= lo < hi <= 1`` (fractions of the image area). Bins are half-open,
``lo <= ratio < hi``, except that the highest upper bound is inclusive, so a ratio of exactly 0.6 lies in
PConv's last bin (0.5, 0.6) and 1.0 in LaMa's last bin (0.9, 1.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Bin = tuple[float, float]

PCONV_BINS: tuple[Bin, ...] = ((0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))
"""PConv's six bins (Liu et al. 2018, NVIDIA irregular masks), as fractions of the image area."""
LAMA_BINS: tuple[Bin, ...] = tuple((i / 10, (i + 1) / 10) for i in range(10))
"""Ten equal bins over [0, 1] (LaMa's and MAT's hole-ratio breakdowns)."""


def hole_ratio(mask: Any) -> float:
    """Fraction of pixels that are holes / occluded (mask > 0) of a numpy array (numpy is imported only here, so
    that reading the bins stays light for the CLI)."""
    import numpy as np

    return float(np.count_nonzero(mask)) / float(mask.size)


def check_bins(name: str, bins: Any) -> None:
    """Raise ``ValueError("name: Expected ..., but got ...")`` unless ``bins`` is a non-empty list of valid bins."""
    if not isinstance(bins, (list, tuple)) or not bins:
        raise ValueError(f"{name}: Expected a non-empty list of [lo, hi] hole-ratio bins, but got {bins!r}")
    for item in bins:
        ok = isinstance(item, (list, tuple)) and len(item) == 2
        if ok:
            lo, hi = item
            ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in item) and 0 <= lo < hi <= 1
        if not ok:
            raise ValueError(f"{name}: Expected each bin as [lo, hi] with 0 <= lo < hi <= 1, but got {item!r}")


def in_bin(ratio: float, bins: Sequence[Bin], index: int) -> bool:
    """Whether ``ratio`` lies in ``bins[index]`` (half-open; the highest upper bound is inclusive)."""
    lo, hi = bins[index]
    top = max(b[1] for b in bins)
    return lo <= ratio < hi or (ratio == hi and hi == top)


def bin_of(ratio: float, bins: Sequence[Bin]) -> int | None:
    """Index of the first bin containing ``ratio``, or None when it lies in none of them."""
    for index in range(len(bins)):
        if in_bin(ratio, bins, index):
            return index
    return None


def check_range(name: str, pair: Any, minimum: float = 0, maximum: float | None = None) -> None:
    """Raise ``ValueError`` unless ``pair`` is ``[a, b]`` with ``minimum <= a <= b`` (and ``b <= maximum``)."""
    ok = isinstance(pair, (list, tuple)) and len(pair) == 2
    if ok:
        a, b = pair
        ok = minimum <= a <= b and (maximum is None or b <= maximum)
    if not ok:
        upper = "" if maximum is None else f" <= {maximum}"
        raise ValueError(f"{name}: Expected [min, max] with {minimum} <= min <= max{upper}, but got {pair!r}")


def check_pair(name: str, pair: Any, minimum: float = 0) -> None:
    """Raise ``ValueError`` unless ``pair`` is ``[a, b]`` with both values ``>= minimum``."""
    if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and min(pair) >= minimum):
        raise ValueError(f"{name}: Expected two values >= {minimum}, but got {pair!r}")
