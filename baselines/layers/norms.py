"""Normalisation layers and their factory, plain and conditional.

:func:`make_norm` builds plain norms (``bn``, ``in``, ``none``) called as ``norm(x)``, and conditional norms
called as ``norm(x, segmap)`` or ``norm(x, segmap, style)``:

- ``spade`` (Park et al., CVPR 2019): parameter-free normalisation of ``x``, then a per-pixel scale and bias
  predicted from the segmentation map by a small conv net (a shared 3×3 conv + ReLU, then 3×3 convs to γ, β):
  ``norm(x) · (1 + γ(segmap)) + β(segmap)``.
- ``sean`` (Zhu et al., "SEAN: Image Synthesis with Semantic Region-Adaptive Normalization", CVPR 2020): the
  style codes of each semantic region ``style (B, C_regions, S)`` are broadcast to the pixels of their region
  (``Σ_c segmap_c · style_c``), a 3×3 conv turns that style map into γ_s, β_s, and they are blended with
  SPADE's γ_o, β_o by learnable scalars α (initialised to 0.5): ``γ = α_γ γ_s + (1 − α_γ) γ_o``. Without a
  style (``style=None``) it reduces to SPADE. Each region's code passes through its own 1×1 "per-style" conv
  (SEAN's ``ACE`` block), vectorised over regions with a grouped convolution.

The parameter-free part is InstanceNorm (``param_free="in"``, SEAN/SPADE default for faces) or BatchNorm
(``"bn"``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PLAIN_NORMS = ("bn", "in", "none")
CONDITIONAL_NORMS = ("spade", "sean")


def make_norm(name: str, channels: int, **kwargs) -> nn.Module:
    """``bn`` (BatchNorm2d) | ``in`` (InstanceNorm2d, no affine) | ``none`` | ``spade`` | ``sean``.

    Conditional norms need ``label_channels`` (and ``sean`` ``style_dim``) in ``kwargs``.
    """
    if name == "bn":
        return nn.BatchNorm2d(channels)
    if name == "in":
        return nn.InstanceNorm2d(channels)
    if name == "none":
        return nn.Identity()
    if name == "spade":
        return SPADE(channels, **kwargs)
    if name == "sean":
        return SEAN(channels, **kwargs)
    raise ValueError(f"Expected norm in {PLAIN_NORMS + CONDITIONAL_NORMS}, but got {name!r}")


def _param_free(kind: str, channels: int) -> nn.Module:
    if kind == "in":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "bn":
        return nn.BatchNorm2d(channels, affine=False)
    raise ValueError(f"Expected param_free in ('in', 'bn'), but got {kind!r}")


class SPADE(nn.Module):
    """Spatially-adaptive denormalisation: ``norm(x) · (1 + γ(segmap)) + β(segmap)``; ``segmap`` ``(B, L, h, w)``
    is resized (nearest) to ``x``'s size."""

    def __init__(self, channels: int, label_channels: int, hidden: int = 128, param_free: str = "in") -> None:
        super().__init__()
        self.norm = _param_free(param_free, channels)
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def modulation(self, segmap: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.shared(F.interpolate(segmap, size=size, mode="nearest"))
        return self.gamma(hidden), self.beta(hidden)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        gamma, beta = self.modulation(segmap, x.shape[-2:])
        return self.norm(x) * (1 + gamma) + beta


class SEAN(nn.Module):
    """Semantic region-adaptive normalisation (see the module docstring); ``style`` ``(B, C_regions, S)``."""

    def __init__(self, channels: int, label_channels: int, style_dim: int = 512, hidden: int = 128,
                 param_free: str = "in") -> None:
        super().__init__()
        self.label_channels, self.style_dim = label_channels, style_dim
        self.norm = _param_free(param_free, channels)
        self.spade = SPADE(channels, label_channels, hidden, param_free)
        # per-region 1x1 "per-style" convolution (SEAN's ACE), one weight set per region: a grouped conv
        self.per_style = nn.Conv1d(label_channels * style_dim, label_channels * style_dim, 1, groups=label_channels)
        self.style_conv = nn.Conv2d(style_dim, hidden, 3, padding=1)
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)
        self.alpha_gamma = nn.Parameter(torch.full((1,), 0.5))
        self.alpha_beta = nn.Parameter(torch.full((1,), 0.5))

    def style_map(self, segmap: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``(B, S, h, w)``: each pixel carries its region's (transformed) style code."""
        b, c, s = style.shape
        codes = F.relu(self.per_style(style.reshape(b, c * s, 1))).reshape(b, c, s)
        return torch.einsum("bchw,bcs->bshw", segmap, codes)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        segmap = F.interpolate(segmap, size=x.shape[-2:], mode="nearest")
        gamma_o, beta_o = self.spade.modulation(segmap, x.shape[-2:])
        if style is None:
            return self.norm(x) * (1 + gamma_o) + beta_o
        hidden = F.relu(self.style_conv(self.style_map(segmap, style)))
        gamma = self.alpha_gamma * self.gamma(hidden) + (1 - self.alpha_gamma) * gamma_o
        beta = self.alpha_beta * self.beta(hidden) + (1 - self.alpha_beta) * beta_o
        return self.norm(x) * (1 + gamma) + beta
