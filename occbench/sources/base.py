"""The source interface.

A source lists items (stable ids, sorted) and loads one item as an RGB uint8 image at its native size
plus, when it has them, a label map in the source's label scheme (``label_scheme``, a name of
:data:`occbench.labels.SCHEMES`; CelebAMask-HQ classes unless a source says otherwise, docs/conventions.md §2).
The build records the scheme in ``dataset.json``. Sources are frozen
dataclasses: their fields are protocol parameters, except ``root`` (given at build time with
``--source-dir``, never part of the protocol hash) and ``split``.

Ids are file-name safe (letters, digits, ``._-``): a relative path ``a/b/c.jpg`` becomes ``a__b__c``.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from occbench.errors import OccbenchError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


MAX_ID_LENGTH = 200


def id_from_relpath(relpath: str | Path) -> str:
    """Stable, file-name safe id from a relative path: directories joined by ``__``, extension dropped.

    Characters an id cannot hold become ``-`` and are trimmed from the ends of each part (a part left empty,
    such as an all-Cyrillic name, becomes ``x``; :func:`occbench.sources.folder.ids_for_relpaths` then tells
    colliding ids apart). Ids longer than 200 characters keep their first 191 and a hash of the whole path.
    """
    parts = Path(relpath).with_suffix("").parts
    item_id = "__".join(_UNSAFE.sub("-", part).strip("-._") or "x" for part in parts)
    if len(item_id) > MAX_ID_LENGTH:
        item_id = f"{item_id[:MAX_ID_LENGTH - 9]}_{hashlib.sha256(str(relpath).encode()).hexdigest()[:8]}"
    return item_id


@dataclass(frozen=True)
class SourceItem:
    """One image of a source. ``label_path`` is a combined label PNG; ``label_parts`` per-part masks;
    ``paired_paths`` the files of a given occlusion (``("occluded", path)``, ``("mask", path)``; paired sources)."""

    id: str
    image_path: Path
    label_path: Path | None = None
    label_parts: tuple[tuple[int, Path], ...] = ()  # (class value, part mask file)
    paired_paths: tuple[tuple[str, Path], ...] = ()


@dataclass
class GivenOcclusion:
    """An occlusion that comes with the data (published occluded test sets), at the target's native size:
    ``occluded`` RGB uint8 ``(H, W, 3)``, ``mask`` uint8 ``(H, W)`` with 1 = occluded, and what the checks measured
    (``params``, recorded in the manifest)."""

    occluded: np.ndarray
    mask: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceSample:
    """A loaded item: RGB uint8 image, optional uint8 label map, the conversions applied, and (paired sources only)
    the occlusion distributed with it."""

    image: np.ndarray
    label: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    given: GivenOcclusion | None = None


@dataclass(frozen=True)
class Source(ABC):
    """Base class. Subclasses are frozen dataclasses whose fields are documented parameters."""

    root: Path | None = None
    split: str = "all"

    has_labels: ClassVar[bool] = False
    splits: ClassVar[tuple[str, ...]] = ("all",)
    label_scheme: ClassVar[str] = "celebamask19"  # what the values of loaded label maps mean

    def __post_init__(self) -> None:
        if self.split not in self.splits and not self.split.startswith("list:"):
            raise ValueError(f"split: Expected one of {', '.join(self.splits)} or 'list:<file of ids>', "
                             f"but got {self.split!r}")

    def require_root(self) -> Path:
        """The root folder, checked to exist. Raises an error that says how to pass it."""
        if self.root is None:
            raise OccbenchError(f"source {type(self).__name__} needs a data folder: pass --source-dir DIR")
        root = Path(self.root)
        if not root.is_dir():
            raise OccbenchError(f"{root}: source folder does not exist (expected {self.layout_hint()})")
        return root

    def provides_labels(self) -> bool:
        """Whether :meth:`load` returns label maps (some sources only do when configured to)."""
        return self.has_labels

    def provides_given(self) -> bool:
        """Whether :meth:`load` returns the occlusion distributed with the data (:class:`GivenOcclusion`)."""
        return False

    def layout_hint(self) -> str:
        return "a folder of images"

    @abstractmethod
    def items(self) -> list[SourceItem]:
        """All items of the chosen split, sorted by id. Ids are unique."""

    @abstractmethod
    def load(self, item: SourceItem) -> SourceSample:
        """Load one item; problems raise SampleError naming the file."""

    def problems(self) -> list[str]:
        """Files and folders under the root that :meth:`items` could not list (unreadable, not regular files),
        one line each naming the path; recorded in dataset.json and printed by the build."""
        return []

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for dataset.json (root included, it is provenance not protocol)."""
        from occbench.params import public_params

        return {"name": type(self).__name__, **public_params(self)}
