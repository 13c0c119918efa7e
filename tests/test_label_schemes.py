"""Label schemes (occbench.labels, docs/conventions.md §2): flips, foregrounds, value checks, colours, conversions,
the Cityscapes label id → train id table (synthetic and on real gtFine files) and the training loader's flip."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import shared_path

from occbench import labels as L
from occbench.errors import OccbenchError, SampleError
from occbench.image_io import read_gray, write_png

FACE_SCHEMES = ("celebamask19", "helen11")

# cityscapesScripts labels.py, typed from the official table (name: label id -> train id), independent of
# occbench.labels, which builds its table from names
OFFICIAL_TRAIN_IDS = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
                      26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}

# pixels per train id of aachen_000000_000019_gtFine_labelIds.png (2048x1024), measured once with
# cityscapes_train_ids and cross-checked against OFFICIAL_TRAIN_IDS in test_cityscapes_real_label_files
AACHEN_0_TRAIN_ID_PIXELS = {0: 831082, 1: 29195, 2: 611938, 5: 22846, 7: 34863, 8: 221654, 9: 130185, 10: 38722,
                            11: 1588, 12: 2270, 13: 42659, 18: 2309, 255: 127841}


def test_registry_names_and_errors() -> None:
    assert set(L.SCHEMES) == {"celebamask19", "helen11", "sgin11", "cityscapes19", "cityscapes20", "ost8"}
    assert L.get_scheme("sgin11") is L.get_scheme("helen11") and L.get_scheme("sgin11").name == "helen11"
    sizes = {name: scheme.num_classes for name, scheme in L.SCHEMES.items()}
    assert sizes == {"celebamask19": 19, "helen11": 11, "sgin11": 11, "cityscapes19": 19, "cityscapes20": 20,
                     "ost8": 8}
    for scheme in L.SCHEMES.values():
        assert len(scheme.palette) == scheme.num_classes and scheme.ignore == 255
    with pytest.raises(OccbenchError, match="Did you mean 'cityscapes19'.*Available: celebamask19"):
        L.get_scheme("cityscape19")
    assert L.get_scheme(L.OST8) is L.OST8
    assert L.dataset_scheme({}) is L.CELEBAMASK19  # datasets built before the key existed
    assert L.dataset_scheme({"labels": True, "label_scheme": "ost8"}) is L.OST8
    with pytest.raises(ValueError, match="one colour per class"):
        L.LabelScheme("bad", ("a", "b"), ((0, 0, 0),))
    with pytest.raises(KeyError, match="no class 'l_eye'"):
        L.LabelScheme("bad", ("a", "b"), ((0, 0, 0), (1, 1, 1)), flip_pairs=(("l_eye", "b"),))


@pytest.mark.parametrize("name", FACE_SCHEMES)
def test_flip_swaps_left_and_right_and_is_an_involution(name: str) -> None:
    scheme = L.get_scheme(name)
    lut = scheme.flip_lut()
    assert lut.dtype == np.uint8 and lut.shape == (256,) and np.array_equal(lut[lut], np.arange(256))
    mirror = {"l_": "r_", "r_": "l_"}
    for i, cls in enumerate(scheme.classes):
        other = mirror.get(cls[:2], "") + cls[2:]
        expected = other if other in scheme.classes else cls  # l_lip (lower lip) has no r_lip
        assert scheme.classes[lut[i]] == expected
    assert sum(lut[: scheme.num_classes] != np.arange(scheme.num_classes)) == 2 * len(scheme.flip_pairs)
    assert (lut[scheme.num_classes:] == np.arange(scheme.num_classes, 256)).all()  # occluder, ignore unchanged
    # a left eye on the image's right becomes, mirrored, a left eye of the mirrored subject on the image's left:
    # the subject's left eye is now on the image's left, which is the mirrored subject's right eye
    label = np.zeros((2, 4), np.uint8)
    label[:, 3] = scheme.index("l_eye")
    flipped = lut[label[:, ::-1]]
    assert (flipped[:, 0] == scheme.index("r_eye")).all() and (flipped[:, 1:] == 0).all()


@pytest.mark.parametrize("name", ["cityscapes19", "cityscapes20", "ost8"])
def test_scene_flip_is_identity(name: str) -> None:
    assert np.array_equal(L.get_scheme(name).flip_lut(), np.arange(256))


def test_foreground_of_face_schemes() -> None:
    values = np.arange(256, dtype=np.uint8)
    celeb = np.flatnonzero(L.CELEBAMASK19.foreground_mask(values)).tolist()
    assert celeb == list(range(1, 14)) == list(L.FOREGROUND_CLASSES)
    assert [L.CELEBAMASK_CLASSES[i] for i in celeb][::12] == ["skin", "hair"]
    helen = np.flatnonzero(L.HELEN11.foreground_mask(values)).tolist()
    assert helen == list(range(1, 11))  # every class but background
    assert np.array_equal(L.foreground_mask(values), L.CELEBAMASK19.foreground_mask(values))
    assert not L.CELEBAMASK19.foreground_mask(np.array([L.OCCLUDER_CLASS, 255]))[0:2].any()
    for name in ("cityscapes19", "cityscapes20", "ost8"):
        with pytest.raises(OccbenchError, match=f"'{name}' has no foreground"):
            L.get_scheme(name).foreground_mask(values)


def test_check_values_ignore_and_extra() -> None:
    label = np.array([[0, 18, 255]], np.uint8)
    L.CELEBAMASK19.check(label, "ok.png")
    with pytest.raises(SampleError, match=r"x\.png: Expected celebamask19 class values 0\.\.18 or 255 \(ignore\), "
                                          r"but got 19"):
        L.CELEBAMASK19.check(np.array([[19, 3]], np.uint8), "x.png")
    L.CELEBAMASK19.check(np.array([[19, 3]], np.uint8), "label_occ", extra=(L.OCCLUDER_CLASS,))
    with pytest.raises(SampleError, match="class values"):
        L.check_label_values(label, "strict.png")  # the old helper: user face labels never hold 255
    with pytest.raises(SampleError, match="but got 19"):
        L.CITYSCAPES19.check(np.array([19], np.uint8), "c.png")
    L.CITYSCAPES20.check(np.array([19, 255], np.uint8), "c.png")  # void is a class of cityscapes20
    with pytest.raises(SampleError, match="8, 9"):
        L.OST8.check(np.array([[7, 8, 9, 255]], np.int64), "o.png")
    with pytest.raises(SampleError, match="300"):
        L.OST8.check(np.array([300]), "o.png")
    with pytest.raises(SampleError, match="integer"):
        L.OST8.check(np.array([1.0]), "o.png")


def test_colorize_and_from_colors() -> None:
    label = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [255, 255, 0, 0]], np.uint8)
    colours = L.OST8.colorize(label)
    assert colours.shape == (3, 4, 3) and colours.dtype == np.uint8
    # SFTGAN's test_segmentation.py lookup table
    assert colours[0].tolist() == [[153, 153, 153], [0, 255, 255], [109, 158, 235], [183, 225, 205]]
    assert colours[1].tolist() == [[153, 0, 255], [17, 85, 204], [106, 168, 79], [224, 102, 102]]
    assert colours[2, 0].tolist() == [255, 255, 255]
    assert np.array_equal(L.OST8.from_colors(colours, "c.png"), label)
    assert L.CITYSCAPES19.colorize(np.array([[0, 10, 13]], np.uint8)).tolist() == [
        [[128, 64, 128], [70, 130, 180], [0, 0, 142]]]  # road, sky, car: official colours
    assert L.CELEBAMASK19.colorize(np.array([[13]], np.uint8)).tolist() == [[[0, 0, 204]]]  # hair, g_color.py
    colours[1, 1] = (1, 2, 3)
    with pytest.raises(SampleError, match=r"c\.png: colour \(1, 2, 3\) \(1 pixels\) is not a ost8 class colour"):
        L.OST8.from_colors(colours, "c.png")


def test_cityscapes_lut_on_all_34_label_ids() -> None:
    assert len(L.CITYSCAPES_LABELS) == 34 and L.CITYSCAPES_LABELS[7] == "road" and L.CITYSCAPES_LABELS[33] == "bicycle"
    label_ids = np.arange(34, dtype=np.uint8).reshape(2, 17)
    train = L.cityscapes_train_ids(label_ids, "ids.png")
    expected = np.array([OFFICIAL_TRAIN_IDS.get(i, 255) for i in range(34)], np.uint8).reshape(2, 17)
    assert np.array_equal(train, expected)
    assert [L.CITYSCAPES_CLASSES[OFFICIAL_TRAIN_IDS[i]] for i in (7, 23, 26)] == ["road", "sky", "car"]
    assert (L.CITYSCAPES_LABELID_TO_TRAINID[34:] == 255).all()
    twenty = L.convert(train, "cityscapes19", "cityscapes20")
    assert np.array_equal(twenty, np.where(expected == 255, 19, expected))
    assert L.CITYSCAPES20.classes[19] == "void"
    assert L.cityscapes_train_ids(np.array([255], np.uint8), "p.png")[0] == 255  # license plate (id -1)
    with pytest.raises(SampleError, match=r"t\.png: Expected Cityscapes label ids 0\.\.33, but got 34"):
        L.cityscapes_train_ids(np.array([34, 0], np.uint8), "t.png")


def test_cityscapes_real_label_files() -> None:
    folder = shared_path("assets", "scene_segmentation", "cityscapes_pix2pixhd", "gtFine")
    files = sorted(folder.glob("*_gtFine_labelIds.png"))
    assert len(files) == 9
    seen: set[int] = set()
    for path in files:
        ids = read_gray(path)
        train = L.cityscapes_train_ids(ids, path)
        present = np.unique(ids).tolist()
        assert set(np.unique(train).tolist()) == {OFFICIAL_TRAIN_IDS.get(i, 255) for i in present}
        assert np.array_equal(train == 255, ~np.isin(ids, list(OFFICIAL_TRAIN_IDS)))
        seen |= set(np.unique(train).tolist())
    road, sky, car = (L.CITYSCAPES19.index(name) for name in ("road", "sky", "car"))
    assert {road, sky, car} <= seen
    first = L.cityscapes_train_ids(read_gray(folder / "aachen_000000_000019_gtFine_labelIds.png"), "aachen")
    values, counts = np.unique(first, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist())) == AACHEN_0_TRAIN_ID_PIXELS
    assert sum(AACHEN_0_TRAIN_ID_PIXELS.values()) == 2048 * 1024
    # sky lies at the top and road at the bottom of the frame
    assert np.nonzero(first == sky)[0].mean() < 0.3 * first.shape[0] < np.nonzero(first == road)[0].mean()


def test_convert_tables() -> None:
    celeb = np.arange(20, dtype=np.uint8)
    assert np.array_equal(L.convert(celeb, "celebamask19", "helen11"), L.to_helen(celeb))
    assert np.array_equal(L.convert(np.arange(11), "sgin11", L.CELEBAMASK19), L.helen_to_celebamask(np.arange(11)))
    same = L.convert(np.array([[3]], np.int64), "ost8", "ost8")
    assert same.dtype == np.uint8 and same.tolist() == [[3]]
    with pytest.raises(OccbenchError, match="No conversion of labels from scheme 'cityscapes20' to 'cityscapes19'"):
        L.convert(celeb, "cityscapes20", "cityscapes19")
    with pytest.raises(OccbenchError, match="Unknown label scheme"):
        L.convert(celeb, "ost9", "ost8")


def test_training_loader_flip_swaps_classes(tmp_path) -> None:
    """BuiltDataset's horizontal flip mirrors the label and swaps l_/r_ classes with the scheme's flip LUT."""
    from occbench.baselines.engine.data import BuiltDataset

    data = _labelled_copy(tmp_path)
    plain = BuiltDataset(data)[0]
    flipping = BuiltDataset(data, flip=True, seed=0)
    lut = L.CELEBAMASK19.flip_lut()
    outcomes = set()
    for epoch in range(8):
        flipping.set_epoch(epoch)
        sample = flipping[0]
        flipped = not np.array_equal(sample["target"].numpy(), plain["target"].numpy())
        outcomes.add(flipped)
        expected = lut[plain["label"].numpy().astype(np.uint8)[:, ::-1]] if flipped else plain["label"].numpy()
        assert np.array_equal(sample["label"].numpy(), expected)
    assert outcomes == {True, False}


def _labelled_copy(tmp_path):
    """A 32 px folder-source dataset whose labels hold a left eye, right brow and skin (celebamask19)."""
    import cv2
    import yaml

    from occbench.dataset.build import BuildConfig, build_dataset
    from occbench.protocol import load_protocol

    images, labels = tmp_path / "src", tmp_path / "src_labels"
    images.mkdir()
    labels.mkdir()
    y, x = np.mgrid[0:32, 0:32]
    cv2.imwrite(str(images / "a.png"), np.stack([x * 8, y * 8, (x + y) * 4], -1).astype(np.uint8))
    label = np.zeros((32, 32), np.uint8)
    label[8:24, 4:28] = L.CLASS_INDEX["skin"]
    label[10:14, 20:26] = L.CLASS_INDEX["l_eye"]
    label[4:8, 6:12] = L.CLASS_INDEX["r_brow"]
    write_png(labels / "a.png", label)
    protocol = tmp_path / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "flip-test", "version": 1, "seed": 1, "resolution": 32,
                                        "source": {"name": "folder", "params": {"label_dir": str(labels)}},
                                        "generator": {"name": "center", "params": {"size": 8}}}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=tmp_path / "data", source_dir=images,
                              progress=False))
    info = json.loads((tmp_path / "data" / "dataset.json").read_text())
    assert info["labels"] is True and info["label_scheme"] == "celebamask19"
    shutil.rmtree(tmp_path / "data" / ".build", ignore_errors=True)
    return tmp_path / "data"
