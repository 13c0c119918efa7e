"""Reader for MaskTheFace template folders (``masks.cfg`` + RGBA PNG templates + textures).

``masks.cfg`` is an INI file; each section is a template::

    [surgical_left]
    template:   masks/templates/surgical_left.png
    mask_a:     39, 27          # six anchors a..f, template pixels (x, y); may lie outside the image
    ...

a / c = left / right cheek at nose-bridge height, b = nose bridge top, d / f = left / right jaw, e = chin
("left" = image left). Sections named ``<base>_left`` / ``<base>_right`` are head-turned variants of
``<base>`` and are grouped under it. Sections without any key (MaskTheFace's ``[empty]``, ``[inpaint]`` modes)
are skipped; a section with some keys but not all is an error naming the cfg file and the section.

Paths: the user gives a folder: either the folder holding ``masks.cfg`` or its parent (MaskTheFace's repo
root, which holds ``masks/masks.cfg``). In MaskTheFace the ``template:`` paths are relative to the repo root,
i.e. to the cfg folder's parent; they are resolved against that first, then against the cfg folder itself
(a flattened copy), then by file name under ``<cfg folder>/templates``.

Templates wider than ``max_width`` px are downscaled at load (premultiplied alpha, INTER_AREA; anchors scaled
by the same factor): the largest MaskTheFace templates are 1774 px wide, far more than a face needs.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import cv2
import numpy as np

from occbench.errors import OccbenchError
from occbench.faces.templates import ANCHOR_NAMES, MaskTemplate
from occbench.image_io import IMAGE_EXTENSIONS

CFG_NAME = "masks.cfg"
TURN_SUFFIXES = {"_left": "left", "_right": "right"}


def find_cfg(folder: str | Path) -> Path:
    """``masks.cfg`` in ``folder`` or in ``folder/masks``; OccbenchError naming both places otherwise."""
    folder = Path(folder)
    if folder.is_file() and folder.name == CFG_NAME:
        return folder
    for candidate in (folder / CFG_NAME, folder / "masks" / CFG_NAME):
        if candidate.is_file():
            return candidate
    raise OccbenchError(f"{folder}: Expected a MaskTheFace template folder with {CFG_NAME} (or masks/{CFG_NAME}), "
                        "but found neither")


def split_variant(name: str) -> tuple[str, str]:
    """``"surgical_blue_left"`` → ``("surgical_blue", "left")``; names without a turn suffix are "front"."""
    for suffix, variant in TURN_SUFFIXES.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], variant
    return name, "front"


def mask_type_of(base: str) -> str:
    """Mask type of a template base name: lower-cased text before the first "_" (``surgical_blue`` → surgical,
    ``N95`` → n95)."""
    return base.split("_")[0].lower()


def _point(cfg: Path, section: str, key: str, text: str) -> tuple[float, float]:
    parts = [p.strip() for p in text.split(",")]
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        raise OccbenchError(f"{cfg} [{section}] {key}: Expected 'x, y' in template pixels, but got {text!r}") from None
    return x, y


def _resolve(cfg: Path, section: str, relative: str) -> Path:
    rel = Path(relative.strip())
    candidates = [cfg.parent.parent / rel, cfg.parent / rel, cfg.parent / "templates" / rel.name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise OccbenchError(f"{cfg} [{section}] template: {relative.strip()!r} not found (looked for "
                        f"{', '.join(str(c) for c in candidates)})")


def _read_rgba(path: Path, cfg: Path, section: str, max_width: int) -> tuple[np.ndarray, float]:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise OccbenchError(f"{cfg} [{section}]: cannot read template image {path}")
    if image.ndim != 3 or image.shape[2] != 4:
        raise OccbenchError(f"{cfg} [{section}]: Expected an RGBA template (alpha = mask shape), but {path} has "
                            f"shape {image.shape}")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    rgba = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    scale = 1.0
    if rgba.shape[1] > max_width:
        scale = max_width / rgba.shape[1]
        size = (max_width, max(1, round(rgba.shape[0] * scale)))
        alpha = rgba[..., 3:].astype(np.float32) / 255.0
        premultiplied = cv2.resize(rgba[..., :3].astype(np.float32) * alpha, size, interpolation=cv2.INTER_AREA)
        small_alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)[..., None]
        rgb = premultiplied / np.maximum(small_alpha, 1e-6)
        rgba = np.dstack([np.clip(rgb + 0.5, 0, 255), np.clip(small_alpha * 255 + 0.5, 0, 255)]).astype(np.uint8)
    return np.ascontiguousarray(rgba), scale


def load_masktheface(folder: str | Path, max_width: int = 400) -> dict[str, dict[str, MaskTemplate]]:
    """Templates of a MaskTheFace folder: ``{base name: {"front" | "left" | "right": MaskTemplate}}``.

    ``folder``: the folder with ``masks.cfg`` or its parent. Every template image must exist and be RGBA.
    """
    cfg_path = find_cfg(folder)
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    try:
        parser.read(cfg_path, encoding="utf-8")
    except configparser.Error as exc:
        raise OccbenchError(f"{cfg_path}: not a valid INI file: {exc}") from None
    keys = ("template", *(f"mask_{n}" for n in ANCHOR_NAMES))
    grouped: dict[str, dict[str, MaskTemplate]] = {}
    for section in parser.sections():
        items = parser[section]
        if not any(k in items for k in keys):
            continue  # a MaskTheFace mode name ([empty], [inpaint]), not a template
        missing = [k for k in keys if k not in items]
        if missing:
            raise OccbenchError(f"{cfg_path} [{section}]: missing key(s) {', '.join(missing)}")
        path = _resolve(cfg_path, section, items["template"])
        rgba, scale = _read_rgba(path, cfg_path, section, max_width)
        anchors = np.array([_point(cfg_path, section, f"mask_{n}", items[f"mask_{n}"]) for n in ANCHOR_NAMES],
                           np.float32) * scale
        base, variant = split_variant(section)
        grouped.setdefault(base, {})[variant] = MaskTemplate(section, rgba, anchors, variant)
    if not grouped:
        raise OccbenchError(f"{cfg_path}: no template sections (expected [name] with template: and mask_a..mask_f)")
    orphans = [base for base, variants in grouped.items() if "front" not in variants]
    if orphans:
        raise OccbenchError(f"{cfg_path}: turned variants without a frontal template: {', '.join(sorted(orphans))}")
    return grouped


def list_textures(folder: str | Path) -> list[Path]:
    """Texture images under ``textures/`` next to ``masks.cfg`` (recursive, sorted); empty when there is none."""
    root = find_cfg(folder).parent / "textures"
    if not root.is_dir():
        return []
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def read_texture(path: Path, max_size: int = 96) -> np.ndarray:
    """A texture as (h, w, 3) uint8 RGB, transparent pixels shown as white, downscaled to ``max_size`` px."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise OccbenchError(f"cannot read texture image {path}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.shape[2] == 4:
        alpha = image[..., 3:].astype(np.float32) / 255.0
        image = (image[..., :3] * alpha + 255 * (1 - alpha) + 0.5).astype(np.uint8)
    rgb = cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB)
    if max(rgb.shape[:2]) > max_size:
        scale = max_size / max(rgb.shape[:2])
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb
