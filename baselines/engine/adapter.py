"""Trained baselines as evaluation methods (docs/conventions.md §4): ``evaluate --method mcsam --param checkpoint=F``.

:class:`TrainedMethod` loads checkpoints written by ``occbench train``, rebuilds each recipe from the config
stored in it (``settings.extras["inference"] = True``, and random backbone weights allowed, since loss
networks are not used for inference and every saved network is overwritten by the checkpoint). Loading is
lazy (first ``predict``); a missing checkpoint fails at construction.

A method may need several networks: its main ``checkpoint`` and named auxiliary ones (M-CSAM's ``segmenter``;
SGIN's ``detector`` and ``parser``), given as parameters (``--param detector=FILE``) or all at once in a
``bundle`` (a YAML mapping of parameter names to files, relative to the bundle). Modes are parameters too
(``mask=given|predicted``, SGIN's ``semantics=predicted|gt``); which auxiliary networks a mode needs is the
method's :meth:`TrainedMethod.required`. Every file and its sha256 is in :attr:`TrainedMethod.provenance`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from occbench.baselines.engine.recipe import Recipe, TrainSettings
from occbench.baselines.engine.trainer import load_checkpoint, recipe_class

from occbench.errors import OccbenchError
from occbench.fingerprint import sha256_file
from occbench.methods.base import Method


def _train_hint(name: str) -> str:
    return f"train one with: occbench train --method {name} --data DATASET --out DIR"


def load_trained_recipe(path: Path, expected: str, device: str | torch.device) -> tuple[Recipe, dict[str, Any]]:
    """Recipe of checkpoint ``path`` (which must be of method ``expected``) in eval mode on ``device``."""
    ckpt = load_checkpoint(path, map_location=device)
    if expected and ckpt["method"] != expected:
        raise OccbenchError(f"{path}: a checkpoint of {ckpt['method']!r}, but {expected!r} was expected "
                            f"({_train_hint(expected)})")
    settings = TrainSettings(config=ckpt["config"], device=torch.device(device), allow_random_backbones=True,
                             extras={"inference": True}, seed=int(ckpt.get("seed", 0)),
                             generator=torch.Generator(), np_rng=np.random.default_rng(0))
    recipe = recipe_class(ckpt["method"])()
    with torch.random.fork_rng(devices=[]):  # building draws initial weights: keep the caller's RNG untouched
        recipe.build(settings)
    for name, net in recipe.networks().items():
        if name not in ckpt["networks"]:
            raise OccbenchError(f"{path}: no weights for network {name!r} of {ckpt['method']!r}")
        net.load_state_dict(ckpt["networks"][name])
        net.eval().requires_grad_(False)
    info = {k: ckpt.get(k) for k in ("method", "step", "protocol", "protocol_hash", "occbench_version",
                                     "random_backbones", "seed", "recorded")}
    return recipe, info


@dataclass(frozen=True)
class TrainedMethod(Method):
    """A method backed by ``occbench train`` checkpoints. Subclasses set :attr:`recipe_name`, declare one
    ``Path | None`` field per entry of :attr:`auxiliary` and one field per extra mode, and implement
    :meth:`predict_with_mask`."""

    recipe_name: ClassVar[str] = ""  # the recipe whose checkpoints ``checkpoint`` accepts
    auxiliary: ClassVar[dict[str, str]] = {}  # field name -> recipe name of an auxiliary network
    modes: ClassVar[dict[str, tuple[str, ...]]] = {"mask": ("given",)}  # mode field -> allowed values
    needs_weights: ClassVar[bool] = True

    checkpoint: Path | None = None
    bundle: Path | None = None
    mask: str = "given"
    device: str = "cpu"
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def mask_modes(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.modes["mask"]

    def required(self) -> set[str]:
        """Auxiliary networks the chosen modes need (default: none)."""
        return set()

    def __post_init__(self) -> None:
        name = self.recipe_name or "NAME"
        if self.bundle is not None:
            self._read_bundle(Path(self.bundle))
        for mode, allowed in self.modes.items():
            if getattr(self, mode) not in allowed:
                raise ValueError(f"{mode}: Expected one of {', '.join(allowed)}, but got {getattr(self, mode)!r}")
        if self.checkpoint is None:
            raise OccbenchError(f"method {name} needs a trained checkpoint: pass --param checkpoint=FILE or a "
                                f"--param bundle=FILE ({_train_hint(name)})")
        for key in ("checkpoint", *sorted(self.required())):
            path = getattr(self, key)
            recipe = self.recipe_name if key == "checkpoint" else self.auxiliary[key]
            if path is None:
                modes = ", ".join(f"{m}={getattr(self, m)}" for m in self.modes)
                raise OccbenchError(f"method {name} with {modes} needs the {key} network: pass --param {key}=FILE "
                                    f"or a bundle naming it ({_train_hint(recipe)})")
            if not Path(path).is_file():
                raise OccbenchError(f"method {name}: {key} checkpoint {path} not found ({_train_hint(recipe)})")

    def _read_bundle(self, bundle: Path) -> None:
        from occbench.yamlio import read_yaml_file

        data = read_yaml_file(bundle)
        keys = {"checkpoint", *self.auxiliary}
        if not isinstance(data, dict) or not set(data) <= keys:
            raise OccbenchError(f"{bundle}: Expected a mapping with keys among {', '.join(sorted(keys))}, but got "
                                f"{sorted(data) if isinstance(data, dict) else type(data).__name__}")
        for key, value in data.items():
            if getattr(self, key) is None:  # explicit --param wins over the bundle
                object.__setattr__(self, key, (bundle.parent / str(value)).resolve())

    def network(self, key: str) -> Recipe:
        """The recipe of ``checkpoint`` or of an auxiliary field, loaded on first use."""
        if key not in self._cache:
            recipe = self.recipe_name if key == "checkpoint" else self.auxiliary[key]
            self._cache[key], self._cache[f"{key}_info"] = load_trained_recipe(Path(getattr(self, key)), recipe,
                                                                               self.device)
        return self._cache[key]

    @property
    def recipe(self) -> Recipe:
        return self.network("checkpoint")

    @property
    def checkpoint_sha256(self) -> str:
        if "sha256" not in self._cache:
            self._cache["sha256"] = sha256_file(self.checkpoint)
        return self._cache["sha256"]

    @property
    def provenance(self) -> dict[str, Any]:
        """What results should record: every checkpoint and its sha256, its training step and data, modes."""
        self.recipe  # noqa: B018 - loads the checkpoint info
        out = {"checkpoint": str(self.checkpoint), "checkpoint_sha256": self.checkpoint_sha256,
               **{mode: getattr(self, mode) for mode in self.modes},
               **{f"trained_{k}": v for k, v in self._cache["checkpoint_info"].items()}}
        for key in sorted(self.required()):
            out[key] = str(getattr(self, key))
            out[f"{key}_sha256"] = sha256_file(getattr(self, key))
        return out

    def to(self, device: str | torch.device) -> TrainedMethod:
        device = str(torch.device(device))
        return self if device == str(torch.device(self.device)) else dataclasses.replace(self, device=device)

    def _inputs(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any] | None):
        """Inputs checked and moved to this method's device."""
        from occbench.methods.base import check_inputs

        check_inputs(occluded, mask)
        device = torch.device(self.device)
        extras = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in (extras or {}).items()}
        return occluded.to(device), mask.to(device), extras

    def predict(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any] | None = None) -> torch.Tensor:
        return self.predict_with_mask(occluded, mask, extras)[0]
