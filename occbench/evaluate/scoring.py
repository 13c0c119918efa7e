"""Scoring batches with every requested metric, region and output mode.

Per-image metrics come back as ``{(metric, region, mode): Tensor (B,)}``; dataset-level metrics (FID,
KID) accumulate Inception features per set: ``real/<region>`` once per batch and ``<mode>/<region>``
per output mode, for the regions ``whole`` and ``zero_outside``. Metrics whose weights are missing
are an error when asked for explicitly and are dropped with a warning when they were only defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from occbench.errors import OccbenchError
from occbench.metrics import METRIC_INFO
from occbench.metrics.regions import REGIONS, zero_outside
from occbench.weights import MissingWeightsError

PIXEL_METRICS = ("psnr", "ssim", "ms_ssim", "rmse", "mae", "mse", "l1")
DEFAULT_METRICS = (*PIXEL_METRICS, "lpips", "fid", "kid", "identity")
MODES = ("raw", "composite")
DISTRIBUTION_REGIONS = ("whole", "zero_outside")


@dataclass(frozen=True)
class ScoreSettings:
    """What to score and how (recorded under ``settings`` in results.json)."""

    metrics: tuple[str, ...] = DEFAULT_METRICS
    regions: tuple[str, ...] = REGIONS
    modes: tuple[str, ...] = MODES
    boundary_px: int = 8
    data_range: float = 1.0
    lpips_net: str = "alex"
    kid_subset_size: int = 1000
    weights_dir: Path | None = None
    allow_random_lpips: bool = False
    device: str = "cpu"
    explicit: bool = False  # metrics were chosen by the user: missing weights are an error

    def __post_init__(self) -> None:
        for name, values, allowed in (("metrics", self.metrics, DEFAULT_METRICS), ("regions", self.regions, REGIONS),
                                      ("modes", self.modes, MODES)):
            unknown = [v for v in values if v not in allowed]
            if unknown or not values:
                raise OccbenchError(f"--{name}: Expected values from {', '.join(allowed)}, but got {list(values)}")


def composite(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``mask * pred + (1 - mask) * target`` (mask 1 = hole)."""
    return mask * pred + (1 - mask) * target


@dataclass
class Scorer:
    """Holds the metric back-ends for one evaluation and scores batch after batch."""

    settings: ScoreSettings
    warnings: list[str] = field(default_factory=list)
    weights: dict[str, Any] = field(default_factory=dict)
    random_weights: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        s = self.settings
        self.metrics = list(s.metrics)
        self.lpips = self._try("lpips", self._make_lpips) if "lpips" in self.metrics else None
        wants_fid = any(m in self.metrics for m in ("fid", "kid"))
        self.inception = self._try("fid", self._make_inception) if wants_fid else None
        if wants_fid and self.inception is None:
            self.metrics = [m for m in self.metrics if m not in ("fid", "kid")]
        self.identity = self._try("identity", self._make_identity) if "identity" in self.metrics else None

    def _try(self, metric: str, factory):
        try:
            return factory()
        except (MissingWeightsError, OccbenchError) as exc:
            if self.settings.explicit:
                raise
            self.warnings.append(f"{metric} skipped: {exc}")
            self.metrics = [m for m in self.metrics if m != metric]
            return None

    def _make_lpips(self):
        from occbench.metrics.lpips_metric import LPIPSScorer

        scorer = LPIPSScorer(net=self.settings.lpips_net, weights_dir=self.settings.weights_dir,
                             allow_random_trunk=self.settings.allow_random_lpips, device=self.settings.device)
        self.weights["lpips"] = scorer.weights_used
        if scorer.random_trunk:
            self.random_weights.append(f"lpips ({self.settings.lpips_net} trunk)")
            self.warnings.append("LPIPS uses a RANDOM trunk (--allow-random-lpips): values are not LPIPS")
        return scorer

    def _make_inception(self):
        from occbench.metrics.distribution import InceptionFeatureStats

        stats = InceptionFeatureStats(weights_dir=self.settings.weights_dir, device=self.settings.device,
                                      kid_subset_size=self.settings.kid_subset_size)
        self.weights["inception"] = {"path": str(stats.weights_path), "sha256": stats.weights_sha256}
        return stats

    def _make_identity(self):
        from occbench.metrics.identity import IdentityScorer

        return IdentityScorer()

    def score_batch(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                    fg: torch.Tensor | None) -> dict[tuple[str, str, str], torch.Tensor]:
        """Per-image scores of one batch for every (metric, region, mode)."""
        from occbench.metrics.pixel import pixel_scores

        s = self.settings
        pixel = [m for m in self.metrics if m in PIXEL_METRICS]
        if self.inception is not None:
            for region in DISTRIBUTION_REGIONS:
                self.inception.update(f"real/{region}", target if region == "whole" else zero_outside(target, mask))
        out: dict[tuple[str, str, str], torch.Tensor] = {}
        for mode in s.modes:
            image = pred if mode == "raw" else composite(pred, target, mask)
            scores = dict(pixel_scores(image, target, mask, fg, data_range=s.data_range, metrics=tuple(pixel),
                                       regions=s.regions, boundary_px=s.boundary_px)) if pixel else {}
            if self.lpips is not None:
                scores.update(self.lpips.score(image, target, mask, fg, regions=s.regions, boundary_px=s.boundary_px))
            if self.identity is not None:
                scores.update(self.identity.score(image, target))
            if self.inception is not None:
                for region in DISTRIBUTION_REGIONS:
                    self.inception.update(f"{mode}/{region}", image if region == "whole" else zero_outside(image, mask))
            for (metric, region), values in scores.items():
                out[(metric, region, mode)] = values
        return out

    def dataset_metrics(self) -> list[dict[str, Any]]:
        """FID/KID per mode and region, for the regions requested (whole, zero_outside)."""
        rows: list[dict[str, Any]] = []
        if self.inception is None:
            return rows
        for mode in self.settings.modes:
            for region in DISTRIBUTION_REGIONS:
                if region not in self.settings.regions:
                    continue
                real, fake = f"real/{region}", f"{mode}/{region}"
                count = self.inception.count(fake)
                if count < 2:  # a covariance needs two samples
                    self.warnings.append(f"FID/KID ({mode}, {region}) need at least 2 samples, got {count}: "
                                         "not computed")
                    rows += [{"metric": m, "region": region, "mode": mode, "value": None, "std": None, "count": count,
                              "better": METRIC_INFO[m].better} for m in ("fid", "kid") if m in self.metrics]
                    continue
                if "fid" in self.metrics:
                    rows.append({"metric": "fid", "region": region, "mode": mode,
                                 "value": _finite_or_none(self.inception.fid(real, fake)), "std": None,
                                 "count": count, "better": METRIC_INFO["fid"].better})
                if "kid" in self.metrics:
                    mean, std = self.inception.kid(real, fake)
                    rows.append({"metric": "kid", "region": region, "mode": mode, "value": _finite_or_none(mean),
                                 "std": _finite_or_none(std), "count": count, "better": METRIC_INFO["kid"].better})
        return rows


def _finite_or_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
