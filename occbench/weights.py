"""Finding pretrained weight files without downloading anything.

Search order for a file name: ``--weights-dir`` (passed as ``weights_dir``), ``$OCCBENCH_WEIGHTS``
(one or more folders separated by ``os.pathsep``), then the standard torch hub cache
``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``), which is where torchvision,
torch-fidelity and lpips look too. A missing file raises :class:`MissingWeightsError` naming the file,
its size, what needs it, where it comes from and every folder searched.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from occbench.errors import OccbenchError

ENV_VAR = "OCCBENCH_WEIGHTS"


@dataclass(frozen=True)
class WeightsFile:
    """A known weight file: its name, approximate size, what uses it and where to get it."""

    filename: str
    size: str
    used_by: str
    origin: str


KNOWN = {
    "inception": WeightsFile(
        "weights-inception-2015-12-05-6726825d.pth", "about 92 MB", "FID/KID (torch-fidelity's TF-Inception v3)",
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"),
    "alexnet": WeightsFile(
        "alexnet-owt-7be5be79.pth", "233 MB", "LPIPS (AlexNet trunk, the default)",
        "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"),
    "vgg16": WeightsFile(
        "vgg16-397923af.pth", "528 MB", "LPIPS with net=vgg, perceptual losses",
        "https://download.pytorch.org/models/vgg16-397923af.pth"),
    "vgg19": WeightsFile(
        "vgg19-dcbb9e9d.pth", "548 MB", "style/perceptual losses on VGG19",
        "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"),
}


class MissingWeightsError(OccbenchError):
    """A weight file was not found in any search folder."""


def torch_hub_checkpoints() -> Path:
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(home) / "hub" / "checkpoints"


def search_dirs(weights_dir: str | Path | None = None) -> list[Path]:
    dirs = [Path(weights_dir)] if weights_dir else []
    dirs += [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    dirs.append(torch_hub_checkpoints())
    return dirs


def find_weights(key: str, weights_dir: str | Path | None = None) -> Path:
    """Path of the known weight file ``key`` (see :data:`KNOWN`); raises MissingWeightsError if absent."""
    spec = KNOWN[key]
    dirs = search_dirs(weights_dir)
    for folder in dirs:
        candidate = folder / spec.filename
        if candidate.is_file():
            return candidate
    raise MissingWeightsError(
        f"{spec.filename} ({spec.size}) is needed for {spec.used_by} but was not found. Download it from "
        f"{spec.origin} and put it in one of: " + ", ".join(str(d) for d in dirs)
        + f" (or pass --weights-dir DIR / set {ENV_VAR}=DIR)."
    )


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
