"""Training recipe ``sgenet`` (config: ``config.yaml`` in this folder; ``variant`` = basic-net | sg-net | sge-net).

Losses (paper Eq. 7–10), with images in [-1, 1] inside the recipe and targets/labels from the batch:

- multi-scale reconstruction ``Σ_l ||Y − up(Ŷ^l)||₁ + λp Σ_n ||Ψn(Y) − Ψn(up(Ŷ^l))||₁`` over every scale
  (bilinear upsampling), Ψ = VGG-16 relu2_2, relu3_3, relu4_3 (ImageNet weights; on [0, 1] images with
  ImageNet normalisation);
- adversarial: a 3-scale PatchGAN on the final output, the paper's log form (non-saturating BCE on logits);
- multi-scale cross-entropy ``Σ_l λs CE(up(Ŝ^l), S)`` with the dataset scheme's ignore value (not for
  basic-net); labels are the dataset's own (human labels, or a segmentation model's maps built into the
  dataset as its labels: Table 4's "Auto-segs").

``label_scheme: auto`` (default) is replaced by the engine with the training dataset's scheme, so checkpoints
know their classes.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from occbench.baselines.engine.recipe import Recipe, TrainSettings
from occbench.baselines.layers import (
    MultiscalePatchDiscriminator,
    VGGFeatures,
    nonsaturating_d_loss,
    nonsaturating_g_loss,
)
from occbench.baselines.sgenet.model import SGENetGenerator
from torch import nn

from occbench.errors import OccbenchError
from occbench.labels import get_scheme

VGG_LAYERS = ("relu2_2", "relu3_3", "relu4_3")


def _adam(params, lr: float, betas) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=float(lr), betas=tuple(float(b) for b in betas))


def masked_input(occluded: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The generator's input: the image in [-1, 1] with hole pixels set to 0."""
    return (occluded * 2 - 1) * (1 - hole)


def segmentation_target(label: torch.Tensor, ignore: int | None) -> torch.Tensor:
    """Class map for cross-entropy: the scheme's ignore value becomes -100 (PyTorch's ignore index)."""
    return label.masked_fill(label == ignore, -100) if ignore is not None else label


class SGENetRecipe(Recipe):
    """SGE-Net / SG-Net / Basic-Net generator, 3-scale PatchGAN, VGG-16 perceptual network."""

    name = "sgenet"

    def build(self, settings: TrainSettings) -> None:
        cfg, self.settings, dev = settings.config, settings, settings.device
        self.variant = cfg["variant"]
        if cfg["label_scheme"] == "auto" and self.variant != "basic-net":
            raise OccbenchError(f"sgenet variant {self.variant} learns segmentation, and its training data has no "
                                "labels (label_scheme is still 'auto'): train on a labelled dataset, or "
                                "--set variant=basic-net")
        self.scheme = None if cfg["label_scheme"] == "auto" else get_scheme(cfg["label_scheme"])
        g = cfg["generator"]
        self.generator = SGENetGenerator(
            self.scheme.num_classes if self.scheme else 1, self.variant, base=g["base"], levels=g["levels"],
            max_width=g["max_width"],
            cim_blocks=g["cim_blocks"], cim_dilation=g["cim_dilation"], spade_hidden=g["spade_hidden"],
            scem_percentile=float(cfg["scem_percentile"])).to(dev)
        self.inference = bool(settings.extras.get("inference", False))
        if self.inference:
            return
        d = cfg["discriminator"]
        self.discriminator = MultiscalePatchDiscriminator(3, d["base"], d["n_layers"], d["n_scales"]).to(dev)
        self.vgg = VGGFeatures("vgg16", VGG_LAYERS, settings.weights_dir, settings.allow_random_backbones).to(dev)
        settings.extras["random_backbones"] = self.vgg.random_weights
        self.weights = {k: float(v) for k, v in cfg["losses"].items()}
        opt = cfg["optimizer"]
        self.opt_g = _adam(self.generator.parameters(), opt["g_lr"], opt["betas"])
        self.opt_d = _adam(self.discriminator.parameters(), opt["d_lr"], opt["betas"])

    def networks(self) -> dict[str, nn.Module]:
        if self.inference:
            return {"generator": self.generator}
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {} if self.inference else {"generator": self.opt_g, "discriminator": self.opt_d}

    def _labels(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if self.variant == "basic-net":
            return None
        if "label" not in batch:
            raise OccbenchError(f"sgenet variant {self.variant} learns segmentation: train on a dataset with labels "
                                "(or --set variant=basic-net)")
        return segmentation_target(batch["label"], self.scheme.ignore)

    def losses(self, out: dict[str, list[torch.Tensor]], target: torch.Tensor,
               labels: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Reconstruction, perceptual and segmentation terms summed over scales (Eq. 7, 9)."""
        size = target.shape[-2:]
        target_feats = {k: v.detach() for k, v in self.vgg(target).items()}
        l1 = target.new_zeros(())
        per = target.new_zeros(())
        for image in out["images"]:
            up = (F.interpolate(image, size=size, mode="bilinear", align_corners=False) + 1) / 2
            l1 = l1 + F.l1_loss(up, target)
            feats = self.vgg(up)
            per = per + sum(F.l1_loss(feats[name], target_feats[name]) for name in VGG_LAYERS)
        terms = {"l1": l1, "per": per}
        if labels is not None:
            terms["seg"] = sum(
                F.cross_entropy(F.interpolate(logits.float(), size=size, mode="bilinear", align_corners=False),
                                labels, ignore_index=-100)
                for logits in out["segmentations"])
        return terms

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        target, hole = batch["target"], (batch["mask"] > 0.5).float()
        labels = self._labels(batch)
        self.generator.train()
        self.discriminator.train()
        out = self.generator(masked_input(batch["occluded"], hole), hole)
        final = out["images"][-1]
        # discriminator
        real_d = self.discriminator(target * 2 - 1)
        fake_d = self.discriminator(final.detach())
        d_loss = sum(nonsaturating_d_loss(r[-1], f[-1]) for r, f in zip(real_d, fake_d))
        self.opt_d.zero_grad(set_to_none=True)
        self.settings.backward_step(d_loss, self.opt_d)
        # generator
        terms = self.losses(out, target, labels)
        terms["adv"] = sum(nonsaturating_g_loss(f[-1]) for f in self.discriminator(final))
        w = self.weights
        g_loss = terms["l1"] + w["perceptual"] * terms["per"] + w["adversarial"] * terms["adv"] + \
            (w["segmentation"] * terms["seg"] if "seg" in terms else 0.0)
        self.opt_g.zero_grad(set_to_none=True)
        self.settings.backward_step(g_loss, self.opt_g)
        return {**{f"g_{k}": float(v.detach()) for k, v in terms.items()}, "g_total": float(g_loss.detach()),
                "d_total": float(d_loss.detach())}

    @torch.no_grad()
    def run(self, occluded: torch.Tensor, mask: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        """All scales' outputs for occluded images in [0, 1] (eval mode)."""
        hole = (mask > 0.5).float()
        was = self.generator.training
        self.generator.eval()
        try:
            return self.generator(masked_input(occluded, hole), hole)
        finally:
            self.generator.train(was)

    @torch.no_grad()
    def inpaint(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any]) -> torch.Tensor:
        """Raw final output ``Ŷ^0`` in [0, 1] (evaluation composites it)."""
        return ((self.run(occluded, mask)["images"][-1] + 1) / 2).clamp(0, 1)

    @torch.no_grad()
    def segment(self, occluded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor | None:
        """Final-scale class map ``(B, H, W)`` int64 (``Ŝ^0``), or None for basic-net."""
        segmentations = self.run(occluded, mask)["segmentations"]
        return segmentations[-1].argmax(1) if segmentations else None
