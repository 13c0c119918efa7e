"""SGE-Net networks (Liao et al., "Guidance and Evaluation: Semantic-Aware Image Inpainting for Mixed Scenes",
ECCV 2020; see ``README.md``). No official code exists; every unpublished choice is a config value.

Notation of the paper: encoder features ``φ^L … φ^1`` (deep to shallow), decoder features ``ϕ^L … ϕ^1``. Here
``φ^0`` is a full-resolution stem, ``φ^l`` (l = 1…L) the output of the l-th stride-2 stage, the **Context
Inference Module** (CIM) turns ``φ^L`` into ``ϕ^L``, and each decoder step ``l → l−1`` (×2 upsampling) makes
``ϕ^{l−1}`` from ``ϕ^l``, the skip ``φ^{l−1}``, the segmentation ``Ŝ^l`` and (SGE-Net) the reliability mask
``M^l``. Heads on every decoder feature below the bottleneck give ``Ŷ^l = h(ϕ^l)`` and ``Ŝ^l = g(ϕ^l)``
(Eq. 1): with L = 5 at 256 px these are the paper's "scale 4 … scale 1" and the final output (l = 0).

Variants (``variant``): ``basic-net`` (no semantics: plain fusion, no segmentation heads), ``sg-net`` (SGIM: the
concatenated features ``f_de−c`` are instance-normalised and modulated by γ, β predicted from ``Ŝ^l`` —
SPADE, Eq. 3 — then a base-net makes ``ϕ^{l−1}``), ``sge-net`` (SGIM+ and SCEM: Eq. 4–6).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from occbench.baselines.layers import ResnetBlock, conv_block
from occbench.baselines.layers.norms import SPADE
from torch import nn

VARIANTS = ("basic-net", "sg-net", "sge-net")


def reliability_mask(logits: torch.Tensor, percentile: float) -> tuple[torch.Tensor, torch.Tensor]:
    """SCEM (Eq. 4): ``M = [max_k P_k > τ]`` with ``τ`` the ``percentile`` (0–1) of each image's sorted
    max-probabilities. Returns ``M`` ``(B, 1, h, w)`` (1 = reliable, float) and the max-probability map."""
    confidence = torch.softmax(logits.float(), dim=1).amax(dim=1, keepdim=True)
    tau = torch.quantile(confidence.flatten(1), percentile, dim=1).view(-1, 1, 1, 1)
    return (confidence > tau).to(logits.dtype), confidence


class ContextInference(nn.Module):
    """CIM: ``blocks`` residual blocks with dilation ``dilation`` at the bottleneck (EdgeConnect's middle)."""

    def __init__(self, channels: int, blocks: int = 4, dilation: int = 2) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(ResnetBlock(channels, dilation=dilation) for _ in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class InferenceStep(nn.Module):
    """One decoder step ``ϕ^{l−1} = infer(ϕ^l, φ^{l−1}[, Ŝ^l][, M^l])`` (Eq. 2, 5, 6).

    ``f_de−c = [up(ϕ^l), φ^{l−1}]``; ``f_de−s`` = SPADE(f_de−c, softmax(Ŝ^l)) when ``semantic`` else IN(f_de−c);
    ``ϕ^{l−1} = F_ba(f_de−s) [+ F_bi(f_de−s ⊕ F(M^l))]`` (the bias-net only when ``evaluate``).
    """

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, classes: int, semantic: bool, evaluate: bool,
                 spade_hidden: int = 128, mask_ch: int = 32) -> None:
        super().__init__()
        cat = in_ch + skip_ch
        self.norm = SPADE(cat, classes, hidden=spade_hidden) if semantic else nn.InstanceNorm2d(cat)
        self.semantic = semantic
        self.base = nn.Sequential(nn.Conv2d(cat, out_ch, 3, padding=1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(out_ch, out_ch, 3, padding=1), nn.LeakyReLU(0.2))
        self.mask_features = self.bias = None
        if evaluate:  # F(M^l) and the bias-net F_bi
            self.mask_features = nn.Sequential(nn.Conv2d(1, mask_ch, 3, padding=1), nn.LeakyReLU(0.2),
                                               nn.Conv2d(mask_ch, mask_ch, 3, padding=1), nn.LeakyReLU(0.2))
            self.bias = nn.Sequential(nn.Conv2d(cat + mask_ch, out_ch, 3, padding=1), nn.LeakyReLU(0.2),
                                      nn.Conv2d(out_ch, out_ch, 3, padding=1))

    def forward(self, phi: torch.Tensor, skip: torch.Tensor, semantics: torch.Tensor | None,
                reliability: torch.Tensor | None) -> torch.Tensor:
        up = F.interpolate(phi, size=skip.shape[-2:], mode="nearest")
        f_dec = torch.cat([up, skip], dim=1)
        f_des = self.norm(f_dec, torch.softmax(semantics, dim=1)) if self.semantic and semantics is not None \
            else (self.norm.norm(f_dec) if self.semantic else self.norm(f_dec))
        out = self.base(f_des)
        if self.bias is not None:
            mask = F.interpolate(reliability, size=f_des.shape[-2:], mode="nearest")
            out = out + self.bias(torch.cat([f_des, self.mask_features(mask)], dim=1))
        return out


class SGENetGenerator(nn.Module):
    """``forward(masked, hole)`` → dict: ``images`` (Ŷ^l, coarsest first, each at its scale, in [-1, 1]),
    ``segmentations`` (Ŝ^l logits, same order; empty for basic-net), ``reliability`` (M^l fed to each step,
    SGE-Net only; the first is the input's known-pixel mask, Fig. 8) and ``confidence`` (max-probability maps).

    ``masked``: ``(B, 3, H, W)`` in [-1, 1] with holes zeroed; ``hole``: ``(B, 1, H, W)``, 1 = hole (occbench's
    polarity; the paper's M is 0 for holes). H, W divisible by ``2**levels``.
    """

    def __init__(self, classes: int, variant: str = "sge-net", base: int = 64, levels: int = 5,
                 max_width: int = 512, cim_blocks: int = 4, cim_dilation: int = 2, spade_hidden: int = 128,
                 scem_percentile: float = 0.25) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant: Expected one of {', '.join(VARIANTS)}, but got {variant!r}")
        if not 0.0 < scem_percentile < 1.0:
            raise ValueError(f"scem_percentile: Expected a value in (0, 1), but got {scem_percentile}")
        self.variant, self.levels, self.classes = variant, levels, classes
        self.scem_percentile = scem_percentile
        semantic, evaluate = variant != "basic-net", variant == "sge-net"
        widths = [min(base * 2 ** i, max_width) for i in range(levels + 1)]  # φ^0 … φ^L
        self.widths = widths
        self.stem = nn.Sequential(nn.Conv2d(4, widths[0], 7, padding=3, padding_mode="reflect"),
                                  nn.InstanceNorm2d(widths[0]), nn.LeakyReLU(0.2))
        self.down = nn.ModuleList(conv_block(widths[i], widths[i + 1], stride=2) for i in range(levels))
        self.cim = ContextInference(widths[-1], cim_blocks, cim_dilation)
        # step from ϕ^l to ϕ^{l-1}, l = L … 1; the first has no Ŝ^L (there is no head on the CIM output)
        self.steps = nn.ModuleList(
            InferenceStep(widths[level], widths[level - 1], widths[level - 1], classes,
                          semantic=semantic and level < levels, evaluate=evaluate, spade_hidden=spade_hidden)
            for level in range(levels, 0, -1))
        self.image_heads = nn.ModuleList(nn.Conv2d(widths[level], 3, 3, padding=1)
                                         for level in range(levels - 1, -1, -1))
        self.seg_heads = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[level], widths[level], 3, padding=1), nn.LeakyReLU(0.2),
                          nn.Conv2d(widths[level], classes, 1))
            for level in range(levels - 1, -1, -1)) if semantic else None

    def forward(self, masked: torch.Tensor, hole: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        factor = 2 ** self.levels
        if masked.shape[-1] % factor or masked.shape[-2] % factor:
            raise ValueError(f"Expected height and width divisible by {factor}, but got {tuple(masked.shape[-2:])}")
        skips = [self.stem(torch.cat([masked, hole], dim=1))]
        for stage in self.down:
            skips.append(stage(skips[-1]))
        phi = self.cim(skips[-1])
        out: dict[str, list[torch.Tensor]] = {"images": [], "segmentations": [], "reliability": [], "confidence": []}
        semantics, reliability = None, 1 - hole  # Fig. 8: at the coarsest scale the reliability map is the input's
        for i, step in enumerate(self.steps):
            if self.variant == "sge-net":
                out["reliability"].append(reliability)
            phi = step(phi, skips[self.levels - 1 - i], semantics, reliability)
            out["images"].append(torch.tanh(self.image_heads[i](phi)))
            if self.seg_heads is not None:
                semantics = self.seg_heads[i](phi)
                out["segmentations"].append(semantics)
                if self.variant == "sge-net":
                    reliability, confidence = reliability_mask(semantics.detach(), self.scem_percentile)
                    out["confidence"].append(confidence)
        return out
