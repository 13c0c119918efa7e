"""M-CSAM objectives (§3.2, Eq. 6–10), all on the composite ``I_syn = (1-M)·I + M·I_r`` ("local supervision").

``L = λr·L1(I_syn, I_gt) + λp·L_p + λs·L_s + λadv·L_adv`` with RaLSGAN terms from both discriminators.
The frozen VGG16 is passed in; which layers feed L_p and L_s is a config choice (see README).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from occbench.baselines.layers import perceptual_loss, ralsgan_d_loss, ralsgan_g_loss, style_loss

FEATURE_LAYER = "relu3_3"  # input of the feature-patch discriminator


@dataclass(frozen=True)
class MCSAMLossConfig:
    """Loss weights (paper §4.2) and the VGG16 layers of the perceptual and style terms."""

    reconstruction: float = 1.0
    perceptual: float = 0.1
    style: float = 250.0
    adversarial: float = 0.1
    real_label: float = 0.9
    fake_label: float = 0.1
    perceptual_kind: str = "l1"
    perceptual_layers: Sequence[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    style_layers: Sequence[str] = ("relu2_2", "relu3_3", "relu4_3", "relu5_2")

    @classmethod
    def from_config(cls, losses: Mapping) -> MCSAMLossConfig:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in losses.items()})

    def vgg_layers(self) -> tuple[str, ...]:
        """Every VGG16 layer the losses and the feature-patch discriminator need."""
        return tuple(dict.fromkeys([*self.perceptual_layers, *self.style_layers, FEATURE_LAYER]))


def composite(pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``I_syn = (1 - M)·I_inp + M·I_r`` (Eq. 1)."""
    return (1 - mask) * image + mask * pred


def discriminator_loss(real: tuple[torch.Tensor, torch.Tensor], fake: tuple[torch.Tensor, torch.Tensor],
                       cfg: MCSAMLossConfig) -> torch.Tensor:
    """Sum of the RaLSGAN discriminator losses of the patch and feature-patch discriminators."""
    return sum((ralsgan_d_loss(r, f, cfg.real_label, cfg.fake_label) for r, f in zip(real, fake, strict=True)),
               start=torch.zeros((), device=real[0].device))


def generator_loss(comp: torch.Tensor, target: torch.Tensor, feats_comp: Mapping[str, torch.Tensor],
                   feats_target: Mapping[str, torch.Tensor], real: tuple[torch.Tensor, torch.Tensor],
                   fake: tuple[torch.Tensor, torch.Tensor], cfg: MCSAMLossConfig) -> dict[str, torch.Tensor]:
    """Weighted total (``total``) and its unweighted parts ``l1``, ``perceptual``, ``style``, ``adversarial``."""
    parts = {
        "l1": (comp.float() - target.float()).abs().mean(),
        "perceptual": perceptual_loss(feats_comp, feats_target, cfg.perceptual_layers, cfg.perceptual_kind),
        "style": style_loss(feats_comp, feats_target, cfg.style_layers),
        "adversarial": sum((ralsgan_g_loss(r, f, cfg.real_label, cfg.fake_label)
                            for r, f in zip(real, fake, strict=True)), start=torch.zeros((), device=comp.device)),
    }
    parts["total"] = (cfg.reconstruction * parts["l1"] + cfg.perceptual * parts["perceptual"]
                      + cfg.style * parts["style"] + cfg.adversarial * parts["adversarial"])
    return parts
