"""Scoring batches with every requested metric, region and output mode, sharing all work that is shared.

The requested metrics are grouped by the back end their records name (:mod:`occbench.metrics.base`); one back
end is built per group and called through the one interface. Per-image metrics come back as
``{(metric, region, mode): Tensor (B,)}``; dataset-level back ends (FID, KID) receive their per-image statistics
per output mode and give their rows at the end. Metrics whose weights are missing are an error when asked for
explicitly and are dropped with a warning when they were only defaults.

Work computed once and shared (the values are identical, not approximations):

- region weight maps (hole, foreground, boundary band, hole ∩ face part) once per batch, for every metric and
  mode;
- the composite ``mask*pred + (1-mask)*target`` of a sample whose raw output already equals it (every
  method that copies the known pixels) is not scored again: its composite scores and features are its raw
  ones; only the samples whose composite differs are scored again;
- ``zero_outside`` images are the same in both modes (``composite * mask == pred * mask`` for a 0/1 mask),
  so their results are computed once;
- each back end's reference work (:meth:`~occbench.metrics.base.MetricBackend.prepare`: the target's face box
  and descriptor, the real images' Inception features) once per sample, and across evaluations once per image
  content (:mod:`occbench.metrics.feature_cache`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from occbench.distributed import Dist, gather_objects
from occbench.errors import OccbenchError
from occbench.metrics import ALL_REGIONS, OUTPUT_MODES, REGIONS, default_metrics, get_metric, selectable_metrics
from occbench.metrics.base import MetricBackend, MetricSettings, Values
from occbench.metrics.regions import binarize, region_weights
from occbench.weights import MissingWeightsError

MODES = OUTPUT_MODES


@dataclass(frozen=True)
class ScoreSettings(MetricSettings):
    """What to score and how (recorded under ``settings`` in results.json); the back ends' arguments are
    inherited from :class:`~occbench.metrics.base.MetricSettings`. ``regions`` defaults to
    :data:`~occbench.metrics.REGIONS`; the face-part regions (:data:`~occbench.metrics.PART_REGIONS`) are scored
    only when listed (``evaluate --parts``)."""

    metrics: tuple[str, ...] = field(default_factory=default_metrics)
    regions: tuple[str, ...] = REGIONS
    modes: tuple[str, ...] = MODES
    explicit: bool = False  # metrics were chosen by the user: missing weights are an error
    explicit_regions: bool = False  # regions were chosen by the user: fg / hole_fg the dataset cannot give are an error
    # (part regions the dataset cannot give are always an error: they are never scored by default)

    def __post_init__(self) -> None:
        for name, values, allowed in (("metrics", self.metrics, selectable_metrics()),
                                      ("regions", self.regions, ALL_REGIONS), ("modes", self.modes, MODES)):
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


class Scorer:
    """Holds the metric back ends of one evaluation and scores batch after batch."""

    def __init__(self, settings: ScoreSettings) -> None:
        self.settings = settings
        self.metrics: list[str] = list(settings.metrics)  # those actually scored (skipped ones removed)
        self.backends: list[MetricBackend] = []
        self.raw_equals_composite = 0  # samples whose raw output already was its composite
        self._warnings: list[str] = []
        self._cache_totals: dict[str, dict[str, int]] | None = None  # all processes' counters, set by gather()
        groups: dict[str, list[str]] = {}
        for name in self.metrics:
            groups.setdefault(get_metric(name).backend, []).append(name)
        for names in groups.values():
            backend = self._build(names)
            if backend is not None:
                self.backends.append(backend)

    def _build(self, names: list[str]) -> MetricBackend | None:
        try:
            return get_metric(names[0]).backend_class()(tuple(names), self.settings)
        except (MissingWeightsError, OccbenchError) as exc:
            if self.settings.explicit:
                raise
            self._warnings.append(f"{'/'.join(names)} skipped: {exc}")
            self.metrics = [m for m in self.metrics if m not in names]
            return None

    @property
    def warnings(self) -> list[str]:
        return self._warnings + [w for backend in self.backends for w in backend.warnings]

    @property
    def weights(self) -> dict[str, Any]:
        """Provenance of every weight file the back ends loaded."""
        return {key: value for backend in self.backends for key, value in backend.weights_used.items()}

    @property
    def random_weights(self) -> list[str]:
        return [name for backend in self.backends for name in backend.random_weights]

    @property
    def cache_stats(self) -> dict[str, dict[str, int]]:
        """Reference-image results read from (hits) / added to (misses) the cache in this evaluation (of all
        processes once :meth:`gather` ran)."""
        if self._cache_totals is not None:
            return self._cache_totals
        return {key: value for backend in self.backends for key, value in backend.cache_stats().items()}

    def _per_image(self, images: torch.Tensor, target: torch.Tensor, m: torch.Tensor, fg: torch.Tensor | None,
                   weights: dict[str, torch.Tensor], regions: tuple[str, ...], prepared: list) -> list[Values]:
        """Every back end's per-image values of one output mode (``regions`` only)."""
        return [backend.per_image(images, target, m, fg, regions=regions, weights=weights, prepared=state)
                for backend, state in zip(self.backends, prepared)]

    def score_batch(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                    fg: torch.Tensor | None, predicted_mask: torch.Tensor | None = None, *,
                    parts: torch.Tensor | None = None) -> dict[tuple[str, str, str], torch.Tensor]:
        """Per-image scores of one batch for every (metric, region, mode); feeds the dataset-level back ends.

        ``mask`` is the dataset's hole mask: it defines the regions. ``predicted_mask``: the hole a method found
        itself (``mask=predicted``); the composite then pastes the target back through it, as the method's own
        pipeline would, and its agreement with ``mask`` is scored (``mask_iou``, ``mask_precision``,
        ``mask_recall``, in every mode). ``parts``: ``(B, 5, H, W)`` face-part maps of the target's labels
        (:func:`occbench.dataset.tensors.parts_tensor`) for the ``hole_<part>`` regions, None to leave them out.
        """
        s = self.settings
        m = binarize(mask).to(pred.device, pred.dtype)
        pm = None if predicted_mask is None else binarize(predicted_mask).to(pred.device, pred.dtype)
        fg = None if fg is None else binarize(fg).to(pred.device)
        parts = None if parts is None else binarize(parts).to(pred.device)
        weights = region_weights(m, fg, regions=s.regions, boundary_px=s.boundary_px, parts=parts)
        prepared = [backend.prepare(target, m, fg, regions=s.regions) for backend in self.backends]
        results: dict[str, list[Values]] = {}
        if "raw" in s.modes:
            results["raw"] = self._per_image(pred, target, m, fg, weights, s.regions, prepared)
        if "composite" in s.modes:
            comp = composite(pred, target, m if pm is None else pm)
            if "raw" in results:
                # zero_outside images are the same in both modes only when the composite used the dataset's mask
                results["composite"] = self._composite_from_raw(pred, comp, target, m, fg, weights, prepared,
                                                                results["raw"], share_zero_outside=pm is None)
            else:
                results["composite"] = self._per_image(comp, target, m, fg, weights, s.regions, prepared)
        out: dict[tuple[str, str, str], torch.Tensor] = {}
        for mode, per_backend in results.items():
            for backend, values in zip(self.backends, per_backend):
                if backend.dataset_level:
                    backend.add(mode, values)
                    continue
                for (metric, region), scores in values.items():
                    out[(metric, region, mode)] = scores
            if pm is not None:
                for metric, scores in mask_agreement(pm, m).items():
                    out[(metric, "whole", mode)] = scores
        return out

    def _composite_from_raw(self, pred, comp, target, m, fg, weights, prepared, raw: list[Values],
                            share_zero_outside: bool = True) -> list[Values]:
        """Composite-mode values: the raw ones where the composite equals the raw output, and for
        ``zero_outside`` (when the composite used the dataset's mask); the other samples scored again."""
        differs = (pred != comp).flatten(1).any(1)
        self.raw_equals_composite += int((~differs).sum())
        out = [{key: value.clone() for key, value in values.items()} for values in raw]
        idx = differs.nonzero().squeeze(1)
        regions = tuple(r for r in self.settings.regions if r != "zero_outside" or not share_zero_outside)
        if len(idx) and regions:
            rows = idx.tolist()
            subset = [None if state is None else [state[i] for i in rows] for state in prepared]
            fresh = self._per_image(comp[idx], target[idx], m[idx], None if fg is None else fg[idx],
                                    {r: w[idx] for r, w in weights.items()}, regions, subset)
            cpu_rows = idx.cpu()
            for values, new in zip(out, fresh):
                for key, value in new.items():
                    values[key][cpu_rows] = value
        return out

    def gather(self, ddp: Dist) -> None:
        """Under ``torchrun``, after every process scored its samples: merge the dataset-level statistics, the
        shared-work counters, the cache counters and the warnings of all processes into this one (collective)."""
        if not ddp.active:
            return
        for backend in self.backends:
            backend.gather(ddp)
        parts = gather_objects((self.raw_equals_composite, self.cache_stats, self._warnings,
                                [backend.warnings for backend in self.backends]), ddp)
        self.raw_equals_composite = sum(part[0] for part in parts)
        self._cache_totals = {}
        for _, stats, _, _ in parts:
            for name, counts in stats.items():
                total = self._cache_totals.setdefault(name, {"hits": 0, "misses": 0})
                for key in total:
                    total[key] += counts.get(key, 0)
        self._warnings = list(dict.fromkeys(w for part in parts for w in part[2]))
        for i, backend in enumerate(self.backends):
            backend.warnings = list(dict.fromkeys(w for part in parts for w in part[3][i]))

    def dataset_metrics(self) -> list[dict[str, Any]]:
        """Rows of the dataset-level metrics (FID/KID per mode and region) of every back end."""
        return [row for backend in self.backends if backend.dataset_level
                for row in backend.compute(self.settings.modes)]
