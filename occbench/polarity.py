"""Mask polarity of files occbench reads (docs/conventions.md §2): never guessed, always declared.

"white_hole": grey levels >= ``threshold`` are holes / occluded (NVIDIA PConv masks, occbench's own mask.png files).
"black_hole": grey levels < ``threshold`` are holes (QD-IMD and MAT masks).
"""

from __future__ import annotations

import numpy as np

POLARITIES = ("white_hole", "black_hole")


def check_polarity_name(polarity: str, threshold: int, key: str = "polarity") -> None:
    """ValueError naming ``key`` when ``polarity`` or ``threshold`` (a grey level 1-255) is not valid."""
    if polarity not in POLARITIES:
        raise ValueError(f"{key}: Expected one of {', '.join(POLARITIES)}, but got {polarity!r}")
    if not 1 <= threshold <= 255:
        raise ValueError(f"threshold: Expected a grey level in [1, 255], but got {threshold!r}")


def hole_from_gray(gray: np.ndarray, polarity: str, threshold: int = 128) -> np.ndarray:
    """Boolean hole map (True = hole / occluded) of a uint8 grey mask under the declared ``polarity``."""
    return gray >= threshold if polarity == "white_hole" else gray < threshold


def other_polarity(polarity: str) -> str:
    """The polarity that is not ``polarity`` (for error messages suggesting the fix)."""
    return POLARITIES[1 - POLARITIES.index(polarity)]
