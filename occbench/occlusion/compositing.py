"""Compositing helpers shared by the overlay generators (NatOcc, RandOcc). Masks: 1 = occluded.

Images are RGB uint8 ``(H, W, 3)``; cut-outs are RGBA uint8 ``(h, w, 4)`` with alpha > 0 on the occluder.
All lengths are pixels of the image being composited (protocol resolution). The defaults of the edge
treatment are the NatOcc reference's pixel values (kennyvoo/face-occlusion-generation,
``utils/paste_over.py``: alpha eroded by a 3x3 kernel once, then a 5x5 Gaussian blur; main script: a band
made by dilating and eroding the occluder mask with a 5x5 kernel twice, i.e. 4 px either side of the edge,
replaced by a 5x5-Gaussian-blurred copy of the composite).

The binary mask returned by :func:`composite` covers **every** pixel that differs from the target
(softened alpha > 0, or changed by the seam blur), so pixels outside the mask are exactly the target's.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from occbench.labels import OCCLUDER_CLASS


def _odd(ksize: int) -> int:
    return ksize if ksize % 2 == 1 else ksize + 1


def _lab(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 ``(..., 3)`` → float32 Lab (L 0–100, a/b about ±127), OpenCV's float conversion."""
    flat = rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def _rgb(lab: np.ndarray) -> np.ndarray:
    flat = cv2.cvtColor(lab.reshape(-1, 1, 3).astype(np.float32), cv2.COLOR_Lab2RGB).reshape(lab.shape)
    return np.clip(np.rint(flat * 255.0), 0, 255).astype(np.uint8)


def reinhard_transfer(rgba: np.ndarray, face_pixels: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Reinhard et al. (2001) colour transfer in Lab: match the occluder's per-channel mean/std to the face's.

    ``rgba``: the cut-out; statistics are taken over its alpha > 0 pixels. ``face_pixels``: ``(N, 3)`` RGB
    uint8 pixels of the face region. ``strength`` in [0, 1] blends original (0) and transferred (1) Lab
    values. Returns a new RGBA array (alpha unchanged). A flat channel (std < 1e-3) keeps its spread.
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength: Expected a value in [0, 1], but got {strength!r}")
    inside = rgba[:, :, 3] > 0
    out = rgba.copy()
    if strength == 0 or not inside.any() or len(face_pixels) == 0:
        return out
    src = _lab(rgba[:, :, :3][inside])
    ref = _lab(np.asarray(face_pixels, np.uint8).reshape(-1, 3))
    mu_s, sd_s = src.mean(axis=0), src.std(axis=0)
    mu_r, sd_r = ref.mean(axis=0), ref.std(axis=0)
    ratio = np.where(sd_s > 1e-3, sd_r / np.maximum(sd_s, 1e-3), 1.0)
    moved = (src - mu_s) * ratio + mu_r
    out[:, :, :3][inside] = _rgb(src + strength * (moved - src))
    return out


def sliced_ot_transfer(rgba: np.ndarray, face_pixels: np.ndarray, rng: np.random.Generator,
                       iterations: int = 10, strength: float = 1.0) -> np.ndarray:
    """Sliced optimal-transport colour transfer (Pitié et al. 2007; the NatOcc reference's GPU ``sot`` option).

    Each iteration projects occluder and face RGB values (0–1) on a random orthonormal basis drawn from
    ``rng`` and moves every occluder value along each axis to the face quantile of the same rank.
    ``strength`` blends original and transferred colours. Returns a new RGBA array (alpha unchanged).
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength: Expected a value in [0, 1], but got {strength!r}")
    inside = rgba[:, :, 3] > 0
    out = rgba.copy()
    if strength == 0 or not inside.any() or len(face_pixels) == 0:
        return out
    src0 = rgba[:, :, :3][inside].astype(np.float64) / 255.0
    ref = np.asarray(face_pixels, np.uint8).reshape(-1, 3).astype(np.float64) / 255.0
    src = src0.copy()
    ranks = (np.arange(len(src)) + 0.5) / len(src) * (len(ref) - 1)  # quantile positions in sorted ref
    for _ in range(iterations):
        basis, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        proj_s, proj_r = src @ basis, ref @ basis
        for axis in range(3):
            order = np.argsort(proj_s[:, axis], kind="stable")
            target = np.interp(ranks, np.arange(len(ref)), np.sort(proj_r[:, axis]))
            shift = np.empty(len(src))
            shift[order] = target - proj_s[order, axis]
            src += np.outer(shift, basis[:, axis])
    blended = src0 + strength * (src - src0)
    out[:, :, :3][inside] = np.clip(np.rint(blended * 255.0), 0, 255).astype(np.uint8)
    return out


def soften_alpha(alpha: np.ndarray, erode_px: int = 1, blur_ksize: int = 5) -> np.ndarray:
    """Erode ``alpha`` (uint8) by ``erode_px`` pixels (a ``2k+1`` square kernel), then Gaussian-blur it with
    a ``blur_ksize`` x ``blur_ksize`` kernel (odd; sigma from the size, OpenCV's rule; 0 or 1 = no blur)."""
    out = alpha
    if erode_px > 0:
        out = cv2.erode(out, np.ones((2 * erode_px + 1, 2 * erode_px + 1), np.uint8))
    if blur_ksize > 1:
        out = cv2.GaussianBlur(out, (_odd(blur_ksize), _odd(blur_ksize)), 0)
    return out


def seam_band(hard: np.ndarray, seam_px: int) -> np.ndarray:
    """Boolean band of ``seam_px`` pixels on both sides of the edge of the binary mask ``hard``."""
    if seam_px <= 0:
        return np.zeros(hard.shape, bool)
    kernel = np.ones((2 * seam_px + 1, 2 * seam_px + 1), np.uint8)
    hard = hard.astype(np.uint8)
    return (cv2.dilate(hard, kernel) > 0) & ~(cv2.erode(hard, kernel) > 0)


def composite(target: np.ndarray, rgba_placed: np.ndarray, *, erode_px: int = 1, blur_ksize: int = 5,
              seam_px: int = 4, seam_ksize: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alpha-blend an image-sized RGBA layer over ``target``; returns ``(occluded, mask, alpha)``.

    The layer's alpha is softened (:func:`soften_alpha`), blended, then a band of ``seam_px`` around the
    hard alpha edge is replaced by a ``seam_ksize`` Gaussian-blurred copy of the composite.
    ``mask`` (uint8, 1 = occluded) = softened alpha > 0 OR any channel changed; ``alpha`` is the softened
    uint8 alpha actually used.
    """
    if rgba_placed.shape[:2] != target.shape[:2] or rgba_placed.shape[2] != 4:
        raise ValueError(f"rgba_placed: Expected shape {target.shape[:2] + (4,)}, but got {rgba_placed.shape}")
    occluded = target.copy()
    alpha = np.zeros(target.shape[:2], np.uint8)
    ys, xs = np.nonzero(rgba_placed[:, :, 3])
    if xs.size:  # work in the occluder's box grown by the seam band and the blur radii
        pad = seam_px + (seam_ksize + blur_ksize) // 2 + 2
        y0, x0 = max(0, ys.min() - pad), max(0, xs.min() - pad)
        y1, x1 = min(target.shape[0], ys.max() + 1 + pad), min(target.shape[1], xs.max() + 1 + pad)
        layer, base = rgba_placed[y0:y1, x0:x1], target[y0:y1, x0:x1]
        soft = soften_alpha(layer[:, :, 3], erode_px, blur_ksize)
        a = soft.astype(np.float32)[:, :, None] / 255.0
        blend = a * layer[:, :, :3].astype(np.float32) + (1.0 - a) * base.astype(np.float32)
        roi = np.clip(np.rint(blend), 0, 255).astype(np.uint8)
        band = seam_band(layer[:, :, 3] > 0, seam_px)
        if band.any() and seam_ksize > 1:
            blurred = cv2.GaussianBlur(roi, (_odd(seam_ksize), _odd(seam_ksize)), 0)
            roi[band] = blurred[band]
        occluded[y0:y1, x0:x1] = roi
        alpha[y0:y1, x0:x1] = soft
    mask = ((alpha > 0) | (occluded != target).any(axis=-1)).astype(np.uint8)
    return occluded, mask, alpha


def label_after_occlusion(label: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Labels after occlusion: ``label`` with mask pixels set to :data:`OCCLUDER_CLASS` (19)."""
    out = np.array(label, dtype=np.uint8, copy=True)
    out[mask > 0] = OCCLUDER_CLASS
    return out


def affine_matrix(size: tuple[int, int], scale: float, angle_deg: float, shear_deg: float,
                  centre: tuple[float, float]) -> np.ndarray:
    """2x3 matrix mapping a ``size = (w, h)`` cut-out: scale, x-shear, rotation, then its centre to ``centre``.

    ``angle_deg`` is counter-clockwise as seen on screen (OpenCV's convention); ``shear_deg`` shears x by
    ``tan(shear) * y``. Pixel centres: the cut-out's centre is ``((w - 1) / 2, (h - 1) / 2)``.
    """
    w, h = size
    t = math.radians(angle_deg)
    rot = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    shear = np.array([[1.0, math.tan(math.radians(shear_deg))], [0.0, 1.0]])
    linear = rot @ shear * scale
    c_src = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    offset = np.asarray(centre, np.float64) - linear @ c_src
    return np.hstack([linear, offset[:, None]])


def place_affine(rgba: np.ndarray, out_hw: tuple[int, int], scale: float, angle_deg: float, shear_deg: float,
                 centre: tuple[float, float]) -> np.ndarray:
    """Warp a cut-out into an ``out_hw`` RGBA layer (zero outside) with :func:`affine_matrix`.

    Downscaling is done first with INTER_AREA (no aliasing), the rest with ``cv2.warpAffine`` (bilinear,
    ``borderValue=0``) on premultiplied colours, so no dark fringe comes from RGB = 0 outside the alpha.
    """
    h, w = rgba.shape[:2]
    src = rgba
    if scale < 1.0:
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
        src = cv2.resize(rgba, new, interpolation=cv2.INTER_AREA)
    sx, sy = src.shape[1] / w, src.shape[0] / h
    matrix = affine_matrix((w, h), scale, angle_deg, shear_deg, centre) @ np.array(
        [[1 / sx, 0, (1 / sx - 1) * 0.5], [0, 1 / sy, (1 / sy - 1) * 0.5], [0, 0, 1]])
    corners = np.array([[-0.5, -0.5, 1], [src.shape[1] - 0.5, -0.5, 1], [-0.5, src.shape[0] - 0.5, 1],
                        [src.shape[1] - 0.5, src.shape[0] - 0.5, 1]]) @ matrix.T
    x0, y0 = (max(0, math.floor(v) - 1) for v in corners.min(axis=0))
    x1, y1 = min(out_hw[1], math.ceil(corners[:, 0].max()) + 2), min(out_hw[0], math.ceil(corners[:, 1].max()) + 2)
    out = np.zeros((out_hw[0], out_hw[1], 4), np.uint8)
    if x1 <= x0 or y1 <= y0:
        return out
    shifted = matrix - np.array([[0, 0, x0], [0, 0, y0]])  # warp only the occluder's box
    pre = src.astype(np.float32)
    pre[:, :, :3] *= pre[:, :, 3:] / 255.0
    warped = cv2.warpAffine(pre, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = warped[:, :, 3:]
    colour = np.where(alpha > 1e-3, warped[:, :, :3] * 255.0 / np.maximum(alpha, 1e-3), 0.0)
    roi = out[y0:y1, x0:x1]
    roi[:, :, :3] = np.clip(np.rint(colour), 0, 255)
    roi[:, :, 3] = np.clip(np.rint(alpha[:, :, 0]), 0, 255)
    roi[roi[:, :, 3] == 0, :3] = 0
    return out
