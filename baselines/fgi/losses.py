"""Foreground-guided losses (paper §3.1, Eq. 1–4) on the output ``I_pred = (1-M)·I + M·G(I, M)``.

``M_F`` is the foreground (CelebAMask-HQ classes 1–13, docs/conventions.md §2); every pixel term is divided by the
element count of the image (``N = H·W·C``, the paper's normalisation). ``supervision`` says what the pixel and
feature terms weigh: ``weighted`` (default) = the whole image with the foreground weighted up,
``w = 1 + foreground_boost·M_F``, so hole pixels in the background are supervised too (R-MNet's global
perceptual term is the precedent); ``foreground`` = the paper's literal ``M_F`` (background hole pixels then get
no pixel-loss gradient at all). ``reference`` is the paper's ``M_I`` (see README: the ground truth by default).
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
    supervision: str = "weighted"  # "weighted" (whole image, foreground weighted up) or "foreground" (literal M_F)
    foreground_boost: float = 1.0  # weighted: foreground pixels count 1 + boost times a background pixel

    @classmethod
    def from_config(cls, losses: Mapping) -> FGILossConfig:
        cfg = cls(**losses)
        if cfg.reference not in ("target", "occluded"):
            raise ValueError(f"losses.reference: Expected 'target' or 'occluded', but got {cfg.reference!r}")
        if cfg.supervision not in ("weighted", "foreground"):
            raise ValueError(f"losses.supervision: Expected 'weighted' or 'foreground', but got {cfg.supervision!r}")
        if cfg.foreground_boost < 0:
            raise ValueError(f"losses.foreground_boost: Expected a value >= 0, but got {cfg.foreground_boost}")
        return cfg

    def weight_map(self, fg: torch.Tensor) -> torch.Tensor:
        """Per-pixel weight of the pixel and feature terms (see the module docstring)."""
        fg = fg.float()
        return fg if self.supervision == "foreground" else 1 + self.foreground_boost * fg


def composite(pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """R-MNet's output: the masked input plus the prediction inside the hole."""
    return (1 - mask) * image + mask * pred


def generator_loss(output: torch.Tensor, target: torch.Tensor, reference: torch.Tensor, fg: torch.Tensor,
                   feat_output: torch.Tensor, feat_reference: torch.Tensor, fake_scores: torch.Tensor,
                   cfg: FGILossConfig) -> dict[str, torch.Tensor]:
    """``total`` and the unweighted terms ``cF`` (L1 vs ``reference``), ``F`` (L2 vs ``target``), ``pF``
    (feature L2, the weight map area-resized to the feature map, mean over feature elements) and
    ``adversarial``; pixel and feature terms weighted by :meth:`FGILossConfig.weight_map` of ``fg``."""
    weight = cfg.weight_map(fg)
    weight_feat = F.interpolate(weight, size=feat_output.shape[-2:], mode="area")
    parts = {
        "cF": masked_l1(output, reference, weight),
        "F": masked_l2(output, target, weight),
        "pF": masked_l2(feat_output, feat_reference, weight_feat),
        "adversarial": wgan_generator_loss(fake_scores),
    }
    parts["total"] = (cfg.consistency * parts["cF"] + cfg.foreground * parts["F"]
                      + cfg.perceptual * parts["pF"] + cfg.adversarial * parts["adversarial"])
    return parts


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Eq. 4 as a loss to minimise: ``mean C(I_pred) - mean C(I_gt)``."""
    return wgan_critic_loss(real_scores, fake_scores)
