"""Streaming aggregation of per-image scores: memory does not grow with the number of samples.

Every score is added to running statistics (Welford mean/variance, count, NaN count) under several
scopes at once: all samples, its PConv-6 and LaMa-10 hole-ratio bin (from the manifest's hole ratio)
and its generator. NaNs (empty region, no face found) are counted, never averaged in. This is the one place
per-image scores are averaged; the rows follow :mod:`occbench.results_schema`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from occbench.bins import bin_of
from occbench.metrics import metric_info
from occbench.results_schema import BIN_SCHEMES, STAT_KEYS, bin_label


@dataclass
class RunningStats:
    """Welford running mean and variance over finite-or-infinite values; NaNs only counted."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    nan_count: int = 0

    def add(self, value: float) -> None:
        if math.isnan(value):
            self.nan_count += 1
            return
        self.count += 1
        if math.isinf(value) or math.isinf(self.mean):  # e.g. PSNR of a perfect sample: the mean becomes inf
            self.mean += value
            self.m2 = math.nan
            return
        delta = value - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (value - self.mean)

    def merge(self, other: RunningStats) -> None:
        """Add the values ``other`` summarised (Chan et al.'s pairwise update: the same mean and variance as adding
        them one by one, up to rounding)."""
        self.nan_count += other.nan_count
        if other.count == 0:
            return
        if self.count == 0:
            self.count, self.mean, self.m2 = other.count, other.mean, other.m2
            return
        if not (math.isfinite(self.mean) and math.isfinite(other.mean)):  # an infinite value was added: as add()
            self.mean += other.mean
            self.m2 = math.nan
        else:
            delta = other.mean - self.mean
            total = self.count + other.count
            self.mean += delta * other.count / total
            self.m2 += other.m2 + delta * delta * self.count * other.count / total
        self.count += other.count

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else math.nan

    def summary(self) -> dict[str, Any]:
        values = (_json_float(self.mean if self.count else math.nan), _json_float(self.std), self.count,
                  self.nan_count)
        return dict(zip(STAT_KEYS, values))


def _json_float(value: float) -> float | None | str:
    """JSON has no NaN/inf: NaN → null, ±inf → "inf"/"-inf"."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


class StreamingAggregates:
    """Running statistics per (scope, metric, region, mode)."""

    def __init__(self) -> None:
        self._stats: dict[tuple, RunningStats] = defaultdict(RunningStats)

    def add(self, *, generator: str, hole_ratio: float, metric: str, region: str, mode: str, value: float) -> None:
        key = (metric, region, mode)
        self._stats[("all", None, *key)].add(value)
        self._stats[("generator", generator, *key)].add(value)
        for scheme, bins in BIN_SCHEMES.items():
            index = bin_of(hole_ratio, bins)
            if index is not None:
                self._stats[(scheme, index, *key)].add(value)

    def merge(self, other: StreamingAggregates) -> None:
        """Add another process's statistics (``torchrun``: each process aggregates its samples, process 0 merges
        them in rank order)."""
        for key, stats in other._stats.items():
            self._stats[key].merge(stats)

    def to_results(self) -> dict[str, Any]:
        """``aggregates``, ``bins`` and ``by_generator`` sections of results.json (docs/results.md); each
        aggregate carries its metric's direction (``better``) from the metric's record."""
        aggregates, by_generator = [], []
        bins: dict[str, list] = {scheme: [] for scheme in BIN_SCHEMES}
        for (scope, part, metric, region, mode), stats in sorted(self._stats.items(), key=lambda kv: str(kv[0])):
            row = {"metric": metric, "region": region, "mode": mode, **stats.summary()}
            if scope == "all":
                aggregates.append({**row, "better": metric_info(metric).better})
            elif scope == "generator":
                by_generator.append({"generator": part, **row})
            else:
                lo, hi = BIN_SCHEMES[scope][part]
                bins[scope].append({"bin": bin_label(lo, hi), "lo": lo, "hi": hi, **row})
        for rows in bins.values():
            rows.sort(key=lambda r: (r["metric"], r["region"], r["mode"], r["lo"]))
        return {"aggregates": aggregates, "bins": bins, "by_generator": by_generator}
