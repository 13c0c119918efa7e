"""Residual blocks (He et al. 2016) as image-to-image generators use them (Johnson et al.; pix2pixHD)."""

from __future__ import annotations

import torch
from occbench.baselines.layers.norms import make_norm
from torch import nn


class ResnetBlock(nn.Module):
    """``x + [reflect-pad, conv3×3, norm, ReLU, reflect-pad, conv3×3, norm](x)`` at constant width; with
    ``dilation`` > 1 the first conv is dilated (EdgeConnect's middle blocks)."""

    def __init__(self, channels: int, norm: str = "in", dilation: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(dilation), nn.Conv2d(channels, channels, 3, dilation=dilation),
            make_norm(norm, channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), make_norm(norm, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def conv_block(in_ch: int, out_ch: int, stride: int = 1, norm: str = "in", kernel: int = 3) -> nn.Sequential:
    """conv (reflect padding) → norm → ReLU."""
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, padding_mode="reflect"),
                         make_norm(norm, out_ch), nn.ReLU())


def deconv_block(in_ch: int, out_ch: int, norm: str = "in") -> nn.Sequential:
    """Transposed conv ×2 (k3, s2, output padding 1, as pix2pixHD's global generator) → norm → ReLU."""
    return nn.Sequential(nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1),
                         make_norm(norm, out_ch), nn.ReLU())
