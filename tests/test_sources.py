"""Image sources: folder trees, CelebA-HQ (+ CelebAMask-HQ labels), aligned CelebA, the scikit-image demo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from occbench.errors import OccbenchError, ProtocolError, SampleError
from occbench.image_io import read_gray
from occbench.labels import ANNO_PART_CLASS, CLASS_INDEX
from occbench.params import build_component
from occbench.registry import SOURCES
from occbench.sources.celeba import CelebASource
from occbench.sources.celebahq import CelebAHQSource
from occbench.sources.demo import DEMO_NAMES, DemoSource
from occbench.sources.folder import FolderSource


def write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return path


def image(height: int = 8, width: int = 8, value: int = 100) -> np.ndarray:
    return np.full((height, width, 3), value, np.uint8)


def ids(source) -> list[str]:
    return [item.id for item in source.items()]


# --- registry -------------------------------------------------------------------------------------------------


def test_registry_names_resolve_to_classes() -> None:
    expected = {"folder": FolderSource, "celebahq": CelebAHQSource, "celeba": CelebASource, "demo": DemoSource}
    for name, cls in expected.items():
        assert SOURCES.get(name) is cls


# --- folder -----------------------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "imgs"
    write(root / "a.jpg", image(value=10))
    write(root / "a.png", image(value=20))
    write(root / "sub" / "b.png", image(6, 12))
    write(root / "sub" / "deep" / "c.JPG", image())
    write(root / ".hidden.png", image())
    write(root / ".git" / "x.png", image())
    (root / "notes.txt").write_text("not an image")
    return root


def test_folder_lists_nested_tree_with_collisions(tree: Path) -> None:
    source = FolderSource(root=tree)
    assert ids(source) == ["a_jpg", "a_png", "sub__b", "sub__deep__c"]
    assert ids(source) == ids(FolderSource(root=tree))  # stable
    assert not source.provides_labels()
    items = {item.id: item for item in source.items()}
    sample = source.load(items["sub__b"])
    assert sample.image.shape == (6, 12, 3) and sample.image.dtype == np.uint8 and sample.label is None
    assert source.load(items["a_png"]).image[0, 0, 0] == 20


def test_folder_list_file(tree: Path, tmp_path: Path) -> None:
    listing = tmp_path / "subset.txt"
    listing.write_text("# chosen\nsub/b.png\n\na_jpg\nsub__deep__c\na_jpg\n")
    assert ids(FolderSource(root=tree, split=f"list:{listing}")) == ["a_jpg", "sub__b", "sub__deep__c"]
    listing.write_text("a_png\nsub/b.png\nmissing.jpg\n")
    with pytest.raises(OccbenchError, match=rf"{listing}:3: 'missing.jpg'"):
        FolderSource(root=tree, split=f"list:{listing}").items()
    (tree / "inside.txt").write_text("a\n")  # relative list files are looked up under root; 'a' is ambiguous
    with pytest.raises(OccbenchError, match="inside.txt:1"):
        FolderSource(root=tree, split="list:inside.txt").items()
    with pytest.raises(OccbenchError, match="nope.txt"):
        FolderSource(root=tree, split="list:nope.txt").items()


def test_folder_labels(tree: Path) -> None:
    label = np.zeros((3, 6), np.uint8)
    label[1, 2] = CLASS_INDEX["nose"]
    write(tree / "labels" / "sub" / "b.png", label)
    write(tree / "labels" / "sub" / "deep" / "c.png", np.zeros((4, 4), np.uint8))  # 8x8 image: same aspect
    source = FolderSource(root=tree, label_dir=Path("labels"))
    assert source.provides_labels()
    items = {item.id: item for item in source.items()}
    assert set(items) == {"a_jpg", "a_png", "sub__b", "sub__deep__c"}  # label files are not images
    sample = source.load(items["sub__b"])
    assert np.array_equal(sample.label, label) and sample.image.shape == (6, 12, 3)
    assert source.load(items["sub__deep__c"]).label.shape == (4, 4)
    with pytest.raises(SampleError, match=r"labels/a\.png"):
        source.load(items["a_jpg"])
    write(tree / "labels" / "a.png", np.zeros((4, 8), np.uint8))
    with pytest.raises(SampleError, match="aspect ratio"):
        source.load(items["a_jpg"])
    write(tree / "labels" / "a.png", np.full((8, 8), 255, np.uint8))
    with pytest.raises(SampleError, match="class values"):
        source.load(items["a_jpg"])
    with pytest.raises(OccbenchError, match="label_dir does not exist"):
        FolderSource(root=tree, label_dir=Path("nolabels")).items()


def test_folder_needs_root_and_images(tmp_path: Path) -> None:
    with pytest.raises(OccbenchError, match="--source-dir"):
        FolderSource().items()
    with pytest.raises(OccbenchError, match="no images"):
        FolderSource(root=tmp_path).items()
    with pytest.raises(ValueError, match="split"):
        FolderSource(root=tmp_path, split="train")


# --- celebahq ---------------------------------------------------------------------------------------------------


def test_celebahq_shared_samples(assets: Path) -> None:
    root = assets / "celebamask_hq_samples"
    source = CelebAHQSource(root=root, image_dir="images", label_dir="labels")
    assert source.provides_labels()
    items = source.items()
    assert [item.id for item in items] == ["0", "1", "2", "3"]
    sample = source.load(items[0])
    assert sample.image.shape == (1024, 1024, 3) and sample.image.dtype == np.uint8
    assert np.array_equal(sample.label, read_gray(root / "labels" / "0.png"))
    auto = CelebAHQSource(root=root, image_dir="images")  # 'labels' is auto-detected
    assert auto.label_source() == ("combined", root / "labels")
    unlabelled = CelebAHQSource(root=root, image_dir="images", labels="none")
    assert unlabelled.load(unlabelled.items()[1]).label is None and not unlabelled.provides_labels()


def test_celebahq_parts_reproduce_combined_label(assets: Path, tmp_path: Path) -> None:
    original = read_gray(assets / "celebamask_hq_samples" / "labels" / "0.png")
    write(tmp_path / "CelebA-HQ-img" / "0.jpg", image(64, 64))
    for part, value in ANNO_PART_CLASS.items():
        if (original == value).any():
            write(tmp_path / "CelebAMask-HQ-mask-anno" / "0" / f"00000_{part}.png",
                  np.where(original == value, 255, 0).astype(np.uint8))
    source = CelebAHQSource(root=tmp_path)  # auto: no combined folder, part masks present
    assert source.label_source()[0] == "parts" and source.provides_labels()
    (item,) = source.items()
    sample = source.load(item)
    assert sample.image.shape == (64, 64, 3)
    assert np.array_equal(sample.label, original)


def test_celebahq_parts_painting_order_and_missing(tmp_path: Path) -> None:
    for key in (2001, 2002):
        write(tmp_path / "CelebA-HQ-img" / f"{key}.jpg", image(16, 16))
    anno = tmp_path / "CelebAMask-HQ-mask-anno" / "1"  # k = 2001 // 2000
    full, left, centre = (np.zeros((8, 8), np.uint8) for _ in range(3))
    full[:] = 255
    left[:, :4] = 255
    centre[2:6, 2:6] = 255
    write(anno / "02001_hair.png", left)  # written first, painted after nose: order comes from the part name
    write(anno / "02001_nose.png", centre)
    write(anno / "02001_skin.png", full)
    source = CelebAHQSource(root=tmp_path, labels="parts")
    items = {item.id: item for item in source.items()}
    label = source.load(items["2001"]).label
    expected = np.full((8, 8), CLASS_INDEX["skin"], np.uint8)
    expected[2:6, 2:6] = CLASS_INDEX["nose"]
    expected[:, :4] = CLASS_INDEX["hair"]  # hair (class 13) overwrites nose (class 2) where they overlap
    assert np.array_equal(label, expected)
    with pytest.raises(SampleError, match="02002_"):
        source.load(items["2002"])


def test_celebahq_missing_label_and_aspect(tmp_path: Path) -> None:
    write(tmp_path / "CelebA-HQ-img" / "5.jpg", image(16, 16))
    write(tmp_path / "CelebA-HQ-img" / "6.png", image(16, 16))
    write(tmp_path / "CelebAMask-HQ-label" / "6.png", np.zeros((8, 4), np.uint8))
    source = CelebAHQSource(root=tmp_path, labels="combined")
    items = {item.id: item for item in source.items()}
    with pytest.raises(SampleError, match=r"CelebAMask-HQ-label/5\.png"):
        source.load(items["5"])
    with pytest.raises(SampleError, match="aspect ratio"):
        source.load(items["6"])
    with pytest.raises(OccbenchError, match="label folder not found"):
        CelebAHQSource(root=tmp_path, label_dir="nothing").items()
    with pytest.raises(ValueError, match="labels"):
        CelebAHQSource(root=tmp_path, labels="maybe")


@pytest.fixture
def hq_ids(tmp_path: Path) -> Path:
    for key in (26999, 27000, 28000):
        write(tmp_path / "CelebA-HQ-img" / f"{key}.jpg", image())
    (tmp_path / "CelebA-HQ-img" / "README.txt").write_text("ignored")
    return tmp_path


@pytest.mark.parametrize("split, expected", [
    ("all", ["26999", "27000", "28000"]),
    ("pconv-train", ["26999"]),
    ("pconv-test", ["27000", "28000"]),
    ("sean-test", ["28000"]),
])
def test_celebahq_id_range_splits(hq_ids: Path, split: str, expected: list[str]) -> None:
    source = CelebAHQSource(root=hq_ids, split=split, labels="none")
    assert ids(source) == expected and not source.provides_labels()


def test_celebahq_official_split(hq_ids: Path) -> None:
    (hq_ids / "CelebA-HQ-to-CelebA-mapping.txt").write_text(
        "idx orig_idx orig_file\n26999 2 000003.jpg\n27000 0 000001.jpg\n28000 1 000002.jpg\n")
    with pytest.raises(OccbenchError, match="list_eval_partition.txt"):
        CelebAHQSource(root=hq_ids, split="official-train", labels="none").items()
    (hq_ids / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n")
    for split, expected in [("official-train", ["27000"]), ("official-val", ["28000"]), ("official-test", ["26999"])]:
        assert ids(CelebAHQSource(root=hq_ids, split=split, labels="none")) == expected
    (hq_ids / "CelebA-HQ-to-CelebA-mapping.txt").unlink()
    with pytest.raises(OccbenchError, match="CelebA-HQ-to-CelebA-mapping.txt"):
        CelebAHQSource(root=hq_ids, split="official-val", labels="none").items()


def test_celebahq_list_split(hq_ids: Path) -> None:
    (hq_ids / "ids.txt").write_text("28000\n26999.jpg\n")
    assert ids(CelebAHQSource(root=hq_ids, split="list:ids.txt", labels="none")) == ["26999", "28000"]
    (hq_ids / "ids.txt").write_text("28000\n5\n")
    with pytest.raises(OccbenchError, match=r"ids\.txt:2: '5'"):
        CelebAHQSource(root=hq_ids, split="list:ids.txt", labels="none").items()


def test_celebahq_shared_sean_faces(assets: Path) -> None:
    source = CelebAHQSource(root=assets / "celeba_hq_faces_sean", image_dir=".", labels="none", split="sean-test")
    assert len(source.items()) == 48


def test_celebahq_params_through_protocol() -> None:
    with pytest.raises(ProtocolError, match="labels"):
        build_component(CelebAHQSource, {"labels": "sometimes"}, "p.yaml: source")


# --- celeba -----------------------------------------------------------------------------------------------------


def test_celeba_partition_splits(tmp_path: Path) -> None:
    for index in range(1, 5):
        write(tmp_path / "img_align_celeba" / f"{index:06d}.jpg", image(218 // 8, 178 // 8))
    assert ids(CelebASource(root=tmp_path)) == ["000001", "000002", "000003", "000004"]
    with pytest.raises(OccbenchError, match="list_eval_partition.txt"):
        CelebASource(root=tmp_path, split="train").items()
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n000004.jpg 2\n")
    assert ids(CelebASource(root=tmp_path, split="train")) == ["000001", "000002"]
    assert ids(CelebASource(root=tmp_path, split="val")) == ["000003"]
    assert ids(CelebASource(root=tmp_path, split="test")) == ["000004"]
    source = CelebASource(root=tmp_path)
    sample = source.load(source.items()[0])
    assert sample.image.shape == (27, 22, 3) and sample.label is None and not source.provides_labels()
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg train\n")
    with pytest.raises(OccbenchError, match="list_eval_partition.txt:2"):
        CelebASource(root=tmp_path, split="val").items()


def test_celeba_nested_folder_and_list(tmp_path: Path) -> None:
    write(tmp_path / "img_align_celeba" / "img_align_celeba" / "000007.jpg", image())
    (tmp_path / "l.txt").write_text("000007.jpg\n")
    assert ids(CelebASource(root=tmp_path, split="list:l.txt")) == ["000007"]


# --- demo -------------------------------------------------------------------------------------------------------


def test_demo_loads_offline_rgb_images() -> None:
    import skimage.data

    source = DemoSource()
    items = source.items()
    assert [item.id for item in items] == list(DEMO_NAMES) == sorted(DEMO_NAMES)
    assert len(items) >= 6 and all(hasattr(skimage.data, item.id) for item in items)
    for item in items:
        sample = source.load(item)
        assert sample.image.ndim == 3 and sample.image.shape[2] == 3 and sample.image.dtype == np.uint8
        assert min(sample.image.shape[:2]) >= 256 and sample.label is None
    camera = next(item for item in items if item.id == "camera")
    assert "grayscale→RGB" in source.load(camera).notes
    assert not source.provides_labels()


def test_demo_names() -> None:
    assert ids(DemoSource(names=("rocket", "astronaut"))) == ["astronaut", "rocket"]
    with pytest.raises(ValueError, match="astronaut, camera") as info:
        DemoSource(names=("astronaut", "lena"))
    assert "'lena'" in str(info.value)
    with pytest.raises(ProtocolError, match=r"p\.yaml: source\.names"):
        build_component(DemoSource, {"names": ["bogus"]}, "p.yaml: source", root=None)
