"""Paired import (source ``paired`` + generator ``given``): a published occluded set evaluated as it is distributed."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from occbench.dataset.build import BuildConfig, build_dataset
from occbench.errors import OccbenchError
from occbench.image_io import read_gray, read_image
from occbench.protocol import find_protocol, load_protocol
from occbench.sources.paired import PairedSource


def smooth_image(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth RGB uint8 image (JPEG-friendly, like a photograph)."""
    small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def write_rgb(path: Path, rgb: np.ndarray, quality: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if quality else []
    assert cv2.imwrite(str(path), rgb[:, :, ::-1], params)


def write_gray(path: Path, gray: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), gray)


def make_pair(root: Path, stem: str, target: np.ndarray, hole: np.ndarray, polarity: str = "white_hole",
              occluded_ext: str = ".png", quality: int | None = None) -> np.ndarray:
    """Write target/<stem>.png, occluded/<stem><ext> (a flat occluder colour in the hole) and mask/<stem>.png."""
    occluded = target.copy()
    occluded[hole] = (30, 200, 60)
    write_rgb(root / "target" / f"{stem}.png", target)
    write_rgb(root / "occluded" / f"{stem}{occluded_ext}", occluded, quality)
    mask = hole.astype(np.uint8) * 255
    write_gray(root / "mask" / f"{stem}.png", mask if polarity == "white_hole" else 255 - mask)
    return occluded


def build(tmp_path: Path, root: Path, protocol: str = "paired-white-hole-256", **kwargs):
    proto = load_protocol(find_protocol(protocol))
    return build_dataset(BuildConfig(protocol=proto, out=tmp_path / "out", source_dir=root, progress=False, **kwargs))


@pytest.fixture
def paired_set(tmp_path) -> Path:
    """Five targets at 300 px: two good pairs (one JPEG occluded), one with an inverted mask, one resized occluded
    image, one without a mask; plus a mask without a target."""
    rng = np.random.default_rng(5)
    root = tmp_path / "set"
    hole = np.zeros((300, 300), bool)
    hole[90:200, 60:240] = True
    make_pair(root, "a/good", smooth_image(rng, 300), hole)
    make_pair(root, "b/jpeg", smooth_image(rng, 300), hole, occluded_ext=".jpg", quality=95)
    make_pair(root, "inverted", smooth_image(rng, 300), hole, polarity="black_hole")
    make_pair(root, "resized", smooth_image(rng, 300), hole)
    occluded = read_image(root / "occluded" / "resized.png")
    write_rgb(root / "occluded" / "resized.png", cv2.resize(occluded, (280, 280)))
    make_pair(root, "nomask", smooth_image(rng, 300), hole)
    (root / "mask" / "nomask.png").unlink()
    write_gray(root / "mask" / "orphan.png", hole.astype(np.uint8) * 255)
    return root


def test_paired_build_keeps_the_given_occlusion(tmp_path, paired_set) -> None:
    report = build(tmp_path, paired_set)
    assert report.complete and report.ok == 2 and report.skipped == 3
    out = tmp_path / "out"
    rows = {r["id"]: r for r in csv.DictReader((out / "manifest.csv").open())}
    assert set(rows) == {"a__good", "b__jpeg"}
    # fitted like the target: 300 → 256 (area), the mask with nearest neighbour
    expected_mask = cv2.resize(read_gray(paired_set / "mask" / "a" / "good.png"), (256, 256),
                               interpolation=cv2.INTER_NEAREST)
    assert np.array_equal(read_gray(out / "mask" / "a__good.png"), expected_mask)
    expected_occluded = cv2.resize(read_image(paired_set / "occluded" / "a" / "good.png"), (256, 256),
                                   interpolation=cv2.INTER_AREA)
    assert np.array_equal(read_image(out / "occluded" / "a__good.png"), expected_occluded)
    params = json.loads(rows["a__good"]["params"])
    assert params["outside_mad"] == 0.0 and params["inside_mad"] > 50 and params["mask_file"] == "good.png"
    assert 0 < json.loads(rows["b__jpeg"]["params"])["outside_mad"] <= 4.0  # JPEG re-encoding is tolerated
    skipped = {r["id"]: r["reason"] for r in csv.DictReader((out / "skipped.csv").open())}
    assert "other polarity (black_hole) would fit better" in skipped["inverted"]
    assert "280x280" in skipped["resized"] and "resized.png" in skipped["resized"]
    assert "no mask file" in skipped["nomask"] and "nomask.*" in skipped["nomask"]
    info = json.loads((out / "dataset.json").read_text())
    assert any("orphan.png" in p and "no target" in p for p in info["source_problems"])
    assert report.source_problems == tuple(info["source_problems"])


def test_paired_black_hole_protocol_reads_inverted_masks(tmp_path) -> None:
    rng = np.random.default_rng(1)
    hole = np.zeros((256, 256), bool)
    hole[100:150, 20:200] = True
    make_pair(tmp_path / "set", "x", smooth_image(rng, 256), hole, polarity="black_hole")
    report = build(tmp_path, tmp_path / "set", protocol="paired-black-hole-256")
    assert report.ok == 1
    assert np.array_equal(read_gray(tmp_path / "out" / "mask" / "x.png") > 0, hole)


def test_paired_needs_polarity_and_given_needs_paired(tmp_path, paired_set) -> None:
    with pytest.raises(ValueError, match="mask_polarity: Expected one of white_hole, black_hole"):
        PairedSource(root=paired_set)
    with pytest.raises(OccbenchError, match="target: folder does not exist"):
        PairedSource(root=paired_set / "mask", mask_polarity="white_hole").items()
    protocol = tmp_path / "p.yaml"
    protocol.write_text("name: p\nversion: 1\nseed: 1\nresolution: 32\nsource: {name: folder}\n"
                        "generator: {name: given}\n")
    with pytest.raises(OccbenchError, match="source 'folder' has none; use source 'paired'"):
        build_dataset(BuildConfig(protocol=load_protocol(protocol), out=tmp_path / "o", source_dir=paired_set,
                                  progress=False))


def test_paired_real_faces_with_nvidia_masks(tmp_path, assets) -> None:
    """Real CelebA-HQ faces with NVIDIA irregular masks, occluded images re-encoded as JPEG (as published sets are)."""
    faces = sorted((assets / "celeba_hq_faces_sean").glob("*.jpg"))[:3]
    masks = sorted((assets / "nvidia_irregular_masks").glob("*.png"))[:3]
    root = tmp_path / "set"
    for face, mask_file in zip(faces, masks):
        target = cv2.resize(read_image(face), (256, 256), interpolation=cv2.INTER_AREA)
        hole = cv2.resize(read_gray(mask_file), (256, 256), interpolation=cv2.INTER_NEAREST) >= 128
        make_pair(root, face.stem, target, hole, occluded_ext=".jpg", quality=95)
    report = build(tmp_path, root)
    assert report.ok == 3 and report.skipped == 0
    rows = list(csv.DictReader((tmp_path / "out" / "manifest.csv").open()))
    assert all(0 < json.loads(r["params"])["outside_mad"] < 4.0 for r in rows)
