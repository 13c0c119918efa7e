"""Attention layers: CSA channel-spatial attention (M-CSAM) and DeepFill v2's contextual attention.

:class:`ContextualAttention` follows Yu et al., "Free-Form Image Inpainting with Gated Convolution" (ICCV 2019)
and its public implementation's settings: matching on features downsampled by ``rate = 2`` with 3×3 patches
at stride 1, cosine similarity (each background patch L2-normalised), attention propagation by a 3×3
identity-kernel convolution applied along both axes (``fuse_k = 3``), softmax with scale 10 over background
patches that contain no hole pixel, and reconstruction from full-resolution ``2·rate``-sized background
patches by a transposed convolution (divided by 4, as the reference does). Vectorised over the batch with
grouped convolutions (no Python loop over samples).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CSAM(nn.Module):
    """Channel-spatial attention (Niu et al., HAN, ECCV 2020): a 3×3×3 Conv3d over the feature map seen as a
    one-channel ``(C, H, W)`` volume, sigmoid, scaled by a learnable ``scale`` (β, initialised to 0):
    ``F_csa = β·σ(φ(F))⊙F + F`` (M-CSAM Eq. 2–3). At initialisation the module is the identity."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, 1, kernel_size=3, padding=1)
        self.scale = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attention = torch.sigmoid(self.conv(x.unsqueeze(1))).squeeze(1)
        return x * (self.scale * attention) + x


def _patches(x: torch.Tensor, size: int, stride: int, padding: int) -> torch.Tensor:
    """``(B, L, C, size, size)`` patches of ``x`` ``(B, C, H, W)``."""
    b, c = x.shape[:2]
    cols = F.unfold(x, size, padding=padding, stride=stride)  # (B, C*size*size, L)
    return cols.transpose(1, 2).reshape(b, -1, c, size, size)


class ContextualAttention(nn.Module):
    """Fill the hole's features with a softmax-weighted copy of known background patches (see module doc).

    ``forward(foreground, background, mask)``: feature maps ``(B, C, H, W)`` (usually the same map) and the
    hole ``(B, 1, H', W')`` (1 = hole; resized to the features). Returns ``(B, C, H, W)``. ``H`` and ``W``
    must be divisible by ``rate``.
    """

    def __init__(self, ksize: int = 3, stride: int = 1, rate: int = 2, fuse_k: int = 3, softmax_scale: float = 10.0,
                 fuse: bool = True) -> None:
        super().__init__()
        self.ksize, self.stride, self.rate, self.fuse_k = ksize, stride, rate, fuse_k
        self.softmax_scale, self.fuse = softmax_scale, fuse

    def _fuse(self, scores: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """Propagate attention to neighbouring patches (identity kernel along both patch axes)."""
        b, n = scores.shape[0], h * w
        eye = torch.eye(self.fuse_k, device=scores.device, dtype=scores.dtype).view(1, 1, self.fuse_k, self.fuse_k)
        pad = self.fuse_k // 2
        x = F.conv2d(scores.reshape(b, 1, n, n), eye, padding=pad)  # along the flattened (y, x) order
        x = x.reshape(b, h, w, h, w).permute(0, 2, 1, 4, 3).reshape(b, 1, n, n)  # switch to (x, y) order
        x = F.conv2d(x, eye, padding=pad)
        return x.reshape(b, w, h, w, h).permute(0, 2, 1, 4, 3).reshape(b, n, n)

    def forward(self, foreground: torch.Tensor, background: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, c, height, width = foreground.shape
        if height % self.rate or width % self.rate:
            raise ValueError(f"Expected feature sizes divisible by rate {self.rate}, but got {height}x{width}")
        raw_size = 2 * self.rate
        raw = _patches(background, raw_size, self.rate * self.stride, (raw_size - self.rate * self.stride) // 2)
        f = F.interpolate(foreground, scale_factor=1 / self.rate, mode="nearest")
        bg = F.interpolate(background, scale_factor=1 / self.rate, mode="nearest")
        h, w = f.shape[-2:]
        pad = self.ksize // 2
        weights = _patches(bg, self.ksize, self.stride, pad)  # (B, L, C, k, k)
        norm = weights.flatten(2).norm(dim=2).clamp_min(1e-4).view(b, -1, 1, 1, 1)
        hole = F.interpolate(mask.to(foreground.dtype), size=(h, w), mode="nearest")
        valid = (_patches(hole, self.ksize, self.stride, pad).flatten(2).sum(2) == 0).to(f.dtype)  # (B, L)
        n = weights.shape[1]
        scores = F.conv2d(f.reshape(1, b * c, h, w), (weights / norm).reshape(b * n, c, self.ksize, self.ksize),
                          padding=pad, groups=b)  # (1, B*L, h, w)
        scores = scores.reshape(b, n, h * w).transpose(1, 2)  # (B, h*w query, L key)
        if self.fuse:
            scores = self._fuse(scores, h, w)
        scores = scores * valid[:, None, :]
        attention = F.softmax(scores * self.softmax_scale, dim=2) * valid[:, None, :]
        attention = attention.transpose(1, 2).reshape(1, b * n, h, w)
        out = F.conv_transpose2d(attention, raw.reshape(b * n, c, raw_size, raw_size), stride=self.rate,
                                 padding=1, groups=b) / 4.0
        return out.reshape(b, c, out.shape[-2], out.shape[-1])[..., :height, :width]
