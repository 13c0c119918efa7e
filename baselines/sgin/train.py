"""Training recipes for SGIN's three networks: ``sgin-detector``, ``sgin-parser`` and ``sgin`` (the inpainter).

Configs: ``config_sgin-detector.yaml``, ``config_sgin-parser.yaml`` and ``config.yaml`` in this folder, read and
merged with ``--set`` overrides once by the engine. Each recipe also reports validation metrics when the engine
is given ``--val-data``: the detector its mask IoU, the parser its per-class IoU and mIoU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from occbench.baselines.engine.recipe import Recipe, TrainSettings
from occbench.baselines.layers import BiSeNet, MultiscalePatchDiscriminator, VGGFeatures
from occbench.baselines.sgin.losses import (
    VGG_LAYERS,
    adversarial_d,
    adversarial_g,
    coarse_loss,
    feature_matching_loss,
    perceptual_l2,
    self_distillation_loss,
)
from occbench.baselines.sgin.model import OcclusionDetector, SGINGenerator
from torch import nn

from occbench.errors import OccbenchError
from occbench.labels import CELEBAMASK_TO_HELEN, HELEN_CLASSES, IGNORE, get_scheme

CLASSES = len(HELEN_CLASSES)


def helen_labels(label: torch.Tensor) -> torch.Tensor:
    """CelebAMask-HQ classes ``(B, H, W)`` int64 → HELEN classes (255 = ignore), with the one label table."""
    lut = torch.from_numpy(CELEBAMASK_TO_HELEN.astype(np.int64)).to(label.device)
    return lut[label.clamp(0, 255)]


def one_hot(classes: torch.Tensor) -> torch.Tensor:
    """HELEN classes ``(B, H, W)`` (255 = none) → one-hot float ``(B, 11, H, W)``."""
    valid = classes != IGNORE
    out = F.one_hot(classes.clamp(0, CLASSES - 1), CLASSES).permute(0, 3, 1, 2).float()
    return out * valid.unsqueeze(1)


def _adam(params, opt: dict[str, Any], lr: float | None = None) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=float(lr if lr is not None else opt["lr"]),
                            betas=tuple(float(b) for b in opt["betas"]))


def _needs_labels(batch: dict[str, torch.Tensor], what: str) -> torch.Tensor:
    if "label" not in batch:
        raise OccbenchError(f"{what} needs parsing labels: train on a dataset whose source has them (CelebAMask-HQ, "
                            "HELEN)")
    return batch["label"]


class DetectorRecipe(Recipe):
    """SGIN's occlusion detector: occluded image → occlusion logits, BCE + Dice against the dataset's mask."""

    name = "sgin-detector"

    def build(self, settings: TrainSettings) -> None:
        cfg, self.settings = settings.config, settings
        net = cfg["network"]
        self.detector = OcclusionDetector(net["base"], net["depth"], net["res_blocks"], net["max_width"]).to(
            settings.device)
        self.inference = bool(settings.extras.get("inference", False))
        self.losses = cfg["losses"]
        self.opt = None if self.inference else _adam(self.detector.parameters(), cfg["optimizer"])

    def networks(self) -> dict[str, nn.Module]:
        return {"detector": self.detector}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {} if self.opt is None else {"detector": self.opt}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        self.detector.train()
        logits = self.detector(batch["occluded"])
        target = (batch["mask"] > 0.5).float()
        bce = F.binary_cross_entropy_with_logits(logits.float(), target)
        probs = torch.sigmoid(logits.float())
        dice = 1 - (2 * (probs * target).sum() + 1) / (probs.sum() + target.sum() + 1)
        loss = float(self.losses["bce"]) * bce + float(self.losses["dice"]) * dice
        self.opt.zero_grad(set_to_none=True)
        self.settings.backward_step(loss, self.opt)
        sums = self.validation_sums(batch, logits.detach())
        return {"bce": float(bce.detach()), "dice": float(dice.detach()), **self.validation_metrics(sums)}

    @torch.no_grad()
    def predict_mask(self, occluded: torch.Tensor) -> torch.Tensor:
        """Occlusion probabilities ``(B, 1, H, W)`` (threshold 0.5 for the mask)."""
        was = self.detector.training
        self.detector.eval()
        try:
            return torch.sigmoid(self.detector(occluded))
        finally:
            self.detector.train(was)

    @torch.no_grad()
    def validation_sums(self, batch: dict[str, torch.Tensor], logits: torch.Tensor | None = None) -> dict:
        hit = (logits if logits is not None else self.detector(batch["occluded"])) > 0
        truth = batch["mask"] > 0.5
        return {"intersection": (hit & truth).sum().double(), "union": (hit | truth).sum().double()}

    def validation_metrics(self, sums: dict) -> dict[str, float]:
        union = float(sums["union"])
        return {"iou": float(sums["intersection"]) / union if union else 1.0}

    def inpaint(self, occluded, mask, extras):
        raise NotImplementedError("sgin-detector finds occlusions, it does not inpaint: evaluate --method sgin "
                                  "--mask predicted --param detector=FILE")


class ParserRecipe(Recipe):
    """SGIN's semantic map predictor: BiSeNet on ``X_masked = X_occ·(1 − M)`` → HELEN's 11 classes, cross-entropy
    on the fused output plus the two auxiliary heads (labels: the target's, mapped to HELEN classes)."""

    name = "sgin-parser"

    def build(self, settings: TrainSettings) -> None:
        cfg, self.settings = settings.config, settings
        self.inference = bool(settings.extras.get("inference", False))
        self.parser = BiSeNet(CLASSES, settings.weights_dir, settings.allow_random_backbones,
                              pretrained=not self.inference).to(settings.device)
        settings.extras["random_backbones"] = self.parser.random_backbone
        self.aux_weight = float(cfg["losses"]["aux"])
        self.opt = None if self.inference else _adam(self.parser.parameters(), cfg["optimizer"])

    def networks(self) -> dict[str, nn.Module]:
        return {"parser": self.parser}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {} if self.opt is None else {"parser": self.opt}

    @staticmethod
    def masked(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return batch["occluded"] * (1 - (batch["mask"] > 0.5).float())

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        self.parser.train()
        target = helen_labels(_needs_labels(batch, "sgin-parser"))
        logits, aux16, aux32 = self.parser(self.masked(batch), aux=True)
        ce = F.cross_entropy(logits.float(), target, ignore_index=IGNORE)
        aux = F.cross_entropy(aux16.float(), target, ignore_index=IGNORE) + \
            F.cross_entropy(aux32.float(), target, ignore_index=IGNORE)
        loss = ce + self.aux_weight * aux
        self.opt.zero_grad(set_to_none=True)
        self.settings.backward_step(loss, self.opt)
        metrics = self.validation_metrics(self._confusion(logits.detach().argmax(1), target))
        return {"ce": float(ce.detach()), "aux": float(aux.detach()), "miou": metrics["miou"]}

    @torch.no_grad()
    def predict_semantics(self, masked: torch.Tensor) -> torch.Tensor:
        """HELEN classes ``(B, H, W)`` int64 of masked images in [0, 1]."""
        was = self.parser.training
        self.parser.eval()
        try:
            return self.parser(masked).argmax(1)
        finally:
            self.parser.train(was)

    @staticmethod
    def _confusion(pred: torch.Tensor, target: torch.Tensor) -> dict:
        valid = target != IGNORE
        index = target[valid] * CLASSES + pred[valid]
        counts = torch.bincount(index, minlength=CLASSES * CLASSES).reshape(CLASSES, CLASSES).double()
        return {"confusion": counts}

    @torch.no_grad()
    def validation_sums(self, batch: dict[str, torch.Tensor]) -> dict:
        return self._confusion(self.predict_semantics(self.masked(batch)),
                               helen_labels(_needs_labels(batch, "sgin-parser")))

    def validation_metrics(self, sums: dict) -> dict[str, float]:
        """Per-class IoU and mIoU (classes present in labels or predictions), as evaluation scores segmentation."""
        from occbench.evaluate.segmentation import summarize

        scores = summarize(sums["confusion"].cpu().numpy().astype(np.int64), get_scheme("helen11"))
        nan = float("nan")
        out = {f"iou_{name}": nan if v is None else v for name, v in scores["per_class_iou"].items()}
        out["miou"] = nan if scores["miou"] is None else scores["miou"]
        return out

    def inpaint(self, occluded, mask, extras):
        raise NotImplementedError("sgin-parser predicts semantic maps, it does not inpaint: evaluate --method sgin "
                                  "--semantics predicted --param parser=FILE")


class SGINRecipe(Recipe):
    """The semantics-guided inpainter: generator, multi-scale discriminator on ``[image, L]``, VGG-19."""

    name = "sgin"

    def build(self, settings: TrainSettings) -> None:
        cfg, self.settings, dev = settings.config, settings, settings.device
        g = cfg["generator"]
        self.generator = SGINGenerator(
            resolution=int(cfg["image_size"]), classes=CLASSES, style_dim=g["style_dim"], max_width=g["max_width"],
            min_width=g["min_width"], encoder_widths=tuple(g["encoder_widths"]) if g["encoder_widths"] else None,
            attention=bool(cfg["attention"]), attention_size=g["attention_size"],
            fusion_feedback=bool(cfg["fusion_feedback"]), feedback_base=g["feedback_base"]).to(dev)
        self.semantics = cfg["semantics"]
        if self.semantics not in ("gt", "predicted"):
            raise OccbenchError(f"semantics: Expected gt or predicted, but got {self.semantics!r}")
        self.inference = bool(settings.extras.get("inference", False))
        self._parser = None
        if self.inference:
            return
        if self.semantics == "predicted":
            if not cfg.get("parser_checkpoint"):
                raise OccbenchError("sgin with semantics: predicted trains on the semantic map predictor's maps: "
                                    "--set parser_checkpoint=FILE (occbench train --method sgin-parser), or "
                                    "--set semantics=gt to train on the dataset's labels")
            from occbench.baselines.engine.adapter import load_trained_recipe

            self._parser, _ = load_trained_recipe(cfg["parser_checkpoint"], "sgin-parser", dev)
        d = cfg["discriminator"]
        self.discriminator = MultiscalePatchDiscriminator(3 + CLASSES, d["base"], d["n_layers"], d["n_scales"]).to(dev)
        self.vgg = VGGFeatures("vgg19", VGG_LAYERS, settings.weights_dir, settings.allow_random_backbones).to(dev)
        settings.extras["random_backbones"] = self.vgg.random_weights
        self.weights = {k: float(v) for k, v in cfg["losses"].items()}
        opt = cfg["optimizer"]
        self.opt_g = _adam(self.generator.parameters(), opt, opt["g_lr"])
        self.opt_d = _adam(self.discriminator.parameters(), opt, opt["d_lr"])

    def networks(self) -> dict[str, nn.Module]:
        if self.inference:
            return {"generator": self.generator}
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {} if self.inference else {"generator": self.opt_g, "discriminator": self.opt_d}

    def _semantics(self, batch: dict[str, torch.Tensor], masked: torch.Tensor) -> torch.Tensor:
        if self.semantics == "gt":
            return one_hot(helen_labels(_needs_labels(batch, "sgin with semantics: gt")))
        return one_hot(self._parser.predict_semantics(masked))

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        target, hole = batch["target"], (batch["mask"] > 0.5).float()
        masked = batch["occluded"] * (1 - hole)
        semantics = self._semantics(batch, masked)
        x_m, x_gt = masked * 2 - 1, target * 2 - 1
        self.generator.train()
        self.discriminator.train()
        out = self.generator(x_m, semantics, hole)
        image = out["image"]
        # discriminator
        real_d = self.discriminator(torch.cat([x_gt, semantics], 1))
        fake_d = self.discriminator(torch.cat([image.detach(), semantics], 1))
        d_loss = adversarial_d(real_d, fake_d)
        self.opt_d.zero_grad(set_to_none=True)
        self.settings.backward_step(d_loss, self.opt_d)
        # generator
        fake_g = self.discriminator(torch.cat([image, semantics], 1))
        losses = {"adv": adversarial_g(fake_g), "feat": feature_matching_loss(real_d, fake_g),
                  "per": perceptual_l2(self.vgg((image + 1) / 2), self.vgg(target)),
                  "coarse": coarse_loss(out["coarse"], x_m, hole)}
        if self.weights["self_distillation"] > 0:
            with torch.no_grad():
                teacher = self.generator(x_gt, semantics, torch.zeros_like(hole))["features"]
            losses["sd"] = self_distillation_loss(out["features"], teacher)
        g_loss = sum(self.weights[_WEIGHT[k]] * v for k, v in losses.items())
        self.opt_g.zero_grad(set_to_none=True)
        self.settings.backward_step(g_loss, self.opt_g)
        return {**{f"g_{k}": float(v.detach()) for k, v in losses.items()}, "g_total": float(g_loss.detach()),
                "d_total": float(d_loss.detach())}

    @torch.no_grad()
    def inpaint(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any]) -> torch.Tensor:
        """Whole-image prediction in [0, 1] from ``extras["semantics"]`` (one-hot HELEN classes)."""
        hole = (mask > 0.5).float()
        masked = occluded * (1 - hole)
        was = self.generator.training
        self.generator.eval()
        try:
            out = self.generator(masked * 2 - 1, extras["semantics"], hole)["image"]
        finally:
            self.generator.train(was)
        return ((out + 1) / 2).clamp(0, 1)


_WEIGHT = {"adv": "adversarial", "feat": "feature_matching", "per": "perceptual", "coarse": "coarse",
           "sd": "self_distillation"}
