"""Discriminators shared by the baselines: spectral-norm PatchGAN, CSA's feature-patch discriminator, and
the WGAN critic of the foreground-guided paper (R-MNet's critic). All return raw scores (no sigmoid)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _sn_conv(in_ch: int, out_ch: int, stride: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(in_ch, out_ch, kernel_size=4, stride=stride, padding=1))


class PatchDiscriminator(nn.Module):
    """pix2pix PatchGAN with spectral norm instead of BatchNorm (Isola et al. 2017; Miyato et al. 2018).

    Layers (k4, padding 1, LeakyReLU 0.2): ``n_layers`` stride-2 convs ``base·2^i`` (capped at 8·base), one
    stride-1 conv, then a stride-1 conv to one score channel. ``n_layers=3`` gives the 70×70 receptive field.
    Output ``(B, 1, h, w)`` logits, ``h = H/2^n_layers - 2``.
    """

    def __init__(self, in_ch: int = 3, base: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [_sn_conv(in_ch, base, 2), nn.LeakyReLU(0.2)]
        ch = base
        for i in range(1, n_layers):
            nxt = base * min(2 ** i, 8)
            layers += [_sn_conv(ch, nxt, 2), nn.LeakyReLU(0.2)]
            ch = nxt
        nxt = base * min(2 ** n_layers, 8)
        layers += [_sn_conv(ch, nxt, 1), nn.LeakyReLU(0.2), _sn_conv(nxt, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FeaturePatchDiscriminator(nn.Module):
    """CSA's feature-patch discriminator (Liu et al., ICCV 2019) on VGG16 ``relu3_3`` features (256 channels,
    1/4 of the image size): it judges patches of deep features rather than pixels.

    Layers (k4, stride 2, padding 1), as in CSA's public model: conv ``in_ch→width``, LeakyReLU 0.2; conv
    ``width→width``, InstanceNorm, LeakyReLU 0.2; conv ``width→1``. CSA's last conv has ``width`` output
    channels; here it has one score channel (a patch score map, like the PatchGAN). Output ``(B, 1, H/32, W/32)``
    logits for an image of size ``H×W``.
    """

    def __init__(self, in_ch: int = 256, width: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_ch, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 4, stride=2, padding=1), nn.InstanceNorm2d(width), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 1, 4, stride=2, padding=1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


class WGANCritic(nn.Module):
    """WGAN critic of the foreground-guided paper: 4 stride-2 convs (64-128-256-512) and a dense layer.

    Per layer (as R-MNet's public critic): conv k3 stride 2 padding 1, BatchNorm (not on the first),
    LeakyReLU 0.2, Dropout ``dropout``. Then flatten and ``Linear(512·(S/16)², 1)``; ``image_size`` S fixes
    the dense layer's input size. Output ``(B, 1)`` unbounded scores. ``bn_momentum``: PyTorch's convention.
    """

    def __init__(self, in_ch: int = 3, base: int = 64, image_size: int = 256, dropout: float = 0.25,
                 bn_momentum: float = 0.1) -> None:
        super().__init__()
        if image_size % 16:
            raise ValueError(f"Expected image_size divisible by 16, but got {image_size}")
        layers: list[nn.Module] = []
        ch = in_ch
        for i in range(4):
            nxt = base * 2 ** i
            layers.append(nn.Conv2d(ch, nxt, 3, stride=2, padding=1))
            if i:
                layers.append(nn.BatchNorm2d(nxt, momentum=bn_momentum))
            layers += [nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            ch = nxt
        self.features = nn.Sequential(*layers)
        self.image_size = image_size
        self.fc = nn.Linear(ch * (image_size // 16) ** 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(f"Expected images of {self.image_size}×{self.image_size}, but got {tuple(x.shape[-2:])}")
        return self.fc(self.features(x).flatten(1))


class FeaturePatchGAN(nn.Module):
    """A pix2pixHD PatchGAN (k4, LeakyReLU 0.2; InstanceNorm after the first layer, spectral norm on every
    conv as SPADE/SEAN do) that returns the output of every layer, for feature matching: the last is the
    ``(B, 1, h, w)`` logit map."""

    def __init__(self, in_ch: int, base: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers = [nn.Sequential(_sn_conv(in_ch, base, 2), nn.LeakyReLU(0.2))]
        ch = base
        for i in range(1, n_layers + 1):
            nxt = base * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers.append(nn.Sequential(_sn_conv(ch, nxt, stride), nn.InstanceNorm2d(nxt), nn.LeakyReLU(0.2)))
            ch = nxt
        layers.append(nn.Sequential(_sn_conv(ch, 1, 1)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs


class MultiscalePatchDiscriminator(nn.Module):
    """pix2pixHD's multi-scale discriminator: ``n_scales`` :class:`FeaturePatchGAN` s, each on the input
    average-pooled once more (3×3, stride 2). ``forward`` returns one list of layer outputs per scale."""

    def __init__(self, in_ch: int, base: int = 64, n_layers: int = 3, n_scales: int = 2) -> None:
        super().__init__()
        self.scales = nn.ModuleList(FeaturePatchGAN(in_ch, base, n_layers) for _ in range(n_scales))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        outputs = []
        for i, discriminator in enumerate(self.scales):
            if i:
                x = torch.nn.functional.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(discriminator(x))
        return outputs
