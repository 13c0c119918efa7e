"""Foreground-guided facial inpainting networks (Jam et al., "Foreground-guided Facial Inpainting with
Fidelity Preservation", 2021). No official code exists; the generator follows the paper's basis, R-MNet /
SSWGAN (Jam et al. 2021, 2020), and the critic is the paper's WGAN critic (4 stride-2 convs + dense).

Images are RGB in [0, 1] at the interface; inside, the generator works on [-1, 1] as R-MNet does (hole
pixels are zeroed there, i.e. mid-grey), and maps its tanh output back to [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from occbench.baselines.layers import WGANCritic
from torch import nn

BN_MOMENTUM = 0.2
"""R-MNet's Keras ``BatchNormalization(momentum=0.8)`` (weight of the old running mean) is PyTorch's momentum 0.2
(weight of the new batch statistic)."""

ENCODER_WIDTHS = (64, 64, 128, 256, 512)
DECODER_WIDTHS = (512, 256, 128, 64)


class FGIGenerator(nn.Module):
    """R-MNet-style encoder–decoder with symmetric skip connections.

    Encoder: five 5×5 dilation-2 convs ``64-64-128-256-512``, each followed by LeakyReLU 0.2; the first four
    by BatchNorm and a 2×2 max-pool, the fifth by Dropout ``dropout`` (R-MNet). Decoder: four stages of
    bilinear ×2 upsampling, concatenation with the encoder feature of the same resolution (the symmetric skip,
    taken before pooling; ``skips=False`` drops it, as in R-MNet's public code), a 3×3 stride-1 transposed
    conv (``512/256/128/64``), ReLU and BatchNorm; then a 3×3 transposed conv to RGB and tanh.
    ``forward(image, mask)`` returns the raw prediction in [0, 1]; ``H, W`` must be multiples of 16.
    """

    def __init__(self, in_ch: int = 3, base: int = 64, dropout: float = 0.5, skips: bool = True,
                 mask_channel: bool = False) -> None:
        super().__init__()
        scale = base / 64
        enc = [int(w * scale) for w in ENCODER_WIDTHS]
        dec = [int(w * scale) for w in DECODER_WIDTHS]
        self.mask_channel, self.skips = mask_channel, skips
        self.encoder = nn.ModuleList()
        ch = in_ch + int(mask_channel)
        for i, width in enumerate(enc):
            layers: list[nn.Module] = [nn.Conv2d(ch, width, 5, padding=4, dilation=2), nn.LeakyReLU(0.2)]
            layers.append(nn.BatchNorm2d(width, momentum=BN_MOMENTUM) if i < len(enc) - 1
                          else nn.Dropout(dropout))
            self.encoder.append(nn.Sequential(*layers))
            ch = width
        self.decoder = nn.ModuleList()
        for skip, width in zip(reversed(enc[:-1]), dec, strict=True):
            self.decoder.append(nn.Sequential(
                nn.ConvTranspose2d(ch + (skip if skips else 0), width, 3, padding=1), nn.ReLU(),
                nn.BatchNorm2d(width, momentum=BN_MOMENTUM)))
            ch = width
        self.head = nn.ConvTranspose2d(ch, 3, 3, padding=1)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        if h % 16 or w % 16:
            raise ValueError(f"Expected height and width divisible by 16, but got {h}×{w}")
        x = (2 * image - 1) * (1 - mask)  # R-MNet: the masked image in [-1, 1], holes 0
        if self.mask_channel:
            x = torch.cat([x, mask], dim=1)
        features = []
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i < len(self.encoder) - 1:
                features.append(x)
                x = F.max_pool2d(x, 2)
        for layer, skip in zip(self.decoder, reversed(features), strict=True):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = layer(torch.cat([x, skip], dim=1) if self.skips else x)
        return (torch.tanh(self.head(x)) + 1) / 2


def fgi_critic(image_size: int = 256, base: int = 64, dropout: float = 0.25) -> WGANCritic:
    """The paper's WGAN critic: 4 stride-2 convs (64-128-256-512) and a dense layer, on RGB images."""
    return WGANCritic(3, base, image_size, dropout, bn_momentum=BN_MOMENTUM)
