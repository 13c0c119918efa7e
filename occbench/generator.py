"""The generator interface: what every occlusion generator (hole masks, occlusion synthesis) implements.

A generator turns a target (RGB uint8 at protocol resolution, plus optional labels) into an occluded
sample, drawing all randomness from the ``rng`` it is given (seeded per sample, docs/conventions.md §3).
Masks in memory are uint8 ``(H, W)`` with **1 = occluded / missing** (written to disk as 255).

Hole masks (:mod:`occbench.masks`) only make a mask and zero the target there; occlusion synthesis
(:mod:`occbench.occlusion`) pastes occluders and returns the occluded image with a mask covering every changed
pixel. Face generators (``uses_faces``) also take ``faces=``: the faces the build found on the full-resolution
source (:mod:`occbench.faces.detection`), in target pixels. Generators that read files (mask folders, occluder
banks, templates) declare ``needs_dir``; the build passes ``--assets-dir`` through :meth:`Generator.setup`, which
runs once per worker before any sample. Registry: :data:`occbench.registry.GENERATORS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


@dataclass
class GeneratedSample:
    """Output of a generator. ``params`` are the values drawn for this sample (recorded in the manifest)."""

    occluded: np.ndarray
    mask: np.ndarray
    label_occ: np.ndarray | None = None
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class Generator(ABC):
    """Base class. Subclasses are frozen dataclasses whose fields are their documented parameters."""

    needs_dir: ClassVar[bool] = False
    uses_given: ClassVar[bool] = False  # True: the sample is the source's own occlusion (``given``), not drawn
    uses_faces: ClassVar[bool] = False  # True: generate() takes ``faces`` from the build's face stage

    def needs_faces(self, has_labels: bool) -> bool:
        """Whether the build must detect faces for a sample (with or without labels); see ``uses_faces``."""
        return False

    def setup(self, assets_dir: Path | None) -> None:  # noqa: B027 - optional hook, empty by default
        """Load external files once per worker. Default: nothing to load."""

    def check_resolution(self, resolution: int) -> None:  # noqa: B027 - optional hook, empty by default
        """Raise ValueError (``"param: Expected ..., but got ..."``) or OccbenchError when the parameters (or,
        after :meth:`setup`, the files) cannot produce a sample at ``resolution`` x ``resolution``."""

    @abstractmethod
    def generate(self, target: np.ndarray, label: np.ndarray | None, rng: np.random.Generator) -> GeneratedSample:
        """Occlude ``target`` (RGB uint8 ``(H, W, 3)``)."""
