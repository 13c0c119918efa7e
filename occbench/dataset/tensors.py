"""Files of a built dataset as torch tensors (docs/conventions.md §2), for predict, evaluate and training.

Images become float32 ``(3, H, W)`` in [0, 1]; mask PNGs (255 = hole) become ``(1, H, W)`` with 1 = hole;
label maps become int64 ``(H, W)`` classes, a ``(1, H, W)`` foreground map (the label scheme's foreground;
CelebAMask-HQ classes 1–13 by default) and ``(5, H, W)`` face-part maps (the scheme's parts: eyes, nose, mouth,
skin, hair).
Stack per-sample tensors with ``torch.stack`` for a batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from occbench.image_io import read_gray, read_image
from occbench.labels import CELEBAMASK19, LabelScheme


def read_hole(path: str | Path, sha256: str | None = None) -> np.ndarray:
    """A mask PNG as a bool ``(H, W)`` array, True = hole (values above 127; PNGs hold 0 / 255)."""
    return read_gray(path, sha256) > 127


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """RGB uint8 ``(H, W, 3)`` → float32 ``(3, H, W)`` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(255)


def mask_tensor(hole: np.ndarray) -> torch.Tensor:
    """Bool/0-1 ``(H, W)`` → float32 ``(1, H, W)``, 1 = hole."""
    return torch.from_numpy(np.ascontiguousarray(hole, dtype=np.float32))[None]


def label_tensor(label: np.ndarray) -> torch.Tensor:
    """uint8 class map ``(H, W)`` → int64 ``(H, W)``."""
    return torch.from_numpy(np.ascontiguousarray(label, dtype=np.int64))


def fg_tensor(label: np.ndarray, scheme: LabelScheme = CELEBAMASK19) -> torch.Tensor:
    """Foreground of a class map of ``scheme`` (default CelebAMask-HQ: classes 1–13) as float32 ``(1, H, W)``;
    a scheme without a foreground raises OccbenchError."""
    return mask_tensor(scheme.foreground_mask(label))


def parts_tensor(label: np.ndarray, scheme: LabelScheme = CELEBAMASK19) -> torch.Tensor:
    """Face parts of a class map of ``scheme`` as float32 ``(5, H, W)``, channel ``i`` 1 = pixels of part
    ``FACE_PARTS[i]`` (eyes, nose, mouth, skin, hair; :attr:`~occbench.labels.LabelScheme.parts`); a scheme
    without parts raises OccbenchError."""
    return torch.from_numpy(np.ascontiguousarray(scheme.part_masks(label), dtype=np.float32))


def load_images(paths: list[Path], sha256s: list[str] | None = None) -> torch.Tensor:
    """RGB PNGs → ``(B, 3, H, W)``; with ``sha256s`` (from a manifest) each file's bytes are checked first."""
    digests = sha256s or [None] * len(paths)
    return torch.stack([image_tensor(read_image(p, sha256=d or None)) for p, d in zip(paths, digests)])


def load_masks(paths: list[Path], sha256s: list[str] | None = None) -> torch.Tensor:
    """Mask PNGs → ``(B, 1, H, W)``, 1 = hole; ``sha256s`` as in :func:`load_images`."""
    digests = sha256s or [None] * len(paths)
    return torch.stack([mask_tensor(read_hole(p, d or None)) for p, d in zip(paths, digests)])


def images_uint8(images: torch.Tensor) -> np.ndarray:
    """Float ``(B, 3, H, W)`` in [0, 1] → RGB uint8 ``(B, H, W, 3)`` (clipped, rounded), e.g. for writing PNGs."""
    return np.ascontiguousarray((images.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
                                .permute(0, 2, 3, 1).numpy())
