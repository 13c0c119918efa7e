"""Scoring batches with every requested metric, region and output mode, sharing all work that is shared.

Per-image metrics come back as ``{(metric, region, mode): Tensor (B,)}``; dataset-level metrics (FID,
KID) accumulate Inception features per set: ``real/<region>`` once per image and ``<mode>/<region>`` per
output mode, for the regions ``whole`` and ``zero_outside``. Metrics whose weights are missing are an error
when asked for explicitly and are dropped with a warning when they were only defaults.

Work computed once and shared (the values are identical, not approximations):

- region weight maps (hole, foreground, boundary band) once per batch, for every metric and mode;
- the composite ``mask*pred + (1-mask)*target`` of a sample whose raw output already equals it (every
  method that copies the known pixels) is not scored again: its composite scores and features are its raw
  ones; for the other samples only the composite's differing pixels are scored again;
- ``zero_outside`` images are the same in both modes (``composite * mask == pred * mask`` for a 0/1 mask),
  so their pixel, LPIPS and Inception results are computed once;
- the target's face box and dlib descriptor once per sample (identity);
- the real images' Inception features and the targets' face boxes and descriptors once per image content,
  across evaluations (:mod:`occbench.metrics.feature_cache`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from occbench.errors import OccbenchError
from occbench.metrics import DEFAULT_METRICS, METRIC_INFO, OUTPUT_MODES, PIXEL_METRICS
from occbench.metrics.regions import REGIONS, binarize, region_weights
from occbench.weights import MissingWeightsError

MODES = OUTPUT_MODES
DISTRIBUTION_REGIONS = ("whole", "zero_outside")
Scores = dict[tuple[str, str], torch.Tensor]
Features = dict[str, np.ndarray]


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
    feature_cache: bool = True  # reuse reference-image Inception features and face descriptors across runs
    explicit: bool = False  # metrics were chosen by the user: missing weights are an error
    explicit_regions: bool = False  # regions were chosen by the user: fg / hole_fg the dataset cannot give are an error

    def __post_init__(self) -> None:
        for name, values, allowed in (("metrics", self.metrics, DEFAULT_METRICS), ("regions", self.regions, REGIONS),
                                      ("modes", self.modes, MODES)):
            unknown = [v for v in values if v not in allowed]
            if unknown or not values:
                raise OccbenchError(f"--{name}: Expected values from {', '.join(allowed)}, but got {list(values)}")


def composite(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``mask * pred + (1 - mask) * target`` (mask 1 = hole)."""
    return mask * pred + (1 - mask) * target


def mask_agreement(predicted: torch.Tensor, truth: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image IoU, precision and recall (float64 ``(B,)``) of a predicted hole mask against the dataset's
    (both ``(B, 1, H, W)``, 1 = hole). Empty unions give IoU 1; no predicted (true) holes give precision
    (recall) NaN."""
    p, t = predicted.flatten(1) > 0.5, truth.flatten(1) > 0.5
    inter = (p & t).sum(1).double()
    union, n_pred, n_true = (p | t).sum(1).double(), p.sum(1).double(), t.sum(1).double()
    nan = torch.full_like(inter, float("nan"))
    return {"mask_iou": torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(inter)).cpu(),
            "mask_precision": torch.where(n_pred > 0, inter / n_pred.clamp_min(1), nan).cpu(),
            "mask_recall": torch.where(n_true > 0, inter / n_true.clamp_min(1), nan).cpu()}


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
        self.feature_cache = self._make_cache() if self.inception is not None and s.feature_cache else None
        self.identity_cache = None
        if self.identity is not None and s.feature_cache:
            from occbench.metrics.feature_cache import FeatureCache

            self.identity_cache = FeatureCache(self.identity.cache_namespace())
        self.raw_equals_composite = 0  # samples whose raw output already was its composite
        self._noted: set[str] = set()

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

    def _make_cache(self):
        from occbench.metrics.feature_cache import FeatureCache

        device_type = torch.device(self.settings.device).type
        namespace = (f"inception-v3-compat/pool3/resize-bilinear-antialias/channels-last/"
                     f"{self.inception.weights_sha256}/torch-{torch.__version__}/{device_type}")
        return FeatureCache(namespace)

    @property
    def cache_stats(self) -> dict[str, dict[str, int]]:
        """Reference-image results read from (hits) / added to (misses) the cache in this evaluation."""
        return {name: {"hits": cache.hits, "misses": cache.misses} for name, cache in
                (("inception", self.feature_cache), ("identity", self.identity_cache)) if cache is not None}

    def _distribution_regions(self) -> list[str]:
        return [r for r in DISTRIBUTION_REGIONS if r in self.settings.regions] if self.inception is not None else []

    def _add_real(self, target: torch.Tensor, m: torch.Tensor) -> None:
        from occbench.metrics.feature_cache import cached_features

        for region in self._distribution_regions():
            images = target if region == "whole" else target * m
            self.inception.add(f"real/{region}", cached_features(self.feature_cache, images,
                                                                 self.inception.features))

    def _score_images(self, images: torch.Tensor, target: torch.Tensor, m: torch.Tensor, fg: torch.Tensor | None,
                      weights: dict[str, torch.Tensor], regions: tuple[str, ...], faces: list | None
                      ) -> tuple[Scores, Features]:
        """Every per-image metric and the Inception features of one output mode (``regions`` only)."""
        from occbench.metrics.pixel import pixel_scores

        s = self.settings
        pixel = tuple(x for x in self.metrics if x in PIXEL_METRICS)
        scores: Scores = {}
        if pixel:
            scores.update(pixel_scores(images, target, m, fg, data_range=s.data_range, metrics=pixel, regions=regions,
                                       boundary_px=s.boundary_px, weights=weights))
        if self.lpips is not None:
            scores.update(self.lpips.score(images, target, m, fg, regions=regions, weights=weights))
        if self.identity is not None and "whole" in regions:
            scores.update(self.identity.score_prepared(images, faces))
        features: Features = {}
        for region in self._distribution_regions():
            if region in regions:
                features[region] = self.inception.features(images if region == "whole" else images * m)
        return {key: value.cpu() for key, value in scores.items()}, features

    def score_batch(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                    fg: torch.Tensor | None, predicted_mask: torch.Tensor | None = None
                    ) -> dict[tuple[str, str, str], torch.Tensor]:
        """Per-image scores of one batch for every (metric, region, mode); feeds the FID/KID feature sets.

        ``mask`` is the dataset's hole mask: it defines the regions. ``predicted_mask``: the hole a method found
        itself (``mask=predicted``); the composite then pastes the target back through it, as the method's own
        pipeline would, and its agreement with ``mask`` is scored (``mask_iou``, ``mask_precision``,
        ``mask_recall``, in every mode).
        """
        s = self.settings
        m = binarize(mask).to(pred.device, pred.dtype)
        pm = None if predicted_mask is None else binarize(predicted_mask).to(pred.device, pred.dtype)
        fg = None if fg is None else binarize(fg).to(pred.device)
        weights = region_weights(m, fg, regions=s.regions, boundary_px=s.boundary_px)
        faces = self.identity.prepare(target, self.identity_cache) if self.identity is not None else None
        if self.inception is not None:
            self._add_real(target, m)
        results: dict[str, tuple[Scores, Features]] = {}
        if "raw" in s.modes:
            results["raw"] = self._score_images(pred, target, m, fg, weights, s.regions, faces)
        if "composite" in s.modes:
            comp = composite(pred, target, m if pm is None else pm)
            if "raw" in results:
                # zero_outside images are the same in both modes only when the composite used the dataset's mask
                results["composite"] = self._composite_from_raw(pred, comp, target, m, fg, weights, faces,
                                                                results["raw"], share_zero_outside=pm is None)
            else:
                results["composite"] = self._score_images(comp, target, m, fg, weights, s.regions, faces)
        out: dict[tuple[str, str, str], torch.Tensor] = {}
        for mode, (scores, features) in results.items():
            for region, feats in features.items():
                self.inception.add(f"{mode}/{region}", feats)
            for (metric, region), values in scores.items():
                out[(metric, region, mode)] = values
            if pm is not None:
                for metric, values in mask_agreement(pm, m).items():
                    out[(metric, "whole", mode)] = values
        return out

    def _composite_from_raw(self, pred, comp, target, m, fg, weights, faces, raw: tuple[Scores, Features],
                            share_zero_outside: bool = True) -> tuple[Scores, Features]:
        """Composite-mode results: raw results where the composite equals the raw output, and for
        ``zero_outside`` (when the composite used the dataset's mask); the other samples scored again."""
        raw_scores, raw_features = raw
        differs = (pred != comp).flatten(1).any(1)
        self.raw_equals_composite += int((~differs).sum())
        scores = {key: value.clone() for key, value in raw_scores.items()}
        features = {region: value.copy() for region, value in raw_features.items()}
        idx = differs.nonzero().squeeze(1)
        regions = tuple(r for r in self.settings.regions if r != "zero_outside" or not share_zero_outside)
        if len(idx) and regions:
            sub = self._score_images(comp[idx], target[idx], m[idx], None if fg is None else fg[idx],
                                     {r: w[idx] for r, w in weights.items()}, regions,
                                     None if faces is None else [faces[i] for i in idx.tolist()])
            rows = idx.cpu()
            for key, value in sub[0].items():
                scores[key][rows] = value
            for region, value in sub[1].items():
                features[region][rows.numpy()] = value
        return scores, features

    def dataset_metrics(self) -> list[dict[str, Any]]:
        """FID/KID per mode and region, for the regions requested (whole, zero_outside)."""
        rows: list[dict[str, Any]] = []
        if self.inception is None:
            return rows
        for mode in self.settings.modes:
            for region in self._distribution_regions():
                real, fake = f"real/{region}", f"{mode}/{region}"
                count = self.inception.count(fake)
                if mode == "composite" and count >= 2 and "raw" in self.settings.modes and \
                        self.inception.same_features(fake, f"raw/{region}"):  # every composite was its raw output
                    rows += [{**row, "mode": mode} for row in rows if row["region"] == region and row["mode"] == "raw"]
                    continue
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
                    size = self.inception.kid_subset_size_for(real, fake)
                    rows.append({"metric": "kid", "region": region, "mode": mode, "value": _finite_or_none(mean),
                                 "std": _finite_or_none(std), "count": count, "subset_size": size,
                                 "better": METRIC_INFO["kid"].better})
                    if size < self.settings.kid_subset_size and f"kid-subsets-{size}" not in self._noted:
                        self._noted.add(f"kid-subsets-{size}")
                        self.warnings.append(f"KID uses subsets of {size} images (half of the {count} available, "
                                             f"fewer than the standard {self.settings.kid_subset_size}); its std is "
                                             "over those subsets")
        return rows


def _finite_or_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
