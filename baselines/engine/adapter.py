"""Trained baselines as evaluation methods (docs/conventions.md §4): ``evaluate --method mcsam --param checkpoint=F``.

:class:`TrainedMethod` loads a checkpoint written by ``occbench train``, rebuilds the recipe from the
config stored in it (``settings.extras["inference"] = True``, and random VGG weights allowed, since loss
networks are not used for inference and every saved network is overwritten by the checkpoint), and
calls ``recipe.inpaint``. Loading is lazy (first ``predict``); a missing checkpoint fails at construction.

Mask modes: ``mask=given`` inpaints the dataset's mask. ``mask=predicted`` (M-CSAM's two-stage pipeline)
needs ``segmenter=FILE``, a checkpoint of the segmenter recipe, whose ``predict_mask(occluded)`` returns
hole probabilities ``(B, 1, H, W)``; the hole is ``probability > 0.5`` and the given mask is ignored.
The ``mask``, ``checkpoint_sha256`` and :attr:`TrainedMethod.provenance` properties are meant for results.
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
from occbench.methods.base import Method, check_inputs


def _train_hint(name: str) -> str:
    return f"train one with: occbench train --method {name} --data DATASET --out DIR"


def load_trained_recipe(path: Path, expected: str, device: str | torch.device) -> tuple[Recipe, dict[str, Any]]:
    """Recipe of checkpoint ``path`` (which must be of method ``expected``) in eval mode on ``device``."""
    ckpt = load_checkpoint(path, map_location=device)
    if expected and ckpt["method"] != expected:
        raise OccbenchError(f"{path}: a checkpoint of {ckpt['method']!r}, but {expected!r} was expected "
                            f"({_train_hint(expected)})")
    settings = TrainSettings(config=ckpt["config"], device=torch.device(device), allow_random_vgg=True,
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
                                     "random_vgg", "seed")}
    return recipe, info


@dataclass(frozen=True)
class TrainedMethod(Method):
    """A method backed by an ``occbench train`` checkpoint. Subclasses set :attr:`trainable`."""

    trainable: ClassVar[str] = ""  # the TRAINABLE name whose checkpoints this method accepts
    segmenter_method: ClassVar[str] = ""  # the TRAINABLE name of the mask segmenter (mask=predicted)
    needs_weights: ClassVar[bool] = True

    checkpoint: Path | None = None
    mask: str = "given"
    segmenter: Path | None = None
    device: str = "cpu"
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = self.trainable or "NAME"
        if self.checkpoint is None:
            raise OccbenchError(f"method {name} needs a trained checkpoint: pass --param checkpoint=FILE "
                                f"({_train_hint(name)})")
        if not Path(self.checkpoint).is_file():
            raise OccbenchError(f"method {name}: checkpoint {self.checkpoint} not found ({_train_hint(name)})")
        if self.mask not in self.mask_modes:
            raise ValueError(f"mask: Expected one of {', '.join(self.mask_modes)}, but got {self.mask!r}")
        if self.mask == "predicted":
            if self.segmenter is None:
                raise OccbenchError(f"method {name} with mask=predicted needs a segmenter checkpoint: pass --param "
                                    f"segmenter=FILE ({_train_hint(self.segmenter_method)})")
            if not Path(self.segmenter).is_file():
                raise OccbenchError(f"method {name}: segmenter checkpoint {self.segmenter} not found")

    def _loaded(self, key: str, path: Path, expected: str) -> Recipe:
        if key not in self._cache:
            self._cache[key], self._cache[f"{key}_info"] = load_trained_recipe(Path(path), expected, self.device)
        return self._cache[key]

    @property
    def recipe(self) -> Recipe:
        return self._loaded("recipe", self.checkpoint, self.trainable)

    @property
    def checkpoint_sha256(self) -> str:
        if "sha256" not in self._cache:
            self._cache["sha256"] = sha256_file(self.checkpoint)
        return self._cache["sha256"]

    @property
    def provenance(self) -> dict[str, Any]:
        """What results should record: checkpoint path and hash, its training step and data, random VGG."""
        self.recipe  # noqa: B018 - loads the checkpoint info
        out = {"checkpoint": str(self.checkpoint), "checkpoint_sha256": self.checkpoint_sha256, "mask": self.mask,
               **{f"trained_{k}": v for k, v in self._cache["recipe_info"].items()}}
        if self.mask == "predicted":
            out["segmenter"] = str(self.segmenter)
            out["segmenter_sha256"] = sha256_file(self.segmenter)
        return out

    def to(self, device: str | torch.device) -> TrainedMethod:
        device = str(torch.device(device))
        return self if device == str(torch.device(self.device)) else dataclasses.replace(self, device=device)

    @torch.no_grad()
    def predict_with_mask(self, occluded: torch.Tensor, mask: torch.Tensor,
                          extras: dict[str, Any] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        check_inputs(occluded, mask)
        device = torch.device(self.device)
        occluded, mask = occluded.to(device), mask.to(device)
        extras = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in (extras or {}).items()}
        if self.mask == "predicted":
            segmenter = self._loaded("segmenter", self.segmenter, self.segmenter_method)
            if not hasattr(segmenter, "predict_mask"):
                raise OccbenchError(f"{self.segmenter}: {type(segmenter).__name__} has no predict_mask()")
            mask = (segmenter.predict_mask(occluded) > 0.5).float()
        return self.recipe.inpaint(occluded, mask, extras).float(), mask

    def predict(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any] | None = None) -> torch.Tensor:
        return self.predict_with_mask(occluded, mask, extras)[0]


def trained_method(name: str, class_name: str, *, mask_modes: tuple[str, ...] = ("given",),
                   segmenter_method: str = "") -> type[TrainedMethod]:
    """A :class:`TrainedMethod` subclass for trainable method ``name`` (register it in METHODS)."""
    doc = f"``{name}`` from an ``occbench train --method {name}`` checkpoint (mask modes: {', '.join(mask_modes)})."
    return type(class_name, (TrainedMethod,), {"trainable": name, "mask_modes": mask_modes,
                                               "segmenter_method": segmenter_method, "__doc__": doc,
                                               "__module__": __name__, "__qualname__": class_name})


MCSAMMethod = trained_method("mcsam", "MCSAMMethod", mask_modes=("given", "predicted"),
                             segmenter_method="mcsam-segmenter")
FGIMethod = trained_method("fgi", "FGIMethod")
