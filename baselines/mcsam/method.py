"""M-CSAM as an evaluation method: the inpainter, with its segmenter finding the face mask (``mask=predicted``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from occbench.baselines.engine.adapter import TrainedMethod

from occbench.errors import OccbenchError


@dataclass(frozen=True)
class MCSAMMethod(TrainedMethod):
    """M-CSAM from an ``occbench train --method mcsam`` checkpoint; ``mask=predicted`` runs the two-stage
    pipeline with ``segmenter`` (``occbench train --method mcsam-segmenter``): hole = probability > 0.5."""

    recipe_name: ClassVar[str] = "mcsam"
    auxiliary: ClassVar[dict[str, str]] = {"segmenter": "mcsam-segmenter"}
    modes: ClassVar[dict[str, tuple[str, ...]]] = {"mask": ("given", "predicted")}

    segmenter: Path | None = None

    def required(self) -> set[str]:
        return {"segmenter"} if self.mask == "predicted" else set()

    @torch.no_grad()
    def predict_with_mask(self, occluded: torch.Tensor, mask: torch.Tensor,
                          extras: dict[str, Any] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        occluded, mask, extras = self._inputs(occluded, mask, extras)
        if self.mask == "predicted":
            segmenter = self.network("segmenter")
            if not hasattr(segmenter, "predict_mask"):
                raise OccbenchError(f"{self.segmenter}: {type(segmenter).__name__} has no predict_mask()")
            mask = (segmenter.predict_mask(occluded) > 0.5).float()
        return self.recipe.inpaint(occluded, mask, extras).float(), mask
