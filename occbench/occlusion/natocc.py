"""NatOcc: naturalistic object and hand overlays on faces. Masks: 1 = occluded (every changed pixel).

Voo, Jiang and Loy, "Delving into High-Quality Synthetic Face Occlusion Segmentation Datasets" (CVPRW 2022),
the occlusion generator of the SGIN paper's CelebA-HQ data (COCO objects and EgoHands hands). Facts taken from
the reference code (kennyvoo/face-occlusion-generation; ``utils/utils.py``, ``utils/paste_over.py`` and the
generator script's ``Occlusion_Generator.occlude_images``); the code here is occbench's own:

- Face box: the bounding box of the face mask (``cv2.boundingRect(src_mask)``).
- Size: the occluder is resized so that its box area is ``U(0.5, 1)`` of the face box area
  (``augment_occluder``: ``scale = sqrt(face_box_area / occluder_box_area * uniform(0.5, 1))``).
- Affine (albumentations ``A.Affine(scale=(0.8, 1.2), rotate=(-15, 15), shear=(-8, 8), p=0.7)``).
- Position: occluder centre ``uniform`` over the face box.
- Rotation toward the face centre (``ROTATE_AROUND_CENTER``): the occluder is turned by the angle between
  the vertical through the face centre and the line face centre → occluder centre (+180° below the centre).
  That assumes every cut-out is stored with the same orientation; occbench measures each hand's direction.
- Colour transfer to the face (GPU sliced optimal transport, ``color_transfer_sot``) before resizing.
- Edges: alpha eroded with a 3x3 kernel once and blurred with a 5x5 Gaussian; then a band of 4 px either side
  of the occluder edge (5x5 kernel dilated/eroded twice) is replaced by a 5x5-Gaussian-blurred copy.
- Occluders are drawn uniformly from one list of objects and hands (``random.choices``). SGIN's NatOcc data
  used 128 COCO objects of 20 categories and 200 EgoHands hands (SGIN paper, "Face Occlusion Datasets").

occbench's choices and deviations (defaults in brackets):

- Face box ``face_box`` ["auto"]: from labels (box of CelebAMask-HQ classes 1-13, face and hair) when the source
  has them, else the faces the build detected on the full-resolution source (protocol section ``faces``,
  :mod:`occbench.faces.detection`: detector, score threshold, multi-face policy; one occluder per face under policy
  ``all``); no face → SampleError with the detector's reason. NatOcc's own face mask excludes hair in its dataset
  definition, so at the same ``area_fraction`` occbench's occluders are somewhat larger.
- Kind: ``hand_probability`` [200 / 328 = 0.6098] draws "hand" with that probability, else "object". The
  default is the hand share of SGIN's setting: the reference draws uniformly from one list, there of 128 objects
  and 200 hands, so P(hand) = 200 / (200 + 128). Drawing the kind first keeps that share whatever the bank's
  counts (a bank of many COCO objects and a few hands would otherwise almost never give a hand).
  None: no kind draw, one list of all eligible entries drawn uniformly (the reference's ``random.choices``;
  needs ``balance`` "entry"). ``kinds`` ["object", "hand"] restricts the kinds (with one kind every draw is of
  that kind); ``categories`` [None = all] filters objects only (hands are always eligible when "hand" is in
  ``kinds``). Setup fails when the bank has no eligible entry of a kind that can be drawn (probability > 0).
- Object ``balance`` ["category"]: a category uniformly among the eligible object categories, then an entry
  uniformly within it, so that 500 cups do not drown 3 umbrellas (SGIN's curated 128 objects averaged 6.4 per
  category; COCO-derived banks are far more skewed); "entry": uniform over the eligible objects. Hands are
  drawn uniformly over their entries (EgoHands categories myleft, ... are not balanced). ``params`` records
  ``kind``, ``category`` and ``entry_id``.
- Box area fraction ``area_fraction`` [0.5, 1.0] of the face box, before the affine jitter: with probability
  ``affine_probability`` [0.7] a scale factor ``scale_jitter`` [0.8, 1.2], a rotation ``rotation_deg``
  [-15, 15] and an x-shear ``shear_deg`` [-8, 8] degrees are applied (else 1, 0, 0). The box area of the
  scaled, unrotated cut-out is thus ``area_fraction * scale_jitter**2`` of the face box (``params``
  records both); rotation enlarges the axis-aligned box and the image border may clip it.
- Position ``position`` ["face-box"]: occluder centre (the transformed centre of the cut-out's box) uniform in
  the face box shrunk by ``position_margin`` [0.0] of its width/height on each side; "image": anywhere.
- Hands (``point_hands`` [True]) are rotated so that their pointing direction points at the face centre, then
  the rotation jitter is added. Pointing direction of a cut-out: from the centroid of its alpha > 0 pixels to
  the mean of the 2 % of those pixels farthest from the centroid (the extremity: fingertips for a hand cut
  at the wrist). Limits: a cut-out with a long forearm points along the arm; a fist is nearly round and its
  direction arbitrary. Objects are not turned toward the face (the reference turns every occluder).
- Colour ``color_transfer`` ["reinhard"]: Lab mean/std matching (CPU); "sot": sliced OT (the reference's
  method, on the CPU, ``sot_iterations`` [10]); "none". ``color_strength`` [1.0] blends toward the transfer.
  Face pixels: label classes 1-12 (skin and features, no hair), or the face box without labels. The
  transfer is applied after placement (same result per pixel; cheaper).
- Edges ``erode_px`` [1], ``blur_ksize`` [5], ``seam_px`` [4], ``seam_ksize`` [5]: the reference's pixel values
  (it ran at 1024 px; occbench uses them at protocol resolution as they are).
- Not reproduced: the reference's whole-image augmentation (blur, flip, brightness) and the occluder's blur,
  JPEG and brightness/contrast jitter: they change pixels outside the occluder or the occluder's identity.

The bank (``--assets-dir``) is an occluder bank folder (``occbench build-occluders``); cut-outs are read on
first use and cached (``cache_size`` [64] per worker).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from occbench.bins import check_range, hole_ratio
from occbench.errors import OccbenchError, SampleError
from occbench.generator import GeneratedSample, Generator
from occbench.labels import foreground_mask
from occbench.occlusion.compositing import (
    composite,
    label_after_occlusion,
    place_affine,
    reinhard_transfer,
    sliced_ot_transfer,
)

Box = tuple[int, int, int, int]
FACE_BOX_MODES = ("auto", "labels", "landmarks")
POSITIONS = ("face-box", "image")
COLOR_TRANSFERS = ("reinhard", "sot", "none")
KINDS = ("object", "hand")
BALANCES = ("category", "entry")
SGIN_HAND_SHARE = 200 / (200 + 128)  # SGIN's NatOcc setting: 200 EgoHands hands, 128 COCO objects, one list
COLOR_CLASSES = tuple(range(1, 13))  # skin ... l_lip: the face without hair, for colour statistics


def label_face_box(label: np.ndarray) -> Box | None:
    """Box (x0, y0, x1, y1; x1, y1 exclusive) of classes 1-13, as ``occbench.faces.landmarks.face_box_from_label``
    (kept here so that labelled sources never import dlib)."""
    face = foreground_mask(label)
    rows = np.flatnonzero(face.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(face.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def box_area(box: Box) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def occlusion_stats(mask: np.ndarray, box: Box, label: np.ndarray | None) -> dict[str, float | None]:
    """Occluded fractions of the face box, of the face region (labels classes 1-13; None without) and image."""
    x0, y0, x1, y1 = box
    inside = mask[y0:y1, x0:x1]
    face_region = None
    if label is not None:
        fg = foreground_mask(label)
        face_region = float(np.count_nonzero(mask[fg])) / max(1, int(np.count_nonzero(fg)))
    return {"occluded_face_box": float(np.count_nonzero(inside)) / max(1, box_area(box)),
            "occluded_face": face_region, "occluded_image": hole_ratio(mask)}


def pointing_direction(alpha: np.ndarray, top: float = 0.02) -> np.ndarray | None:
    """Unit (dx, dy) image-coordinate vector from the alpha centroid to the mean of its farthest ``top`` pixels."""
    ys, xs = np.nonzero(alpha > 0)
    if xs.size == 0:
        return None
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    centroid = points.mean(axis=0)
    dist = np.hypot(*(points - centroid).T)
    far = points[dist >= np.quantile(dist, 1.0 - top)].mean(axis=0) - centroid
    norm = float(np.hypot(*far))
    return None if norm < 1e-6 else far / norm


def screen_angle(vector: np.ndarray) -> float:
    """Counter-clockwise angle (degrees, as seen on screen, y down) of an image-coordinate vector."""
    return math.degrees(math.atan2(-float(vector[1]), float(vector[0])))


@dataclass(frozen=True)
class FaceOverlay(Generator):
    """Shared fields and steps of the overlay generators: face box, position, edge treatment (see NatOcc).

    Faces come from the labels (``face_box`` "auto" with labels, or "labels"), else from the build's face stage
    (:mod:`occbench.faces.detection`: detected on the full-resolution source, the protocol's ``faces`` policy
    applied, boxes mapped into the target); called without them (a direct call), the target itself is searched
    with the default :class:`~occbench.faces.detection.FaceSettings`. Under policy ``all`` one occluder is drawn per
    face, in order, each composited over the previous ones.
    """

    uses_faces: ClassVar[bool] = True

    face_box: str = "auto"
    position: str = "face-box"
    position_margin: float = 0.0
    erode_px: int = 1
    blur_ksize: int = 5
    seam_px: int = 4
    seam_ksize: int = 5

    def __post_init__(self) -> None:
        choices = (("face_box", FACE_BOX_MODES), ("position", POSITIONS))
        for name, allowed in choices:
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: Expected one of {', '.join(allowed)}, but got {getattr(self, name)!r}")
        if not 0.0 <= self.position_margin < 0.5:
            raise ValueError(f"position_margin: Expected a value in [0, 0.5), but got {self.position_margin!r}")
        for name in ("erode_px", "blur_ksize", "seam_px", "seam_ksize"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"{name}: Expected a non-negative integer (pixels), but got {getattr(self, name)!r}")

    def needs_faces(self, has_labels: bool) -> bool:
        """Whether the build must detect faces for this sample (no labels to take the face box from)."""
        return self.face_box == "landmarks" or not has_labels

    def face_boxes(self, target: np.ndarray, label: np.ndarray | None,
                   faces: list | None) -> tuple[list[Box], str]:
        """The face boxes to occlude (clipped to the image) and where they came from ("labels" or "landmarks");
        SampleError when there is none."""
        if self.face_box in ("auto", "labels") and label is not None:
            box = label_face_box(label)
            if box is not None:
                return [box], "labels"
            raise SampleError("no face found: the label map has no face class (1-13)")
        if self.face_box == "labels":
            raise SampleError("no face found: face_box='labels' but the source has no labels")
        if faces is None:
            from occbench.faces.detection import FaceDetector  # lazy: dlib only when needed

            faces = FaceDetector().find(target).faces
        height, width = target.shape[:2]
        boxes = []
        for face in faces:
            x0, y0, x1, y1 = face.box
            box = (max(0, x0), max(0, y0), min(width, x1), min(height, y1))
            if box_area(box) > 0:
                boxes.append(box)
        if not boxes:
            raise SampleError(f"no face found: detector box(es) {[list(f.box) for f in faces]} lie outside the image")
        return boxes, "landmarks"

    def occluder(self, target: np.ndarray, label: np.ndarray | None, box: Box,
                 rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        """One occluder for the face in ``box``: an image-sized RGBA layer and the values drawn for it."""
        raise NotImplementedError

    def generate(self, target: np.ndarray, label: np.ndarray | None, rng: np.random.Generator,
                 faces: list | None = None) -> GeneratedSample:
        """Occlude the face(s): ``faces`` are :class:`~occbench.faces.landmarks.FaceLandmarks` in target pixels."""
        self.check_ready()
        boxes, box_source = self.face_boxes(target, label, faces)
        occluded, mask, drawn = target, np.zeros(target.shape[:2], np.uint8), []
        for box in boxes:
            layer, params = self.occluder(occluded, label, box, rng)
            if not layer[:, :, 3].any():
                raise SampleError(f"{type(self).__name__}: the occluder fell outside the image")
            occluded, hard, _ = composite(occluded, layer, erode_px=self.erode_px, blur_ksize=self.blur_ksize,
                                          seam_px=self.seam_px, seam_ksize=self.seam_ksize)
            mask |= hard
            drawn.append({**params, "face_box_source": box_source, "face_box": list(box)})
        label_occ = None if label is None else label_after_occlusion(label, mask)
        params = {**drawn[0], **occlusion_stats(mask, boxes[0], label)}
        if len(drawn) > 1:
            params["occluders"] = drawn
        return GeneratedSample(occluded=occluded, mask=mask, label_occ=label_occ, params=params)

    def check_ready(self) -> None:  # noqa: B027 - optional hook
        """Raise RuntimeError when :meth:`setup` must run first."""

    def sample_centre(self, box: Box, shape: tuple[int, int], rng: np.random.Generator) -> tuple[float, float]:
        """Occluder centre (x, y): uniform in the face box shrunk by ``position_margin``, or in the image."""
        if self.position == "image":
            x0, y0, x1, y1 = 0.0, 0.0, float(shape[1] - 1), float(shape[0] - 1)
        else:
            mx, my = self.position_margin * (box[2] - box[0]), self.position_margin * (box[3] - box[1])
            x0, y0, x1, y1 = box[0] + mx, box[1] + my, box[2] - 1 - mx, box[3] - 1 - my
        return float(rng.uniform(x0, max(x0, x1))), float(rng.uniform(y0, max(y0, y1)))


def face_pixels(target: np.ndarray, label: np.ndarray | None, box: Box) -> np.ndarray:
    """RGB pixels ``(N, 3)`` of the face for colour statistics: classes 1-12 with labels, else the face box."""
    if label is not None:
        region = (label >= COLOR_CLASSES[0]) & (label <= COLOR_CLASSES[-1])
        if region.any():
            return target[region]
    return target[box[1]:box[3], box[0]:box[2]].reshape(-1, 3)


@dataclass(frozen=True)
class NatOccOverlay(FaceOverlay):
    """NatOcc object/hand overlays from an occluder bank (``--assets-dir``); parameters in the module docstring."""

    needs_dir = True

    hand_probability: float | None = SGIN_HAND_SHARE
    balance: str = "category"
    kinds: tuple[str, ...] = KINDS
    categories: tuple[str, ...] | None = None
    area_fraction: tuple[float, float] = (0.5, 1.0)
    affine_probability: float = 0.7
    scale_jitter: tuple[float, float] = (0.8, 1.2)
    rotation_deg: tuple[float, float] = (-15.0, 15.0)
    shear_deg: tuple[float, float] = (-8.0, 8.0)
    point_hands: bool = True
    color_transfer: str = "reinhard"
    color_strength: float = 1.0
    sot_iterations: int = 10
    cache_size: int = 64
    _bank: Any = field(default=None, init=False, repr=False, compare=False)
    _entries: Any = field(default=None, init=False, repr=False, compare=False)
    _groups: Any = field(default=None, init=False, repr=False, compare=False)
    _cache: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hand_probability is not None and not 0.0 <= self.hand_probability <= 1.0:
            raise ValueError(f"hand_probability: Expected None or a value in [0, 1], but got {self.hand_probability!r}")
        if not self.kinds or any(k not in KINDS for k in self.kinds) or len(set(self.kinds)) != len(self.kinds):
            raise ValueError(f"kinds: Expected distinct values among {', '.join(KINDS)}, but got {self.kinds!r}")
        self._check_draw()
        check_range("area_fraction", self.area_fraction, 1e-4, 4.0)
        check_range("scale_jitter", self.scale_jitter, 0.05)
        check_range("rotation_deg", self.rotation_deg, -180.0, 180.0)
        check_range("shear_deg", self.shear_deg, -45.0, 45.0)
        for name in ("affine_probability", "color_strength"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}: Expected a value in [0, 1], but got {getattr(self, name)!r}")
        if self.color_transfer not in COLOR_TRANSFERS:
            raise ValueError(f"color_transfer: Expected one of {', '.join(COLOR_TRANSFERS)}, "
                             f"but got {self.color_transfer!r}")
        for name in ("sot_iterations", "cache_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: Expected a value >= 1, but got {getattr(self, name)!r}")

    def _check_draw(self) -> None:
        """Validate ``balance`` and its combination with ``hand_probability`` and ``kinds``."""
        if self.balance not in BALANCES:
            raise ValueError(f"balance: Expected one of {', '.join(BALANCES)}, but got {self.balance!r}")
        if self.hand_probability is None and self.balance != "entry":
            raise ValueError("balance: Expected 'entry' with hand_probability None (one list drawn uniformly, "
                             f"as the reference), but got {self.balance!r}")
        only = {("hand",): 0.0, ("object",): 1.0}.get(tuple(self.kinds))
        if only is not None and self.hand_probability == only:
            raise ValueError(f"hand_probability: Expected None or a value other than {only:g} with kinds "
                             f"{list(self.kinds)}, but got {self.hand_probability!r}")

    def _drawn_kinds(self) -> list[str]:
        """The kinds that a draw can give (probability > 0) under ``kinds`` and ``hand_probability``."""
        p = self.hand_probability
        return [k for k in self.kinds if len(self.kinds) == 1 or p is None or (p > 0 if k == "hand" else p < 1)]

    def setup(self, assets_dir: Path | None) -> None:
        """Open the occluder bank at ``assets_dir`` (an ``occbench build-occluders`` folder)."""
        if assets_dir is None:
            raise OccbenchError("natocc: needs --assets-dir, an occluder bank folder (occbench build-occluders)")
        from occbench.occlusion.bank import OccluderBank

        self.attach_bank(OccluderBank.open(assets_dir), where=str(assets_dir))

    def attach_bank(self, bank: Any, where: str = "the bank") -> None:
        """Use ``bank`` (``entries(kind, categories)`` and ``load(entry)``, as OccluderBank) for the samples."""
        entries = {"object": bank.entries(kind="object", categories=self.categories) if "object" in self.kinds else [],
                   "hand": bank.entries(kind="hand") if "hand" in self.kinds else []}
        drawn = self._drawn_kinds()
        missing = [k for k in drawn if not entries[k]] if self.hand_probability is not None else []
        if missing or not any(entries.values()):
            raise OccbenchError(self._missing_message(where, missing or drawn))
        groups: dict[str, list[Any]] = {}
        for entry in entries["object"]:
            groups.setdefault(entry.category, []).append(entry)
        object.__setattr__(self, "_bank", bank)
        object.__setattr__(self, "_entries", entries)
        object.__setattr__(self, "_groups", [groups[c] for c in sorted(groups)])
        object.__setattr__(self, "_cache", OrderedDict())

    def _missing_message(self, where: str, missing: list[str]) -> str:
        """Setup error: which kinds the bank lacks and how to add them or stop drawing them."""
        add = {"object": "--from coco (or yolo, rgba)", "hand": "--from egohands (or rgba --kind hand)"}
        stop = {"object": "hand_probability: 1 or kinds: [hand]", "hand": "hand_probability: 0 or kinds: [object]"}
        fix = f", or set {stop[missing[0]]}" if len(missing) == 1 and len(self.kinds) == 2 else ""
        return (f"{where}: no occluders of kind {', '.join(missing)} (kinds={list(self.kinds)}, "
                f"categories={self.categories}, hand_probability={self.hand_probability}); add them with occbench "
                f"build-occluders {' and '.join(add[k] for k in missing)} --out {where}{fix}")

    def _pick(self, rng: np.random.Generator) -> Any:
        """Draw the kind (``hand_probability``), then an entry of that kind (``balance``), all from ``rng``."""
        kind = self._draw_kind(float(rng.random()))
        if kind is None:
            pool = self._entries["object"] + self._entries["hand"]
        elif kind == "object" and self.balance == "category":
            pool = self._groups[int(rng.integers(len(self._groups)))]
        else:
            pool = self._entries[kind]
        return pool[int(rng.integers(len(pool)))]

    def _draw_kind(self, u: float) -> str | None:
        """The kind for ``u`` (uniform in [0, 1)): hand when ``u < hand_probability``, else object; the only
        eligible kind when the other has no entry; None (one list) when ``hand_probability`` is None."""
        if self.hand_probability is None:
            return None
        if not self._entries["hand"] or not self._entries["object"]:
            return "hand" if self._entries["hand"] else "object"
        return "hand" if u < self.hand_probability else "object"

    def _load(self, entry: Any) -> np.ndarray:
        cache = self._cache
        if entry.id in cache:
            cache.move_to_end(entry.id)
            return cache[entry.id]
        rgba = self._bank.load(entry)
        cache[entry.id] = rgba
        if len(cache) > self.cache_size:
            cache.popitem(last=False)
        return rgba

    def check_ready(self) -> None:
        if self._entries is None:
            raise RuntimeError("NatOccOverlay.setup(assets_dir) must run before generate")

    def occluder(self, target: np.ndarray, label: np.ndarray | None, box: Box,
                 rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        entry = self._pick(rng)
        rgba = self._load(entry)
        height, width = rgba.shape[:2]
        fraction = float(rng.uniform(*self.area_fraction))
        applied = bool(rng.random() < self.affine_probability)
        jitter, turn, shear = (float(rng.uniform(*r)) for r in (self.scale_jitter, self.rotation_deg, self.shear_deg))
        if not applied:
            jitter, turn, shear = 1.0, 0.0, 0.0
        scale = math.sqrt(fraction * box_area(box) / (width * height)) * jitter
        centre = self.sample_centre(box, target.shape[:2], rng)
        angle, direction = turn, None
        if entry.kind == "hand" and self.point_hands:
            direction = pointing_direction(rgba[:, :, 3])
            if direction is not None:
                sheared = np.array([direction[0] + math.tan(math.radians(shear)) * direction[1], direction[1]])
                to_face = np.array([(box[0] + box[2] - 1) / 2 - centre[0], (box[1] + box[3] - 1) / 2 - centre[1]])
                goal = screen_angle(to_face) if np.hypot(*to_face) >= 1.0 else 90.0  # at the centre: point up
                angle = (goal - screen_angle(sheared) + turn + 180.0) % 360.0 - 180.0
        layer = place_affine(rgba, target.shape[:2], scale, angle, shear, centre)
        if self.color_transfer == "reinhard":
            layer = reinhard_transfer(layer, face_pixels(target, label, box), self.color_strength)
        elif self.color_transfer == "sot":
            layer = sliced_ot_transfer(layer, face_pixels(target, label, box), rng, self.sot_iterations,
                                       self.color_strength)
        params = {"entry_id": str(entry.id), "kind": entry.kind, "category": entry.category,
                  "area_fraction": fraction, "affine": applied,
                  "scale_jitter": jitter, "scale": scale, "angle": angle, "shear": shear, "centre": list(centre),
                  "hand_direction": None if direction is None else [float(v) for v in direction]}
        return layer, params
