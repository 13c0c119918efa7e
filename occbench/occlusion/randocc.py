"""RandOcc: random smooth shapes with procedural or folder textures over the face. Masks: 1 = occluded.

The RandOcc generator of Voo, Jiang and Loy (CVPRW 2022; kennyvoo/face-occlusion-generation): a random smooth
closed curve filled with a texture (the reference: a Bézier curve through 3-15 random points
(``get_random_points(n=randint(3, 15))``), textures from DTD), composited like NatOcc; with probability 0.3 the
occluder is made transparent, alpha multiplied by ``U(0.4, 0.7)`` (``utils/paste_over.py``). occbench's version:

- Shape: ``n_points`` [3, 15] control points at equally spaced angles (random phase) around the occluder
  centre, each at a distance ``radius`` [0.15, 0.45] × the face box's geometric-mean side (``sqrt(w * h)``);
  the distance is interpolated over the angle by a periodic Catmull-Rom spline, so the closed curve is
  smooth, passes through every point and never crosses itself (star-shaped); filled anti-aliased. The
  centre is placed like NatOcc's (``position``, uniform in the face box by default).
- Texture ``textures`` ["procedural"]: one of ``texture_kinds`` [noise, stripes, checker, solid], drawn per
  sample: multi-octave value noise between two colours; sinusoidal stripes of random period (4-24 px) and
  orientation; a rotated checkerboard (cell 4-24 px); a solid colour with Gaussian noise (sigma 0-12).
  Colours are uniform RGB. "folder": a random crop of a random image from ``--assets-dir`` (any
  ``.png/.jpg/.jpeg/.bmp/.webp``, searched recursively, sorted), resized to cover the shape; ``needs_dir``
  is then true.
- Transparency: with probability ``transparent_probability`` [0.3] the alpha is multiplied by ``alpha``
  [0.4, 0.7] (the reference's values); set it to 0 for opaque occluders. The mask still covers every
  pixel the occluder changed.
- Edges, face box, outputs and ``params`` statistics as NatOcc (:class:`~occbench.occlusion.natocc.FaceOverlay`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from occbench.bins import check_range
from occbench.errors import OccbenchError, SampleError
from occbench.occlusion.natocc import Box, FaceOverlay, box_area

TEXTURE_SOURCES = ("procedural", "folder")
TEXTURE_KINDS = ("noise", "stripes", "checker", "solid")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
SAMPLES_PER_SEGMENT = 16


def catmull_rom_closed(points: np.ndarray, samples: int = SAMPLES_PER_SEGMENT) -> np.ndarray:
    """Points ``(n * samples, 2)`` on the closed uniform Catmull-Rom spline through ``points`` ``(n, 2)``."""
    p0, p1 = np.roll(points, 1, axis=0), points
    p2, p3 = np.roll(points, -1, axis=0), np.roll(points, -2, axis=0)
    t = (np.arange(samples) / samples)[None, :, None]
    curve = 0.5 * (2 * p1[:, None] + (p2 - p0)[:, None] * t + (2 * p0 - 5 * p1 + 4 * p2 - p3)[:, None] * t ** 2
                   + (3 * p1 - p0 - 3 * p2 + p3)[:, None] * t ** 3)
    return curve.reshape(-1, 2)


def random_shape(shape_hw: tuple[int, int], centre: tuple[float, float], radii: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Anti-aliased uint8 alpha (0-255) of a smooth closed star-shaped curve around ``centre``.

    Control points sit at ``len(radii)`` equally spaced angles (random phase) at the given distances; the
    distance is interpolated over the angle by a periodic Catmull-Rom spline (clamped to >= 10 % of the
    smallest radius), so the curve is single-valued in angle and never crosses itself.
    """
    phase = 2 * math.pi * float(rng.random())
    radius = catmull_rom_closed(np.asarray(radii, np.float64)[:, None])[:, 0]
    radius = np.maximum(radius, 0.1 * float(np.min(radii)))
    angles = phase + 2 * math.pi * np.arange(radius.size) / radius.size
    curve = np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], axis=1)
    alpha = np.zeros(shape_hw, np.uint8)
    cv2.fillPoly(alpha, [np.rint(curve * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return alpha


def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3).astype(np.float32)


def procedural_texture(kind: str, hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """An RGB uint8 ``(h, w, 3)`` texture of one of :data:`TEXTURE_KINDS`, all randomness from ``rng``."""
    h, w = hw
    a, b = _colour(rng), _colour(rng)
    if kind == "noise":  # value noise: random grids upsampled bicubically, octave amplitudes halving
        field_ = np.zeros((h, w), np.float32)
        cells = int(rng.integers(2, 6))
        for octave in range(4):
            grid = rng.random((cells * 2 ** octave + 1, cells * 2 ** octave + 1)).astype(np.float32)
            field_ += cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC) * 0.5 ** octave
        field_ = (field_ - field_.min()) / max(float(np.ptp(field_)), 1e-6)
    else:
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        theta = rng.uniform(0, math.pi)
        u = x * math.cos(theta) + y * math.sin(theta)
        v = -x * math.sin(theta) + y * math.cos(theta)
        period = float(rng.uniform(4, 24))
        if kind == "stripes":
            field_ = 0.5 + 0.5 * np.sin(2 * math.pi * u / period)
        elif kind == "checker":
            field_ = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
        elif kind == "solid":
            noise = rng.normal(0, rng.uniform(0, 12), (h, w, 3)).astype(np.float32)
            return np.clip(np.rint(a + noise), 0, 255).astype(np.uint8)
        else:
            raise ValueError(f"kind: Expected one of {', '.join(TEXTURE_KINDS)}, but got {kind!r}")
    out = a + (b - a) * field_[:, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def crop_texture(image: np.ndarray, hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random ``hw`` crop of ``image`` (RGB), upscaled first when it is smaller than ``hw``."""
    h, w = hw
    factor = max(h / image.shape[0], w / image.shape[1], 1.0)
    if factor > 1.0:
        size = (math.ceil(image.shape[1] * factor), math.ceil(image.shape[0] * factor))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    y = int(rng.integers(image.shape[0] - h + 1))
    x = int(rng.integers(image.shape[1] - w + 1))
    return image[y:y + h, x:x + w]


@dataclass(frozen=True)
class RandOcc(FaceOverlay):
    """Random smooth textured shapes over the face; parameters in the module docstring."""

    n_points: tuple[int, int] = (3, 15)
    radius: tuple[float, float] = (0.15, 0.45)
    textures: str = "procedural"
    texture_kinds: tuple[str, ...] = TEXTURE_KINDS
    transparent_probability: float = 0.3
    alpha: tuple[float, float] = (0.4, 0.7)
    cache_size: int = 64
    _files: Any = field(default=None, init=False, repr=False, compare=False)
    _cache: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def needs_dir(self) -> bool:  # type: ignore[override]
        """True when textures come from a folder (``--assets-dir``)."""
        return self.textures == "folder"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("n_points", self.n_points, 3)
        check_range("radius", self.radius, 0.01)
        check_range("alpha", self.alpha, 0.01, 1.0)
        if self.textures not in TEXTURE_SOURCES:
            raise ValueError(f"textures: Expected one of {', '.join(TEXTURE_SOURCES)}, but got {self.textures!r}")
        if not self.texture_kinds or any(k not in TEXTURE_KINDS for k in self.texture_kinds):
            raise ValueError(f"texture_kinds: Expected values among {', '.join(TEXTURE_KINDS)}, "
                             f"but got {self.texture_kinds!r}")
        if not 0.0 <= self.transparent_probability <= 1.0:
            raise ValueError(f"transparent_probability: Expected a value in [0, 1], "
                             f"but got {self.transparent_probability!r}")
        if self.cache_size < 1:
            raise ValueError(f"cache_size: Expected a value >= 1, but got {self.cache_size!r}")

    def setup(self, assets_dir: Path | None) -> None:
        """With ``textures: folder``, list the texture images under ``assets_dir``; otherwise nothing to load."""
        if self.textures != "folder":
            return
        if assets_dir is None or not Path(assets_dir).is_dir():
            raise OccbenchError(f"randocc: textures='folder' needs --assets-dir, a folder of texture images; "
                                f"got {assets_dir}")
        root = Path(assets_dir)
        files = sorted((p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                       key=lambda p: p.relative_to(root).as_posix())
        if not files:
            raise OccbenchError(f"{root}: no texture images ({', '.join(IMAGE_SUFFIXES)}) found")
        object.__setattr__(self, "_files", [(p.relative_to(root).as_posix(), p) for p in files])
        object.__setattr__(self, "_cache", OrderedDict())

    def _texture_image(self, index: int) -> np.ndarray:
        name, path = self._files[index]
        if name not in self._cache:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise SampleError(f"{path}: not a readable image (texture)")
            self._cache[name] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(name)
        return self._cache[name]

    def _texture(self, hw: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, str]:
        if self.textures == "folder":
            if self._files is None:
                raise RuntimeError("RandOcc.setup(assets_dir) must run before generate with textures='folder'")
            index = int(rng.integers(len(self._files)))
            return crop_texture(self._texture_image(index), hw, rng), self._files[index][0]
        kind = self.texture_kinds[int(rng.integers(len(self.texture_kinds)))]
        return procedural_texture(kind, hw, rng), kind

    def check_ready(self) -> None:
        if self.textures == "folder" and self._files is None:
            raise RuntimeError("RandOcc.setup(assets_dir) must run before generate with textures='folder'")

    def occluder(self, target: np.ndarray, label: np.ndarray | None, box: Box,
                 rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        centre = self.sample_centre(box, target.shape[:2], rng)
        n_points = int(rng.integers(self.n_points[0], self.n_points[1] + 1))
        side = math.sqrt(box_area(box))
        radii = rng.uniform(*self.radius, n_points) * side
        alpha = random_shape(target.shape[:2], centre, radii, rng)
        ys, xs = np.nonzero(alpha)
        if xs.size == 0:
            raise SampleError("RandOcc: the shape fell outside the image")
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        texture, texture_name = self._texture((y1 - y0, x1 - x0), rng)
        transparent = bool(rng.random() < self.transparent_probability)
        opacity = float(rng.uniform(*self.alpha)) if transparent else 1.0
        layer = np.zeros(target.shape[:2] + (4,), np.uint8)
        layer[y0:y1, x0:x1, :3] = texture
        layer[:, :, 3] = np.rint(alpha * opacity).astype(np.uint8)
        layer[layer[:, :, 3] == 0, :3] = 0
        params = {"centre": list(centre), "n_points": n_points,
                  "radius_px": [float(radii.min()), float(radii.max())], "texture": texture_name,
                  "opacity": opacity}
        return layer, params
