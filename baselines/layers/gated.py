"""Gated convolutions (Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019).

``y = norm(act(conv_f(x)) * sigmoid(conv_g(x)))``: a feature convolution and a gate convolution of the
same shape. Both are computed by one ``nn.Conv2d`` with ``2 * out_ch`` outputs (same parameter count as
two separate convolutions). Normalisation, when used, comes after the gating.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from occbench.baselines.layers.norms import make_norm
from torch import nn

ACTIVATIONS = ("elu", "lrelu", "relu", "none")


def make_activation(name: str) -> nn.Module:
    """``elu`` | ``lrelu`` (slope 0.2) | ``relu`` | ``none``."""
    if name == "elu":
        return nn.ELU()
    if name == "lrelu":
        return nn.LeakyReLU(0.2)
    if name == "relu":
        return nn.ReLU()
    if name == "none":
        return nn.Identity()
    raise ValueError(f"Expected activation in {ACTIVATIONS}, but got {name!r}")


class GatedConv2d(nn.Module):
    """Gated convolution. ``padding=None`` keeps the size for stride 1 ("same" padding)."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, dilation: int = 1,
                 padding: int | None = None, norm: str = "bn", activation: str = "elu") -> None:
        super().__init__()
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        self.out_ch = out_ch
        self.conv = nn.Conv2d(in_ch, 2 * out_ch, kernel_size, stride=stride, padding=padding, dilation=dilation)
        self.act = make_activation(activation)
        self.norm = make_norm(norm, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature, gate = self.conv(x).split(self.out_ch, dim=1)
        return self.norm(self.act(feature) * torch.sigmoid(gate))


class GatedUpConv2d(nn.Module):
    """Nearest-neighbour upsampling by ``scale`` followed by a stride-1 :class:`GatedConv2d`."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, scale: int = 2, dilation: int = 1,
                 padding: int | None = None, norm: str = "bn", activation: str = "elu") -> None:
        super().__init__()
        self.scale = scale
        self.conv = GatedConv2d(in_ch, out_ch, kernel_size, stride=1, dilation=dilation, padding=padding,
                                norm=norm, activation=activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=self.scale, mode="nearest"))
