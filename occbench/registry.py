"""One generic registry for sources, mask generators and methods (metrics join later).

Entries are registered with a decorator, lazily as ``"module:attr"`` strings (so listing names never
imports heavy code), or by third-party packages through the entry-point group ``occbench.<kind>``
(for example ``[project.entry-points."occbench.methods"] mymethod = "mypkg.model:MyMethod"``).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any, Generic, TypeVar

from occbench.errors import RegistryError

T = TypeVar("T")


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
        self._entry_points_loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@MASKS.register("center")``."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T | str) -> None:
        """Register ``obj``, or a ``"module:attr"`` string loaded on first use.

        Registering the object a lazy entry points at (a decorator running on import) is allowed.
        """
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
        for ep in metadata.entry_points(group=f"occbench.{self.kind}"):
            if ep.name not in self._objects and ep.name not in self._lazy:
                self._lazy[ep.name] = ep.value

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
MASKS: Registry = Registry("masks")
METHODS: Registry = Registry("methods")

REGISTRIES = {"sources": SOURCES, "masks": MASKS, "methods": METHODS}

# Built-in entries, lazily: listing them imports nothing heavy.
for _name, _target in {
    "folder": "occbench.sources.folder:FolderSource",
    "celebahq": "occbench.sources.celebahq:CelebAHQSource",
    "celeba": "occbench.sources.celeba:CelebASource",
    "demo": "occbench.sources.demo:DemoSource",
}.items():
    SOURCES.add(_name, _target)

for _name, _target in {
    "center": "occbench.masks.rectangles:CenterMask",
    "half": "occbench.masks.rectangles:HalfMask",
    "free-form": "occbench.masks.freeform:FreeFormMask",
    "lama-thick": "occbench.masks.lama:LamaThickMask",
    "lama-medium": "occbench.masks.lama:LamaMediumMask",
    "lama-thin": "occbench.masks.lama:LamaThinMask",
    "irregular": "occbench.masks.irregular:IrregularMask",
    "quickdraw": "occbench.masks.quickdraw:QuickDrawMask",
    "external": "occbench.masks.external:ExternalMaskFolder",
    "natocc": "occbench.masks.natocc:NatOccOverlay",
    "randocc": "occbench.masks.randocc:RandOcc",
    "facemask": "occbench.masks.facemask:FaceMaskComposite",
}.items():
    MASKS.add(_name, _target)

for _name, _target in {
    "telea": "occbench.baselines.classical:TeleaInpaint",
    "navier-stokes": "occbench.baselines.classical:NavierStokesInpaint",
    "biharmonic": "occbench.baselines.classical:BiharmonicInpaint",
    "mean-fill": "occbench.baselines.classical:MeanFill",
    "mcsam": "occbench.baselines.engine.adapter:MCSAMMethod",
    "fgi": "occbench.baselines.engine.adapter:FGIMethod",
}.items():
    METHODS.add(_name, _target)
