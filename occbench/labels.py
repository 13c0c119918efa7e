"""Face-parsing label tables: the one place that knows class orders (docs/conventions.md §2).

occbench labels use the **CelebAMask-HQ order**, pixel value = class (uint8):
0 background, 1 skin, 2 nose, 3 eyeglasses, 4 l_eye, 5 r_eye, 6 l_brow, 7 r_brow, 8 l_ear, 9 r_ear,
10 mouth, 11 u_lip, 12 l_lip, 13 hair, 14 hat, 15 earring, 16 necklace, 17 neck, 18 cloth
("l_" is the subject's left = image right). :data:`OCCLUDER_CLASS` (19, the next free value) marks
occluder pixels in ``label_occ``. :data:`IGNORE` (255) is what the lookup tables give for values that
are not a class of their input order.

Tables are 256-entry uint8 lookup tables (LUTs), applied as ``lut[label]``; each is built from class
*names*, never from retyped numbers.
"""

from __future__ import annotations

import numpy as np

from occbench.errors import SampleError

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

FOREGROUND_CLASSES: tuple[int, ...] = tuple(range(1, 14))
"""Foreground = classes 1–13 (skin … hair): the face and hair, without hat, accessories, neck, cloth."""

BISENET_CLASSES: tuple[str, ...] = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eyeglasses", "l_ear", "r_ear", "earring",
    "nose", "mouth", "u_lip", "l_lip", "neck", "necklace", "cloth", "hair", "hat",
)
"""Class names of BiSeNet face-parsing checkpoints (face-parsing.PyTorch ``79999_iter.pth``); index = output."""

HELEN_CLASSES: tuple[str, ...] = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "nose", "u_lip", "mouth", "l_lip", "hair",
)
"""HELEN's 11 parsing classes (Smith et al., CVPR 2013; ``labels/<id>/<id>_lbl00..10.png`` in that order:
background, face skin, left/right eyebrow, left/right eye, nose, upper lip, inner mouth, lower lip, hair),
named here in CelebAMask-HQ's words ("mouth" = inner mouth). They are SGIN's ``C = 11`` semantic regions: the
paper trains its predictor on HELEN-derived images and does not list the classes otherwise. occbench reads
HELEN's "left" as the subject's left, as CelebAMask-HQ's (neither release says so; a flip would only swap the
two pairs)."""

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


def _lut(pairs: dict[int, int]) -> np.ndarray:
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for src, dst in pairs.items():
        lut[src] = dst
    lut.setflags(write=False)
    return lut


BISENET_TO_CELEBAMASK: np.ndarray = _lut({i: CLASS_INDEX[name] for i, name in enumerate(BISENET_CLASSES)})
"""uint8 LUT (256): BiSeNet output → CelebAMask-HQ class; values ≥ 19 → :data:`IGNORE`."""

CELEBAMASK_TO_HELEN: np.ndarray = _lut(
    {CLASS_INDEX[name]: HELEN_CLASSES.index(cls) for name, cls in HELEN_FROM_CELEBAMASK.items()}
)
"""uint8 LUT (256): CelebAMask-HQ class → HELEN class (0–10); other values (occluder 19 included) → 255."""

HELEN_TO_CELEBAMASK: np.ndarray = _lut({i: CLASS_INDEX[name] for i, name in enumerate(HELEN_CLASSES)})
"""uint8 LUT (256): HELEN class → CelebAMask-HQ class (exact: every HELEN class is one); others → 255."""


def _apply(lut: np.ndarray, label: np.ndarray) -> np.ndarray:
    label = np.asarray(label)
    if label.dtype != np.uint8:
        if not np.issubdtype(label.dtype, np.integer):
            raise TypeError(f"Expected an integer label map, but got {label.dtype}")
        if label.size and (label.min() < 0 or label.max() > 255):
            raise ValueError(f"Expected label values in 0..255, but got {label.min()}..{label.max()}")
        label = label.astype(np.uint8)
    return lut[label]


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
    label = np.asarray(label)
    return (label >= FOREGROUND_CLASSES[0]) & (label <= FOREGROUND_CLASSES[-1])


def check_label_values(label: np.ndarray, path: object) -> None:
    """Raise SampleError naming ``path`` when a label map holds values that are not CelebAMask-HQ classes."""
    top = int(label.max()) if label.size else 0
    if top >= NUM_CLASSES:
        raise SampleError(f"{path}: Expected CelebAMask-HQ class values 0..{NUM_CLASSES - 1}, but got {top} "
                          "(a 0/255 mask, or labels in another order such as BiSeNet's?)")
