"""Frozen torchvision VGG16/VGG19 feature extractor for perceptual, style and feature-patch losses.

Weights come from torchvision's ImageNet files (``vgg16-397923af.pth`` / ``vgg19-dcbb9e9d.pth``) found by
:func:`occbench.weights.find_weights` (torch hub cache, ``--weights-dir`` or ``$OCCBENCH_WEIGHTS``); nothing
is downloaded. A missing file raises :class:`~occbench.weights.MissingWeightsError` unless
``allow_random=True`` (tests only; results must record :attr:`VGGFeatures.random_weights`).

Layer names follow the usual ``conv{block}_{i}`` / ``relu{block}_{i}`` / ``pool{block}`` scheme
(``relu3_3`` is VGG16's ``features[15]``). Inputs are RGB in [0, 1]; ImageNet normalisation happens inside.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from occbench.compat import ensure_torchvision_importable
from occbench.weights import MissingWeightsError, find_weights, load_state_dict

_CFG_KEY = {"vgg16": "D", "vgg19": "E"}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _layer_names(features: nn.Sequential) -> list[str]:
    names, block, idx = [], 1, 1
    for module in features:
        if isinstance(module, nn.Conv2d):
            names.append(f"conv{block}_{idx}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{block}_{idx}")
            idx += 1
        else:
            names.append(f"pool{block}")
            block, idx = block + 1, 1
    return names


class VGGFeatures(nn.Module):
    """Named activations of a frozen VGG: ``forward(x) -> {name: (B, C, h, w)}`` for ``layers``."""

    def __init__(self, arch: str = "vgg16", layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
                 weights_dir: str | Path | None = None, allow_random: bool = False) -> None:
        super().__init__()
        if arch not in _CFG_KEY:
            raise ValueError(f"Expected arch in {sorted(_CFG_KEY)}, but got {arch!r}")
        ensure_torchvision_importable()
        from torchvision.models.vgg import cfgs, make_layers

        features = make_layers(cfgs[_CFG_KEY[arch]])  # torchvision's VGG ``features`` trunk, exactly
        for module in features:
            if isinstance(module, nn.ReLU):
                module.inplace = False  # a returned conv output must not be overwritten by the next ReLU
        names = _layer_names(features)
        unknown = [name for name in layers if name not in names]
        if unknown or not layers:
            raise ValueError(f"Expected layers among {names}, but got {list(layers)}")
        self.arch = arch
        self.layers = tuple(layers)
        self._random = self._load(features, arch, weights_dir, allow_random)
        last = max(names.index(name) for name in layers)
        self.features = features[: last + 1]
        self._names = names[: last + 1]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def _load(features: nn.Sequential, arch: str, weights_dir: str | Path | None, allow_random: bool) -> bool:
        try:
            path = find_weights(arch, weights_dir, "--allow-random-backbones")
        except MissingWeightsError:
            if not allow_random:
                raise
            warnings.warn(f"VGGFeatures({arch}): ImageNet weights not found, using RANDOM weights "
                          "(allow_random=True; for tests only)", stacklevel=3)
            return True
        state = load_state_dict(path)
        prefix = "features."
        features.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
        return False

    @property
    def random_weights(self) -> bool:
        """True when the weights are random (``allow_random=True`` and no weight file was found)."""
        return self._random

    def train(self, mode: bool = True) -> VGGFeatures:
        """Always stays in eval mode (frozen)."""
        return super().train(False)

    def forward(self, x: torch.Tensor, normalize: bool = True) -> dict[str, torch.Tensor]:
        """Activations of ``x``: RGB in [0, 1], ImageNet-normalised here; with ``normalize=False`` ``x`` enters
        the trunk as it is (M-CSAM's official code feeds raw [-1, 1] images)."""
        out: dict[str, torch.Tensor] = {}
        h = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype) if normalize else x
        for name, module in zip(self._names, self.features, strict=True):
            h = module(h)
            if name in self.layers:
                out[name] = h
        return out
