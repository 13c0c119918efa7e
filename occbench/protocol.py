"""Versioned protocol files: loading, ``include:``, schema validation and the content hash.

A protocol names registered pieces and their parameters; it holds no code and no paths (data folders
are given at build time and recorded as provenance). Example::

    name: celebahq-center-256          # must be unique; shipped files are named <name>.yaml
    version: 1                        # bump on any change that alters outputs; published files are immutable
    include: _base/celebahq256.yaml   # or a list; relative to this file; later keys win
    seed: 2026
    resolution: 256                   # square output side in pixels
    preprocess: {resize: short-side, crop: center, upscale: false}   # optional short_side: 512 (see Preprocess)
    source: {name: celebahq, split: pconv-test, params: {}}
    generator: {name: center, params: {size: 128}}
    variants: 1                       # occlusions drawn per source image

``include:`` files are merged first, in order, then the including file on top: mappings merge key by
key, except that a ``source:``/``generator:`` naming another component replaces the included one
whole (its parameters would not fit); everything else is replaced.

The content hash is the SHA-256 of the resolved protocol as canonical JSON without ``include``,
``description``, ``reference`` and ``notes`` (text that does not change outputs); it is recorded in
every dataset and results file.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from occbench.errors import OccbenchError, ProtocolError, RegistryError
from occbench.params import build_component
from occbench.registry import GENERATORS, SOURCES
from occbench.yamlio import read_yaml_file

TEXT_KEYS = ("description", "reference", "notes")
RESIZE_MODES = ("short-side", "stretch")
CROP_MODES = ("center", "face")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

# key -> (required, expected python types, description for errors)
_TOP_LEVEL: dict[str, tuple[bool, tuple[type, ...], str]] = {
    "name": (True, (str,), "a lower-case name like 'celebahq-center-256'"),
    "version": (True, (int,), "a positive integer"),
    "description": (False, (str,), "text"),
    "reference": (False, (str,), "text (paper, table)"),
    "notes": (False, (str,), "text"),
    "include": (False, (str, list), "a file name or a list of file names"),
    "seed": (True, (int,), "a non-negative integer"),
    "resolution": (True, (int,), "the output side in pixels (integer)"),
    "preprocess": (False, (dict,), "a mapping with resize, crop, upscale, short_side"),
    "source": (True, (dict,), "a mapping with name, split, params"),
    "generator": (True, (dict,), "a mapping with name, params"),
    "variants": (False, (int,), "occlusions per source image (integer >= 1)"),
    "faces": (False, (dict,), "a mapping of face-detection settings (occbench/faces/detection.py)"),
}
_SECTIONS: dict[str, dict[str, tuple[bool, tuple[type, ...], str]]] = {
    "preprocess": {
        "resize": (False, (str,), f"one of {', '.join(RESIZE_MODES)}"),
        "crop": (False, (str,), f"one of {', '.join(CROP_MODES)}"),
        "upscale": (False, (bool,), "true or false (allow images smaller than the resolution)"),
        "short_side": (False, (int,), "the side in pixels the shorter image side is scaled to before the crop "
                                      "(>= resolution; resize: short-side only)"),
        "face_ratio": (False, (float,), "face box side / crop side for crop: face, in (0, 1]"),
        "face_center_y": (False, (float,), "height of the face box centre in the crop for crop: face, in (0, 1)"),
    },
    "source": {
        "name": (True, (str,), "a registered source"),
        "split": (False, (str,), "a split name"),
        "params": (False, (dict,), "a mapping of source parameters"),
    },
    "generator": {
        "name": (True, (str,), "a registered generator (occbench ls generators)"),
        "params": (False, (dict,), "a mapping of generator parameters"),
    },
}
DEFAULTS = {"preprocess": {"resize": "short-side", "crop": "center", "upscale": False}, "variants": 1}


@dataclass(frozen=True)
class Preprocess:
    """How a source image becomes a ``resolution``² target (labels always with nearest neighbour).

    ``short_side``: with ``resize: short-side``, the shorter side is scaled to this many pixels (default: the
    resolution) and the centre ``resolution``² cut out, e.g. SGE-Net's Cityscapes: short side 512, then 256²
    (not part of the hash of protocols that do not set it). ``crop: face``, ``face_ratio``, ``face_center_y``: a square
    around the detected face (occbench.dataset.preprocess)."""

    resize: str = "short-side"
    crop: str = "center"
    upscale: bool = False
    short_side: int | None = None
    face_ratio: float = 0.6
    face_center_y: float = 0.62


@dataclass(frozen=True)
class Protocol:
    """A resolved, validated protocol."""

    name: str
    version: int
    seed: int
    resolution: int
    preprocess: Preprocess
    source_name: str
    split: str
    source_params: Mapping[str, Any]
    generator_name: str
    generator_params: Mapping[str, Any]
    variants: int
    faces: Any  # occbench.faces.detection.FaceSettings, or None when nothing of the protocol detects faces
    path: Path
    resolved: Mapping[str, Any]
    content_hash: str

    def make_source(self, root: Path | None = None):
        """Instantiate the source with its data folder (``--source-dir``)."""
        cls = SOURCES.get(self.source_name)
        return build_component(cls, self.source_params, f"{self.path}: source.params", f"{self.path}: source",
                               root=root, split=self.split)

    def make_generator(self):
        """The generator with its parameters checked, not yet set up (no files read)."""
        return build_component(GENERATORS.get(self.generator_name), self.generator_params,
                               f"{self.path}: generator.params")

    def ready_generator(self, assets_dir: Path | None):
        """The generator, set up with the folder it reads (masks, occluder bank, templates) when it needs one."""
        generator = self.make_generator()
        if generator.needs_dir and assets_dir is None:
            raise OccbenchError(f"{self.name}: generator {self.generator_name!r} reads files (masks, an occluder "
                                "bank or templates): pass --assets-dir DIR")
        if assets_dir is not None and not generator.needs_dir:
            raise OccbenchError(f"{self.name}: --assets-dir {assets_dir} was given, "
                                f"but generator {self.generator_name!r} with these parameters reads no files; drop it "
                                "(or use a protocol whose generator reads it)")
        generator.setup(assets_dir if generator.needs_dir else None)
        generator.check_resolution(self.resolution)
        return generator

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]


def protocols_dir() -> Path:
    """Folder of the shipped protocols (package data of ``occbench.protocols``)."""
    return Path(str(resources.files("occbench.protocols")))


def shipped_protocols() -> dict[str, Path]:
    """Shipped protocol names → files. Folders starting with ``_`` hold include fragments, not protocols."""
    root = protocols_dir()
    found = {}
    for path in sorted(root.rglob("*.yaml")):
        if not any(part.startswith("_") for part in path.relative_to(root).parts):
            found[path.stem] = path
    return found


def find_protocol(name_or_path: str | Path) -> Path:
    """A protocol file from a path or a shipped name; unknown names get suggestions."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ProtocolError(f"{path}: protocol file not found")
        return path
    shipped = shipped_protocols()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    close = difflib.get_close_matches(str(name_or_path), list(shipped), n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ProtocolError(f"Unknown protocol {str(name_or_path)!r}.{hint} See `occbench ls protocols`.")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = read_yaml_file(path)
    except OccbenchError as exc:
        raise ProtocolError(str(exc)) from exc
    if not isinstance(data, dict):
        raise ProtocolError(f"{path}: Expected a mapping at the top level, but got {type(data).__name__}")
    return data


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in top.items():
        base_value = out.get(key)
        renamed = isinstance(base_value, Mapping) and isinstance(value, Mapping) and value.get(
            "name", base_value.get("name")) != base_value.get("name")
        if isinstance(value, Mapping) and isinstance(base_value, Mapping) and not renamed:
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _include_root(path: Path) -> Path:
    """Includes must stay inside the shipped protocol tree (for shipped files) or the top file's folder."""
    shipped = protocols_dir().resolve()
    path = path.resolve()
    return shipped if path.is_relative_to(shipped) else path.parent


def _resolve(path: Path, stack: tuple[Path, ...] = (), root: Path | None = None) -> dict[str, Any]:
    path = path.resolve()
    root = root or _include_root(path)
    if path in stack:
        chain = " -> ".join(str(p) for p in (*stack, path))
        raise ProtocolError(f"{stack[-1]}: include: cycle {chain}")
    data = _read_yaml(path)
    includes = data.get("include", [])
    includes = [includes] if isinstance(includes, str) else includes
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ProtocolError(f"{path}: include: Expected a file name or a list of file names, but got {includes!r}")
    merged: dict[str, Any] = {}
    for include in includes:
        target = (path.parent / include).resolve()
        if Path(include).is_absolute() or not target.is_relative_to(root):
            raise ProtocolError(f"{path}: include: {include!r} is outside {root}; Expected a file in that folder "
                                "tree (copy the fragment next to your protocol)")
        if not target.is_file():
            raise ProtocolError(f"{path}: include: file {include!r} not found (looked at {target})")
        merged = _merge(merged, _resolve(target, (*stack, path), root))
    merged = _merge(merged, {k: v for k, v in data.items() if k != "include"})
    return merged


def _check_keys(data: Mapping[str, Any], schema: Mapping[str, tuple[bool, tuple[type, ...], str]],
                path: Path, prefix: str) -> None:
    for key in data:
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ProtocolError(f"{path}: {prefix}{key}: unknown key.{hint} Expected one of: {', '.join(schema)}")
    for key, (required, types, expected) in schema.items():
        if key not in data:
            if required:
                raise ProtocolError(f"{path}: {prefix}{key}: missing; expected {expected}")
            continue
        value = data[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ProtocolError(f"{path}: {prefix}{key}: Expected {expected}, but got {value!r}")


def _check_values(data: Mapping[str, Any], path: Path) -> None:
    def fail(key: str, expected: str) -> None:
        raise ProtocolError(f"{path}: {key}: Expected {expected}, but got {_lookup(data, key)!r}")

    if not _NAME.match(data["name"]):
        fail("name", "lower-case letters, digits, '.', '_' or '-'")
    if data["version"] < 1:
        fail("version", "a positive integer")
    if data["seed"] < 0:
        fail("seed", "a non-negative integer")
    if not 8 <= data["resolution"] <= 8192:
        fail("resolution", "an integer between 8 and 8192")
    if data["variants"] < 1:
        fail("variants", "an integer >= 1")
    if data["preprocess"]["resize"] not in RESIZE_MODES:
        fail("preprocess.resize", f"one of {', '.join(RESIZE_MODES)}")
    if data["preprocess"]["crop"] not in CROP_MODES:
        fail("preprocess.crop", f"one of {', '.join(CROP_MODES)}")
    if not 0 < data["preprocess"].get("face_ratio", 0.6) <= 1:
        fail("preprocess.face_ratio", "a fraction in (0, 1]")
    if not 0 < data["preprocess"].get("face_center_y", 0.5) < 1:
        fail("preprocess.face_center_y", "a fraction in (0, 1)")
    short_side = data["preprocess"].get("short_side")
    if short_side is not None and not data["resolution"] <= short_side <= 8192:
        fail("preprocess.short_side", f"an integer between the resolution ({data['resolution']}) and 8192")
    if short_side is not None and data["preprocess"]["resize"] != "short-side":
        fail("preprocess.short_side", "no short_side with resize: stretch (it sets the scale of resize: short-side)")
    for section, registry in (("source", SOURCES), ("generator", GENERATORS)):
        if data[section]["name"] not in registry:
            raise ProtocolError(f"{path}: {section}.name: {registry.unknown_message(data[section]['name'])}")


def _face_settings(data: dict[str, Any], path: Path):
    """The ``faces`` section as FaceSettings, its defaults written into ``data`` (hence into the hash), when the
    generator detects faces (``uses_faces``) or the crop is ``face``; None otherwise (a section given then is an
    error: it would do nothing)."""
    generator = GENERATORS.get(data["generator"]["name"])
    uses = getattr(generator, "uses_faces", False) or data["preprocess"]["crop"] == "face"
    if not uses:
        if "faces" in data:
            raise ProtocolError(f"{path}: faces: this protocol detects no faces (generator "
                                f"{data['generator']['name']!r}, crop {data['preprocess']['crop']!r}); remove it")
        return None
    from occbench.faces.detection import FaceSettings

    try:
        settings = build_component(FaceSettings, data.get("faces", {}), f"{path}: faces")
    except ValueError as exc:
        raise ProtocolError(f"{path}: faces.{exc}") from exc
    data["faces"] = {k: getattr(settings, k) for k in FaceSettings.__dataclass_fields__}
    return settings


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[part]
    return data


def content_hash(resolved: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of everything that changes outputs."""
    payload = {k: v for k, v in resolved.items() if k not in TEXT_KEYS}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def load_protocol(name_or_path: str | Path) -> Protocol:
    """Load, resolve includes, validate (components included) and hash a protocol."""
    path = find_protocol(name_or_path)
    data = _merge(DEFAULTS, _resolve(path))
    _check_keys(data, _TOP_LEVEL, path, "")
    for section, schema in _SECTIONS.items():
        _check_keys(data.get(section, {}), schema, path, f"{section}.")
    data["source"].setdefault("split", "all")
    data["source"].setdefault("params", {})
    data["generator"].setdefault("params", {})
    _check_values(data, path)
    faces = _face_settings(data, path)
    protocol = Protocol(
        name=data["name"], version=data["version"], seed=data["seed"], resolution=data["resolution"],
        preprocess=Preprocess(**data["preprocess"]), source_name=data["source"]["name"],
        split=data["source"]["split"], source_params=data["source"]["params"],
        generator_name=data["generator"]["name"], generator_params=data["generator"]["params"],
        variants=data["variants"], faces=faces, path=path, resolved=data, content_hash=content_hash(data),
    )
    try:  # parameters are checked by building the components (no data is touched)
        protocol.make_source(None)
        protocol.make_generator().check_resolution(protocol.resolution)
    except RegistryError as exc:
        raise ProtocolError(f"{path}: {exc}") from exc
    except ValueError as exc:
        raise ProtocolError(f"{path}: generator.params.{exc}") from exc
    return protocol
