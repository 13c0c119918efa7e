"""The contract between the training engine and one trainable method.

A method folder ``baselines/<name>/`` provides a :class:`Recipe` subclass in ``train.py``, registered in
:data:`occbench.registry.RECIPES` by the folder's ``register.py``; ``settings.config`` is the method's config
file merged with ``--set`` overrides once, by the engine (recipes never merge defaults again).
The engine owns everything generic: data loading from a built dataset
(docs/conventions.md §3), seeding, the step loop, checkpoints and resume, CSV/TensorBoard logs, autocast on CUDA,
DistributedDataParallel under ``torchrun``. The recipe owns the networks, optimizers and one training
step.

Batches are dicts of float32 tensors on the training device: ``target`` and ``occluded`` ``(B, 3, H, W)``
in [0, 1], ``mask`` ``(B, 1, H, W)`` with 1 = hole, and when the dataset has labels ``label``
``(B, H, W)`` int64 CelebAMask-HQ classes and ``fg`` ``(B, 1, H, W)`` (classes 1–13).

Steps are numbered from 1: ``train_step(batch, step)`` gets the same number that ``log.csv`` and
``checkpoints/step_<n>.pt`` use (``step_<n>.pt`` holds the state after step ``n``).

Randomness: the engine seeds torch's global RNG once before :meth:`Recipe.build` (parameter init) and
again, per rank, before the first step; a recipe that draws its own noise should use
``settings.generator`` (torch, CPU) or ``settings.np_rng`` (numpy), which the engine seeds, saves and
restores, so a resumed run repeats an uninterrupted one exactly.

Mixed precision: the engine runs ``train_step`` under ``torch.autocast`` (CUDA only). bf16 needs
nothing from the recipe; fp16 needs loss scaling, so a recipe supports ``--amp fp16`` by doing its
updates through :meth:`TrainSettings.backward_step` (which also works without AMP).

DistributedDataParallel: the engine wraps every network of :meth:`Recipe.networks` that has trainable
parameters and hands the wrapped modules back through :meth:`Recipe.set_networks`; the default finds
the attribute holding each network and replaces it, so ``self.G(x)`` in ``train_step`` goes through DDP.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class TrainSettings:
    """Engine-side settings a recipe may read (from the CLI and the method's config.yaml)."""

    config: dict[str, Any]
    device: torch.device
    allow_random_backbones: bool = False  # random VGG weights only behind this flag (tests); recorded in results
    weights_dir: str | None = None
    amp_dtype: torch.dtype | None = None  # bf16/fp16 autocast on CUDA, None on CPU
    # engine → recipe: "steps_per_epoch" (full batches per epoch of this process) when training, "inference"
    # (True) when an evaluation adapter builds the recipe; recipe → engine: "random_backbones" (recorded in checkpoints)
    extras: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    generator: torch.Generator | None = None  # CPU generator for the recipe's own noise (saved in checkpoints)
    np_rng: np.random.Generator | None = None  # numpy generator for the recipe (saved in checkpoints)
    grad_scaler: Any = None  # torch.amp.GradScaler under --amp fp16, else None
    rank: int = 0
    world_size: int = 1

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """``loss.backward(); optimizer.step()``, with fp16 loss scaling when the engine enabled it.

        Zeroing gradients stays with the caller. The engine calls ``grad_scaler.update()`` after each step.
        """
        if self.grad_scaler is None:
            loss.backward()
            optimizer.step()
        else:
            self.grad_scaler.scale(loss).backward()
            self.grad_scaler.step(optimizer)


class Recipe(ABC):
    """One trainable method: networks, optimizers, a step, and inference for evaluation."""

    name: str = ""

    @abstractmethod
    def build(self, settings: TrainSettings) -> None:
        """Create networks and optimizers on ``settings.device``."""

    @abstractmethod
    def networks(self) -> dict[str, nn.Module]:
        """Named networks (the engine wraps them for DDP and saves their state)."""

    @abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Named optimizers (saved and restored by the engine)."""

    def set_networks(self, wrapped: dict[str, nn.Module]) -> None:
        """Replace networks by their DDP-wrapped versions (same names as :meth:`networks`).

        The default replaces every attribute of the recipe (or value of a dict attribute) that *is* the
        original module; override it when networks live elsewhere.
        """
        originals = self.networks()
        for name, module in wrapped.items():
            original = originals[name]
            if original is module:
                continue
            found = False
            for attr, value in list(vars(self).items()):
                if value is original:
                    setattr(self, attr, module)
                    found = True
                elif isinstance(value, dict):
                    for key, item in list(value.items()):
                        if item is original:
                            value[key] = module
                            found = True
            if not found:
                raise NotImplementedError(f"{type(self).__name__}: network {name!r} is not an attribute of the "
                                          "recipe; override set_networks to accept DDP-wrapped modules")

    def schedulers(self) -> dict[str, Any]:
        """Named LR schedulers (saved/restored); stepped by the recipe itself."""
        return {}

    @abstractmethod
    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        """One optimisation step on every network; returns scalar losses for the log."""

    @abstractmethod
    @torch.no_grad()
    def inpaint(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any]) -> torch.Tensor:
        """Prediction ``(B, 3, H, W)`` in [0, 1] for evaluation (docs/conventions.md §4)."""
