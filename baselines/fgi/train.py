"""Training recipe for foreground-guided facial inpainting (``fgi``).

One ``train_step`` = one critic update (WGAN, Eq. 4, on the detached output; separate real and fake passes
as R-MNet's Keras code), then one generator update with L_cF + L_F + L_pF + the WGAN term. The foreground
``fg`` comes from the batch (datasets with labels); without it the whole image stands in (logged as
``fg_fallback = 1`` and recorded in the checkpoint's ``recorded`` and in evaluation results, see README).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import torch
from occbench.baselines.engine.recipe import Recipe, TrainSettings
from occbench.baselines.fgi.losses import FGILossConfig, composite, critic_loss, generator_loss
from occbench.baselines.fgi.model import FGIGenerator, fgi_critic
from occbench.baselines.layers import VGGFeatures
from torch import nn


@contextmanager
def eval_mode(module: nn.Module):
    """Eval mode for ``module``, restoring its previous mode afterwards."""
    mode = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(mode)


class FGIRecipe(Recipe):
    """Foreground-guided inpainting: R-MNet-style generator + WGAN critic."""

    name = "fgi"

    def build(self, settings: TrainSettings) -> None:
        cfg = settings.config
        self.settings, self.config, dev = settings, cfg, settings.device
        g = cfg["generator"]
        self.generator = FGIGenerator(base=int(g["base"]), dropout=float(g["dropout"]), skips=bool(g["skips"]),
                                      mask_channel=bool(g["mask_channel"])).to(dev)
        self.inference = bool(settings.extras.get("inference", False))
        if self.inference:
            return
        c = cfg["critic"]
        self.critic = fgi_critic(int(cfg["image_size"]), int(c["base"]), float(c["dropout"])).to(dev)
        self.losses = FGILossConfig.from_config(cfg["losses"])
        self.vgg = VGGFeatures("vgg16", (self.losses.perceptual_layer,), settings.weights_dir,
                               settings.allow_random_backbones).to(dev)
        settings.extras["random_backbones"] = self.vgg.random_weights
        if cfg["fg_without_labels"] not in ("ones", "error"):
            raise ValueError(f"fg_without_labels: Expected 'ones' or 'error', but got {cfg['fg_without_labels']!r}")
        opt = cfg["optimizer"]
        betas = tuple(float(b) for b in opt["betas"])
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=float(opt["g_lr"]), betas=betas)
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=float(opt["d_lr"]), betas=betas)

    def networks(self) -> dict[str, nn.Module]:
        if self.inference:
            return {"generator": self.generator}
        return {"generator": self.generator, "critic": self.critic}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {} if self.inference else {"generator": self.opt_g, "critic": self.opt_d}

    def _foreground(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, float]:
        if "fg" in batch:
            return batch["fg"], 0.0
        if self.config["fg_without_labels"] == "error":
            raise ValueError("fgi needs a foreground map: the dataset has no labels (fg_without_labels: error)")
        self.settings.extras.setdefault("record", {})["fg_fallback"] = True  # in checkpoints and results
        return torch.ones_like(batch["mask"]), 1.0

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        image, mask, target = batch["occluded"], batch["mask"], batch["target"]
        fg, fallback = self._foreground(batch)
        reference = target if self.losses.reference == "target" else image
        self.generator.train()
        self.critic.train()
        output = composite(self.generator(image, mask), image, mask)
        # critic
        d_loss = critic_loss(self.critic(target), self.critic(output.detach()))
        self.opt_d.zero_grad(set_to_none=True)
        self.settings.backward_step(d_loss, self.opt_d)
        clip = self.config["critic"]["clip"]
        if clip is not None:
            with torch.no_grad():
                for p in self.critic.parameters():
                    p.clamp_(-float(clip), float(clip))
        # generator
        layer = self.losses.perceptual_layer
        with torch.no_grad():
            feat_reference = self.vgg(reference)[layer]
        parts = generator_loss(output, target, reference, fg, self.vgg(output)[layer], feat_reference,
                               self.critic(output), self.losses)
        self.opt_g.zero_grad(set_to_none=True)
        self.settings.backward_step(parts["total"], self.opt_g)
        logged = {f"g_{k}": float(v.detach()) for k, v in parts.items()}
        return {**logged, "d_total": float(d_loss.detach()), "fg_fallback": fallback}

    @torch.no_grad()
    def inpaint(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any]) -> torch.Tensor:
        """R-MNet's output ``(1-M)·I + M·G(I, M)``."""
        with eval_mode(self.generator):
            pred = self.generator(occluded, mask)
        return composite(pred, occluded, mask).clamp(0, 1)
