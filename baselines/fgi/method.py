"""Foreground-guided facial inpainting as an evaluation method (mask given)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from occbench.baselines.engine.adapter import TrainedMethod


@dataclass(frozen=True)
class FGIMethod(TrainedMethod):
    """The foreground-guided inpainter from an ``occbench train --method fgi`` checkpoint; the dataset's mask."""

    recipe_name: ClassVar[str] = "fgi"

    @torch.no_grad()
    def predict_with_mask(self, occluded: torch.Tensor, mask: torch.Tensor,
                          extras: dict[str, Any] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        occluded, mask, extras = self._inputs(occluded, mask, extras)
        return self.recipe.inpaint(occluded, mask, extras).float(), mask
