"""Label schemes: the one place that knows class orders, colours and conversions (docs/conventions.md §2).

A **label scheme** (:class:`LabelScheme`) says what the pixel values of a label map mean: class names
(index = pixel value), the value meaning "no label" (``ignore``), a colour per class, the classes a horizontal
flip swaps, which classes are the foreground (faces only) and which classes make up each face part
(:data:`FACE_PARTS`, faces only: the ``hole_<part>`` metric regions). Schemes are looked up by name
(:func:`get_scheme`); a built dataset records its scheme in ``dataset.json`` (:func:`dataset_scheme`).

=================  =======================================================================  ======  ==========  =====
scheme             classes                                                                  ignore  foreground  parts
=================  =======================================================================  ======  ==========  =====
``celebamask19``   CelebAMask-HQ's 19 (0 background, 1 skin, … 18 cloth)                     255     1–13        yes
``helen11``        HELEN's 11 (SGIN's regions; alias ``sgin11``)                             255     1–10        yes
``cityscapes19``   Cityscapes' 19 train ids (0 road … 18 bicycle)                            255     none        none
``cityscapes20``   the 19 train ids + 19 ``void`` (every other Cityscapes label id)          255     none        none
``ost8``           Outdoor Scenes (SFTGAN order: 0 background, 1 sky … 7 animal)             255     none        none
=================  =======================================================================  ======  ==========  =====

Face labels use the **CelebAMask-HQ order** unless a dataset says otherwise ("l_" is the subject's left = image
right). :data:`OCCLUDER_CLASS` (19, the next free value) marks occluder pixels in ``label_occ`` of face datasets.
:data:`IGNORE` (255) is what the lookup tables give for values that are not a class of their input order.

Tables are 256-entry uint8 lookup tables (LUTs), applied as ``lut[label]``; each is built from class
*names*, never from retyped numbers.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from occbench.errors import OccbenchError, SampleError
from occbench.metrics import FACE_PARTS  # the part names (regions hole_<part>); their classes are defined here

RGB = tuple[int, int, int]

CELEBAMASK_CLASSES: tuple[str, ...] = (
    "background", "skin", "nose", "eyeglasses", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
    "mouth", "u_lip", "l_lip", "hair", "hat", "earring", "necklace", "neck", "cloth",
)
"""CelebAMask-HQ class names; index = pixel value."""

NUM_CLASSES = len(CELEBAMASK_CLASSES)  # 19
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CELEBAMASK_CLASSES)}

OCCLUDER_CLASS = NUM_CLASSES  # 19: occluder pixels in label_occ (not a CelebAMask-HQ class, not foreground)
IGNORE = 255  # LUT output for input values outside the source order

ANNO_PARTS: tuple[str, ...] = (
    "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear", "mouth",
    "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth",
)
"""Part-file names of the official ``CelebAMask-HQ-mask-anno/<k>/<05d id>_<part>.png`` layout, in the
official ``g_mask.py`` painting order; part ``i`` is class ``i + 1``, later parts overwrite earlier ones."""

ANNO_PART_CLASS: dict[str, int] = {part: i + 1 for i, part in enumerate(ANNO_PARTS)}

CELEBAMASK_FOREGROUND: tuple[str, ...] = CELEBAMASK_CLASSES[1:14]
"""Foreground ("skin and hair" of the foreground-guided paper): skin … hair, without hat, accessories, neck,
cloth."""

CELEBAMASK_PALETTE: tuple[RGB, ...] = (
    (0, 0, 0), (204, 0, 0), (76, 153, 0), (204, 204, 0), (51, 51, 255), (204, 0, 204), (0, 255, 255),
    (255, 204, 204), (102, 51, 0), (255, 0, 0), (102, 204, 0), (255, 255, 0), (0, 0, 153), (0, 0, 204),
    (255, 51, 153), (0, 204, 204), (0, 51, 0), (255, 153, 51), (0, 204, 0),
)
"""RGB per CelebAMask-HQ class: the colours of the release's ``g_color.py`` (background black)."""

BISENET_CLASSES: tuple[str, ...] = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eyeglasses", "l_ear", "r_ear", "earring",
    "nose", "mouth", "u_lip", "l_lip", "neck", "necklace", "cloth", "hair", "hat",
)
"""Class names of BiSeNet face-parsing checkpoints (face-parsing.PyTorch ``79999_iter.pth``); index = output."""

CELEBAMASK_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("eyes", ("l_eye", "r_eye", "l_brow", "r_brow")),
    ("nose", ("nose",)),
    ("mouth", ("mouth", "u_lip", "l_lip")),
    ("skin", ("skin", "l_ear", "r_ear")),
    ("hair", ("hair",)),
)
"""CelebAMask-HQ classes of each face part. Choices: **eyes** are the eye region, eyes *and* brows (the brows
would otherwise belong to no part, and the eyes alone are so small that hole ∩ eye would be empty or a handful of
pixels for many holes); **mouth** is the lips and the inner mouth; **skin** is face skin and the ears (as HELEN's
face skin, which runs under the ears); **hair** is hair only (no hat). Eyeglasses, hat, earrings, necklace, neck,
cloth and background belong to no part: accessories and clothing are not face parts, and the neck is outside the
foreground. The parts are disjoint and lie inside the foreground (classes 1–13; only eyeglasses is in none)."""

HELEN_CLASSES: tuple[str, ...] = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "nose", "u_lip", "mouth", "l_lip", "hair",
)
"""HELEN's 11 parsing classes (Smith et al., CVPR 2013; ``labels/<id>/<id>_lbl00..10.png`` in that order:
background, face skin, left/right eyebrow, left/right eye, nose, upper lip, inner mouth, lower lip, hair),
named here in CelebAMask-HQ's words ("mouth" = inner mouth). They are SGIN's ``C = 11`` semantic regions: the
paper trains its predictor on HELEN-derived images and does not list the classes otherwise. occbench reads
HELEN's "left" as the subject's left, as CelebAMask-HQ's (neither release says so; a flip would only swap the
two pairs)."""

HELEN_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (part, tuple(name for name in classes if name in HELEN_CLASSES)) for part, classes in CELEBAMASK_PARTS)
"""HELEN classes of each face part: :data:`CELEBAMASK_PARTS` restricted to HELEN's classes (the ears drop out:
HELEN's face skin already includes ears and eyeglasses), so the five parts cover its foreground (1–10) exactly."""

HELEN_FROM_CELEBAMASK: dict[str, str] = {
    "background": "background", "cloth": "background", "necklace": "background", "neck": "background",
    "hat": "background",
    "skin": "skin", "l_ear": "skin", "r_ear": "skin", "earring": "skin", "eyeglasses": "skin",
    "l_brow": "l_brow", "r_brow": "r_brow", "l_eye": "l_eye", "r_eye": "r_eye", "nose": "nose",
    "u_lip": "u_lip", "mouth": "mouth", "l_lip": "l_lip", "hair": "hair",
}
"""CelebAMask-HQ class → HELEN class. Choices where HELEN has no class: neck, cloth, necklace and hat are
background (HELEN labels only the face and hair); ears, earrings and eyeglasses are face skin (HELEN's skin
region runs under them)."""

CITYSCAPES_LABELS: tuple[str, ...] = (
    "unlabeled", "ego vehicle", "rectification border", "out of roi", "static", "dynamic", "ground", "road",
    "sidewalk", "parking", "rail track", "building", "wall", "fence", "guard rail", "bridge", "tunnel", "pole",
    "polegroup", "traffic light", "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
    "bus", "caravan", "trailer", "train", "motorcycle", "bicycle",
)
"""Cityscapes label names by **label id** 0–33 (cityscapesScripts ``labels.py``; the values of
``*_gtFine_labelIds.png``). "license plate" (id -1) is not drawn in labelIds files."""

CITYSCAPES_CLASSES: tuple[str, ...] = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)
"""The 19 Cityscapes evaluation classes by **train id** 0–18 (cityscapesScripts ``labels.py``); every other label
id has train id 255 (ignored)."""

CITYSCAPES_PALETTE: tuple[RGB, ...] = (
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153),
    (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0),
    (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
)
"""Official Cityscapes colours of the 19 train classes (cityscapesScripts ``labels.py``)."""

OST_CLASSES: tuple[str, ...] = ("background", "sky", "water", "grass", "mountain", "building", "plant", "animal")
"""Outdoor Scenes (OST) classes in SFTGAN's order (``test_segmentation.py``); 255 = void."""

OST_PALETTE: tuple[RGB, ...] = (
    (153, 153, 153), (0, 255, 255), (109, 158, 235), (183, 225, 205), (153, 0, 255), (17, 85, 204), (106, 168, 79),
    (224, 102, 102),
)
"""SFTGAN's colours of the OST classes; void (255) is white (255, 255, 255)."""


def _lut(pairs: Mapping[int, int]) -> np.ndarray:
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for src, dst in pairs.items():
        lut[src] = dst
    lut.setflags(write=False)
    return lut


def _as_uint8(label: np.ndarray) -> np.ndarray:
    label = np.asarray(label)
    if label.dtype != np.uint8:
        if not np.issubdtype(label.dtype, np.integer):
            raise TypeError(f"Expected an integer label map, but got {label.dtype}")
        if label.size and (label.min() < 0 or label.max() > 255):
            raise ValueError(f"Expected label values in 0..255, but got {label.min()}..{label.max()}")
        label = label.astype(np.uint8)
    return label


def _apply(lut: np.ndarray, label: np.ndarray) -> np.ndarray:
    return lut[_as_uint8(label)]


@dataclass(frozen=True)
class LabelScheme:
    """What the values of a label map mean. ``classes[i]`` is the name of pixel value ``i``; ``ignore`` the value
    meaning "no label" (None: every pixel has a class); ``palette[i]`` the RGB colour of class ``i`` and
    ``ignore_color`` that of ``ignore``; ``flip_pairs`` the classes a horizontal flip swaps (subject's left and
    right); ``foreground`` the classes of the ``fg`` region (None: the scheme has no foreground); ``parts`` the
    classes of each face part, ``(part, classes)`` pairs for every part of :data:`FACE_PARTS` in that order,
    disjoint (None: the scheme has no face parts, no ``hole_<part>`` regions)."""

    name: str
    classes: tuple[str, ...]
    palette: tuple[RGB, ...]
    ignore: int | None = IGNORE
    flip_pairs: tuple[tuple[str, str], ...] = ()
    foreground: tuple[str, ...] | None = None
    ignore_color: RGB = (0, 0, 0)
    parts: tuple[tuple[str, tuple[str, ...]], ...] | None = None

    def __post_init__(self) -> None:
        where = f"label scheme {self.name!r}"
        if len(set(self.classes)) != len(self.classes) or not 0 < len(self.classes) < 255:
            raise ValueError(f"{where}: Expected 1..254 unique class names, but got {self.classes}")
        if len(self.palette) != len(self.classes):
            raise ValueError(f"{where}: Expected one colour per class ({len(self.classes)}), but got "
                             f"{len(self.palette)}")
        if self.ignore is not None and not len(self.classes) <= self.ignore <= 255:
            raise ValueError(f"{where}: Expected an ignore value in {len(self.classes)}..255, but got {self.ignore}")
        for name in (*(n for pair in self.flip_pairs for n in pair), *(self.foreground or ())):
            self.index(name)
        if self.parts is not None:
            self._check_parts(where)

    def _check_parts(self, where: str) -> None:
        names = tuple(part for part, _ in self.parts)
        if names != FACE_PARTS or any(not classes for _, classes in self.parts):
            raise ValueError(f"{where}: Expected parts {FACE_PARTS} in this order, each with at least one class, but "
                             f"got {self.parts}")
        seen: dict[str, str] = {}
        for part, classes in self.parts:
            for name in classes:
                self.index(name)
                if name in seen:
                    raise ValueError(f"{where}: Expected disjoint parts, but got class {name!r} in both "
                                     f"{seen[name]!r} and {part!r}")
                seen[name] = part

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def index(self, name: str) -> int:
        """Pixel value of class ``name``."""
        try:
            return self.classes.index(name)
        except ValueError:
            close = difflib.get_close_matches(name, self.classes, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"label scheme {self.name!r} has no class {name!r}.{hint}") from None

    def flip_lut(self) -> np.ndarray:
        """uint8 LUT (256) for labels of a horizontally flipped image: swaps each flip pair, identity elsewhere."""
        lut = np.arange(256, dtype=np.uint8)
        for left, right in self.flip_pairs:
            i, j = self.index(left), self.index(right)
            lut[i], lut[j] = j, i
        lut.setflags(write=False)
        return lut

    def check(self, label: np.ndarray, path: object, *, extra: Iterable[int] = (), allow_ignore: bool = True) -> None:
        """Raise SampleError naming ``path`` when a value of ``label`` is neither a class, nor ``ignore`` (unless
        ``allow_ignore`` is False), nor one of ``extra`` (e.g. ``(OCCLUDER_CLASS,)`` in ``label_occ``)."""
        label = np.asarray(label)
        if not np.issubdtype(label.dtype, np.integer):
            raise SampleError(f"{path}: Expected an integer {self.name} label map, but got {label.dtype}")
        allowed = np.zeros(256, bool)
        allowed[: self.num_classes] = True
        allowed[list(extra)] = True
        if self.ignore is not None and allow_ignore:
            allowed[self.ignore] = True
        if label.size and (label.min() < 0 or label.max() > 255):
            bad = [int(label.min()) if label.min() < 0 else int(label.max())]
        else:
            counts = np.bincount(label.astype(np.uint8, copy=False).ravel(), minlength=256)
            bad = np.flatnonzero((counts > 0) & ~allowed).tolist()
        if bad:
            values = ", ".join(map(str, bad[:8])) + (", ..." if len(bad) > 8 else "")
            expected = f"0..{self.num_classes - 1}" + "".join(f" or {v}" for v in sorted(set(extra)))
            if self.ignore is not None and allow_ignore:
                expected += f" or {self.ignore} (ignore)"
            raise SampleError(f"{path}: Expected {self.name} class values {expected}, but got {values} "
                              "(labels of another scheme, or a 0/255 mask?)")

    def foreground_mask(self, label: np.ndarray) -> np.ndarray:
        """Boolean map of the foreground classes (any other value, ignore and occluder included, is False)."""
        if self.foreground is None:
            raise OccbenchError(f"label scheme {self.name!r} has no foreground: the fg and hole_fg regions exist only "
                                "for face schemes (celebamask19, helen11)")
        return np.isin(np.asarray(label), [self.index(name) for name in self.foreground])

    def part_classes(self) -> dict[str, tuple[str, ...]]:
        """``{part: class names}`` in :data:`FACE_PARTS` order; a scheme without parts raises OccbenchError."""
        if self.parts is None:
            raise OccbenchError(f"label scheme {self.name!r} has no face parts: the hole_<part> regions exist only "
                                f"for the schemes with parts ({', '.join(schemes_with_parts())})")
        return dict(self.parts)

    def part_masks(self, label: np.ndarray) -> np.ndarray:
        """Boolean ``(P, H, W)`` maps of the face parts of an ``(H, W)`` label map, one per part of
        :data:`FACE_PARTS` in that order (any other value, ignore and occluder included, is in no part)."""
        lut = np.full(256, len(FACE_PARTS), np.uint8)
        for i, classes in enumerate(self.part_classes().values()):
            lut[[self.index(name) for name in classes]] = i
        which = lut[_as_uint8(label)]
        return which[None] == np.arange(len(FACE_PARTS), dtype=np.uint8)[:, None, None]

    def colorize(self, label: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB picture of a label map: class colours, ``ignore_color`` for ignore, black for
        any other value."""
        lut = np.zeros((256, 3), np.uint8)
        lut[: self.num_classes] = self.palette
        if self.ignore is not None:
            lut[self.ignore] = self.ignore_color
        return lut[_as_uint8(label)]

    def from_colors(self, rgb: np.ndarray, path: object) -> np.ndarray:
        """Inverse of :meth:`colorize` for colour-coded annotations: ``(H, W, 3)`` uint8 RGB → uint8 label map
        (a class colour gives its class, ``ignore_color`` the ignore value). Other colours raise SampleError
        naming ``path`` and the colour."""
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise SampleError(f"{path}: Expected an RGB uint8 colour annotation, but got {rgb.dtype} {rgb.shape}")
        table = {(r << 16) | (g << 8) | b: i for i, (r, g, b) in reversed(list(enumerate(self.palette)))}
        if self.ignore is not None:
            r, g, b = self.ignore_color
            table.setdefault((r << 16) | (g << 8) | b, self.ignore)
        keys = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
        found, inverse = np.unique(keys.ravel(), return_inverse=True)
        values = np.array([table.get(int(k), -1) for k in found])
        if (values < 0).any():
            unknown = int(found[np.flatnonzero(values < 0)[0]])
            colour = (unknown >> 16, (unknown >> 8) & 255, unknown & 255)
            count = int(np.count_nonzero(keys == unknown))
            raise SampleError(f"{path}: colour {colour} ({count} pixels) is not a {self.name} class colour; Expected "
                              f"one of the palette's {self.num_classes} colours or {self.ignore_color} (ignore)")
        return values[inverse].reshape(keys.shape).astype(np.uint8)


def _by_name(names: Iterable[str], table: Mapping[str, RGB]) -> tuple[RGB, ...]:
    return tuple(table[name] for name in names)


CELEBAMASK19 = LabelScheme(
    "celebamask19", CELEBAMASK_CLASSES, CELEBAMASK_PALETTE, IGNORE,
    flip_pairs=(("l_eye", "r_eye"), ("l_brow", "r_brow"), ("l_ear", "r_ear")), foreground=CELEBAMASK_FOREGROUND,
    parts=CELEBAMASK_PARTS)
HELEN11 = LabelScheme(
    "helen11", HELEN_CLASSES, _by_name(HELEN_CLASSES, dict(zip(CELEBAMASK_CLASSES, CELEBAMASK_PALETTE))), IGNORE,
    flip_pairs=(("l_brow", "r_brow"), ("l_eye", "r_eye")), foreground=HELEN_CLASSES[1:], parts=HELEN_PARTS)
CITYSCAPES19 = LabelScheme("cityscapes19", CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, IGNORE)
CITYSCAPES20 = LabelScheme("cityscapes20", (*CITYSCAPES_CLASSES, "void"), (*CITYSCAPES_PALETTE, (0, 0, 0)), IGNORE)
OST8 = LabelScheme("ost8", OST_CLASSES, OST_PALETTE, IGNORE, ignore_color=(255, 255, 255))

SCHEMES: dict[str, LabelScheme] = {
    "celebamask19": CELEBAMASK19, "helen11": HELEN11, "sgin11": HELEN11, "cityscapes19": CITYSCAPES19,
    "cityscapes20": CITYSCAPES20, "ost8": OST8,
}
"""Scheme name → scheme. ``sgin11`` is another name of ``helen11`` (SGIN's regions are HELEN's classes).

``cityscapes20`` (SGE-Net's "20 categories") gives every Cityscapes label id a class (the 19 train classes, and
``void`` for the rest); its ignore value 255 marks only pixels without any annotation (the placeholder labels of
Cityscapes' public test split)."""

DEFAULT_SCHEME = "celebamask19"  # of datasets built before dataset.json recorded a scheme


def schemes_with_parts() -> list[str]:
    """Names of the schemes with face parts (the ``hole_<part>`` regions), aliases included."""
    return [name for name, scheme in SCHEMES.items() if scheme.parts is not None]


def get_scheme(name: str | LabelScheme) -> LabelScheme:
    """The scheme called ``name`` (a scheme passes through); unknown names list the known ones."""
    if isinstance(name, LabelScheme):
        return name
    if name not in SCHEMES:
        close = difflib.get_close_matches(str(name), list(SCHEMES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise OccbenchError(f"Unknown label scheme {name!r}.{hint} Available: {', '.join(SCHEMES)}")
    return SCHEMES[name]


def dataset_scheme(info: Mapping[str, Any]) -> LabelScheme:
    """The scheme of a built dataset's labels from its ``dataset.json`` (``label_scheme``; datasets built before
    the key existed are ``celebamask19``)."""
    return get_scheme(info.get("label_scheme") or DEFAULT_SCHEME)


# ---- conversions: one table per supported (source scheme, target scheme) pair

BISENET_TO_CELEBAMASK: np.ndarray = _lut({i: CLASS_INDEX[name] for i, name in enumerate(BISENET_CLASSES)})
"""uint8 LUT (256): BiSeNet output → CelebAMask-HQ class; values ≥ 19 → :data:`IGNORE`."""

CELEBAMASK_TO_HELEN: np.ndarray = _lut(
    {CLASS_INDEX[name]: HELEN_CLASSES.index(cls) for name, cls in HELEN_FROM_CELEBAMASK.items()}
)
"""uint8 LUT (256): CelebAMask-HQ class → HELEN class (0–10); other values (occluder 19 included) → 255."""

HELEN_TO_CELEBAMASK: np.ndarray = _lut({i: CLASS_INDEX[name] for i, name in enumerate(HELEN_CLASSES)})
"""uint8 LUT (256): HELEN class → CelebAMask-HQ class (exact: every HELEN class is one); others → 255."""

CITYSCAPES_LABELID_TO_TRAINID: np.ndarray = _lut(
    {i: CITYSCAPES_CLASSES.index(name) for i, name in enumerate(CITYSCAPES_LABELS) if name in CITYSCAPES_CLASSES}
)
"""uint8 LUT (256): Cityscapes label id → train id (7 road → 0, … 33 bicycle → 18); every other id → 255."""

CITYSCAPES19_TO_20: np.ndarray = _lut({**{i: i for i in range(len(CITYSCAPES_CLASSES))},
                                       IGNORE: CITYSCAPES20.index("void")})
"""uint8 LUT (256): cityscapes19 → cityscapes20 (classes kept; ignore 255, i.e. every other label id, → void)."""

CONVERSIONS: dict[tuple[str, str], np.ndarray] = {
    ("celebamask19", "helen11"): CELEBAMASK_TO_HELEN,
    ("helen11", "celebamask19"): HELEN_TO_CELEBAMASK,
    ("cityscapes19", "cityscapes20"): CITYSCAPES19_TO_20,
}
"""The supported scheme conversions (:func:`convert`)."""


def convert(label: np.ndarray, src: str | LabelScheme, dst: str | LabelScheme) -> np.ndarray:
    """Label map of scheme ``src`` → scheme ``dst`` (uint8, same shape; values that are not ``src`` classes → 255).
    A scheme to itself is a copy; pairs outside :data:`CONVERSIONS` raise OccbenchError."""
    source, target = get_scheme(src).name, get_scheme(dst).name
    if source == target:
        return _as_uint8(label).copy()
    if (source, target) not in CONVERSIONS:
        pairs = ", ".join(f"{a}→{b}" for a, b in CONVERSIONS)
        raise OccbenchError(f"No conversion of labels from scheme {source!r} to {target!r}; supported: {pairs}")
    return _apply(CONVERSIONS[(source, target)], label)


def cityscapes_train_ids(label_ids: np.ndarray, path: object) -> np.ndarray:
    """A ``*_gtFine_labelIds.png`` map (label ids 0–33; 255 accepted as "license plate", id -1) → cityscapes19
    train ids (uint8, 255 = ignore). Other values raise SampleError naming ``path`` (a trainIds or colour file?)."""
    label_ids = np.asarray(label_ids)
    valid = np.zeros(256, bool)
    valid[: len(CITYSCAPES_LABELS)] = valid[IGNORE] = True
    counts = np.bincount(_as_uint8(label_ids).ravel(), minlength=256)
    bad = np.flatnonzero((counts > 0) & ~valid).tolist()
    if bad:
        raise SampleError(f"{path}: Expected Cityscapes label ids 0..{len(CITYSCAPES_LABELS) - 1}, but got "
                          f"{', '.join(map(str, bad[:8]))} (a labelTrainIds or colour file?)")
    return _apply(CITYSCAPES_LABELID_TO_TRAINID, label_ids)


# ---- CelebAMask-HQ helpers kept for their callers (thin wrappers of the celebamask19 scheme)

FOREGROUND_CLASSES: tuple[int, ...] = tuple(CELEBAMASK19.index(name) for name in CELEBAMASK_FOREGROUND)
"""Foreground = CelebAMask-HQ classes 1–13 (skin … hair)."""


def bisenet_to_celebamask(label: np.ndarray) -> np.ndarray:
    """Remap a BiSeNet-ordered label map to CelebAMask-HQ classes (uint8, same shape; unknown → 255)."""
    return _apply(BISENET_TO_CELEBAMASK, label)


def to_helen(label: np.ndarray) -> np.ndarray:
    """CelebAMask-HQ label map → HELEN's 11 classes, SGIN's regions (uint8 0–10; non-classes → 255)."""
    return _apply(CELEBAMASK_TO_HELEN, label)


def helen_to_celebamask(label: np.ndarray) -> np.ndarray:
    """HELEN label map → CelebAMask-HQ classes (uint8; values ≥ 11 → 255)."""
    return _apply(HELEN_TO_CELEBAMASK, label)


def foreground_mask(label: np.ndarray) -> np.ndarray:
    """Boolean foreground map: CelebAMask-HQ classes 1–13 (occluder pixels are not foreground)."""
    return CELEBAMASK19.foreground_mask(label)


def check_label_values(label: np.ndarray, path: object) -> None:
    """Raise SampleError naming ``path`` when a label map holds values that are not CelebAMask-HQ classes (255
    included: user-supplied face labels never mark pixels as unlabelled)."""
    CELEBAMASK19.check(label, path, allow_ignore=False)
