"""Face-mask templates drawn by occbench (no image files): surgical, cloth, N95, KN95 and scarf.

Every template is an RGBA image plus six anchor points in template pixels, in MaskTheFace's scheme
(:mod:`occbench.faces.masktheface`): a / c = left / right cheek at nose-bridge height, b = nose bridge
(top centre of the mask), d / f = left / right jaw, e = chin ("left" = image left). A homography fitted from
these six points to the same six points on a face warps the template onto it.

Drawing (cv2): filled polygons from sampled Bézier curves, anti-aliased with ``cv2.LINE_AA`` at 1/16-px
precision; a shading map (cylinder-like darkening toward the sides, pleats or folds as blurred dark bands with
a highlight) multiplies the colour; ear loops, the N95 nose clip and exhalation valve are parts with their own
fixed colour. Shapes are computed once per (type, variant, valve) and cached; :func:`draw_template` only
colours them, so a per-sample colour costs well under a millisecond.

The **scarf** is wider than the face (its sides extend beyond d / f) and continues below the chin anchor e by
0.6 × the b–e distance (the template's bottom edge, :data:`NECK_EXTENT`). Because the homography is fitted on
a..f only, that lower part lands below the chin, on the neck; its ``extra`` anchors ``neck_left``,
``neck_centre`` and ``neck_right`` mark the bottom edge and show, once warped, how far down the neck it reaches.

:func:`fabric_weave` draws a fine plain-weave pattern per sample (threads, slubs, grain) that the face-mask
generator multiplies into a template at a few % amplitude, so that no two masks have the same flat surface.

Variants: "front", and "left" / "right" for heads turned so the nose points to the image left / right: the
frontal drawing is remapped horizontally so its centre line sits at :data:`TURN` of the width from that side
(the far half compressed, the near half stretched), as in MaskTheFace's ``_left`` / ``_right`` templates.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

MASK_TYPES: tuple[str, ...] = ("surgical", "cloth", "n95", "kn95", "scarf")
VARIANTS: tuple[str, ...] = ("front", "left", "right")
ANCHOR_NAMES: tuple[str, ...] = ("a", "b", "c", "d", "e", "f")
TURN = 0.32  # centre line of a turned variant, as a fraction of the width from the side the nose points to
NECK_EXTENT = 0.6  # scarf: template length below e, as a fraction of the b–e distance

PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "surgical": ((150, 196, 222), (120, 180, 210), (160, 205, 180), (236, 236, 236)),
    "cloth": ((35, 35, 40), (40, 52, 90), (120, 120, 125), (200, 185, 160), (150, 40, 50)),
    "n95": ((240, 240, 236), (225, 228, 230)),
    "kn95": ((242, 242, 242), (40, 40, 44), (200, 200, 205)),
    "scarf": ((170, 30, 40), (40, 70, 130), (60, 110, 70), (200, 170, 120), (90, 60, 110), (30, 30, 30)),
}
"""Per-type colour palettes (RGB): colour "palette" picks one of these with the sample's rng."""

PROCEDURAL_TEXTURES: tuple[str, ...] = ("check", "stripes", "dots")
Point = tuple[float, float]


@dataclass(frozen=True)
class MaskTemplate:
    """An RGBA face-mask template. ``rgba`` (H, W, 4) uint8; ``anchors`` (6, 2) float32, points a..f in template
    px; ``extra``: further named points (template px) that are not fitted, e.g. the scarf's neck edge."""

    name: str
    rgba: np.ndarray
    anchors: np.ndarray
    variant: str = "front"
    extra: dict[str, Point] = field(default_factory=dict)


@dataclass(frozen=True)
class _Shape:
    """A colour-free template: body alpha and shading, fixed-colour parts, anchors."""

    alpha: np.ndarray  # (H, W) uint8, body and fixed parts
    shade: np.ndarray  # (H, W) float32, multiplies the body colour
    fixed: np.ndarray  # (H, W) float32 in [0, 1], weight of fixed_rgb over the body colour
    fixed_rgb: np.ndarray  # (H, W, 3) float32 RGB 0..255
    anchors: np.ndarray  # (6, 2) float32
    extra: dict[str, Point]


@dataclass(frozen=True)
class _Baked:
    """A shape in uint8 planes ready for fast colouring with cv2 (values below)."""

    alpha: np.ndarray  # (H, W) uint8
    shade3: np.ndarray  # (H, W, 3) uint8: shade × SHADE_UNIT
    keep3: np.ndarray  # (H, W, 3) uint8: (1 − fixed) × 255
    fixed3: np.ndarray  # (H, W, 3) uint8: fixed_rgb × fixed
    anchors: np.ndarray
    extra: dict[str, Point]


SHADE_UNIT = 200.0  # shade stored as uint8 shade × 200 (shading maps stay below 1.27)


def _quad(p0: Point, through: Point, p2: Point, n: int = 40) -> np.ndarray:
    """Points of the quadratic Bézier from p0 to p2 that passes through ``through`` at t = 0.5."""
    p0a, p2a, m = np.asarray(p0, float), np.asarray(p2, float), np.asarray(through, float)
    ctrl = 2 * m - (p0a + p2a) / 2
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0a + 2 * (1 - t) * t * ctrl + t**2 * p2a


def _fill(canvas: np.ndarray, polygon: np.ndarray, value: float = 255) -> None:
    """Anti-aliased filled polygon (1/16-px vertex precision)."""
    pts = np.round(np.asarray(polygon) * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(canvas, [pts], value, cv2.LINE_AA, shift=4)


def _strokes(shape: tuple[int, int], curves: Sequence[np.ndarray], thickness: int) -> np.ndarray:
    """Anti-aliased open polylines as a float32 map in [0, 1] (drawn on uint8: cv2 anti-aliases only 8-bit)."""
    canvas = np.zeros(shape, np.uint8)
    for curve in curves:
        pts = np.round(np.asarray(curve) * 16).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [pts], False, 255, thickness, cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) / 255.0


def _bands(shape: tuple[int, int], curves: Sequence[np.ndarray], thickness: int, blur: float) -> np.ndarray:
    """Blurred strokes along ``curves`` as a float map in [0, 1]."""
    canvas = _strokes(shape, curves, thickness)
    return cv2.GaussianBlur(canvas, (0, 0), blur) if blur > 0 else canvas


def _cylinder(shape: tuple[int, int], cx: float, half: float, low: float) -> np.ndarray:
    """Horizontal shading: 1 at x = cx, ``low`` at cx ± half (a surface curving away at the sides)."""
    x = np.arange(shape[1], dtype=np.float32)
    row = 1.0 - (1.0 - low) * np.clip(((x - cx) / half) ** 2, 0, 1.5)
    return np.broadcast_to(row, shape).astype(np.float32)


def _loops(shape: tuple[int, int], left: tuple[Point, Point], right: tuple[Point, Point], reach: float) -> np.ndarray:
    """Ear loops: curves from each side's top to bottom corner bowing outward by ``reach`` px."""
    curves = []
    for (top, bottom), sign in ((left, -1), (right, 1)):
        mid = ((top[0] + bottom[0]) / 2 + sign * reach, (top[1] + bottom[1]) / 2)
        curves.append(_quad(top, mid, bottom))
    return _strokes(shape, curves, 3)


def _finish(body: np.ndarray, shade: np.ndarray, parts: Sequence[tuple[np.ndarray, Sequence[float]]],
            anchors: Sequence[Point], extra: dict[str, Point] | None = None) -> _Shape:
    """Combine the body alpha (uint8), its shading and fixed-colour parts ((weight map 0..1, RGB), later on top)."""
    fixed = np.zeros(body.shape, np.float32)
    fixed_rgb = np.zeros((*body.shape, 3), np.float32)
    alpha = body.astype(np.float32) / 255.0
    for weight, rgb in parts:
        fixed_rgb += (np.asarray(rgb, np.float32) - fixed_rgb) * weight[..., None]
        fixed = fixed + (1 - fixed) * weight
        alpha = alpha + (1 - alpha) * weight
    alpha8 = np.clip(np.round(alpha * 255), 0, 255).astype(np.uint8)
    return _Shape(alpha8, shade.astype(np.float32), np.clip(fixed, 0, 1), fixed_rgb,
                  np.asarray(anchors, np.float32), dict(extra or {}))


def _surgical() -> _Shape:
    h, w = 252, 340
    body = np.zeros((h, w), np.uint8)
    top = _quad((30, 24), (170, 17), (310, 24))
    right = _quad((310, 24), (314, 96), (310, 166), 12)
    bottom = _quad((310, 166), (170, 246), (30, 166))
    left = _quad((30, 166), (26, 96), (30, 24), 12)
    _fill(body, np.concatenate([top, right, bottom, left]))
    pleats = [_quad((30, y), (170, y + 22 + 12 * i), (310, y), 30) for i, y in enumerate((72, 104, 136))]
    dark = _bands((h, w), pleats, 5, 2.5)
    light = _bands((h, w), [p - (0, 6) for p in pleats], 3, 2.0)
    hem = _bands((h, w), [top + (0, 6), bottom - (0, 6)], 2, 1.0)
    shade = _cylinder((h, w), 170, 150, 0.8) * (1 - 0.28 * dark + 0.1 * light - 0.12 * hem)
    loops = _loops((h, w), ((30, 34), (30, 160)), ((310, 34), (310, 160)), 26)
    return _finish(body, shade, [(loops, (238, 238, 240))],
                   [(36, 28), (170, 21), (304, 28), (38, 156), (170, 238), (302, 156)])


def _cloth() -> _Shape:
    h, w = 264, 320
    body = np.zeros((h, w), np.uint8)
    top = np.concatenate([_quad((12, 22), (70, 14), (160, 10)), _quad((160, 10), (250, 14), (308, 22))])
    right = _quad((308, 22), (316, 95), (298, 160), 16)
    bottom = np.concatenate([_quad((298, 160), (250, 236), (160, 258)), _quad((160, 258), (70, 236), (22, 160))])
    left = _quad((22, 160), (4, 95), (12, 22), 16)
    outline = np.concatenate([top, right, bottom, left])
    _fill(body, outline)
    seam = _bands((h, w), [_quad((160, 12), (164, 134), (160, 256))], 2, 1.2)
    hem = _bands((h, w), [outline], 3, 2.0)
    shade = _cylinder((h, w), 160, 150, 0.74) * (1 - 0.25 * seam - 0.15 * hem)
    return _finish(body, shade, [], [(22, 26), (160, 15), (298, 26), (26, 150), (160, 248), (294, 150)])


def _n95(valve: bool) -> _Shape:
    h, w = 284, 320
    body = np.zeros((h, w), np.uint8)
    top = np.concatenate([_quad((10, 26), (70, 16), (160, 10)), _quad((160, 10), (250, 16), (310, 26))])
    bottom = _quad((310, 26), (160, 278), (10, 26), 80)[1:]
    outline = np.concatenate([top, bottom])
    _fill(body, outline)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dome = 1.0 - 0.3 * np.clip(((xx - 160) / 160) ** 2 + ((yy - 140) / 150) ** 2, 0, 1.2)
    rim = _bands((h, w), [outline], 7, 2.0)
    shade = dome * (1 - 0.18 * rim)
    clip = _strokes((h, w), [_quad((120, 26), (160, 17), (200, 26), 16)], 6)
    parts: list[tuple[np.ndarray, Sequence[float]]] = [(clip, (196, 198, 202))]
    if valve:
        disk8 = np.zeros((h, w), np.uint8)
        cv2.circle(disk8, (222 * 16, 156 * 16), 34 * 16, 255, -1, cv2.LINE_AA, shift=4)
        disk = disk8.astype(np.float32) / 255.0
        ring = _bands((h, w), [np.array([(222 + 26 * np.cos(t), 156 + 26 * np.sin(t)) for t in
                                          np.linspace(0, 2 * np.pi, 60)])], 3, 0.8)
        slots = _bands((h, w), [np.array([(204, y), (240, y)]) for y in (144, 152, 160, 168)], 2, 0.5)
        parts += [(disk, (214, 216, 220)), (0.6 * np.maximum(ring, slots), (120, 122, 128))]
    return _finish(body, shade, parts, [(22, 30), (160, 15), (298, 30), (62, 160), (160, 266), (258, 160)])


def _kn95() -> _Shape:
    h, w = 264, 340
    body = np.zeros((h, w), np.uint8)
    top = np.concatenate([_quad((30, 24), (96, 16), (170, 8)), _quad((170, 8), (244, 16), (310, 24))])
    right = _quad((310, 24), (314, 95), (306, 166), 12)
    bottom = np.concatenate([_quad((306, 166), (250, 226), (170, 258)), _quad((170, 258), (90, 226), (34, 166))])
    left = _quad((34, 166), (26, 95), (30, 24), 12)
    outline = np.concatenate([top, right, bottom, left])
    _fill(body, outline)
    x = np.arange(w, dtype=np.float32)
    fold = np.where(x < 170, 0.84 + 0.1 * (x / 170), 1.0 - 0.08 * (x - 170) / 140)  # lit from the right of the fold
    seam = _bands((h, w), [_quad((170, 8), (172, 133), (170, 258))], 2, 0.8)
    edge = _bands((h, w), [outline], 6, 1.5)
    shade = np.broadcast_to(fold, (h, w)) * (1 - 0.35 * seam - 0.1 * edge)
    loops = _loops((h, w), ((30, 32), (34, 160)), ((310, 32), (306, 160)), 28)
    return _finish(body, shade, [(loops, (240, 240, 240))],
                   [(38, 28), (170, 13), (302, 28), (42, 158), (170, 248), (298, 158)])


def _scarf() -> _Shape:
    b_y, e_y = 36, 300
    bottom_y = e_y + NECK_EXTENT * (e_y - b_y)  # 456
    h, w = int(bottom_y) + 8, 440
    body = np.zeros((h, w), np.uint8)
    top = np.concatenate([_quad((34, 44), (110, 38), (220, 30)), _quad((220, 30), (330, 38), (406, 44))])
    right = _quad((406, 44), (426, 260), (430, bottom_y - 6), 30)
    bottom = np.concatenate([_quad((430, bottom_y - 6), (330, bottom_y + 2), (220, bottom_y - 4)),
                             _quad((220, bottom_y - 4), (110, bottom_y + 2), (10, bottom_y - 6))])
    left = _quad((10, bottom_y - 6), (14, 260), (34, 44), 30)
    _fill(body, np.concatenate([top, right, bottom, left]))
    drapes = [_quad((20 + 4 * i, y), (220, y + 40 + 6 * i), (420 - 4 * i, y), 40) for i, y in
              enumerate((140, 210, 290, 360, 420))]
    dark = _bands((h, w), drapes, 9, 5.0)
    light = _bands((h, w), [d - (0, 14) for d in drapes], 5, 4.0)
    shade = _cylinder((h, w), 220, 210, 0.72) * (1 - 0.32 * dark + 0.12 * light)
    extra = {"neck_left": (40.0, bottom_y - 10), "neck_centre": (220.0, bottom_y - 10),
             "neck_right": (400.0, bottom_y - 10)}
    return _finish(body, shade, [], [(70, 48), (220, b_y), (370, 48), (72, 192), (220, e_y), (368, 192)], extra)


def _turn(shape: _Shape, variant: str) -> _Shape:
    """Remap a frontal shape horizontally so its centre line (b.x) moves to TURN of the width from one side."""
    if variant == "front":
        return shape
    h, w = shape.alpha.shape
    cx = float(shape.anchors[1, 0])
    new_cx = TURN * w if variant == "left" else (1 - TURN) * w

    def forward(x: np.ndarray) -> np.ndarray:
        return np.where(x < cx, x * new_cx / cx, new_cx + (x - cx) * (w - new_cx) / (w - cx))

    xs = np.arange(w, dtype=np.float32)
    src = np.where(xs < new_cx, xs * cx / new_cx, cx + (xs - new_cx) * (w - cx) / (w - new_cx)).astype(np.float32)
    map_x = np.broadcast_to(src, (h, w)).copy()
    map_y = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w)).copy()

    def remap(a: np.ndarray) -> np.ndarray:
        return cv2.remap(a, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    anchors = shape.anchors.copy()
    anchors[:, 0] = forward(anchors[:, 0])
    extra = {k: (float(forward(np.float32(x))), y) for k, (x, y) in shape.extra.items()}
    return _Shape(remap(shape.alpha), remap(shape.shade), remap(shape.fixed), remap(shape.fixed_rgb), anchors, extra)


@functools.lru_cache(maxsize=64)
def _shape(kind: str, variant: str, valve: bool) -> _Baked:
    makers = {"surgical": _surgical, "cloth": _cloth, "kn95": _kn95, "scarf": _scarf,
              "n95": functools.partial(_n95, valve)}
    shape = _turn(makers[kind](), variant)

    def u8(array: np.ndarray) -> np.ndarray:
        return np.clip(np.round(array), 0, 255).astype(np.uint8)

    fixed = np.clip(shape.fixed, 0, 1)[..., None]
    baked = _Baked(shape.alpha, u8(np.repeat(shape.shade[..., None] * SHADE_UNIT, 3, axis=2)),
                   u8(np.repeat((1 - fixed) * 255, 3, axis=2)), u8(shape.fixed_rgb * fixed), shape.anchors,
                   shape.extra)
    for array in (baked.alpha, baked.shade3, baked.keep3, baked.fixed3, baked.anchors):
        array.setflags(write=False)
    return baked


def prepare(kinds: Sequence[str] = MASK_TYPES) -> None:
    """Draw and cache every shape of ``kinds`` (all variants, N95 with and without valve) ahead of time, so that
    no sample pays for the first drawing (about 0.3 s for all five types)."""
    for kind in kinds:
        for variant in VARIANTS:
            for valve in (False, True) if kind == "n95" else (False,):
                _shape(kind, variant, valve)


def procedural_texture(name: str, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A tileable (size, size, 3) uint8 texture drawn by occbench: "check" (gingham), "stripes" or "dots";
    its contrast and second colour come from ``rng``. Multiplied onto the mask colour (white = no change)."""
    if name not in PROCEDURAL_TEXTURES:
        raise ValueError(f"texture: Expected one of {', '.join(PROCEDURAL_TEXTURES)}, but got {name!r}")
    tone = rng.uniform(0.35, 0.8, 3)
    y, x = np.mgrid[0:size, 0:size]
    half = size // 2
    if name == "check":
        weight = ((x < half).astype(np.float32) + (y < half)) / 2
    elif name == "stripes":
        weight = ((x + y) % half < half // 2).astype(np.float32)
    else:
        weight = (((x % half - half / 2) ** 2 + (y % half - half / 2) ** 2) < (size / 8) ** 2).astype(np.float32)
    texture = 1 - weight[..., None] * (1 - tone)
    return np.round(texture * 255).astype(np.uint8)


def fabric_weave(rng: np.random.Generator, height: int, width: int, period: float) -> np.ndarray:
    """A fine plain-weave pattern (height, width) float32 in [-1, 1], mean about 0, to be multiplied into a mask
    as ``1 + strength * pattern``: threads ``period`` px apart along x (warp) and y (weft), crossing over and
    under (product of two sinusoids, 50 %), each thread a little thicker or thinner than the next (slub,
    25 %) and per-pixel grain (25 %). Phases, slubs and grain come from ``rng``."""
    if period <= 0:
        raise ValueError(f"period: Expected > 0 px, but got {period!r}")
    phase_x, phase_y = rng.uniform(0, 2 * np.pi, 2)
    x = np.arange(width, dtype=np.float32)
    y = np.arange(height, dtype=np.float32)
    weave = np.outer(np.sin(2 * np.pi * y / period + phase_y), np.sin(2 * np.pi * x / period + phase_x))
    slub_x = rng.uniform(-1, 1, int(width / period) + 2)[(x / period).astype(int)]
    slub_y = rng.uniform(-1, 1, int(height / period) + 2)[(y / period).astype(int)]
    slub = (slub_y[:, None] + slub_x[None, :]) / 2
    grain = np.clip(rng.standard_normal((height, width), dtype=np.float32) / 2, -1, 1)
    return np.clip(0.5 * weave + 0.25 * slub + 0.25 * grain, -1, 1).astype(np.float32)


def tile_texture(texture: np.ndarray, height: int, width: int) -> np.ndarray:
    """``texture`` (h, w[, 3]) uint8 tiled over (height, width, 3), uint8."""
    tex = np.asarray(texture)
    if tex.ndim == 2:
        tex = tex[..., None]
    tex = tex[..., :3] if tex.shape[2] >= 3 else np.repeat(tex[..., :1], 3, axis=2)
    reps = (-(-height // tex.shape[0]), -(-width // tex.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tex.astype(np.uint8), reps)[:height, :width])


def resolve_color(color: str | Sequence[int], kind: str, rng: np.random.Generator) -> tuple[int, int, int]:
    """RGB colour for a mask: an explicit (r, g, b); "palette": one of :data:`PALETTES` [kind] (kinds outside the
    table draw "random"); "random": a random hue at moderate saturation and value."""
    if isinstance(color, str):
        if color == "palette" and kind in PALETTES:
            options = PALETTES[kind]
            return options[int(rng.integers(len(options)))]
        if color in ("palette", "random"):
            hsv = np.array([[[rng.integers(180), rng.integers(40, 200), rng.integers(70, 240)]]], np.uint8)
            return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])
        raise ValueError(f"color: Expected 'palette', 'random' or (r, g, b), but got {color!r}")
    rgb = tuple(int(v) for v in color)
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ValueError(f"color: Expected three values in 0..255, but got {color!r}")
    return rgb  # type: ignore[return-value]


def draw_template(kind: str, color: Sequence[int] = (255, 255, 255), texture: np.ndarray | None = None,
                  variant: str = "front", valve: bool = False) -> MaskTemplate:
    """Draw a built-in template.

    Args:
        kind: one of :data:`MASK_TYPES`.
        color: body colour (RGB 0..255); shading multiplies it. Use :func:`resolve_color` for "palette"/"random".
        texture: None, or an (h, w[, 3]) uint8 image tiled over the template and multiplied inside the alpha.
        variant: "front", "left" or "right" (see the module docstring).
        valve: N95 only: draw an exhalation valve on the right cheek.
    """
    if kind not in MASK_TYPES:
        raise ValueError(f"mask type: Expected one of {', '.join(MASK_TYPES)}, but got {kind!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant: Expected one of {', '.join(VARIANTS)}, but got {variant!r}")
    shape = _shape(kind, variant, bool(valve) and kind == "n95")
    height, width = shape.alpha.shape
    rgb = cv2.multiply(shape.shade3, (*(float(c) for c in color), 0.0), scale=1 / SHADE_UNIT)
    if texture is not None:
        rgb = cv2.multiply(rgb, tile_texture(texture, height, width), scale=1 / 255)
    rgb = cv2.add(cv2.multiply(rgb, shape.keep3, scale=1 / 255), shape.fixed3)
    rgba = cv2.merge([rgb, shape.alpha])
    name = kind + ("_valve" if valve and kind == "n95" else "") + ("" if variant == "front" else f"_{variant}")
    return MaskTemplate(name, rgba, shape.anchors.copy(), variant, dict(shape.extra))
