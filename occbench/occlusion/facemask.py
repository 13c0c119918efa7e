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

Plausibility (:meth:`FaceMaskComposite.check_pose`, before any template is drawn): from the 68 points,
:func:`face_pose` estimates yaw (median of three cues: the nose tip between the jaw sides, the nose tip between the
outer eye corners, the mouth centre between the jaw sides; 0 frontal, ±1 = at a jaw side; positive = nose toward
the image right) and roll (eye-line angle, degrees), and the face's shape along its own axes. The fit is rejected
("implausible landmark fit: ...") when the jaw points are out of order, the chin is not below the nose, |yaw| >
``max_yaw`` (a profile), |roll| > ``max_roll``, the jaw-width / bridge-to-chin aspect is outside ``aspect_range``
or the jaw contour is not convex (e.g. snapped to a glasses arm); the limits' measured basis is in the class
docstring. Beyond ± ``yaw_threshold`` the "_left" / "_right" variant is used (nose toward the image left / right),
when the template has one; the threshold is calibrated so that none of the 48 aligned CelebA-HQ faces turns.

Compositing, in the warped template's bounding box: the template gets a fine woven texture (``fabric_strength``)
and its global level is matched to the cheeks (``brightness_match``); once warped, its alpha is clipped to the
face-and-neck silhouette (jaw contour and a neck band below it, grown by ``silhouette_margin``; the removed fraction
is recorded as ``silhouette_clipped``) and set to 0 on label classes in front of the face (``keep_front_classes``:
hair, eyeglasses); its RGB is multiplied by the face's own relative lighting (a quadratic fit of the visible skin's
luminance, ``lighting_strength``). The result is alpha-blended where the alpha is > 0; the binary mask is 1 exactly
there, so it holds every changed pixel (alpha > 0 OR occluded != target) and every pixel outside it is exactly the
target's. ``label_occ`` = the label with mask pixels set to OCCLUDER_CLASS (19).

Known limit: dlib's 68-point model always fits a frontal-looking shape. On true profiles (which only the ``cnn``
detector finds; HOG does not) the points form a plausible frontal face at the wrong place, with small measured yaw,
and pass these checks unless the jaw snaps to something beside the face (aspect, convexity).
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
    fabric_weave,
    prepare,
    procedural_texture,
    resolve_color,
    tile_texture,
)
from occbench.labels import CLASS_INDEX, OCCLUDER_CLASS
from occbench.masks.base import GeneratedSample, Generator

TEMPLATE_SOURCES = ("builtin", "masktheface")
MAX_SCALE_RATIO = 3.0
MAX_RESIDUAL = 0.25
BRIGHTNESS_CLIP = (0.5, 1.6)
LIGHTING_CLIP = (0.5, 1.5)  # relative skin lighting multiplied into the mask (1 = the face's median)
LIGHT_GRID = 64  # skin luminance sampled on a grid about this many cells across the face
MIN_SKIN_SAMPLES = 40  # fewer visible skin cells: no lighting field (the mask keeps its own shading)
FABRIC_PERIOD_PX = 3.0  # weave period once warped, image px
MIN_FABRIC_PERIOD = 2.5  # weave period in template px, at least (finer aliases)
ALPHA_EPS = 0.5 / 255  # warped alpha below this is 0: the pixel stays the target's and is outside the mask


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


YAW_CUE_GAINS = (1.0, 1.21, 1.76)
"""Scale of each yaw cue (:func:`yaw_cues`) onto the jaw cue's: least squares through 0 on the 48 CelebA-HQ faces
at 256 and 512 px (correlation with the jaw cue 0.96 for both; rms difference 0.04)."""


def face_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (x_axis, down) of the face, float64: x_axis along the eye line from the image-left eye centre
    (mean of 36-41) to the image-right one (42-47); down = x_axis turned 90° clockwise on screen (image y down)."""
    pts = points.astype(np.float64)
    line = pts[42:48].mean(axis=0) - pts[36:42].mean(axis=0)
    norm = float(np.linalg.norm(line))
    x_axis = line / norm if norm > 1e-6 else np.array([1.0, 0.0])
    return x_axis, np.array([-x_axis[1], x_axis[0]])


def _jaw_offsets(pts: np.ndarray, point: np.ndarray, x_axis: np.ndarray, down: np.ndarray) -> tuple[float, float]:
    """Distances (px, along x_axis) from ``point`` to the image-left and image-right jaw contour at its level along
    ``down`` (measured from point 27; the contour's ends clamp)."""
    level = float((point - pts[27]) @ down)
    offsets = []
    for contour in (pts[0:9], pts[16:7:-1]):
        depth = np.maximum.accumulate((contour - pts[27]) @ down)
        offsets.append(float(np.interp(level, depth, (contour - point) @ x_axis)))
    return -offsets[0], offsets[1]


def _balance(left: float, right: float) -> float:
    """(left − right) / (left + right): 0 midway, +1 / −1 at the image-right / image-left end."""
    return (left - right) / max(left + right, 1e-6)


def yaw_cues(points: np.ndarray) -> np.ndarray:
    """Three yaw estimates (3,) float64 on one scale (0 = frontal, +1 / −1 = nose tip on the image-right /
    image-left jaw contour; positive = nose toward the image right): the nose tip 30 between the two jaw sides at
    its level; the nose tip between the outer eye corners 36 and 45; the mouth centre (48 + 54) / 2 between the jaw
    sides at its level; the last two times :data:`YAW_CUE_GAINS`."""
    pts = points.astype(np.float64)
    x_axis, down = face_frame(pts)
    jaw = _balance(*_jaw_offsets(pts, pts[30], x_axis, down))
    eye_left, eye_right, nose = (pts[[36, 45, 30]] - pts[27]) @ x_axis
    eyes = _balance(nose - eye_left, eye_right - nose)
    mouth = _balance(*_jaw_offsets(pts, (pts[48] + pts[54]) / 2, x_axis, down))
    return np.array([jaw, eyes, mouth]) * np.array(YAW_CUE_GAINS)


def estimate_yaw(points: np.ndarray) -> float:
    """Yaw (unitless, see :func:`yaw_cues`): the median of the three cues, so one wrong landmark group (nose, eye
    corners or jaw) moves it less than it moves a single cue."""
    return float(np.median(yaw_cues(points)))


def estimate_roll(points: np.ndarray) -> float:
    """Roll in degrees: the eye line's angle (centre of 36-41 to centre of 42-47) to the image x axis, positive
    when it descends toward the image right (clockwise on screen)."""
    x_axis, _ = face_frame(points)
    return float(np.degrees(np.arctan2(x_axis[1], x_axis[0])))


def jaw_in_order(points: np.ndarray) -> bool:
    """Whether jaw points 0..16 sweep one way around the face centre (midpoint of 27 and 8): every step turns
    clockwise on screen (image left → chin → image right; steps of 8.6°-25.6° on the 48 CelebA-HQ faces)."""
    pts = points.astype(np.float64)
    rel = pts[0:17] - (pts[27] + pts[8]) / 2
    steps = np.diff(np.unwrap(np.arctan2(rel[:, 1], rel[:, 0])))
    return bool(np.all(steps < 0))


def jaw_concavity(points: np.ndarray) -> float:
    """Depth (px) of the jaw point (0-16) deepest inside the jaw's convex hull; 0 for a convex contour."""
    jaw = np.ascontiguousarray(points[0:17], np.float32)
    hull = cv2.convexHull(jaw)
    return max(0.0, max(cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x, y in jaw))


@dataclass(frozen=True)
class FacePose:
    """Pose and shape of one landmark fit (:func:`face_pose`): ``yaw`` (:func:`estimate_yaw`) and its three cues;
    ``roll`` (degrees, :func:`estimate_roll`); ``width`` jaw width |16 − 0| px; ``height`` nose bridge 27 to chin
    8 along the face's down axis, px; ``aspect`` = width / height; ``chin_drop`` = nose tip 30 to chin along the
    down axis, over ``height``; ``concavity`` px (:func:`jaw_concavity`); ``jaw_ordered`` (:func:`jaw_in_order`)."""

    yaw: float
    yaw_cues: tuple[float, float, float]
    roll: float
    width: float
    height: float
    aspect: float
    chin_drop: float
    concavity: float
    jaw_ordered: bool


def face_pose(points: np.ndarray) -> FacePose:
    """The :class:`FacePose` of (68, 2) dlib landmarks."""
    pts = points.astype(np.float64)
    _, down = face_frame(pts)
    width = float(np.linalg.norm(pts[16] - pts[0]))
    height = float((pts[8] - pts[27]) @ down)
    chin_drop = float((pts[8] - pts[30]) @ down) / height if height > 1e-6 else float("-inf")
    cues = yaw_cues(pts)
    return FacePose(yaw=float(np.median(cues)), yaw_cues=tuple(float(c) for c in cues),  # type: ignore[arg-type]
                    roll=estimate_roll(pts), width=width, height=height,
                    aspect=width / height if height > 1e-6 else float("inf"), chin_drop=chin_drop,
                    concavity=jaw_concavity(pts), jaw_ordered=jaw_in_order(pts))


def silhouette_polygons(points: np.ndarray, neck_length: float) -> list[np.ndarray]:
    """Face and neck outline (float32 polygons, image px): the jaw 0..16 closed over the brows 26..17, and the
    neck: the band between jaw points 4 and 12 extended down the face axis by ``neck_length`` × the nose-bridge
    (27) to chin (8) height."""
    pts = points.astype(np.float32)
    _, down = face_frame(pts)
    height = max(float((pts[8] - pts[27]) @ down), 1.0)
    drop = (down * neck_length * height).astype(np.float32)
    face = np.concatenate([pts[0:17], pts[26:16:-1]])
    neck = np.stack([pts[4], pts[12], pts[12] + drop, pts[4] + drop])
    return [face, neck]


def silhouette_weight(points: np.ndarray, window: tuple[int, int, int, int], margin: float, feather: float,
                      neck_length: float) -> np.ndarray:
    """Soft face + neck silhouette (:func:`silhouette_polygons`) over ``window`` (x0, y0, x1, y1, exclusive; image
    px), float32 in [0, 1]: 1 inside the polygons and up to ``margin`` − ``feather`` / 2 px outside them, a linear
    ramp to exactly 0 at ``margin`` + ``feather`` / 2 px."""
    x0, y0, x1, y1 = window
    pad = int(np.ceil(margin + feather)) + 2
    canvas = np.zeros((y1 - y0 + 2 * pad, x1 - x0 + 2 * pad), np.uint8)
    shift = np.array([x0 - pad, y0 - pad], np.float32)
    for polygon in silhouette_polygons(points, neck_length):
        cv2.fillPoly(canvas, [np.round((polygon - shift) * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    distance = cv2.distanceTransform(255 - canvas, cv2.DIST_L2, 3)[pad:-pad, pad:-pad]
    return np.clip((margin - distance) / max(feather, 1e-3) + 0.5, 0, 1).astype(np.float32)


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


@dataclass(frozen=True)
class SkinLighting:
    """A low-order fit of the face's luminance (:func:`fit_skin_lighting`): Y ≈ c · [1, u, v, u², uv, v²] with
    u / v the offsets from ``origin`` along ``x_axis`` / ``down``, in units of ``scale`` px; ``u_range`` /
    ``v_range`` the extent of the skin samples (the field is constant beyond it: a quadratic is not extrapolated);
    ``median`` the fit's median over the samples."""

    coeffs: np.ndarray
    origin: np.ndarray
    x_axis: np.ndarray
    down: np.ndarray
    scale: float
    u_range: tuple[float, float]
    v_range: tuple[float, float]
    median: float

    def _uv(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = (xy - self.origin) / self.scale
        return rel @ self.x_axis, rel @ self.down

    def values(self, xy: np.ndarray) -> np.ndarray:
        """The fitted luminance at pixel centres ``xy`` (..., 2), u and v clamped to the sampled ranges."""
        u, v = self._uv(xy)
        u, v = np.clip(u, *self.u_range), np.clip(v, *self.v_range)
        return _quadratic_terms(u, v) @ self.coeffs

    def field(self, window: tuple[int, int, int, int], clip: tuple[float, float]) -> np.ndarray:
        """Relative lighting over ``window`` (x0, y0, x1, y1, exclusive; image px): the fit over its median,
        clipped to ``clip``; (y1 − y0, x1 − x0) float32. Evaluated every ``step`` px (1/32 of ``scale``) and
        resized bilinearly, the coarse samples placed so that cv2.resize lands them on their own pixels."""
        x0, y0, x1, y1 = window
        step = max(1, int(self.scale // 32))
        offset = (step - 1) / 2
        xs = x0 + offset + step * np.arange(-(-(x1 - x0) // step), dtype=np.float32)
        ys = y0 + offset + step * np.arange(-(-(y1 - y0) // step), dtype=np.float32)
        grid_x, grid_y = np.meshgrid(xs, ys)
        coarse = np.clip(self.values(np.stack([grid_x, grid_y], axis=-1)) / self.median, *clip).astype(np.float32)
        if step > 1:
            coarse = cv2.resize(coarse, None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(coarse[: y1 - y0, : x1 - x0])


def _quadratic_terms(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[1, u, v, u², uv, v²] stacked on a new last axis."""
    return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=-1)


def _least_squares(terms: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """Coefficients minimising |terms @ c − values|² by the normal equations (6 well-scaled terms: u, v are
    within about ±1), float64; None when singular."""
    terms = terms.astype(np.float64)
    try:
        return np.linalg.solve(terms.T @ terms, terms.T @ values.astype(np.float64))
    except np.linalg.LinAlgError:
        return None


def skin_samples(image: np.ndarray, points: np.ndarray, label: np.ndarray | None,
                 grid: int = LIGHT_GRID) -> tuple[np.ndarray, np.ndarray]:
    """Luminance (0.299 R + 0.587 G + 0.114 B) of the visible skin on a grid about ``grid`` cells across the face:
    (xy (n, 2) image px at cell centres, Y (n,)). Skin = inside the jaw closed over the brows (0-26), outside the
    eyes, brows, nostrils and lips (their hulls grown by 4 % of the face width) and, with a label map, of class 1
    (CelebAMask-HQ skin)."""
    face = np.concatenate([points[0:17], points[26:16:-1]]).astype(np.float32)
    height, width = image.shape[:2]
    x0, y0 = np.maximum(np.floor(face.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(face.max(axis=0)).astype(int) + 1, (width, height))
    face_width = max(float(np.linalg.norm(points[16] - points[0])), 1.0)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32)
    factor = min(1.0, grid / face_width)
    size = (max(2, round((x1 - x0) * factor)), max(2, round((y1 - y0) * factor)))
    small = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA).astype(np.float32)
    fx, fy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    to_small = np.array([fx, fy], np.float32)
    skin = np.zeros((size[1], size[0]), np.uint8)
    cv2.fillPoly(skin, [np.round((face - (x0, y0)) * to_small * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    grow = max(1, round(0.04 * face_width * factor))
    for part in (points[36:42], points[42:48], points[17:22], points[22:27], points[31:36], points[48:60]):
        hull = cv2.convexHull(np.round((part - (x0, y0)) * to_small * 16).astype(np.int32))
        cv2.fillPoly(skin, [hull], 0, cv2.LINE_8, shift=4)
        cv2.polylines(skin, [hull], True, 0, 2 * grow, cv2.LINE_8, shift=4)
    if label is not None:
        skin &= (cv2.resize(label[y0:y1, x0:x1], size, interpolation=cv2.INTER_NEAREST) == 1).astype(np.uint8)
    rows, cols = np.nonzero(skin)
    xy = np.stack([x0 + (cols + 0.5) / fx - 0.5, y0 + (rows + 0.5) / fy - 0.5], axis=1).astype(np.float32)
    luminance = small[rows, cols] @ np.array([0.299, 0.587, 0.114], np.float32)
    return xy, luminance


def fit_skin_lighting(image: np.ndarray, points: np.ndarray, label: np.ndarray | None) -> SkinLighting | None:
    """Least-squares quadratic of the skin luminance (:func:`skin_samples`) over face coordinates (origin midway
    between 27 and 8, axes of :func:`face_frame`, unit = jaw width), refitted once without the samples beyond 2.5
    robust standard deviations (1.4826 × MAD: specular spots, stubble, stray hair). None when fewer than
    MIN_SKIN_SAMPLES samples remain or the median luminance is below 1."""
    xy, luminance = skin_samples(image, points, label)
    if len(luminance) < MIN_SKIN_SAMPLES:
        return None
    pts = points.astype(np.float64)
    x_axis, down = face_frame(pts)
    scale = max(float(np.linalg.norm(pts[16] - pts[0])), 1.0)
    origin = (pts[27] + pts[8]) / 2
    rel = (xy - origin) / scale
    u, v = rel @ x_axis, rel @ down
    terms, keep = _quadratic_terms(u, v), np.ones(len(u), bool)
    for _ in range(2):
        coeffs = _least_squares(terms[keep], luminance[keep])
        if coeffs is None:
            return None
        residual = luminance - terms @ coeffs
        spread = 1.4826 * float(np.median(np.abs(residual[keep] - np.median(residual[keep]))))
        keep = np.abs(residual) <= 2.5 * spread + 1e-3
        if np.count_nonzero(keep) < MIN_SKIN_SAMPLES:
            return None
    median = float(np.median(terms[keep] @ coeffs))
    if median < 1:
        return None
    return SkinLighting(coeffs, origin, x_axis, down, scale, (float(u[keep].min()), float(u[keep].max())),
                        (float(v[keep].min()), float(v[keep].max())), median)


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


def fit_homography(src: np.ndarray, dst: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Least-squares template → face homography over the six anchor pairs and its Jacobian determinant at the
    template centre (image px² per template px²); SampleError when implausible (:func:`_check_fit`)."""
    homography, _ = cv2.findHomography(src.astype(np.float64), dst.astype(np.float64), 0)
    return homography, _check_fit(homography, src, dst, shape)


def apply_fabric(rgba: np.ndarray, rng: np.random.Generator, strength: float, period: float) -> np.ndarray:
    """``rgba`` with its RGB times 1 + ``strength`` × :func:`~occbench.faces.templates.fabric_weave` (threads
    ``period`` template px apart); alpha unchanged."""
    factor = 1 + strength * fabric_weave(rng, rgba.shape[0], rgba.shape[1], period)
    return cv2.multiply(rgba, cv2.merge([factor, factor, factor, np.ones_like(factor)]), dtype=cv2.CV_8U)


@dataclass(frozen=True)
class FaceMaskComposite(Generator):
    """Face masks warped onto dlib landmarks (registry name "facemask").

    Args:
        mask_types: types drawn uniformly by the rng. None = all available: the five built-in types (surgical,
            cloth, n95, kn95, scarf), or every type in the MaskTheFace cfg (base name before the first "_",
            lower case: surgical, n95, kn95, cloth, gas; MaskTheFace has no scarf).
        templates: "builtin" (drawn by occbench) or "masktheface" (needs a folder with ``masks.cfg``:
            ``--assets-dir``; its ``textures/`` join the texture choices).
        color: "palette" (a realistic per-type colour drawn by the rng; MaskTheFace templates keep their own
            colours), "random" (random hue), or (r, g, b). Non-palette colours tint MaskTheFace templates
            (their luminance, normalised to its median, times the colour).
        texture_probability: chance that a texture (procedural check / stripes / dots, plus MaskTheFace's
            textures when loaded) is tiled and multiplied inside the mask.
        valve_probability: chance that a built-in N95 has an exhalation valve.
        brightness_match: scale the template's RGB (hence its HSV value) toward the face's median cheek
            brightness by (face / template) ** ``brightness_strength``, clipped to [0.5, 1.6] (global level).
        brightness_strength: 0 = no change, 1 = match the medians exactly.
        lighting_strength: exponent of the face's relative skin lighting (:func:`fit_skin_lighting`: a quadratic
            fit of the visible skin's luminance, over its median, clipped to LIGHTING_CLIP [0.5, 1.5]) multiplied
            into the warped mask's RGB, so a face lit from one side gets a mask darker on the other. The field has
            median 1 on the skin, so it shapes the light and ``brightness_match`` sets the level. 0 = off; 0.8
            keeps most of the shading while allowing for the skin's own albedo (beard, make-up) in the fit.
        fabric_strength: amplitude of a fine woven texture (:func:`~occbench.faces.templates.fabric_weave`,
            threads FABRIC_PERIOD_PX = 3 image px apart once warped) multiplied into the template per sample:
            RGB × (1 + strength × pattern), pattern in [-1, 1]. 0 = off (and no rng draw).
        keep_front_classes: label classes in front of the face that the mask goes behind: where a label map is
            given and holds one of these values, the mask's alpha is 0 (pixels stay the target's, outside the
            mask). Default CelebAMask-HQ eyeglasses (3) and hair (13); () = off. Values are label values, so
            other label schemes need their own.
        clip_to_silhouette: multiply the warped alpha by the face + neck silhouette (:func:`silhouette_weight`),
            so no mask (a scarf in particular) spills past the jaw onto background or shoulders; the fraction of
            the in-image alpha removed is recorded (``silhouette_clipped``).
        silhouette_margin: the silhouette reaches this fraction of the jaw width past the jaw contour and the
            neck band, with a soft edge of 2 % of the width. At 0.06 the clip removes on the 48 CelebA-HQ faces
            (256 and 512 px) on average 1.6 % of a surgical mask's alpha (ear-loop ends), 1.9 % of a KN95's, under
            0.1 % of a cloth or N95 mask and 9 % (at most 17 %) of a scarf (its sides beyond the neck).
        neck_length: the neck band below the jaw (between jaw points 4 and 12) extends this many nose-bridge
            (27) to chin (8) heights down the face axis; the scarf reaches about 0.6 × the b-e distance below
            the chin.
        yaw_threshold: |yaw| (:func:`estimate_yaw`) above which the "_left" / "_right" variant is used, when
            the template has one. 0.5: the 48 aligned CelebA-HQ faces (256 and 512 px) reach |yaw| 0.41
            (28182.jpg, then 0.34) and must stay frontal; margin 0.09. Clearly turned wild faces (3/4 views,
            30-60°) measure 0.58-0.81.
        max_yaw: |yaw| beyond which the fit is rejected (profile: the nose tip is within 15 % of the half face
            width of the far jaw contour and no template homography can follow the face). 3/4-view wild faces
            with usable landmarks measured up to 0.81.
        max_roll: |roll| in degrees (:func:`estimate_roll`) beyond which the fit is rejected: CelebA-HQ faces
            are within 4.9°, wild faces with correct landmarks reach 34° (a skater's tilted head); dlib's
            frontal detector and landmark model are not made for more.
        aspect_range: accepted jaw width (|16 − 0|) over the nose bridge (27) to chin (8) height along the face
            axis: the 48 CelebA-HQ faces measure 1.07-1.39, wild faces with correct landmarks 1.02-1.58 (a chin
            resting on hands); (0.8, 1.65) widens the CelebA-HQ range by 25 % below (turned faces narrow) and 18 %
            above; a jaw snapped onto a camera beside the face (skimage camera.png, cnn detector) measures 1.75.
        min_chin_drop: least distance from the nose tip 30 down to the chin 8 along the face axis, as a fraction
            of the 27-to-8 height: CelebA-HQ 0.59-0.74, wild 0.54 (head bowed); 0.3 leaves room for pitch.
        max_jaw_concavity: the deepest jaw point (0-16) may lie at most this fraction of the jaw width plus 1 px
            (landmark noise on small faces) inside the jaw's convex hull: CelebA-HQ reach 0.010, wild faces
            over 50 px 0.012; a jaw that follows a glasses arm or a hair line measures about 0.1.
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
    lighting_strength: float = 0.8
    fabric_strength: float = 0.03
    keep_front_classes: tuple[int, ...] = (CLASS_INDEX["eyeglasses"], CLASS_INDEX["hair"])
    clip_to_silhouette: bool = True
    silhouette_margin: float = 0.06
    neck_length: float = 1.0
    yaw_threshold: float = 0.5
    max_yaw: float = 0.85
    max_roll: float = 40.0
    aspect_range: tuple[float, float] = (0.8, 1.65)
    min_chin_drop: float = 0.3
    max_jaw_concavity: float = 0.03
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
        for name in ("texture_probability", "valve_probability", "min_inside", "brightness_strength",
                     "lighting_strength"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}: Expected a value in [0, 1], but got {getattr(self, name)!r}")
        self._check_ranges()
        self._check_limits()

    def _check_ranges(self) -> None:
        """Validate the compositing parameters (module docstring of the class)."""
        if not 0 <= self.fabric_strength <= 0.2:
            raise ValueError(f"fabric_strength: Expected a value in [0, 0.2], but got {self.fabric_strength!r}")
        classes = self.keep_front_classes
        if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c <= 255 for c in classes):
            raise ValueError(f"keep_front_classes: Expected label values in 0..255, but got {classes!r}")
        if not 0 <= self.silhouette_margin <= 0.5:
            raise ValueError(f"silhouette_margin: Expected a value in [0, 0.5], but got {self.silhouette_margin!r}")
        if not 0 <= self.neck_length <= 5:
            raise ValueError(f"neck_length: Expected a value in [0, 5], but got {self.neck_length!r}")
        for name in ("area_range", "aspect_range"):
            lo, hi = getattr(self, name)
            if not 0 < lo < hi:
                raise ValueError(f"{name}: Expected 0 < lo < hi, but got {getattr(self, name)!r}")

    def _check_limits(self) -> None:
        """Validate the landmark-plausibility limits."""
        if not 0 < self.max_yaw:
            raise ValueError(f"max_yaw: Expected > 0, but got {self.max_yaw!r}")
        if not 0 <= self.yaw_threshold < self.max_yaw:
            raise ValueError(f"yaw_threshold: Expected a value in [0, max_yaw = {self.max_yaw}), but got "
                             f"{self.yaw_threshold!r}")
        if not 0 < self.max_roll <= 180:
            raise ValueError(f"max_roll: Expected degrees in (0, 180], but got {self.max_roll!r}")
        if not -1 <= self.min_chin_drop < 1:
            raise ValueError(f"min_chin_drop: Expected a value in [-1, 1), but got {self.min_chin_drop!r}")
        if self.max_jaw_concavity < 0:
            raise ValueError(f"max_jaw_concavity: Expected >= 0, but got {self.max_jaw_concavity!r}")

    @property
    def needs_dir(self) -> bool:  # type: ignore[override]
        """MaskTheFace templates are read from ``--assets-dir``; built-in ones need no files."""
        return self.templates == "masktheface"

    def setup(self, assets_dir: Path | None) -> None:
        """Draw the built-in templates, or read the MaskTheFace templates and textures of ``assets_dir``."""
        textures: list[tuple[str, np.ndarray]] = []
        sets: dict[str, dict[str, dict[str, MaskTemplate]]] = {}
        if self.templates == "masktheface":
            if assets_dir is None:
                raise OccbenchError("facemask: templates 'masktheface' needs --assets-dir, the MaskTheFace folder "
                                    "holding masks.cfg (or its parent)")
            for base, variants in load_masktheface(assets_dir).items():
                sets.setdefault(mask_type_of(base), {})[base] = variants
            wanted = self.mask_types or tuple(sets)
            missing = [t for t in wanted if t not in sets]
            if missing:
                raise OccbenchError(f"{assets_dir}: no MaskTheFace template of type(s) {', '.join(missing)}; "
                                    f"available: {', '.join(sorted(sets))}")
            textures = [(p.stem, read_texture(p)) for p in list_textures(assets_dir)]
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
        if label is not None and label.shape != target.shape[:2]:
            raise ValueError(f"label: Expected an {target.shape[:2]} map like the target, but got {label.shape}")
        if not self._ready:
            if self.needs_dir:
                raise RuntimeError("FaceMaskComposite.setup(assets_dir) must run before generate")
            self.setup(None)
        if faces is None:
            from occbench.faces.detection import FaceDetector

            faces = FaceDetector().find(target).faces
        occluded, mask, drawn = target, np.zeros(target.shape[:2], np.uint8), []
        for face in faces:
            occluded, face_mask, params = self._mask_face(occluded, face, rng, label)
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

    def check_pose(self, pose: FacePose) -> None:
        """SampleError ("implausible landmark fit: ...") when the landmarks break a plausibility limit."""
        reason = None
        if not pose.jaw_ordered:
            reason = "jaw points out of order (the contour turns back around the face centre)"
        elif pose.chin_drop < self.min_chin_drop:
            reason = f"chin not below the nose (drop {pose.chin_drop:.2f} of the face height < {self.min_chin_drop})"
        elif abs(pose.yaw) > self.max_yaw:
            reason = f"|yaw| {abs(pose.yaw):.2f} > max_yaw {self.max_yaw} (profile face)"
        elif abs(pose.roll) > self.max_roll:
            reason = f"|roll| {abs(pose.roll):.1f}° > max_roll {self.max_roll}°"
        elif not self.aspect_range[0] <= pose.aspect <= self.aspect_range[1]:
            reason = (f"face aspect {pose.aspect:.2f} (jaw width / bridge-to-chin height) outside "
                      f"{self.aspect_range[0]}..{self.aspect_range[1]}")
        elif pose.concavity > self.max_jaw_concavity * pose.width + 1:
            reason = (f"jaw contour not convex (a point {pose.concavity:.1f} px = {pose.concavity / pose.width:.3f} "
                      f"of the jaw width inside its hull > {self.max_jaw_concavity} + 1 px)")
        if reason is not None:
            raise SampleError(f"implausible landmark fit: {reason}")

    def _mask_face(self, target: np.ndarray, face: FaceLandmarks, rng: np.random.Generator,
                   label: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """One mask on one face: (occluded image, its 0/1 mask, the values drawn)."""
        pose = face_pose(face.points)
        self.check_pose(pose)
        variant = "left" if pose.yaw < -self.yaw_threshold else "right" if pose.yaw > self.yaw_threshold else "front"
        types = self._types()
        kind = types[int(rng.integers(len(types)))]
        template, info = self._template(kind, variant, rng)
        dst = target_points(face.points)
        homography, det = fit_homography(template.anchors, dst, template.rgba.shape[:2])
        rgba = template.rgba
        if self.fabric_strength > 0:
            period = max(MIN_FABRIC_PERIOD, FABRIC_PERIOD_PX / np.sqrt(det))
            rgba = apply_fabric(rgba, rng, self.fabric_strength, period)
        scale = 1.0
        if self.brightness_match:
            face_v, mask_v = cheek_brightness(target, face.points), template_brightness(rgba)
            if np.isfinite(face_v) and np.isfinite(mask_v) and mask_v > 0:
                scale = float(np.clip((max(face_v, 1.0) / mask_v) ** self.brightness_strength, *BRIGHTNESS_CLIP))
                rgba = cv2.multiply(rgba, (scale, scale, scale, 1.0))
        lighting = fit_skin_lighting(target, face.points, label) if self.lighting_strength > 0 else None
        occluded, mask, stats = self._composite(target, rgba, template.anchors, dst, face, label, lighting)
        x0, y0, x1, y1 = face.box
        box_area = max(1, (x1 - x0) * (y1 - y0))
        in_box = int(np.count_nonzero(mask[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]))
        params = {
            "mask_type": kind, "template": template.name, "variant": template.variant, **info,
            "yaw": round(pose.yaw, 4), "yaw_cues": [round(c, 4) for c in pose.yaw_cues], "roll": round(pose.roll, 2),
            "brightness_scale": round(scale, 4), **stats,
            "points": {n: [round(float(x), 1), round(float(y), 1)] for n, (x, y) in zip(ANCHOR_NAMES, dst)},
            "face_box": list(face.box),
            "face_fraction": round(in_box / box_area, 5),
        }
        return occluded, mask, params

    def _composite(self, target: np.ndarray, rgba: np.ndarray, src: np.ndarray, dst: np.ndarray,
                   face: FaceLandmarks, label: np.ndarray | None = None,
                   lighting: SkinLighting | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Warp ``rgba`` (anchors ``src``) onto ``dst``, clip it to the face silhouette, leave the keep-front label
        classes uncovered, shade it with ``lighting`` and alpha-blend; returns (occluded, mask, recorded stats)."""
        homography, det = fit_homography(src, dst, rgba.shape[:2])
        height, width = target.shape[:2]
        th, tw = rgba.shape[:2]
        corners = cv2.perspectiveTransform(np.array([[[0, 0], [tw, 0], [0, th], [tw, th]]], np.float64),
                                           homography)[0]
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        if x1 <= x0 or y1 <= y0:
            raise SampleError("implausible landmark fit: the warped mask lies outside the image")
        shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
        warped = cv2.warpPerspective(rgba, shift @ homography, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        self._check_area(warped[..., 3], float(np.count_nonzero(rgba[..., 3] > 127)) * det, face)
        window = (int(x0), int(y0), int(x1), int(y1))
        alpha, stats = self._visible_alpha(warped[..., 3], window, face, label)
        rgb = warped[..., :3].astype(np.float32)
        stats["lighting_range"] = None
        if lighting is not None:
            light = lighting.field(window, LIGHTING_CLIP) ** self.lighting_strength
            rgb = np.minimum(cv2.multiply(rgb, cv2.merge([light, light, light])), 255)
            inside = alpha > 0
            stats["lighting_range"] = [round(float(light[inside].min()), 3), round(float(light[inside].max()), 3)] \
                if inside.any() else None
        region = target[y0:y1, x0:x1]
        blended = cv2.blendLinear(rgb, region.astype(np.float32), alpha, 1 - alpha)
        region_mask = alpha > 0
        out_region = region.copy()
        np.copyto(out_region, cv2.convertScaleAbs(blended), where=region_mask[..., None])  # rounds, saturates
        occluded = target.copy()
        occluded[y0:y1, x0:x1] = out_region
        mask = np.zeros((height, width), np.uint8)
        mask[y0:y1, x0:x1] = region_mask
        return occluded, mask, stats

    def _check_area(self, warped_alpha: np.ndarray, full_area: float, face: FaceLandmarks) -> None:
        """SampleError when the warped mask's area (alpha > 127, before any clipping) is outside ``area_range`` ×
        the face box area, or less than ``min_inside`` of its full area (``full_area``) is inside the image."""
        area = int(np.count_nonzero(warped_alpha > 127))
        box_area = max(1, face.box_area)
        lo, hi = self.area_range
        if not lo <= area / box_area <= hi:
            raise SampleError(f"implausible landmark fit: warped mask area {area / box_area:.2f} of the face box "
                              f"(expected {lo}..{hi})")
        if full_area > 0 and area / full_area < self.min_inside:
            raise SampleError(f"implausible landmark fit: only {area / full_area:.0%} of the warped mask is inside "
                              "the image")

    def _visible_alpha(self, warped_alpha: np.ndarray, window: tuple[int, int, int, int], face: FaceLandmarks,
                       label: np.ndarray | None) -> tuple[np.ndarray, dict[str, Any]]:
        """Warped alpha (uint8) → float32 weight in [0, 1] after the silhouette clip and the keep-front classes;
        exactly 0 below ALPHA_EPS. Also the recorded fractions."""
        alpha = warped_alpha.astype(np.float32) * (1 / 255)
        total = float(alpha.sum())
        stats: dict[str, Any] = {}
        if self.clip_to_silhouette:
            face_width = max(float(np.linalg.norm(face.points[16] - face.points[0])), 1.0)
            alpha *= silhouette_weight(face.points, window, self.silhouette_margin * face_width,
                                       max(1.0, 0.02 * face_width), self.neck_length)
            stats["silhouette_clipped"] = round(1 - float(alpha.sum()) / total, 4) if total > 0 else 0.0
        if label is not None and self.keep_front_classes:
            x0, y0, x1, y1 = window
            front = np.isin(label[y0:y1, x0:x1], self.keep_front_classes)
            stats["kept_front_px"] = int(np.count_nonzero(front & (alpha >= ALPHA_EPS)))
            alpha[front] = 0
        alpha[alpha < ALPHA_EPS] = 0
        return alpha, stats
