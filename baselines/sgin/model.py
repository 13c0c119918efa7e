"""SGIN networks (Wang et al., "Semantics-Guided Inpainting Network", AAAI 2022 workshop; see ``README.md``).

- :class:`OcclusionDetector`: "a simple ResNet generator architecture constructed with five-layers of
  convolution blocks and five-layers of deconvolution blocks": a 7×7 stem, five stride-2 conv blocks, residual
  blocks at the bottleneck (their number is not given: ``res_blocks``), five deconvolution blocks and a 7×7
  conv to one logit channel (1 = occlusion).
- :class:`SGINGenerator`: an FPN encoder over ``concat(X_masked, L)`` (one level per SGI block, coarsest first),
  DeepFill v2's contextual attention on one pyramid level, region-wise average pooling (RAP) of every level into
  per-region style codes ``S_n (B, C, 512)``, and a chain of SGI blocks (two IN → SEAN → conv units with a
  residual path, ×2 upsampling between blocks) from a learned constant to the image; then the fusion feedback
  module, fed with the coarse image, the conditioned image and their squared difference, whose output is added
  to the middlemost SGI block's input for a second pass of the blocks from there on.

Images enter and leave the generator in [-1, 1]; semantic maps are one-hot ``(B, C, H, W)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from occbench.baselines.layers import ContextualAttention, FPNEncoder, ResnetBlock, conv_block, deconv_block
from occbench.baselines.layers.norms import SEAN
from torch import nn


class OcclusionDetector(nn.Module):
    """Occlusion mask logits ``(B, 1, H, W)`` from the occluded image ``(B, 3, H, W)`` in [0, 1]; H, W
    divisible by 32."""

    def __init__(self, base: int = 32, depth: int = 5, res_blocks: int = 2, max_width: int = 512) -> None:
        super().__init__()
        widths = [min(base * 2 ** i, max_width) for i in range(depth + 1)]
        layers: list[nn.Module] = [nn.Conv2d(3, base, 7, padding=3, padding_mode="reflect"), nn.InstanceNorm2d(base),
                                   nn.ReLU()]
        layers += [conv_block(widths[i], widths[i + 1], stride=2) for i in range(depth)]
        layers += [ResnetBlock(widths[-1]) for _ in range(res_blocks)]
        layers += [deconv_block(widths[i + 1], widths[i]) for i in reversed(range(depth))]
        layers += [nn.Conv2d(base, 1, 7, padding=3, padding_mode="reflect")]
        self.net = nn.Sequential(*layers)
        self.factor = 2 ** depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.factor or x.shape[-2] % self.factor:
            raise ValueError(f"Expected height and width divisible by {self.factor}, but got {tuple(x.shape[-2:])}")
        return self.net(x)


def region_average_pool(features: torch.Tensor, semantics: torch.Tensor) -> torch.Tensor:
    """RAP: per image and region, the mean feature over the region's pixels (SEAN's region-wise average
    pooling): ``(B, F, h, w)``, ``(B, C, H, W)`` one-hot → ``(B, C, F)``; an absent region gets zeros.
    Vectorised over regions (one contraction, no loop)."""
    regions = F.interpolate(semantics, size=features.shape[-2:], mode="nearest")
    area = regions.sum(dim=(2, 3))  # (B, C)
    pooled = torch.einsum("bfhw,bchw->bcf", features, regions)
    return pooled / area.clamp_min(1.0).unsqueeze(-1)


class SGIUnit(nn.Module):
    """IN → SEAN denormalisation (semantic map and region styles) → LeakyReLU → 3×3 conv."""

    def __init__(self, in_ch: int, out_ch: int, classes: int, style_dim: int) -> None:
        super().__init__()
        self.norm = SEAN(in_ch, label_channels=classes, style_dim=style_dim)
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)

    def forward(self, x: torch.Tensor, semantics: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.conv(F.leaky_relu(self.norm(x, semantics, style), 0.2))


class SGIBlock(nn.Module):
    """Two :class:`SGIUnit` s on the main path and, when the width changes, a SEAN + 1×1 conv shortcut (SPADE's
    residual block layout)."""

    def __init__(self, in_ch: int, out_ch: int, classes: int, style_dim: int) -> None:
        super().__init__()
        middle = min(in_ch, out_ch)
        self.unit1 = SGIUnit(in_ch, middle, classes, style_dim)
        self.unit2 = SGIUnit(middle, out_ch, classes, style_dim)
        self.shortcut = None
        if in_ch != out_ch:
            self.shortcut_norm = SEAN(in_ch, label_channels=classes, style_dim=style_dim)
            self.shortcut = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor, semantics: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut is None else self.shortcut(self.shortcut_norm(x, semantics, style))
        return skip + self.unit2(self.unit1(x, semantics, style), semantics, style)


class FusionFeedback(nn.Module):
    """A light encoder-decoder from ``[coarse, conditioned, (coarse − conditioned)²·known]`` (7 channels at the
    image size) to a feature map of ``out_ch`` channels at the middlemost block's size ``size``."""

    def __init__(self, image_size: int, size: int, out_ch: int, base: int = 32) -> None:
        super().__init__()
        steps = int(math.log2(image_size // size)) + 1  # down to size / 2, then one step back up
        widths = [min(base * 2 ** i, out_ch) for i in range(steps + 1)]
        layers: list[nn.Module] = [conv_block(7, widths[0])]
        layers += [conv_block(widths[i], widths[i + 1], stride=2) for i in range(steps)]
        layers += [ResnetBlock(widths[-1]), deconv_block(widths[-1], out_ch), nn.Conv2d(out_ch, out_ch, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, coarse: torch.Tensor, conditioned: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        difference = ((coarse - conditioned) ** 2 * known).sum(1, keepdim=True)
        return self.net(torch.cat([coarse, conditioned, difference], dim=1))


def block_widths(resolution: int, max_width: int, min_width: int) -> list[int]:
    """Output width of each SGI block: ``max_width`` at the 8×8 start, halved per block after 32×32."""
    count = int(math.log2(resolution)) - 2  # blocks at 8, 16, ..., resolution
    return [max(min_width, max_width // 2 ** max(0, i - 2)) for i in range(count)]


class SGINGenerator(nn.Module):
    """``G(X_masked, L)`` (see the module docstring). ``forward`` returns a dict with ``coarse`` and ``image``
    ``(B, 3, H, W)`` in [-1, 1], ``features`` (each SGI block's output of the final pass) and ``styles``."""

    def __init__(self, resolution: int = 256, classes: int = 11, style_dim: int = 512, max_width: int = 512,
                 min_width: int = 64, encoder_widths: tuple[int, ...] | None = None, attention: bool = True,
                 attention_size: int = 32, fusion_feedback: bool = True, feedback_base: int = 32) -> None:
        super().__init__()
        if resolution < 16 or resolution & (resolution - 1):
            raise ValueError(f"Expected a power-of-two resolution >= 16, but got {resolution}")
        self.resolution, self.classes = resolution, classes
        self.widths = block_widths(resolution, max_width, min_width)
        count = len(self.widths)
        encoder_widths = encoder_widths or tuple(min(64 * 2 ** i, 512) for i in range(count))
        if len(encoder_widths) != count:
            raise ValueError(f"Expected {count} encoder widths (one FPN level per SGI block), got {encoder_widths}")
        self.encoder = FPNEncoder(3 + classes, encoder_widths, out_ch=style_dim)
        self.attention = ContextualAttention() if attention else None
        self.attention_level = count - 1 - int(math.log2(resolution // attention_size)) + 1  # level of that size
        self.constant = nn.Parameter(torch.randn(1, self.widths[0], 8, 8))
        ins = [self.widths[0], *self.widths[:-1]]
        self.blocks = nn.ModuleList(SGIBlock(i, o, classes, style_dim) for i, o in zip(ins, self.widths))
        self.to_rgb = nn.Conv2d(self.widths[-1], 3, 3, padding=1)
        self.middle = count // 2
        self.feedback = FusionFeedback(resolution, 8 * 2 ** self.middle, ins[self.middle], feedback_base) \
            if fusion_feedback else None

    def encode(self, masked: torch.Tensor, semantics: torch.Tensor, hole: torch.Tensor) -> list[torch.Tensor]:
        """Style codes per SGI block, coarsest first: RAP of each FPN level (contextual attention on one)."""
        levels = self.encoder(torch.cat([masked, semantics], dim=1))
        if self.attention is not None and 0 <= self.attention_level < len(levels):
            level = levels[self.attention_level]
            levels[self.attention_level] = level + self.attention(level, level, hole)
        return [region_average_pool(level, semantics) for level in levels]

    def _run(self, x: torch.Tensor, semantics: torch.Tensor, styles: list[torch.Tensor], start: int,
             features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        middle_input = None
        for i in range(start, len(self.blocks)):
            if i == self.middle:
                middle_input = x
            x = self.blocks[i](x, semantics, styles[i])
            features.append(x)
            if i < len(self.blocks) - 1:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.to_rgb(F.leaky_relu(x, 0.2))), middle_input

    def synthesize(self, semantics: torch.Tensor, styles: list[torch.Tensor], masked: torch.Tensor | None = None,
                   hole: torch.Tensor | None = None) -> dict[str, object]:
        """Images from given styles (editing: swapped or user-set codes); the feedback needs ``masked``/``hole``."""
        batch = semantics.shape[0]
        features: list[torch.Tensor] = []
        coarse, middle_input = self._run(self.constant.expand(batch, -1, -1, -1), semantics, styles, 0, features)
        image = coarse
        if self.feedback is not None and masked is not None:
            known = 1 - hole if hole is not None else torch.ones_like(masked[:, :1])
            injected = middle_input + self.feedback(coarse, masked, known)
            features = features[: self.middle]
            image, _ = self._run(injected, semantics, styles, self.middle, features)
        return {"coarse": coarse, "image": image, "features": features, "styles": styles}

    def forward(self, masked: torch.Tensor, semantics: torch.Tensor, hole: torch.Tensor) -> dict[str, object]:
        return self.synthesize(semantics, self.encode(masked, semantics, hole), masked, hole)
