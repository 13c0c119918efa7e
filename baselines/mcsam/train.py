"""Training recipes for M-CSAM (``mcsam``) and its face-mask segmenter (``mcsam-segmenter``).

One ``train_step`` = one update of both discriminators (RaLSGAN on the detached composite), then one
generator update with the losses of :mod:`.losses`, then one scheduler step (the official training order).
Configs: ``config.yaml`` (inpainting) and ``config_mcsam-segmenter.yaml`` (segmenter) in this folder, read
and merged with ``--set`` overrides by the engine.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from occbench.baselines.engine.recipe import Recipe, TrainSettings
from occbench.baselines.layers import VGGFeatures
from occbench.baselines.mcsam.losses import (
    FEATURE_LAYER,
    MCSAMLossConfig,
    composite,
    discriminator_loss,
    generator_loss,
)
from occbench.baselines.mcsam.model import MCSAMDiscriminators, MCSAMGenerator, UNetSegmenter
from torch import nn


def linear_decay(steps_per_epoch: int, constant_epochs: int, decay_fraction_per_epoch: float):
    """LR factor per step: 1 for ``constant_epochs`` epochs, then minus ``decay_fraction_per_epoch`` per epoch
    (paper: 2e-6 / 2e-4 = 1% of the base lr per epoch after epoch 20), never below 0."""

    def factor(step: int) -> float:
        epoch = step // max(1, steps_per_epoch)
        return max(0.0, 1.0 - decay_fraction_per_epoch * max(0, epoch - constant_epochs))

    return factor


@contextmanager
def eval_mode(*modules: nn.Module):
    """Put ``modules`` in eval mode, restoring their previous mode afterwards."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


def _adam(module: nn.Module, opt: dict[str, Any]) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=float(opt["lr"]), betas=tuple(float(b) for b in opt["betas"]))


class MCSAMRecipe(Recipe):
    """M-CSAM inpainting network: generator + (PatchGAN, feature-patch) discriminators."""

    name = "mcsam"

    def build(self, settings: TrainSettings) -> None:
        cfg = settings.config
        self.settings, self.config, dev = settings, cfg, settings.device
        g = cfg["generator"]
        self.generator = MCSAMGenerator(base=g["base"], n_blocks=g["n_blocks"], dilations=tuple(g["dilations"]),
                                        block_norm=g["block_norm"], attention=g["attention"]).to(dev)
        self.inference = bool(settings.extras.get("inference", False))
        self._schedulers: dict[str, Any] = {}
        if self.inference:  # evaluation needs the generator only
            return
        d = cfg["discriminators"]
        self.discriminators = MCSAMDiscriminators(base=d["base"], n_layers=d["n_layers"],
                                                  feature_width=d["feature_width"]).to(dev)
        self.losses = MCSAMLossConfig.from_config(cfg["losses"])
        self.feature_gradient = bool(d["feature_gradient"])
        self.value_range = cfg["value_range"]
        if self.value_range not in ("official", "imagenet"):
            raise ValueError(f"value_range: Expected 'official' or 'imagenet', but got {self.value_range!r}")
        self.supervision = cfg["supervision"]
        if self.supervision not in ("local", "full"):
            raise ValueError(f"supervision: Expected 'local' or 'full', but got {self.supervision!r}")
        self.vgg = VGGFeatures("vgg16", self.losses.vgg_layers(), settings.weights_dir,
                               settings.allow_random_backbones).to(dev)
        settings.extras["random_backbones"] = self.vgg.random_weights
        self.opt_g = _adam(self.generator, cfg["optimizer"])
        self.opt_d = _adam(self.discriminators, cfg["optimizer"])
        sched = cfg["schedule"]
        # the engine's steps per epoch of the actual data wins; the config's value only serves recipes built by hand
        per_epoch = int(settings.extras.get("steps_per_epoch", cfg["steps_per_epoch"]))
        settings.extras.setdefault("record", {})["steps_per_epoch"] = per_epoch  # the schedule's epoch, in checkpoints
        factor = linear_decay(per_epoch, int(sched["constant_epochs"]),
                              float(sched["decay_per_epoch"]) / float(cfg["optimizer"]["lr"]))
        self._schedulers = {"generator": torch.optim.lr_scheduler.LambdaLR(self.opt_g, factor),
                            "discriminators": torch.optim.lr_scheduler.LambdaLR(self.opt_d, factor)}

    def networks(self) -> dict[str, nn.Module]:
        if self.inference:
            return {"generator": self.generator}
        return {"generator": self.generator, "discriminators": self.discriminators}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {} if self.inference else {"generator": self.opt_g, "discriminators": self.opt_d}

    def schedulers(self) -> dict[str, Any]:
        return self._schedulers

    def loss_space(self, images: torch.Tensor) -> torch.Tensor:
        """Images as the losses and discriminators see them: [-1, 1] (``value_range: official``, the official
        code's scale, on which the paper's λ were tuned) or [0, 1] (``imagenet``)."""
        return images * 2 - 1 if self.value_range == "official" else images

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """VGG16 activations: raw [-1, 1] RGB without ImageNet normalisation (official) or normalised [0, 1]."""
        return self.vgg(images, normalize=self.value_range != "official")

    def generator_feature(self, feature: torch.Tensor) -> torch.Tensor:
        """What the feature-patch discriminator sees of the composite in the generator's step: detached unless
        ``discriminators.feature_gradient`` (the official code scores a detached composite there, so that
        discriminator sends the generator no gradient)."""
        return feature if self.feature_gradient else feature.detach()

    def _discriminate(self, real: torch.Tensor, fake: torch.Tensor, feat_real: torch.Tensor,
                      feat_fake: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """One pass of both discriminators on ``[real; fake]``; returns (real logits, fake logits)."""
        n = real.shape[0]
        patch, feature = self.discriminators(torch.cat([real, fake]), torch.cat([feat_real, feat_fake]))
        return (patch[:n], feature[:n]), (patch[n:], feature[n:])

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        image, mask, target = batch["occluded"], batch["mask"], batch["target"]
        self.generator.train()
        self.discriminators.train()
        pred = self.generator(image, mask)
        # Table 2: "local" supervises the composite I_syn (the paper's method), "full" the raw output I_r
        comp = self.loss_space(composite(pred, image, mask) if self.supervision == "local" else pred)
        target = self.loss_space(target)
        with torch.no_grad():
            feats_target = self.features(target)
            feat_fake = self.features(comp.detach())[FEATURE_LAYER]
        # discriminators: RaLSGAN on the detached composite
        real, fake = self._discriminate(target, comp.detach(), feats_target[FEATURE_LAYER], feat_fake)
        d_loss = discriminator_loss(real, fake, self.losses)
        self.opt_d.zero_grad(set_to_none=True)
        self.settings.backward_step(d_loss, self.opt_d)
        # generator (gradients reaching the discriminators here are cleared before their next update)
        feats_comp = self.features(comp)
        real, fake = self._discriminate(target, comp, feats_target[FEATURE_LAYER],
                                        self.generator_feature(feats_comp[FEATURE_LAYER]))
        parts = generator_loss(comp, target, feats_comp, feats_target, real, fake, self.losses)
        self.opt_g.zero_grad(set_to_none=True)
        self.settings.backward_step(parts["total"], self.opt_g)
        for scheduler in self._schedulers.values():
            scheduler.step()
        logged = {f"g_{k}": float(v.detach()) for k, v in parts.items()}
        return {**logged, "d_total": float(d_loss.detach())}

    @torch.no_grad()
    def inpaint(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any]) -> torch.Tensor:
        """Composite ``(1-M)·I + M·G(I, M)`` (Eq. 1), clamped to [0, 1]."""
        with eval_mode(self.generator):
            pred = self.generator(occluded, mask)
        return composite(pred, occluded, mask).clamp(0, 1)


class SegmenterRecipe(Recipe):
    """M-CSAM's U-Net face-mask segmenter: occluded image → hole probability, BCE against the dataset mask."""

    name = "mcsam-segmenter"

    def build(self, settings: TrainSettings) -> None:
        cfg = settings.config
        self.settings, self.config = settings, cfg
        self.segmenter = UNetSegmenter(base=int(cfg["base"])).to(settings.device)
        self.inference = bool(settings.extras.get("inference", False))
        self.opt = None if self.inference else _adam(self.segmenter, cfg["optimizer"])

    def networks(self) -> dict[str, nn.Module]:
        return {"segmenter": self.segmenter}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {} if self.opt is None else {"segmenter": self.opt}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        self.segmenter.train()
        logits = self.segmenter(batch["occluded"], logits=True)
        loss = F.binary_cross_entropy_with_logits(logits.float(), batch["mask"].float())
        self.opt.zero_grad(set_to_none=True)
        self.settings.backward_step(loss, self.opt)
        with torch.no_grad():
            hit = logits > 0
            truth = batch["mask"] > 0.5
            union = (hit | truth).sum()
            iou = (hit & truth).sum() / union if union else torch.ones(())
        return {"bce": float(loss.detach()), "iou": float(iou)}

    @torch.no_grad()
    def predict_mask(self, occluded: torch.Tensor) -> torch.Tensor:
        """Hole probabilities ``(B, 1, H, W)`` in (0, 1) (threshold 0.5 for the binary mask)."""
        with eval_mode(self.segmenter):
            return self.segmenter(occluded)

    def inpaint(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any]) -> torch.Tensor:
        raise NotImplementedError("mcsam-segmenter predicts masks, it does not inpaint: use predict_mask(occluded), "
                                  "or evaluate --method mcsam --param mask=predicted --param segmenter=FILE")
