"""Landmark-aligned face-mask composites (surgical, cloth, N95, KN95, scarf), as in the Masked-Faces dataset of
the M-CSAM paper and MaskTheFace, on the CPU, deterministic, with the binary mask saved.

Per sample: the build's face stage finds the face(s) on the full-resolution source (protocol section ``faces``,
:mod:`occbench.faces.detection`; 68 landmarks at full resolution, mapped into the target; one mask per face under
policy ``all``); six target points are read off the landmarks
(dlib-68 indices; "left" = image left):

- b = midpoint of nose-bridge points 28 and 29 (MaskTheFace's "nose_mid"), e = chin point 8;
- a / c = the jaw contour (0–8 / 16–8) at b's level along the face axis 27 → 8: the cheeks at nose-bridge
  height (near jaw points 1 / 15, but following the face when those sit higher or lower);
- d / f = the jaw contour at the level halfway between the nose tip 30 and the chin (near points 4 / 12).

A template (built-in: drawn by :mod:`occbench.faces.templates`; or MaskTheFace's ``masks.cfg`` folder) is
mapped onto them by a least-squares homography over the six pairs (``cv2.findHomography``, method 0) and
``cv2.warpPerspective`` of only the template's bounding box in the image. The fit is rejected (SampleError
with the reason, recorded as a skipped row) when the homography is degenerate, mirrors (negative Jacobian
determinant), folds (a template corner behind the projective horizon), scales by more than 3× away from the
face width / anchor width ratio, leaves a mean anchor residual above 25 % of the face width, when the warped
mask's area is outside ``area_range`` × the face box area, or when less than ``min_inside`` of the warped mask
(its full area estimated as template alpha area × Jacobian determinant) lies inside the image.

Yaw proxy: the nose tip (30) projected on the jaw line from point 0 to point 16, as 2 t − 1 (0 = frontal, −1 /
+1 = nose at the image-left / image-right jaw end). Beyond ± ``yaw_threshold`` the "_left" / "_right" variant
is used (nose toward the image left / right), when the template has one.

Compositing: alpha blend of the warped RGBA (``cv2.blendLinear``), written only where the warped alpha is
> 0; the binary mask is 1 exactly there, so it holds every changed pixel (alpha > 0 OR occluded != target)
and every pixel outside it is exactly the target's. ``label_occ`` = the label with mask pixels set to
OCCLUDER_CLASS (19).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from occbench.errors import OccbenchError, SampleError
from occbench.faces.landmarks import FaceLandmarks
from occbench.faces.masktheface import list_textures, load_masktheface, mask_type_of, read_texture
from occbench.faces.templates import (
    ANCHOR_NAMES,
    MASK_TYPES,
    PROCEDURAL_TEXTURES,
    MaskTemplate,
    draw_template,
    prepare,
    procedural_texture,
    resolve_color,
    tile_texture,
)
from occbench.labels import OCCLUDER_CLASS
from occbench.masks.base import GeneratedSample, Generator

TEMPLATE_SOURCES = ("builtin", "masktheface")
MAX_SCALE_RATIO = 3.0
MAX_RESIDUAL = 0.25
BRIGHTNESS_CLIP = (0.5, 1.6)


def _jaw_at(points: np.ndarray, side: str, level: float) -> np.ndarray:
    """Point on the jaw contour (0→8 on the image left, 16→8 on the right) at ``level`` along the face's
    vertical axis (27 → 8, measured from point 27); clamped to the contour's ends."""
    axis = points[8] - points[27]
    axis = axis / max(float(np.linalg.norm(axis)), 1e-6)
    contour = points[0:9] if side == "left" else points[16:7:-1]
    depth = np.maximum.accumulate((contour - points[27]) @ axis)
    return np.array([np.interp(level, depth, contour[:, 0]), np.interp(level, depth, contour[:, 1])], np.float32)


def target_points(points: np.ndarray) -> np.ndarray:
    """The six target points a..f (6, 2) float32 from (68, 2) dlib landmarks.

    b = midpoint of nose-bridge points 28 and 29; e = chin point 8; a / c = the image-left / image-right jaw
    contour at b's level along the face axis 27 → 8 (cheeks at nose-bridge height, as in MaskTheFace; close to
    jaw points 1 / 15); d / f = the jaw contour at the level halfway between the nose tip 30 and the chin 8
    (close to jaw points 4 / 12)."""
    pts = points.astype(np.float32)
    axis = pts[8] - pts[27]
    axis = axis / max(float(np.linalg.norm(axis)), 1e-6)
    b = (pts[28] + pts[29]) / 2
    upper = float((b - pts[27]) @ axis)
    lower = float(((pts[30] + pts[8]) / 2 - pts[27]) @ axis)
    return np.stack([_jaw_at(pts, "left", upper), b, _jaw_at(pts, "right", upper),
                     _jaw_at(pts, "left", lower), pts[8], _jaw_at(pts, "right", lower)]).astype(np.float32)


def yaw_proxy(points: np.ndarray) -> float:
    """2 t − 1 where t is the nose tip's (30) position along the jaw line from point 0 to point 16."""
    axis = points[16] - points[0]
    t = float(np.dot(points[30] - points[0], axis) / max(float(np.dot(axis, axis)), 1e-6))
    return 2 * t - 1


def cheek_brightness(image: np.ndarray, points: np.ndarray) -> float:
    """Median HSV value (max of R, G, B) in two square patches on the cheeks, centred between jaw point 2 and
    nostril 31 and between jaw point 14 and nostril 35, side 12 % of the face width."""
    half = max(2, round(0.06 * float(np.linalg.norm(points[16] - points[0]))))
    values = []
    for centre in ((points[2] + points[31]) / 2, (points[14] + points[35]) / 2):
        x, y = round(float(centre[0])), round(float(centre[1]))
        patch = image[max(0, y - half): y + half, max(0, x - half): x + half]
        values.append(patch.max(axis=2).ravel())
    values_all = np.concatenate(values)
    return float(np.median(values_all)) if values_all.size else float("nan")


def template_brightness(rgba: np.ndarray) -> float:
    """Median HSV value of the template's opaque pixels (alpha > 127), on every 3rd row and column."""
    sub = np.ascontiguousarray(rgba[::3, ::3])
    values = sub[..., :3].max(axis=2)[sub[..., 3] > 127]
    return float(np.median(values)) if values.size else float("nan")


def _check_fit(homography: np.ndarray | None, src: np.ndarray, dst: np.ndarray, shape: tuple[int, int]) -> float:
    """Raise SampleError for an implausible template → face homography; return its Jacobian determinant at the
    template centre (area scale)."""
    if homography is None or not np.all(np.isfinite(homography)) or abs(homography[2, 2]) < 1e-12:
        raise SampleError("implausible landmark fit: no homography from the six anchor points")
    h, w = shape
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1], [w / 2, h / 2, 1]], np.float64)
    if np.any(corners @ homography[2] <= 0):
        raise SampleError("implausible landmark fit: the homography folds the template (corner behind horizon)")
    centre = np.array([[[w / 2, h / 2], [w / 2 + 1, h / 2], [w / 2, h / 2 + 1]]], np.float64)
    p0, px, py = cv2.perspectiveTransform(centre, homography)[0]
    det = float((px - p0)[0] * (py - p0)[1] - (px - p0)[1] * (py - p0)[0])
    if det <= 0:
        raise SampleError(f"implausible landmark fit: the homography mirrors the template (determinant {det:.3g})")
    face_width = float(np.linalg.norm(dst[2] - dst[0]))
    expected = face_width / max(float(np.linalg.norm(src[2] - src[0])), 1e-6)
    ratio = np.sqrt(det) / max(expected, 1e-9)
    if not 1 / MAX_SCALE_RATIO <= ratio <= MAX_SCALE_RATIO:
        raise SampleError(f"implausible landmark fit: template scale {ratio:.2f}x the face-width ratio")
    fitted = cv2.perspectiveTransform(src[None].astype(np.float64), homography)[0]
    residual = float(np.mean(np.linalg.norm(fitted - dst, axis=1))) / max(face_width, 1e-6)
    if residual > MAX_RESIDUAL:
        raise SampleError(f"implausible landmark fit: mean anchor residual {residual:.2f} of the face width")
    return det


@dataclass(frozen=True)
class FaceMaskComposite(Generator):
    """Face masks warped onto dlib landmarks (registry name "facemask").

    Args:
        mask_types: types drawn uniformly by the rng. None = all available: the five built-in types (surgical,
            cloth, n95, kn95, scarf), or every type in the MaskTheFace cfg (base name before the first "_",
            lower case: surgical, n95, kn95, cloth, gas; MaskTheFace has no scarf).
        templates: "builtin" (drawn by occbench) or "masktheface" (needs a folder with ``masks.cfg``:
            ``--mask-dir``; its ``textures/`` join the texture choices).
        color: "palette" (a realistic per-type colour drawn by the rng; MaskTheFace templates keep their own
            colours), "random" (random hue), or (r, g, b). Non-palette colours tint MaskTheFace templates
            (their luminance, normalised to its median, times the colour).
        texture_probability: chance that a texture (procedural check / stripes / dots, plus MaskTheFace's
            textures when loaded) is tiled and multiplied inside the mask.
        valve_probability: chance that a built-in N95 has an exhalation valve.
        brightness_match: scale the template's RGB (hence its HSV value) toward the face's median cheek
            brightness by (face / template) ** ``brightness_strength``, clipped to [0.5, 1.6].
        brightness_strength: 0 = no change, 1 = match the medians exactly.
        yaw_threshold: |yaw proxy| above which the "_left" / "_right" variant is used (see module docstring).
        area_range: accepted warped-mask area as a fraction of the face box area.
        min_inside: least fraction of the warped mask that must lie inside the image.
    """

    uses_faces: ClassVar[bool] = True

    mask_types: tuple[str, ...] | None = None
    templates: str = "builtin"
    color: str | tuple[int, int, int] = "palette"
    texture_probability: float = 0.0
    valve_probability: float = 0.5
    brightness_match: bool = True
    brightness_strength: float = 0.5
    yaw_threshold: float = 0.3
    area_range: tuple[float, float] = (0.1, 2.5)
    min_inside: float = 0.5
    _ready: bool = field(default=False, init=False, repr=False, compare=False)
    _sets: dict[str, dict[str, dict[str, MaskTemplate]]] | None = field(default=None, init=False, repr=False,
                                                                        compare=False)
    _textures: list[tuple[str, np.ndarray]] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.templates not in TEMPLATE_SOURCES:
            raise ValueError(f"templates: Expected one of {', '.join(TEMPLATE_SOURCES)}, but got {self.templates!r}")
        if self.mask_types is not None:
            if not self.mask_types:
                raise ValueError("mask_types: Expected at least one type, or None for all")
            unknown = [t for t in self.mask_types if t not in MASK_TYPES]
            if self.templates == "builtin" and unknown:
                raise ValueError(f"mask_types: Expected a subset of {', '.join(MASK_TYPES)}, but got {unknown}")
        if isinstance(self.color, str) and self.color not in ("palette", "random"):
            raise ValueError(f"color: Expected 'palette', 'random' or (r, g, b), but got {self.color!r}")
        for name in ("texture_probability", "valve_probability", "min_inside", "brightness_strength"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}: Expected a value in [0, 1], but got {getattr(self, name)!r}")
        if not (0 < self.area_range[0] < self.area_range[1]):
            raise ValueError(f"area_range: Expected 0 < lo < hi, but got {self.area_range!r}")
        if self.yaw_threshold < 0:
            raise ValueError(f"yaw_threshold: Expected >= 0, but got {self.yaw_threshold!r}")

    @property
    def needs_dir(self) -> bool:  # type: ignore[override]
        """MaskTheFace templates are read from ``--mask-dir``; built-in ones need no files."""
        return self.templates == "masktheface"

    def setup(self, mask_dir: Path | None) -> None:
        """Draw the built-in templates, or read the MaskTheFace templates and textures of ``mask_dir``."""
        textures: list[tuple[str, np.ndarray]] = []
        sets: dict[str, dict[str, dict[str, MaskTemplate]]] = {}
        if self.templates == "masktheface":
            if mask_dir is None:
                raise OccbenchError("facemask: templates 'masktheface' needs --mask-dir, the MaskTheFace folder "
                                    "holding masks.cfg (or its parent)")
            for base, variants in load_masktheface(mask_dir).items():
                sets.setdefault(mask_type_of(base), {})[base] = variants
            wanted = self.mask_types or tuple(sets)
            missing = [t for t in wanted if t not in sets]
            if missing:
                raise OccbenchError(f"{mask_dir}: no MaskTheFace template of type(s) {', '.join(missing)}; "
                                    f"available: {', '.join(sorted(sets))}")
            textures = [(p.stem, read_texture(p)) for p in list_textures(mask_dir)]
        else:
            prepare(self._types())
        object.__setattr__(self, "_ready", True)
        object.__setattr__(self, "_sets", sets)
        object.__setattr__(self, "_textures", textures)

    def _types(self) -> tuple[str, ...]:
        if self.mask_types is not None:
            return tuple(self.mask_types)
        return MASK_TYPES if self.templates == "builtin" else tuple(sorted(self._sets or {}))

    def needs_faces(self, has_labels: bool) -> bool:
        """Landmarks are always needed: the build's face stage must run."""
        return True

    def _template(self, kind: str, variant: str, rng: np.random.Generator) -> tuple[MaskTemplate, dict[str, Any]]:
        """The coloured, textured template of ``kind`` and what was drawn for it."""
        texture_name, texture = None, None
        color = None if self.templates == "masktheface" and self.color == "palette" else \
            resolve_color(self.color, kind, rng)
        if rng.random() < self.texture_probability:
            names = [*PROCEDURAL_TEXTURES, *(name for name, _ in self._textures or [])]
            texture_name = names[int(rng.integers(len(names)))]
            texture = procedural_texture(texture_name, rng) if texture_name in PROCEDURAL_TEXTURES else \
                dict(self._textures or [])[texture_name]
        info: dict[str, Any] = {"color": None if color is None else list(color), "texture": texture_name}
        if self.templates == "builtin":
            valve = kind == "n95" and bool(rng.random() < self.valve_probability)
            info["valve"] = valve
            return draw_template(kind, color, texture, variant, valve), info
        bases = sorted(self._sets[kind])
        variants = self._sets[kind][bases[int(rng.integers(len(bases)))]]
        template = variants.get(variant, variants["front"])
        rgba = template.rgba
        if color is not None or texture is not None:
            rgba = rgba.copy()
            rgb = rgba[..., :3].astype(np.float32)
            if color is not None:
                lum = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
                opaque = lum[rgba[..., 3] > 127]
                norm = float(np.median(opaque)) if opaque.size else 255.0
                rgb = (lum / max(norm, 1.0))[..., None] * np.asarray(color, np.float32)
            if texture is not None:
                rgb = rgb * tile_texture(texture, *rgb.shape[:2]).astype(np.float32) * (1 / 255)
            rgba[..., :3] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
        return MaskTemplate(template.name, rgba, template.anchors, template.variant, template.extra), info

    def generate(self, target: np.ndarray, label: np.ndarray | None, rng: np.random.Generator,
                 faces: list[FaceLandmarks] | None = None) -> GeneratedSample:
        """Mask the face(s): ``faces`` (target pixels) come from the build's face stage; without them (a direct call)
        the target itself is searched with the default :class:`~occbench.faces.detection.FaceSettings`."""
        if target.dtype != np.uint8 or target.ndim != 3 or target.shape[2] != 3:
            raise ValueError(f"Expected an (H, W, 3) uint8 RGB target, but got {target.dtype} {target.shape}")
        if not self._ready:
            if self.needs_dir:
                raise RuntimeError("FaceMaskComposite.setup(mask_dir) must run before generate")
            self.setup(None)
        if faces is None:
            from occbench.faces.detection import FaceDetector

            faces = FaceDetector().find(target).faces
        occluded, mask, drawn = target, np.zeros(target.shape[:2], np.uint8), []
        for face in faces:
            occluded, face_mask, params = self._mask_face(occluded, face, rng)
            mask |= face_mask
            drawn.append(params)
        label_occ = None
        if label is not None:
            label_occ = label.copy()
            label_occ[mask > 0] = OCCLUDER_CLASS
        params = {**drawn[0], "image_fraction": round(float(np.count_nonzero(mask)) / mask.size, 5)}
        if len(drawn) > 1:
            params["masks"] = drawn
        return GeneratedSample(occluded=occluded, mask=mask, label_occ=label_occ, params=params)

    def _mask_face(self, target: np.ndarray, face: FaceLandmarks,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """One mask on one face: (occluded image, its 0/1 mask, the values drawn)."""
        yaw = yaw_proxy(face.points)
        variant = "left" if yaw < -self.yaw_threshold else "right" if yaw > self.yaw_threshold else "front"
        types = self._types()
        kind = types[int(rng.integers(len(types)))]
        template, info = self._template(kind, variant, rng)
        rgba = template.rgba
        scale = 1.0
        if self.brightness_match:
            face_v, mask_v = cheek_brightness(target, face.points), template_brightness(rgba)
            if np.isfinite(face_v) and np.isfinite(mask_v) and mask_v > 0:
                scale = float(np.clip((max(face_v, 1.0) / mask_v) ** self.brightness_strength, *BRIGHTNESS_CLIP))
                rgba = cv2.multiply(rgba, (scale, scale, scale, 1.0))
        dst = target_points(face.points)
        occluded, mask = self._composite(target, rgba, template.anchors, dst, face)
        x0, y0, x1, y1 = face.box
        box_area = max(1, (x1 - x0) * (y1 - y0))
        in_box = int(np.count_nonzero(mask[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]))
        params = {
            "mask_type": kind, "template": template.name, "variant": template.variant, **info,
            "yaw": round(yaw, 4), "brightness_scale": round(scale, 4),
            "points": {n: [round(float(x), 1), round(float(y), 1)] for n, (x, y) in zip(ANCHOR_NAMES, dst)},
            "face_box": list(face.box),
            "face_fraction": round(in_box / box_area, 5),
        }
        return occluded, mask, params

    def _composite(self, target: np.ndarray, rgba: np.ndarray, src: np.ndarray, dst: np.ndarray,
                   face: FaceLandmarks) -> tuple[np.ndarray, np.ndarray]:
        """Warp ``rgba`` (anchors ``src``) onto ``dst`` and alpha-blend; returns (occluded, mask)."""
        homography, _ = cv2.findHomography(src.astype(np.float64), dst.astype(np.float64), 0)
        det = _check_fit(homography, src, dst, rgba.shape[:2])
        height, width = target.shape[:2]
        th, tw = rgba.shape[:2]
        corners = cv2.perspectiveTransform(np.array([[[0, 0], [tw, 0], [0, th], [tw, th]]], np.float64),
                                           homography)[0]
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        full_area = float(np.count_nonzero(rgba[..., 3] > 127)) * det
        if x1 <= x0 or y1 <= y0:
            raise SampleError("implausible landmark fit: the warped mask lies outside the image")
        shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
        warped = cv2.warpPerspective(rgba, shift @ homography, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        region = target[y0:y1, x0:x1]
        weight = warped[..., 3].astype(np.float32) * (1 / 255)
        blended = cv2.blendLinear(cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB), region, weight, 1 - weight)
        region_mask = warped[..., 3] > 0
        out_region = region.copy()
        np.copyto(out_region, blended, where=region_mask[..., None])  # alpha 0 stays exactly the target's
        area = int(np.count_nonzero(warped[..., 3] > 127))
        box_area = max(1, face.box_area)
        lo, hi = self.area_range
        if not lo <= area / box_area <= hi:
            raise SampleError(f"implausible landmark fit: warped mask area {area / box_area:.2f} of the face box "
                              f"(expected {lo}..{hi})")
        if full_area > 0 and area / full_area < self.min_inside:
            raise SampleError(f"implausible landmark fit: only {area / full_area:.0%} of the warped mask is inside "
                              "the image")
        occluded = target.copy()
        occluded[y0:y1, x0:x1] = out_region
        mask = np.zeros((height, width), np.uint8)
        mask[y0:y1, x0:x1] = region_mask
        return occluded, mask
