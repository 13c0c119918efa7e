"""SGIN's losses (§ "Loss Function"): ``L = λsd·Lsd + λfeat·Lfeat + λper·Lper + λadv·Ladv`` plus the coarse MSE.

- ``Lsd`` self-distillation: ``Σ_i ||f_i(X_gt) − f_i(X_m)||²`` over the SGI blocks, the generator run on the
  unmasked ground truth as the (detached) teacher; averaged per element here (a sum of squares over feature maps
  of very different sizes would be dominated by the largest).
- ``Lfeat``: L1 between the discriminator's intermediate features of the ground truth and of the prediction.
- ``Ladv``: the paper's log form, ``E[log D(X)] + E[log(1 − D(G(X_masked|L)))]``, i.e. the non-saturating
  binary cross-entropy on logits (summed over the discriminator's scales).
- ``Lper``: L2 between VGG-19 features of the prediction and the ground truth (the paper's Eq. 3), on
  pix2pixHD's layers and weights (relu1_1 … relu5_1, 1/32 … 1).
- coarse: MSE between the first, coarse output and the conditioned image on its known pixels.

The λ are in an unpublished supplement; ``config.yaml`` uses SPADE/SEAN's (feature matching 10, VGG 10,
adversarial 1) and 1 for self-distillation and the coarse term (README.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from occbench.baselines.layers import feature_matching_loss, nonsaturating_d_loss, nonsaturating_g_loss

VGG_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
VGG_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def self_distillation_loss(student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor]) -> torch.Tensor:
    """``Σ_i mean((f_i(X_m) − f_i(X_gt))²)``; the teacher's features are detached."""
    return sum(F.mse_loss(s, t.detach()) for s, t in zip(student, teacher))


def perceptual_l2(pred: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Weighted L2 between VGG-19 features (pix2pixHD's layers and weights)."""
    return sum(w * F.mse_loss(pred[name], target[name].detach()) for name, w in zip(VGG_LAYERS, VGG_WEIGHTS))


def coarse_loss(coarse: torch.Tensor, conditioned: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """MSE on the known pixels (``hole`` 0) between the coarse output and the conditioned image."""
    known = 1 - hole
    return ((coarse - conditioned) ** 2 * known).sum() / (known.sum() * coarse.shape[1]).clamp_min(1.0)


def adversarial_d(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Discriminator loss summed over scales (the last output of each scale is its logit map)."""
    return sum(nonsaturating_d_loss(r[-1], f[-1]) for r, f in zip(real, fake))


def adversarial_g(fake: list[list[torch.Tensor]]) -> torch.Tensor:
    return sum(nonsaturating_g_loss(f[-1]) for f in fake)


__all__ = ["VGG_LAYERS", "adversarial_d", "adversarial_g", "coarse_loss", "feature_matching_loss", "perceptual_l2",
           "self_distillation_loss"]
