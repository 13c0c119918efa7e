"""BiSeNet (Yu et al., "BiSeNet: Bilateral Segmentation Network for Real-time Semantic Segmentation", ECCV 2018),
with the widths of the widely used face-parsing implementation (ResNet-18 context path).

- **Spatial path**: three conv-BN-ReLU blocks (7×7 stride 2 to 64, 3×3 stride 2 to 64, 3×3 stride 2 to 64,
  then 1×1 to 128) → 1/8 resolution.
- **Context path**: a ResNet-18 (torchvision layout; ImageNet weights from ``resnet18-f37072fd.pth`` when found,
  see :func:`occbench.weights.find_weights`) giving 1/16 (256 ch) and 1/32 (512 ch) features; a global-average
  context vector; an **Attention Refinement Module** (ARM: 3×3 conv to 128, global pooling, 1×1 conv, sigmoid,
  reweighting) on each; the 1/32 branch plus the global context is upsampled and added to the 1/16 branch,
  which is upsampled to 1/8.
- **Feature Fusion Module** (FFM): concatenation of both paths, 1×1 conv-BN-ReLU to 256, and a channel attention
  (global pooling, 1×1 → 64, ReLU, 1×1 → 256, sigmoid) applied as ``x + x·a``.
- Heads: 3×3 conv-BN-ReLU then 1×1 to ``num_classes`` on the fused features, and two auxiliary heads on the
  1/16 and 1/8 context features (training only, as the paper's auxiliary loss functions).

``forward(x)`` returns logits at the input size; ``forward(x, aux=True)`` also the two auxiliary logits.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from occbench.weights import MissingWeightsError, find_weights, load_state_dict

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def conv_bn_relu(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(out_ch),
                         nn.ReLU(inplace=True))


class AttentionRefinement(nn.Module):
    """ARM: ``f = conv3x3(x)``; ``f · σ(BN(conv1x1(GAP(f))))``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = conv_bn_relu(in_ch, out_ch)
        self.attention = nn.Sequential(nn.Conv2d(out_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch),
                                       nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.conv(x)
        return feature * self.attention(F.adaptive_avg_pool2d(feature, 1))


class FeatureFusion(nn.Module):
    """FFM: fuse spatial and context features with channel attention (``x + x·a``)."""

    def __init__(self, in_ch: int, out_ch: int, reduction: int = 4) -> None:
        super().__init__()
        self.conv = conv_bn_relu(in_ch, out_ch, kernel=1)
        self.attention = nn.Sequential(nn.Conv2d(out_ch, out_ch // reduction, 1), nn.ReLU(inplace=True),
                                       nn.Conv2d(out_ch // reduction, out_ch, 1), nn.Sigmoid())

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.conv(torch.cat([spatial, context], dim=1))
        return x + x * self.attention(F.adaptive_avg_pool2d(x, 1))


class Head(nn.Sequential):
    def __init__(self, in_ch: int, mid_ch: int, num_classes: int) -> None:
        super().__init__(conv_bn_relu(in_ch, mid_ch), nn.Conv2d(mid_ch, num_classes, 1))


def resnet18_trunk(weights_dir: str | Path | None, allow_random: bool) -> tuple[nn.Module, bool]:
    """torchvision's ResNet-18 without its classifier; ImageNet weights, or random behind ``allow_random``.
    Returns the module and whether its weights are random."""
    from occbench.compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from torchvision.models import resnet18

    net = resnet18(weights=None)
    net.fc = nn.Identity()
    try:
        path = find_weights("resnet18", weights_dir, "--allow-random-backbones")
    except MissingWeightsError:
        if not allow_random:
            raise
        warnings.warn("BiSeNet: ResNet-18 ImageNet weights not found, using RANDOM weights "
                      "(allow_random=True; for tests and smoke runs only)", stacklevel=3)
        return net, True
    state = {k: v for k, v in load_state_dict(path).items() if not k.startswith("fc.")}
    net.load_state_dict(state, strict=False)
    return net, False


class BiSeNet(nn.Module):
    """BiSeNet with a ResNet-18 context path (see the module docstring); inputs RGB in [0, 1]."""

    def __init__(self, num_classes: int, weights_dir: str | Path | None = None, allow_random_backbone: bool = False,
                 pretrained: bool = True) -> None:
        super().__init__()
        self.spatial = nn.Sequential(conv_bn_relu(3, 64, 7, 2), conv_bn_relu(64, 64, 3, 2), conv_bn_relu(64, 64, 3, 2),
                                     conv_bn_relu(64, 128, 1))
        if pretrained:
            trunk, self.random_backbone = resnet18_trunk(weights_dir, allow_random_backbone)
        else:  # inference: the checkpoint overwrites every weight
            from occbench.compat import ensure_torchvision_importable

            ensure_torchvision_importable()
            from torchvision.models import resnet18

            trunk, self.random_backbone = resnet18(weights=None), False
        self.stem = nn.Sequential(trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool, trunk.layer1, trunk.layer2)
        self.layer3, self.layer4 = trunk.layer3, trunk.layer4
        self.arm16, self.arm32 = AttentionRefinement(256, 128), AttentionRefinement(512, 128)
        self.global_context = conv_bn_relu(512, 128, kernel=1)
        self.refine16, self.refine32 = conv_bn_relu(128, 128), conv_bn_relu(128, 128)
        self.ffm = FeatureFusion(256, 256)
        self.head = Head(256, 256, num_classes)
        self.aux16, self.aux32 = Head(128, 64, num_classes), Head(128, 64, num_classes)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor, aux: bool = False):
        size = x.shape[-2:]
        x = (x - self.mean) / self.std
        spatial = self.spatial(x)
        c8 = self.stem(x)
        c16 = self.layer3(c8)
        c32 = self.layer4(c16)
        context = self.global_context(F.adaptive_avg_pool2d(c32, 1))
        up32 = self.refine32(F.interpolate(self.arm32(c32) + context, size=c16.shape[-2:], mode="nearest"))
        up16 = self.refine16(F.interpolate(self.arm16(c16) + up32, size=spatial.shape[-2:], mode="nearest"))
        logits = F.interpolate(self.head(self.ffm(spatial, up16)), size=size, mode="bilinear", align_corners=False)
        if not aux:
            return logits
        aux16 = F.interpolate(self.aux16(up16), size=size, mode="bilinear", align_corners=False)
        aux32 = F.interpolate(self.aux32(up32), size=size, mode="bilinear", align_corners=False)
        return logits, aux16, aux32
