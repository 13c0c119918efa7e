"""The one interface every metric back end implements, and the settings every back end takes.

A back end computes one or more registered metrics (those whose :attr:`MetricInfo.backend` names its class) and
shares work between them: the pixel back end computes each per-pixel map once for all pixel metrics, the Inception
back end one feature pass for FID and KID. ``evaluate`` (:class:`occbench.evaluate.scoring.Scorer`) builds one
back end per distinct ``backend`` among the requested metrics and calls, per batch:

1. :meth:`MetricBackend.prepare` once with the targets (work that depends on the reference only: face
   descriptors, the real images' Inception features), shared by every output mode;
2. :meth:`MetricBackend.per_image` for each output mode: ``{(name, region): Tensor (B, ...)}``, per-image scores
   ``(B,)`` float64 of image metrics, or per-image statistics (``(B, D)`` features) of dataset-level metrics;
3. :meth:`MetricBackend.add` (dataset-level back ends only) with each mode's statistics,

and at the end :meth:`MetricBackend.compute` for the dataset-level rows. Per-image values are aggregated in one
place (:class:`occbench.evaluate.aggregate.StreamingAggregates`). Inputs follow :mod:`occbench.metrics`: ``pred``
/ ``target`` ``(B, 3, H, W)`` in ``[0, data_range]``; ``mask`` / ``fg`` ``(B, 1, H, W)`` 0/1 float (1 = hole /
foreground), ``fg`` None without labels; ``weights`` the batch's :func:`~occbench.metrics.regions.region_weights`.

A plugin metric: a :class:`MetricInfo` registered under ``[project.entry-points."occbench.metrics"]`` whose
``backend`` names a subclass of :class:`MetricBackend`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from torch import Tensor

from occbench.distributed import Dist

Values = dict[tuple[str, str], Tensor]


@dataclass(frozen=True)
class MetricSettings:
    """Arguments every back end receives (recorded under ``settings`` in results.json)."""

    boundary_px: int = 8  # half-width of the boundary band, px
    data_range: float = 1.0  # images lie in [0, data_range]
    lpips_net: str = "alex"
    kid_subset_size: int = 1000
    weights_dir: Path | None = None  # searched first for weight files
    allow_random_lpips: bool = False
    device: str = "cpu"
    feature_cache: bool = True  # reuse reference-image Inception features and face descriptors across runs


class MetricBackend:
    """Computes the registered metrics ``metrics`` (all naming this class as their back end).

    Subclasses set :attr:`dataset_level` when their per-image values are statistics accumulated into dataset-level
    metrics, and record what they load in :attr:`weights_used` (provenance), :attr:`random_weights` (weights that
    were not the published ones) and :attr:`warnings`. Missing weights raise
    :class:`~occbench.weights.MissingWeightsError` from ``__init__``.
    """

    dataset_level: ClassVar[bool] = False

    def __init__(self, metrics: Sequence[str], settings: MetricSettings) -> None:
        self.metrics = tuple(metrics)
        self.settings = settings
        self.weights_used: dict[str, Any] = {}
        self.random_weights: list[str] = []
        self.warnings: list[str] = []

    def prepare(self, target: Tensor, mask: Tensor, fg: Tensor | None, *, regions: Sequence[str]) -> list | None:
        """Per-sample work that depends on the reference only, shared by every output mode: a list with one entry
        per sample (subset by row by the caller), or None."""
        return None

    def per_image(self, pred: Tensor, target: Tensor, mask: Tensor, fg: Tensor | None, *, regions: Sequence[str],
                  weights: Mapping[str, Tensor], prepared: list | None) -> Values:
        """``{(name, region): Tensor (B, ...)}`` for the requested ``regions`` each metric supports (on the CPU)."""
        raise NotImplementedError

    def add(self, mode: str, values: Values) -> None:
        """Accumulate one batch of :meth:`per_image` statistics of output mode ``mode`` (dataset-level only)."""

    def compute(self, modes: Sequence[str]) -> list[dict[str, Any]]:
        """Dataset-level rows ``{"metric", "region", "mode", "value", "std", "count", "better", ...}``."""
        return []

    def cache_stats(self) -> dict[str, dict[str, int]]:
        """``{name: {"hits", "misses"}}`` of the reference-image caches this back end used."""
        return {}

    def gather(self, ddp: Dist) -> None:
        """Under ``torchrun``, after every process has added its samples: make this process's accumulated
        statistics those of all processes, in rank order (dataset-level back ends; collective: every process
        calls it). Per-image back ends have nothing to gather."""
