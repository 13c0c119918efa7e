"""M-CSAM networks (M. Yang, "Face Mask Removal with Region-attentive Face Inpainting").

- :class:`MCSAMGenerator`: gated-conv U-Net with three Multi-scale Channel-Spatial Attention Modules
  (§3.2); 44.70M parameters, the paper reports 44.7M (README lists the width choices that set it).
- :class:`MCSAMDiscriminators`: 70×70 spectral-norm PatchGAN on the composite image and CSA's
  feature-patch discriminator on VGG16 ``relu3_3`` features (§3.2, "Discriminators").
- :class:`UNetSegmenter`: the face-mask segmentation U-Net (§3.1), sigmoid output, trained with BCE.

Images are RGB in [0, 1]; masks ``(B, 1, H, W)`` with 1 = hole (the face mask).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from occbench.baselines.layers import FeaturePatchDiscriminator, GatedConv2d, GatedUpConv2d, PatchDiscriminator
from occbench.baselines.layers.attention import CSAM
from occbench.baselines.layers.norms import make_norm
from torch import nn


class ReflectWhenPossibleConv2d(nn.Conv2d):
    """A conv whose ``padding`` reflects (as the official code's ReflectionPad2d) whenever the feature map is larger
    than the padding, and is zero padding otherwise (reflection is undefined there: the dilation-8 branch on a
    feature map of 8 px or less)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.padding[0]
        if pad and min(x.shape[-2:]) > pad:
            return F.conv2d(F.pad(x, (pad,) * 4, mode="reflect"), self.weight, self.bias, self.stride, 0,
                            self.dilation, self.groups)
        return super().forward(x)


class DilatedBranch(nn.Sequential):
    """One M-CSAM branch: 3×3 conv ``ch→ch`` with ``dilation``, norm, ReLU, then 3×3 conv ``ch→out_ch``, norm
    (both bias-free and reflect-padded; the official code's branch layout, which sets the paper's 44.7M
    parameter count)."""

    def __init__(self, ch: int, out_ch: int, dilation: int, norm: str = "in") -> None:
        super().__init__(
            ReflectWhenPossibleConv2d(ch, ch, 3, padding=dilation, dilation=dilation, bias=False), make_norm(norm, ch),
            nn.ReLU(),
            ReflectWhenPossibleConv2d(ch, out_ch, 3, padding=1, bias=False), make_norm(norm, out_ch),
        )


ATTENTIONS = ("csam", "conv3x3")


class MCSAMBlock(nn.Module):
    """Multi-scale CSAM (Eq. 4–5): four parallel dilated branches (``ch→ch/4`` each) concatenated to ``ch``,
    CSAM, and the block's residual: ``F_mcsa = F_inp + CSAM([F¹, F², F⁴, F⁸])``.

    ``attention``: ``csam`` (the paper) or ``conv3x3`` (Table 3's "w/o CSAM": "replacing the CSAM module with a
    conventional 3×3 convolutional layer", ``ch→ch``; kept under the attribute name ``csam``).
    """

    def __init__(self, ch: int = 512, dilations: Sequence[int] = (1, 2, 4, 8), norm: str = "in",
                 attention: str = "csam") -> None:
        super().__init__()
        if ch % len(dilations):
            raise ValueError(f"Expected ch divisible by {len(dilations)} branches, but got {ch}")
        if attention not in ATTENTIONS:
            raise ValueError(f"attention: Expected one of {', '.join(ATTENTIONS)}, but got {attention!r}")
        self.branches = nn.ModuleList(DilatedBranch(ch, ch // len(dilations), d, norm) for d in dilations)
        self.csam = CSAM() if attention == "csam" else nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.csam(torch.cat([branch(x) for branch in self.branches], dim=1))


class MCSAMGenerator(nn.Module):
    """Gated encoder–M-CSAM bottleneck–gated decoder with U-Net skips (Fig. 1).

    Encoder: 4 gated convs k3 s2 ``in_ch→64→128→256→512`` (LeakyReLU 0.2, BatchNorm after the gating).
    Bottleneck: ``n_blocks`` :class:`MCSAMBlock` at 512 channels. Decoder: 4 :class:`GatedUpConv2d` (nearest
    ×2 + gated conv k3); each takes its input concatenated with the encoder output of the same resolution
    (four skips): ``[512+512]→256``, ``[256+256]→128``, ``[128+128]→64``, ``[64+64]→3``. The last gated conv
    has no norm/activation; a sigmoid maps it to [0, 1]. ``forward(image, mask)`` returns the raw prediction
    ``I_r`` (not composited); ``H, W`` must be multiples of 16.
    """

    def __init__(self, in_ch: int = 4, out_ch: int = 3, base: int = 64, n_blocks: int = 3,
                 dilations: Sequence[int] = (1, 2, 4, 8), block_norm: str = "in", attention: str = "csam") -> None:
        super().__init__()
        widths = [base, base * 2, base * 4, base * 8]
        self.encoder = nn.ModuleList()
        ch = in_ch
        for width in widths:
            self.encoder.append(GatedConv2d(ch, width, 3, stride=2, norm="bn", activation="lrelu"))
            ch = width
        self.bottleneck = nn.Sequential(*(MCSAMBlock(ch, dilations, block_norm, attention) for _ in range(n_blocks)))
        outs = [widths[2], widths[1], widths[0], out_ch]
        self.decoder = nn.ModuleList()
        for i, (skip, out) in enumerate(zip(reversed(widths), outs, strict=True)):
            last = i == len(outs) - 1
            self.decoder.append(GatedUpConv2d(ch + skip, out, 3, norm="none" if last else "bn",
                                              activation="none" if last else "lrelu"))
            ch = out

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        if h % 16 or w % 16:
            raise ValueError(f"Expected height and width divisible by 16, but got {h}×{w}")
        x = torch.cat([image, mask], dim=1)
        skips = []
        for layer in self.encoder:
            x = layer(x)
            skips.append(x)
        x = self.bottleneck(x)
        for layer, skip in zip(self.decoder, reversed(skips), strict=True):
            x = layer(torch.cat([x, skip], dim=1))
        return torch.sigmoid(x)


class MCSAMDiscriminators(nn.Module):
    """The two discriminators: ``patch`` (70×70 SN-PatchGAN on RGB) and ``feature`` (CSA feature-patch
    discriminator on VGG16 ``relu3_3``). The frozen VGG lives outside (in the loss), so checkpoints stay small."""

    def __init__(self, in_ch: int = 3, base: int = 64, n_layers: int = 3, feature_ch: int = 256,
                 feature_width: int = 512) -> None:
        super().__init__()
        self.patch = PatchDiscriminator(in_ch, base, n_layers)
        self.feature = FeaturePatchDiscriminator(feature_ch, feature_width)

    def forward(self, image: torch.Tensor, relu3_3: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(patch, feature)`` for an image and its VGG16 ``relu3_3`` features."""
        return self.patch(image), self.feature(relu3_3)


class DoubleConv(nn.Sequential):
    """2 × (conv 3×3 → BatchNorm → ReLU)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(),
        )


class UNetSegmenter(nn.Module):
    """Face-mask segmenter (§3.1): U-Net with an input :class:`DoubleConv`, 4 down blocks (max-pool 2 + DoubleConv),
    4 up blocks (bilinear ×2, concatenation with the skip, DoubleConv) and a 1×1 conv to one channel.

    Widths ``base·[1, 2, 4, 8, 8]`` down and ``base·[4, 2, 1, 1]`` up (the bilinear U-Net halves the deepest
    width). ``forward(x)`` returns probabilities in (0, 1) (1 = occluder); ``forward(x, logits=True)`` the
    pre-sigmoid map (train with BCE on logits, which is autocast-safe). Both go through ``forward`` so that a
    DistributedDataParallel wrapper sees the call.
    """

    def __init__(self, in_ch: int = 3, base: int = 64) -> None:
        super().__init__()
        down = [base, base * 2, base * 4, base * 8, base * 8]
        self.inc = DoubleConv(in_ch, down[0])
        self.downs = nn.ModuleList(DoubleConv(a, b) for a, b in zip(down[:-1], down[1:], strict=True))
        up = [base * 4, base * 2, base, base]
        self.ups = nn.ModuleList()
        ch = down[-1]
        for skip, out in zip(reversed(down[:-1]), up, strict=True):
            self.ups.append(DoubleConv(ch + skip, out))
            ch = out
        self.head = nn.Conv2d(ch, 1, 1)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % 16 or w % 16:
            raise ValueError(f"Expected height and width divisible by 16, but got {h}×{w}")
        x = self.inc(x)
        skips = [x]
        for block in self.downs:
            x = block(F.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()
        for block in self.ups:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)

    def forward(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        out = self._logits(x)
        return out if logits else torch.sigmoid(out)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
