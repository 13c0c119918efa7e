"""Label tables: orders, BiSeNet remap, HELEN-11 (SGIN regions), foreground (docs/conventions.md §2)."""

from __future__ import annotations

import numpy as np
import pytest

from occbench import labels as L
from occbench.image_io import read_gray


def test_celebamask_order_matches_part_files() -> None:
    assert len(L.CELEBAMASK_CLASSES) == L.NUM_CLASSES == 19
    aliases = {"eye_g": "eyeglasses", "ear_r": "earring", "neck_l": "necklace"}
    for part, value in L.ANNO_PART_CLASS.items():
        assert L.CELEBAMASK_CLASSES[value] == aliases.get(part, part)
    assert L.OCCLUDER_CLASS == 19 and L.OCCLUDER_CLASS not in range(L.NUM_CLASSES)


def test_bisenet_table_maps_names_to_same_names() -> None:
    for index, name in enumerate(L.BISENET_CLASSES):
        assert L.CELEBAMASK_CLASSES[L.BISENET_TO_CELEBAMASK[index]] == name
    mapped = L.BISENET_TO_CELEBAMASK[: L.NUM_CLASSES]
    assert sorted(mapped.tolist()) == list(range(L.NUM_CLASSES))  # bijection on 0..18
    assert (L.BISENET_TO_CELEBAMASK[L.NUM_CLASSES:] == L.IGNORE).all()


def test_bisenet_function_shapes_and_dtypes() -> None:
    label = np.array([[0, 1, 2], [17, 18, 200]], dtype=np.int64)
    out = L.bisenet_to_celebamask(label)
    assert out.dtype == np.uint8 and out.shape == label.shape
    names = [[L.CELEBAMASK_CLASSES[v] if v != L.IGNORE else None for v in row] for row in out.tolist()]
    assert names == [["background", "skin", "l_brow"], ["hair", "hat", None]]
    with pytest.raises(ValueError, match="0..255"):
        L.bisenet_to_celebamask(np.array([300]))
    with pytest.raises(TypeError):
        L.bisenet_to_celebamask(np.array([1.0]))


def test_helen_table_covers_every_class_and_round_trips() -> None:
    helen = L.to_helen(np.arange(L.NUM_CLASSES, dtype=np.uint8))
    assert set(helen.tolist()) == set(range(len(L.HELEN_CLASSES))) and len(L.HELEN_CLASSES) == 11
    assert set(L.HELEN_FROM_CELEBAMASK) == set(L.CELEBAMASK_CLASSES)
    cls = {name: L.HELEN_CLASSES[helen[i]] for i, name in enumerate(L.CELEBAMASK_CLASSES)}
    assert cls["neck"] == "background" and cls["hat"] == "background" and cls["l_ear"] == "skin"
    assert cls["eyeglasses"] == "skin" and cls["r_brow"] == "r_brow" and cls["mouth"] == "mouth"
    assert L.to_helen(np.array([L.OCCLUDER_CLASS], np.uint8))[0] == L.IGNORE
    back = L.helen_to_celebamask(np.arange(11, dtype=np.uint8))  # every HELEN class is a CelebAMask-HQ class
    assert (L.to_helen(back) == np.arange(11)).all()
    assert L.helen_to_celebamask(np.array([11], np.uint8))[0] == L.IGNORE


def test_foreground_mask() -> None:
    values = np.arange(256, dtype=np.uint8)
    fg = L.foreground_mask(values)
    assert fg.dtype == bool
    assert np.flatnonzero(fg).tolist() == list(L.FOREGROUND_CLASSES) == list(range(1, 14))
    assert not fg[L.OCCLUDER_CLASS]


def test_real_label(assets) -> None:
    label = read_gray(assets / "celebamask_hq_samples" / "labels" / "0.png")
    assert label.shape == (512, 512) and label.max() < L.NUM_CLASSES
    L.check_label_values(label, "0.png")
    fraction = L.foreground_mask(label).mean()
    assert 0.2 < fraction < 0.9  # a 1024-px CelebA-HQ portrait: face + hair fill much of the frame
    regions = L.to_helen(label)
    skin = label == L.CLASS_INDEX["skin"]
    assert skin.any() and (regions[skin] == L.HELEN_CLASSES.index("skin")).all()
    assert (regions != L.IGNORE).all()


def test_check_label_values_rejects_masks() -> None:
    from occbench.errors import SampleError

    with pytest.raises(SampleError, match="x.png"):
        L.check_label_values(np.array([[0, 255]], np.uint8), "x.png")
