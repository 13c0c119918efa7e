"""The method interface (docs/conventions.md §4).

A method maps ``(occluded, mask, extras) -> prediction`` on float32 tensors in [0, 1]:
``occluded`` and the prediction are ``(B, 3, H, W)``, ``mask`` is ``(B, 1, H, W)`` with 1 = hole.
``extras`` may carry ``"label"`` (``(B, H, W)`` int64 CelebAMask-HQ classes) or landmarks a method is
allowed to use. Methods are frozen dataclasses whose fields are their parameters.

Classical per-image methods subclass :class:`ImageMethod` and implement :meth:`ImageMethod.inpaint_image`
on uint8 numpy arrays; the batching and tensor conversion are done once here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occbench.dataset.tensors import images_uint8


def check_inputs(occluded: torch.Tensor, mask: torch.Tensor) -> None:
    """Shape contract: occluded (B, 3, H, W), mask (B, 1, H, W), same B, H, W."""
    if occluded.ndim != 4 or occluded.shape[1] != 3:
        raise ValueError(f"Expected occluded of shape (B, 3, H, W), but got {tuple(occluded.shape)}")
    expected = (occluded.shape[0], 1, *occluded.shape[2:])
    if tuple(mask.shape) != expected:
        raise ValueError(f"Expected mask of shape {expected}, but got {tuple(mask.shape)}")


@dataclass(frozen=True)
class Method(ABC):
    """Base class of all methods."""

    needs_weights: ClassVar[bool] = False
    mask_modes: ClassVar[tuple[str, ...]] = ("given",)  # "predicted" for methods that detect occlusions

    @abstractmethod
    def predict(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any] | None = None) -> torch.Tensor:
        """Return the prediction ``(B, 3, H, W)`` float32 in [0, 1]."""

    def predict_with_mask(self, occluded: torch.Tensor, mask: torch.Tensor,
                          extras: dict[str, Any] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The prediction and the hole mask ``(B, 1, H, W)`` it was made with: the given mask, or, for a method
        that finds the occlusion itself (``mask=predicted``), its own (saved beside the predictions and used to
        composite them)."""
        return self.predict(occluded, mask, extras), mask

    def to(self, device: str | torch.device) -> Method:
        """Move weights to ``device``; methods without weights ignore it."""
        return self


@dataclass(frozen=True)
class ImageMethod(Method):
    """A method that works on one uint8 image at a time (classical references)."""

    @abstractmethod
    def inpaint_image(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``image`` RGB uint8 (H, W, 3) with holes; ``mask`` uint8 (H, W), 1 = hole. Returns RGB uint8."""

    @torch.no_grad()
    def predict(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any] | None = None) -> torch.Tensor:
        check_inputs(occluded, mask)
        images = images_uint8(occluded)
        masks = (mask.detach().cpu()[:, 0] > 0.5).to(torch.uint8).numpy()
        out = np.stack([self.inpaint_image(np.ascontiguousarray(image), np.ascontiguousarray(hole))
                        for image, hole in zip(images, masks)])
        return torch.from_numpy(out).permute(0, 3, 1, 2).float().div(255).to(occluded.device)
