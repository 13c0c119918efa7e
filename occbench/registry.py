"""One generic registry for sources, generators (hole masks and occlusion synthesis), methods, trainable recipes and
metrics.

Entries are registered with a decorator, lazily as ``"module:attr"`` strings (so listing names never
imports heavy code), or by third-party packages through the entry-point group ``occbench.<kind>``
(for example ``[project.entry-points."occbench.methods"] mymethod = "mypkg.model:MyMethod"``).

Reference methods register themselves from their own folder: every ``baselines/<method>/register.py``
(imported on first use of a registry; it may only import this module) adds the folder's evaluation methods
and training recipes, as detectron2's ``projects/`` do. Nothing else names them.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, Generic, TypeVar

from occbench.errors import RegistryError

T = TypeVar("T")
LEGACY_GROUPS = {"generators": ("occbench.masks",)}  # entry-point groups read as well (plugins of occbench < 0.2)


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"Expected a 'module:attr' target, but got {target!r}")
    return getattr(importlib.import_module(module_name), attr)


class Registry(Generic[T]):
    """Name → object mapping with lazy targets, entry points and helpful unknown-name errors."""

    def __init__(self, kind: str):
        self.kind = kind
        self._objects: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._descriptions: dict[str, str] = {}
        self._entry_points_loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@GENERATORS.register("center")``."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T | str, description: str = "") -> None:
        """Register ``obj``, or a ``"module:attr"`` string loaded on first use, with a one-line ``description``
        (shown by ``occbench ls``; defaults to the first line of the object's docstring).

        Registering the object a lazy entry points at (a decorator running on import) is allowed.
        """
        if description:
            self._descriptions[name] = description
        target = obj if isinstance(obj, str) else f"{getattr(obj, '__module__', '')}:{getattr(obj, '__qualname__', '')}"
        known = self._objects.get(name)
        if known is not None and known is not obj or self._lazy.get(name, target) != target:
            raise ValueError(f"{self.kind} {name!r} is already registered as {self._lazy.get(name, known)!r}")
        if isinstance(obj, str):
            if known is None:
                self._lazy[name] = obj
        else:
            self._lazy.pop(name, None)
            self._objects[name] = obj

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        discover_baselines()
        groups = [f"occbench.{self.kind}", *LEGACY_GROUPS.get(self.kind, ())]
        for ep in (ep for group in groups for ep in metadata.entry_points(group=group)):
            if ep.name not in self._objects and ep.name not in self._lazy:
                self._lazy[ep.name] = ep.value

    def describe(self, name: str) -> str:
        """One line about ``name`` without importing it when it was registered lazily with a description."""
        if name in self._descriptions:
            return self._descriptions[name]
        if name in self._objects:
            doc = (getattr(self._objects[name], "__doc__", None) or "").strip()
            return doc.splitlines()[0] if doc else ""
        return f"(plugin {self._lazy.get(name, '')})" if name in self._lazy else ""

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(set(self._objects) | set(self._lazy))

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """Return the object registered as ``name``; unknown names raise with suggestions."""
        self._load_entry_points()
        if name in self._objects:
            return self._objects[name]
        if name in self._lazy:
            obj = _load(self._lazy[name])
            self._objects[name] = obj
            del self._lazy[name]
            return obj
        raise RegistryError(self.unknown_message(name))

    def unknown_message(self, name: str) -> str:
        names = self.names()
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"Unknown {self.kind} {name!r}.{hint} Available: {', '.join(names) or '(none)'}"


SOURCES: Registry = Registry("sources")
GENERATORS: Registry = Registry("generators")  # hole masks and occlusion synthesis; legacy group occbench.masks
METHODS: Registry = Registry("methods")
RECIPES: Registry = Registry("recipes")  # trainable networks: `occbench train --method NAME`
METRICS: Registry = Registry("metrics")  # name -> occbench.metrics.MetricInfo (its back end is loaded when scored)

REGISTRIES = {"sources": SOURCES, "generators": GENERATORS, "methods": METHODS, "recipes": RECIPES,
              "metrics": METRICS}
_DISCOVERED = False


def discover_baselines() -> None:
    """Import ``register.py`` of every folder of ``occbench.baselines`` once (they register lazily)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    import pkgutil

    package = importlib.import_module("occbench.baselines")
    for info in pkgutil.iter_modules(package.__path__):
        # look on disk: find_spec of a submodule would import its package (layers/ imports torch)
        if info.ispkg and any((Path(root) / info.name / "register.py").is_file() for root in package.__path__):
            importlib.import_module(f"occbench.baselines.{info.name}.register")


# Built-in entries, lazily: listing them imports nothing heavy.
for _name, _target, _about in (
    ("folder", "occbench.sources.folder:FolderSource", "any tree of images, optional label maps (any scheme)"),
    ("celebahq", "occbench.sources.celebahq:CelebAHQSource", "CelebA-HQ with CelebAMask-HQ labels; PConv/SEAN splits"),
    ("celeba", "occbench.sources.celeba:CelebASource", "aligned CelebA with its train/val/test partition"),
    ("demo", "occbench.sources.demo:DemoSource", "scikit-image's bundled photographs (no download)"),
    ("helen", "occbench.sources.helen:HelenSource", "HELEN face parsing (11 classes), official splits"),
    ("toyfaces", "occbench.sources.toyfaces:ToyFacesSource", "synthetic labelled face-like drawings (no download)"),
    ("cityscapes", "occbench.sources.cityscapes:CityscapesSource", "Cityscapes, train-id labels; SGE-Net splits"),
    ("ost", "occbench.sources.ost:OSTSource", "Outdoor Scenes (OST) with SFTGAN's 8-class annotations"),
    ("paired", "occbench.sources.paired:PairedSource", "a published occluded set: target, occluded and mask folders"),
):
    SOURCES.add(_name, _target, _about)

for _name, _target, _about in (
    ("center", "occbench.masks.rectangles:CenterMask", "a centred rectangle (size in px or fraction, or area)"),
    ("half", "occbench.masks.rectangles:HalfMask", "half of the image, side drawn per sample"),
    ("free-form", "occbench.masks.freeform:FreeFormMask", "DeepFill v2 brush strokes and boxes"),
    ("lama-thick", "occbench.masks.lama:LamaThickMask", "LaMa's thick evaluation masks"),
    ("lama-medium", "occbench.masks.lama:LamaMediumMask", "LaMa's medium evaluation masks"),
    ("lama-thin", "occbench.masks.lama:LamaThinMask", "LaMa's thin evaluation masks"),
    ("irregular", "occbench.masks.irregular:IrregularMask", "generated strokes landing in a hole-ratio bin"),
    ("quickdraw", "occbench.masks.quickdraw:QuickDrawMask", "QuickDraw strokes from .ndjson files (--assets-dir)"),
    ("external", "occbench.masks.external:ExternalMaskFolder", "a folder of mask files (--assets-dir), polarity given"),
    ("natocc", "occbench.occlusion.natocc:NatOccOverlay", "NatOcc objects and hands over the face (--assets-dir)"),
    ("randocc", "occbench.occlusion.randocc:RandOcc", "random textured shapes over the face"),
    ("facemask", "occbench.occlusion.facemask:FaceMaskComposite", "face masks warped onto dlib landmarks"),
    ("given", "occbench.occlusion.given:GivenOcclusionGenerator", "the occlusion distributed with a paired source"),
):
    GENERATORS.add(_name, _target, _about)

# Metric records live in occbench.metrics.catalog (light: no torch); each names its back end lazily in turn.
for _name, _about in (
    ("psnr", "peak signal-to-noise ratio"),
    ("ssim", "structural similarity, Gaussian window (torchmetrics)"),
    ("ms_ssim", "multi-scale structural similarity, 5 scales (torchmetrics)"),
    ("rmse", "root mean squared error"),
    ("mae", "mean absolute error"),
    ("mse", "mean squared error"),
    ("l1", "mean absolute error on the 0-1 scale"),
    ("lpips", "learned perceptual image patch similarity"),
    ("fid", "Frechet Inception distance (dataset level)"),
    ("kid", "kernel Inception distance (dataset level)"),
    ("identity", "face-descriptor cosine similarity (dlib)"),
    ("identity_distance", "face-descriptor distance (dlib), scored with identity"),
    ("mask_iou", "predicted vs dataset hole mask: IoU (mask=predicted)"),
    ("mask_precision", "predicted vs dataset hole mask: precision (mask=predicted)"),
    ("mask_recall", "predicted vs dataset hole mask: recall (mask=predicted)"),
    ("ssim_mcsam", "M-CSAM's SSIM: uniform 11x11 window on uint8 (scikit-image)"),
    ("l1_mcsam", "M-CSAM's l1: channel mean first, then the absolute value"),
    ("ms_ssim_reduced", "MS-SSIM with 4 scales, for 128 px images (SGIN Table 2)"),
):
    METRICS.add(_name, f"occbench.metrics.catalog:{_name.upper()}", _about)
