"""Scene sources (``cityscapes``, ``ost``), the ``short_side`` resize rule, the scene protocols, and building and
evaluating scene datasets (label scheme recorded; no fg regions)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from conftest import shared_path

from occbench.dataset.build import BuildConfig, build_dataset
from occbench.dataset.preprocess import fit_image, fit_label
from occbench.errors import OccbenchError, ProtocolError, SampleError
from occbench.image_io import read_gray, read_image, write_png
from occbench.labels import CITYSCAPES_LABELID_TO_TRAINID, OST8
from occbench.protocol import Preprocess, load_protocol, shipped_protocols
from occbench.sources.cityscapes import CityscapesSource
from occbench.sources.folder import FolderSource
from occbench.sources.ost import OSTSource

SCENE_PROTOCOLS = ("ost-center128-256", "cityscapes-center96-256", "ost-nvidia-irregular-256",
                   "cityscapes-nvidia-irregular-256", "cityscapes-sgenet-train-256", "ost-train-256")


def smooth(height: int, width: int, shift: int = 0) -> np.ndarray:
    """A deterministic RGB image that compresses well."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(x + shift) % 256, y % 256, ((x + y) // 2 + shift) % 256], -1).astype(np.uint8)


def label_ids(height: int, width: int) -> np.ndarray:
    """Cityscapes label ids: sky (23) on top, a car (26) band, road (7) below, ego vehicle (1) at the bottom."""
    ids = np.full((height, width), 7, np.uint8)
    ids[: height // 3] = 23
    ids[height // 3 : height // 2] = 26
    ids[-2:] = 1
    return ids


def write_cityscapes(root: Path, nested: bool, size=(32, 64)) -> None:
    frames = {"train": ["aachen_000000_000019", "bochum_000000_000313"], "val": ["frankfurt_000000_000294"],
              "test": ["berlin_000000_000019"]}
    for split, ids in frames.items():
        for k, item_id in enumerate(ids):
            city = item_id.split("_")[0]
            sub = Path(split, city) if nested else Path()
            write_png(root / "leftImg8bit" / sub / f"{item_id}_leftImg8bit.png", smooth(*size, shift=10 * k))
            placeholder = np.zeros(size, np.uint8)  # Cityscapes' public test labels carry no classes
            write_png(root / "gtFine" / sub / f"{item_id}_gtFine_labelIds.png",
                      placeholder if split == "test" else label_ids(*size))


def test_cityscapes_nested_splits_and_labels(tmp_path: Path) -> None:
    write_cityscapes(tmp_path, nested=True)
    ids = {split: [i.id for i in CityscapesSource(root=tmp_path, split=split).items()]
           for split in CityscapesSource.splits}
    assert ids["train"] == ["aachen_000000_000019", "bochum_000000_000313"]
    assert ids["val"] == ids["sgenet-test"] == ["frankfurt_000000_000294"]
    assert ids["sgenet-train"] == sorted([*ids["train"], "berlin_000000_000019"])
    assert len(ids["all"]) == 4
    source = CityscapesSource(root=tmp_path, split="sgenet-train")
    items = {item.id: item for item in source.items()}
    sample = source.load(items["aachen_000000_000019"])
    assert sample.image.shape == (32, 64, 3) and sample.label.shape == (32, 64)
    assert np.array_equal(sample.label, CITYSCAPES_LABELID_TO_TRAINID[label_ids(32, 64)])
    assert set(np.unique(sample.label).tolist()) == {0, 10, 13, 255}  # road, sky, car, ignore (ego vehicle)
    assert (source.load(items["berlin_000000_000019"]).label == 255).all()  # test placeholders: all ignore
    assert source.label_scheme == "cityscapes19"
    twenty = CityscapesSource(root=tmp_path, split="sgenet-train", scheme="cityscapes20")
    assert twenty.label_scheme == "cityscapes20"
    assert set(np.unique(twenty.load(items["aachen_000000_000019"]).label).tolist()) == {0, 10, 13, 19}
    assert (twenty.load(items["berlin_000000_000019"]).label == 255).all()
    (tmp_path / "ids.txt").write_text("frankfurt_000000_000294_leftImg8bit.png\naachen_000000_000019\n")
    assert [i.id for i in CityscapesSource(root=tmp_path, split="list:ids.txt").items()] == [
        "aachen_000000_000019", "frankfurt_000000_000294"]


def test_cityscapes_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scheme: Expected one of cityscapes19, cityscapes20"):
        CityscapesSource(scheme="ost8")
    with pytest.raises(OccbenchError, match=r"leftImg8bit: Cityscapes image folder not found"):
        CityscapesSource(root=tmp_path).items()
    write_cityscapes(tmp_path, nested=True)
    label = tmp_path / "gtFine" / "train" / "aachen" / "aachen_000000_000019_gtFine_labelIds.png"
    write_png(label, np.full((32, 64), 40, np.uint8))
    source = CityscapesSource(root=tmp_path, split="train")
    item = source.items()[0]
    with pytest.raises(SampleError, match="aachen_000000_000019_gtFine_labelIds.png: Expected Cityscapes label ids"):
        source.load(item)
    label.unlink()
    with pytest.raises(SampleError, match=r"aachen_000000_000019_gtFine_labelIds\.png: Cityscapes label map not found"):
        source.load(item)


def test_cityscapes_flat_layout_uses_city_splits(tmp_path: Path) -> None:
    write_cityscapes(tmp_path, nested=False)
    assert [i.id for i in CityscapesSource(root=tmp_path, split="sgenet-test").items()] == ["frankfurt_000000_000294"]
    source = CityscapesSource(root=tmp_path, split="test")
    (item,) = source.items()
    assert item.label_path is None and (source.load(item).label == 255).all()
    write_png(tmp_path / "leftImg8bit" / "gotham_000000_000001_leftImg8bit.png", smooth(32, 64))
    assert len(CityscapesSource(root=tmp_path).items()) == 5  # split all keeps it
    with pytest.raises(OccbenchError, match="gotham_000000_000001_leftImg8bit.png: its city is not an official"):
        CityscapesSource(root=tmp_path, split="train").items()


def test_cityscapes_real_flat_folder() -> None:
    root = shared_path("assets", "scene_segmentation", "cityscapes_pix2pixhd")
    source = CityscapesSource(root=root, split="sgenet-train")
    items = source.items()
    assert [i.id for i in items] == [f"aachen_{k:06d}_000019" for k in range(8)]  # frankfurt: label without image
    sample = source.load(items[0])
    assert sample.image.shape == (1024, 2048, 3) and sample.label.shape == (1024, 2048)
    with pytest.raises(OccbenchError, match=r"cities frankfurt, lindau, munster\): no images of split 'sgenet-test'"):
        CityscapesSource(root=root, split="sgenet-test").items()


def write_ost(base: Path, names: list[str], annotation: str = "byte", size=(40, 48)) -> dict[str, np.ndarray]:
    """``base/images/<name>.png`` and ``base/annotations/<name>.png`` with sky above grass and a void corner."""
    labels = {}
    for k, name in enumerate(names):
        label = np.full(size, OST8.index("grass"), np.uint8)
        label[: size[0] // 2] = OST8.index("sky")
        label[-4:, -4:] = 255
        label[0, k] = OST8.index("animal")
        write_png(base / "images" / f"{name}.png", smooth(*size, shift=k))
        write_png(base / "annotations" / f"{name}.png", label if annotation == "byte" else OST8.colorize(label))
        labels[name] = label
    return labels


def test_ost_byte_and_colour_annotations(tmp_path: Path) -> None:
    labels = write_ost(tmp_path / "byte", ["OST_001", "OST_002"])
    source = OSTSource(root=tmp_path / "byte")
    assert source.label_scheme == "ost8" and [i.id for i in source.items()] == ["OST_001", "OST_002"]
    sample = source.load(source.items()[1])
    assert np.array_equal(sample.label, labels["OST_002"]) and sample.image.shape == (40, 48, 3)
    write_ost(tmp_path / "colour", ["OST_001"], annotation="colour")
    colour = OSTSource(root=tmp_path / "colour", annotation="colour")
    assert np.array_equal(colour.load(colour.items()[0]).label, labels["OST_001"])
    bad = OST8.colorize(labels["OST_001"])
    bad[5, 5] = (10, 20, 30)
    write_png(tmp_path / "colour" / "annotations" / "OST_001.png", bad)
    with pytest.raises(SampleError, match=r"OST_001\.png: colour \(10, 20, 30\) \(1 pixels\) is not a ost8"):
        colour.load(colour.items()[0])
    write_png(tmp_path / "byte" / "annotations" / "OST_001.png", np.full((40, 48), 9, np.uint8))
    with pytest.raises(SampleError, match=r"OST_001\.png: Expected ost8 class values 0\.\.7 or 255"):
        source.load(source.items()[0])
    with pytest.raises(ValueError, match="annotation: Expected one of byte, colour"):
        OSTSource(annotation="rgb")


def test_ost_splits_modcrop_and_errors(tmp_path: Path) -> None:
    write_ost(tmp_path / "train", ["animal_0001", "sky_0002"])
    write_ost(tmp_path / "test", ["OST_013"], size=(45, 50))
    assert [i.id for i in OSTSource(root=tmp_path, split="train").items()] == ["animal_0001", "sky_0002"]
    assert [i.id for i in OSTSource(root=tmp_path, split="all").items()] == ["OST_013", "animal_0001", "sky_0002"]
    test = OSTSource(root=tmp_path, split="test")
    # an annotation of SFTGAN's modcrop size (multiples of 8): the image is cut the same way
    write_png(tmp_path / "test" / "annotations" / "OST_013.png", np.zeros((40, 48), np.uint8))
    sample = test.load(test.items()[0])
    assert sample.image.shape == (40, 48, 3) and "modcrop" in sample.notes[0]
    (tmp_path / "ids.txt").write_text("sky_0002\n")
    assert [i.id for i in OSTSource(root=tmp_path, split="list:ids.txt").items()] == ["sky_0002"]
    write_ost(tmp_path / "flat", ["a"])
    with pytest.raises(OccbenchError, match=r"flat/train: not found; split 'train' needs"):
        OSTSource(root=tmp_path / "flat", split="train").items()
    (tmp_path / "flat" / "annotations" / "a.png").unlink()
    with pytest.raises(SampleError, match=r"a\.png: OST annotation not found"):
        OSTSource(root=tmp_path / "flat").load(OSTSource(root=tmp_path / "flat").items()[0])
    with pytest.raises(OccbenchError, match="OST annotation folder not found"):
        OSTSource(root=tmp_path / "flat", annotation_dir="nothing").items()


def test_short_side_resize_then_centre_crop() -> None:
    image = smooth(1024, 2048)
    policy = Preprocess(short_side=512)
    out = fit_image(image, 256, policy, "x.png")
    expected = cv2.resize(image, (1024, 512), interpolation=cv2.INTER_AREA)[128:384, 384:640]
    assert out.shape == (256, 256, 3) and np.array_equal(out, expected)
    label = np.arange(1024 * 2048, dtype=np.int64).reshape(1024, 2048) % 19
    fitted = fit_label(label.astype(np.uint8), image.shape, 256, policy, "l.png")
    assert np.array_equal(fitted, cv2.resize(label.astype(np.uint8), (1024, 512),
                                             interpolation=cv2.INTER_NEAREST)[128:384, 384:640])
    with pytest.raises(SampleError, match="smaller than the protocol's short side 512"):
        fit_image(smooth(400, 600), 256, policy, "small.png")
    assert fit_image(smooth(400, 600), 256, Preprocess(short_side=512, upscale=True), "s").shape == (256, 256, 3)


def test_short_side_protocol_validation(tmp_path: Path) -> None:
    def protocol(**preprocess) -> Path:
        path = tmp_path / "p.yaml"
        path.write_text(yaml.safe_dump({"name": "p", "version": 1, "seed": 0, "resolution": 256,
                                        "preprocess": preprocess, "source": {"name": "folder"},
                                        "generator": {"name": "center", "params": {"size": 96}}}))
        return path

    assert load_protocol(protocol(short_side=512)).preprocess.short_side == 512
    with pytest.raises(ProtocolError, match=r"preprocess\.short_side: Expected an integer between the resolution"):
        load_protocol(protocol(short_side=128))
    with pytest.raises(ProtocolError, match=r"preprocess\.short_side: Expected no short_side with resize: stretch"):
        load_protocol(protocol(short_side=512, resize="stretch"))
    with pytest.raises(ProtocolError, match=r"preprocess\.short_side: Expected the side"):
        load_protocol(protocol(short_side="512"))
    plain = load_protocol(protocol())
    assert plain.preprocess.short_side is None and "short_side" not in plain.resolved["preprocess"]


def test_scene_protocols_ship_and_validate() -> None:
    shipped = shipped_protocols()
    for name in SCENE_PROTOCOLS:
        protocol = load_protocol(name)
        assert shipped[name].parent.name == "scenes" and protocol.resolution == 256
        assert "SGE-Net Table" in protocol.resolved["description"]
    assert load_protocol("cityscapes-center96-256").preprocess.short_side == 512
    assert load_protocol("cityscapes-center96-256").split == "sgenet-test"
    assert load_protocol("cityscapes-sgenet-train-256").split == "sgenet-train"
    assert load_protocol("ost-center128-256").generator_params == {"size": 128}
    assert load_protocol("cityscapes-center96-256").generator_params == {"size": 96}
    assert load_protocol("ost-nvidia-irregular-256").generator_params["bins"][0] == [0.01, 0.1]


def test_folder_label_scheme_parameter(tmp_path: Path) -> None:
    write_png(tmp_path / "img" / "a.png", smooth(16, 16))
    write_png(tmp_path / "lab" / "a.png", np.array([[0, 7, 255, 3]] * 16, np.uint8).repeat(4, 1))
    source = FolderSource(root=tmp_path / "img", label_dir=tmp_path / "lab", label_scheme="ost8")
    assert source.label_scheme == "ost8" and source.load(source.items()[0]).label.max() == 255
    write_png(tmp_path / "lab" / "a.png", np.full((16, 16), 12, np.uint8))  # a celebamask19 class, not an ost8 one
    with pytest.raises(SampleError, match=r"a\.png: Expected ost8 class values 0\.\.7 or 255 \(ignore\), but got 12"):
        source.load(source.items()[0])
    face = FolderSource(root=tmp_path / "img", label_dir=tmp_path / "lab")
    assert face.label_scheme == "celebamask19" and face.load(face.items()[0]).label.max() == 12
    with pytest.raises(ValueError, match="label_scheme: Expected one of celebamask19"):
        FolderSource(label_scheme="faces")


def test_build_cityscapes_protocol_from_synthetic_val(tmp_path: Path) -> None:
    """cityscapes-center96-256 as shipped: short side 512, centre 256 crop, 96 px hole, scheme recorded."""
    write_cityscapes(tmp_path / "cs", nested=True, size=(512, 1024))
    out = tmp_path / "data"
    report = build_dataset(BuildConfig(protocol=load_protocol("cityscapes-center96-256"), out=out,
                                       source_dir=tmp_path / "cs", progress=False))
    assert report.ok == 1
    info = json.loads((out / "dataset.json").read_text())
    assert info["labels"] is True and info["label_scheme"] == "cityscapes19"
    target = read_image(out / "target" / "frankfurt_000000_000294.png")
    assert np.array_equal(target, smooth(512, 1024)[128:384, 384:640])
    mask = read_gray(out / "mask" / "frankfurt_000000_000294.png")
    assert (mask > 0).sum() == 96 * 96
    label = read_gray(out / "label" / "frankfurt_000000_000294.png")
    assert np.array_equal(label, CITYSCAPES_LABELID_TO_TRAINID[label_ids(512, 1024)][128:384, 384:640])


def test_build_ost_protocol_from_synthetic_fixture(tmp_path: Path) -> None:
    labels = write_ost(tmp_path / "ost" / "test", ["OST_001", "OST_002"], size=(256, 320))
    write_ost(tmp_path / "ost" / "train", ["animal_0001"], size=(256, 320))
    out = tmp_path / "data"
    build_dataset(BuildConfig(protocol=load_protocol("ost-center128-256"), out=out, source_dir=tmp_path / "ost",
                              progress=False))
    info = json.loads((out / "dataset.json").read_text())
    assert info["counts"]["ok"] == 2 and info["label_scheme"] == "ost8"
    assert np.array_equal(read_gray(out / "label" / "OST_002.png"), labels["OST_002"][:, 32:288])
    rows = (out / "manifest.csv").read_text().splitlines()
    assert ",,," in rows[1]  # no foreground ratios for a scheme without a foreground


@pytest.fixture(scope="module")
def real_cityscapes_dataset(tmp_path_factory) -> Path:
    """The shipped training protocol over the real flat Cityscapes samples (2 of 8 images)."""
    root = shared_path("assets", "scene_segmentation", "cityscapes_pix2pixhd")
    out = tmp_path_factory.mktemp("cityscapes") / "data"
    build_dataset(BuildConfig(protocol=load_protocol("cityscapes-sgenet-train-256"), out=out, source_dir=root,
                              limit=2, progress=False))
    return out


def test_real_cityscapes_build_and_training_loader(real_cityscapes_dataset: Path) -> None:
    from occbench.baselines.engine.data import BuiltDataset

    info = json.loads((real_cityscapes_dataset / "dataset.json").read_text())
    assert info["label_scheme"] == "cityscapes19" and info["counts"]["ok"] == 2
    label = read_gray(real_cityscapes_dataset / "label" / "aachen_000000_000019.png")
    values, counts = np.unique(label, return_counts=True)  # short side 512 (nearest), centre 256x256: no sky left
    assert dict(zip(values.tolist(), counts.tolist())) == {0: 31003, 1: 2346, 2: 19447, 5: 1582, 7: 3244, 8: 3167,
                                                           9: 2320, 11: 393, 13: 813, 18: 207, 255: 1014}
    sample = BuiltDataset(real_cityscapes_dataset)[0]
    assert "label" in sample and "fg" not in sample


def test_real_cityscapes_evaluate_telea_without_fg(real_cityscapes_dataset: Path, tmp_path: Path) -> None:
    from occbench.evaluate.run import EvaluateConfig, evaluate
    from occbench.evaluate.scoring import ScoreSettings

    results = evaluate(EvaluateConfig(data=real_cityscapes_dataset, out=tmp_path / "telea", method="telea",
                                      progress=False, score=ScoreSettings(metrics=("psnr", "mae"))))
    assert any("label scheme 'cityscapes19' has no foreground: fg and hole_fg regions were not scored" in w
               for w in results["warnings"])
    assert results["dataset"]["label_scheme"] == "cityscapes19"
    scores = (tmp_path / "telea" / "scores.csv").read_text()
    assert ",hole," in scores and ",fg," not in scores and ",hole_fg," not in scores
    explicit = ScoreSettings(metrics=("psnr",), regions=("whole", "fg"), explicit_regions=True)
    with pytest.raises(OccbenchError, match="--regions fg: the dataset's label scheme 'cityscapes19' has no fore"):
        evaluate(EvaluateConfig(data=real_cityscapes_dataset, out=tmp_path / "e", method="telea", progress=False,
                                score=explicit))
    assert not (tmp_path / "e").exists()
