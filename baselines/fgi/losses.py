"""Foreground-guided losses (paper §3.1, Eq. 1–4) on the output ``I_pred = (1-M)·I + M·G(I, M)``.

``M_F`` is the foreground (CelebAMask-HQ classes 1–13, docs/conventions.md §2); every pixel term is divided by the
element count of the image (``N = H·W·C``, the paper's normalisation), so pixels outside the foreground
contribute nothing. ``reference`` is the paper's ``M_I`` (see README: the ground truth by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from occbench.baselines.layers import masked_l1, masked_l2, wgan_critic_loss, wgan_generator_loss


@dataclass(frozen=True)
class FGILossConfig:
    """Weights of ``L = λcF·L_cF + λF·L_F + λpF·L_pF + λadv·L_adv`` and the VGG16 layer of L_pF."""

    consistency: float = 1.0     # λcF
    foreground: float = 1.0      # λF
    perceptual: float = 1.0      # λpF
    adversarial: float = 1.0e-3  # λadv (R-MNet's weight of the WGAN term)
    perceptual_layer: str = "relu3_3"
    reference: str = "target"    # what M_I is: "target" (ground truth) or "occluded" (the masked input)

    @classmethod
    def from_config(cls, losses: Mapping) -> FGILossConfig:
        cfg = cls(**losses)
        if cfg.reference not in ("target", "occluded"):
            raise ValueError(f"losses.reference: Expected 'target' or 'occluded', but got {cfg.reference!r}")
        return cfg


def composite(pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """R-MNet's output: the masked input plus the prediction inside the hole."""
    return (1 - mask) * image + mask * pred


def generator_loss(output: torch.Tensor, target: torch.Tensor, reference: torch.Tensor, fg: torch.Tensor,
                   feat_output: torch.Tensor, feat_reference: torch.Tensor, fake_scores: torch.Tensor,
                   cfg: FGILossConfig) -> dict[str, torch.Tensor]:
    """``total`` and the unweighted terms ``cF`` (L1 vs ``reference``), ``F`` (L2 vs ``target``), ``pF``
    (feature L2, ``fg`` area-resized to the feature map, mean over feature elements) and ``adversarial``."""
    fg_feat = F.interpolate(fg.float(), size=feat_output.shape[-2:], mode="area")
    parts = {
        "cF": masked_l1(output, reference, fg),
        "F": masked_l2(output, target, fg),
        "pF": masked_l2(feat_output, feat_reference, fg_feat),
        "adversarial": wgan_generator_loss(fake_scores),
    }
    parts["total"] = (cfg.consistency * parts["cF"] + cfg.foreground * parts["F"]
                      + cfg.perceptual * parts["pF"] + cfg.adversarial * parts["adversarial"])
    return parts


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Eq. 4 as a loss to minimise: ``mean C(I_pred) - mean C(I_gt)``."""
    return wgan_critic_loss(real_scores, fake_scores)
