"""A Feature Pyramid Network encoder (Lin et al., CVPR 2017), as pixel2style2pixel uses one to produce
per-level latent codes: a bottom-up path of stride-2 conv stages, 1×1 lateral convolutions to a common width,
a top-down path that upsamples each coarser level and adds it, and a 3×3 smoothing convolution per level."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from occbench.baselines.layers.blocks import conv_block
from torch import nn


class FPNEncoder(nn.Module):
    """``forward(x)`` → list of ``len(widths)`` maps of ``out_ch`` channels, coarsest first.

    Stage ``i`` halves the resolution (stage 0 included): with ``widths`` of length ``n`` the levels are at
    ``H/2^n`` (coarsest) … ``H/2`` (finest).
    """

    def __init__(self, in_ch: int, widths: Sequence[int] = (64, 128, 256, 512, 512, 512), out_ch: int = 512,
                 norm: str = "in") -> None:
        super().__init__()
        stages, ch = [], in_ch
        for width in widths:
            stages.append(nn.Sequential(conv_block(ch, width, stride=2, norm=norm),
                                        conv_block(width, width, norm=norm)))
            ch = width
        self.stages = nn.ModuleList(stages)
        self.lateral = nn.ModuleList(nn.Conv2d(w, out_ch, 1) for w in widths)
        self.smooth = nn.ModuleList(nn.Conv2d(out_ch, out_ch, 3, padding=1) for _ in widths)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        bottom_up = []
        for stage in self.stages:
            x = stage(x)
            bottom_up.append(x)
        levels: list[torch.Tensor] = []
        top = None
        for feature, lateral, smooth in zip(reversed(bottom_up), reversed(self.lateral), reversed(self.smooth)):
            current = lateral(feature)
            if top is not None:
                current = current + F.interpolate(top, size=current.shape[-2:], mode="nearest")
            top = current
            levels.append(smooth(current))
        return levels  # coarsest first
