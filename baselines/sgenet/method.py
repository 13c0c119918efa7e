"""SGE-Net as an evaluation method (mask given). Besides the inpainted image it returns its own final-scale
segmentation ``Ŝ^0`` (:meth:`SGENetMethod.predict_segmentation`), which evaluation scores against the dataset's
labels when the schemes agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from occbench.baselines.engine.adapter import TrainedMethod


@dataclass(frozen=True)
class SGENetMethod(TrainedMethod):
    """The SGE-Net generator of an ``occbench train --method sgenet`` checkpoint; the dataset's mask."""

    recipe_name: ClassVar[str] = "sgenet"

    @property
    def label_scheme(self) -> str | None:
        """The scheme the checkpoint was trained on (its segmentation classes; None for basic-net without labels)."""
        return self.recipe.scheme.name if self.recipe.scheme is not None else None

    @property
    def provenance(self) -> dict[str, Any]:
        return {**super().provenance, "label_scheme": self.label_scheme}

    @torch.no_grad()
    def predict_with_mask(self, occluded: torch.Tensor, mask: torch.Tensor,
                          extras: dict[str, Any] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        image, _ = self.predict_segmentation(occluded, mask, extras)
        return image, mask.to(image.device)

    @torch.no_grad()
    def predict_segmentation(self, occluded: torch.Tensor, mask: torch.Tensor,
                             extras: dict[str, Any] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Final image in [0, 1] and class map ``(B, H, W)`` int64 (None for basic-net), from one pass."""
        occluded, mask, _ = self._inputs(occluded, mask, extras)
        out = self.recipe.run(occluded, mask)
        image = ((out["images"][-1] + 1) / 2).clamp(0, 1).float()
        return image, (out["segmentations"][-1].argmax(1) if out["segmentations"] else None)
