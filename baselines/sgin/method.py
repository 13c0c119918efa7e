"""SGIN as an evaluation method: occlusion detector → semantic map predictor → semantics-guided inpainter.

``mask``: ``given`` (the dataset's mask) or ``predicted`` (the ``detector`` checkpoint; hole = probability > 0.5).
``semantics``: ``predicted`` (the ``parser`` checkpoint on ``X_masked``) or ``gt`` (the dataset's labels, mapped
to HELEN's 11 classes; needs a dataset with labels). SGIN generates the whole image: evaluation scores its raw
output and the composite (through the mask it used).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from occbench.baselines.engine.adapter import TrainedMethod
from occbench.baselines.sgin.train import helen_labels, one_hot

from occbench.errors import OccbenchError


@dataclass(frozen=True)
class SGINMethod(TrainedMethod):
    """SGIN's three-stage pipeline (see the module docstring)."""

    recipe_name: ClassVar[str] = "sgin"
    auxiliary: ClassVar[dict[str, str]] = {"detector": "sgin-detector", "parser": "sgin-parser"}
    modes: ClassVar[dict[str, tuple[str, ...]]] = {"mask": ("given", "predicted"), "semantics": ("predicted", "gt")}

    detector: Path | None = None
    parser: Path | None = None
    semantics: str = "predicted"

    def required(self) -> set[str]:
        return ({"detector"} if self.mask == "predicted" else set()) | \
            ({"parser"} if self.semantics == "predicted" else set())

    def check_dataset(self, info: dict[str, Any], path: Path) -> None:
        """semantics=gt reads the dataset's labels as CelebAMask-HQ classes (mapped to HELEN's 11)."""
        from occbench.labels import dataset_scheme

        if self.semantics == "gt" and info.get("labels") and dataset_scheme(info).name != "celebamask19":
            raise OccbenchError(f"{path}: sgin with semantics=gt needs face labels (celebamask19), but this dataset's "
                                f"are {dataset_scheme(info).name}")

    @torch.no_grad()
    def semantic_map(self, masked: torch.Tensor, extras: dict[str, Any]) -> torch.Tensor:
        """One-hot HELEN classes ``(B, 11, H, W)`` for masked images in [0, 1]."""
        if self.semantics == "gt":
            if "label" not in extras:
                raise OccbenchError("sgin with semantics=gt needs the dataset's parsing labels, and this dataset has "
                                    "none; use semantics=predicted with --param parser=FILE")
            return one_hot(helen_labels(extras["label"]))
        return one_hot(self.network("parser").predict_semantics(masked))

    @torch.no_grad()
    def predict_with_mask(self, occluded: torch.Tensor, mask: torch.Tensor,
                          extras: dict[str, Any] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        occluded, mask, extras = self._inputs(occluded, mask, extras)
        if self.mask == "predicted":
            mask = (self.network("detector").predict_mask(occluded) > 0.5).float()
        masked = occluded * (1 - mask)
        semantics = self.semantic_map(masked, extras)
        return self.recipe.inpaint(occluded, mask, {**extras, "semantics": semantics}).float(), mask
