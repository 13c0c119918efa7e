"""Occluder banks: builders (YOLO-seg, COCO via pycocotools, EgoHands .mat, RGBA folders, image+mask pairs),
the bank reader and writer, skip reporting, idempotent re-runs and the build-occluders CLI."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from occbench.cli.build_occluders import register
from occbench.errors import OccbenchError, SampleError
from occbench.image_io import read_image
from occbench.occlusion import OccluderBank, OccluderEntry, builders, read_rgba
from occbench.occlusion.bank import INDEX_COLUMNS, make_id
from occbench.occlusion.builders import BuildOptions, build_coco, build_egohands, build_rgba, build_yolo

LICENCE = "COCO annotations CC BY 4.0; test fixture"


@pytest.fixture
def coco128(assets: Path) -> dict[str, Path]:
    root = assets / "coco128_seg"
    return {"labels": root / "labels" / "train2017", "images": root / "images" / "train2017",
            "classes": root / "classes.txt"}


def yolo_polygons(label: Path, width: int, height: int) -> list[tuple[int, np.ndarray]]:
    """(class, (N, 2) pixel polygon) per line, parsed independently of occbench."""
    rows = []
    for line in label.read_text().splitlines():
        values = line.split()
        rows.append((int(values[0]), np.array(values[1:], float).reshape(-1, 2) * [width, height]))
    return rows


def fill(polygon: np.ndarray, width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 255)
    return mask


def crop_box(mask: np.ndarray) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    return slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_yolo_build_matches_rasterised_polygons(tmp_path, coco128):
    report = build_yolo(tmp_path / "bank", coco128["labels"], coco128["images"], coco128["classes"],
                        BuildOptions(licence=LICENCE, limit=4))
    names = coco128["classes"].read_text().splitlines()
    bank = OccluderBank.open(tmp_path / "bank")
    labels = sorted(coco128["labels"].glob("*.txt"))[:4]
    expected = sum(len(label.read_text().splitlines()) for label in labels)
    assert len(bank) == len(report.written) == expected and not report.skipped
    for entry in bank.entries():
        assert entry.kind == "object" and entry.source == "yolo" and entry.licence == LICENCE
        image = read_image(coco128["images"] / f"{entry.source_id}.jpg")
        line = int(entry.id.rsplit("-", 1)[1])
        cls, polygon = yolo_polygons(coco128["labels"] / f"{entry.source_id}.txt", image.shape[1],
                                     image.shape[0])[line]
        assert entry.category == names[cls]
        mask = fill(polygon, image.shape[1], image.shape[0])
        rows, cols = crop_box(mask)
        rgba = bank.load(entry)
        assert rgba.shape == (entry.height, entry.width, 4) and rgba.dtype == np.uint8
        assert np.array_equal(rgba[:, :, 3], mask[rows, cols])  # alpha = the polygon, 255 inside / 0 outside
        assert entry.area == np.count_nonzero(mask) == np.count_nonzero(rgba[:, :, 3])
        inside = rgba[:, :, 3] > 0
        assert np.array_equal(rgba[:, :, :3][inside], image[rows, cols][inside])
        assert not rgba[:, :, :3][~inside].any()


def test_yolo_filters(tmp_path, coco128):
    options = BuildOptions(licence=LICENCE, categories=("person", "bowl"), min_area=3000, max_per_category=3,
                           limit=12)
    report = build_yolo(tmp_path / "bank", coco128["labels"], coco128["images"], coco128["classes"], options)
    entries = OccluderBank.open(tmp_path / "bank").entries()
    assert entries and report.filtered > 0
    assert {e.category for e in entries} <= {"person", "bowl"}
    assert all(e.area >= 3000 for e in entries)
    assert all(sum(e.category == c for e in entries) <= 3 for c in ("person", "bowl"))
    assert report.per_category == {c: sum(e.category == c for e in entries) for c in {e.category for e in entries}}
    with pytest.raises(OccbenchError, match="Unknown category 'persn'"):
        build_yolo(tmp_path / "b2", coco128["labels"], coco128["images"], coco128["classes"],
                   BuildOptions(licence=LICENCE, categories=("persn",)))
    with pytest.raises(OccbenchError, match="licence"):
        BuildOptions(licence=" ")


def test_yolo_bad_lines_are_skipped(tmp_path, coco128):
    labels, images = tmp_path / "labels", tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").symlink_to(coco128["images"] / "000000000009.jpg")
    (images / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")  # unreadable image
    good = (coco128["labels"] / "000000000009.txt").read_text().splitlines()[0]
    labels.mkdir()
    (labels / "a.txt").write_text("\n".join([good, "0 0.1 0.1 0.2 0.2", "99 0.1 0.1 0.2 0.1 0.2 0.2", "x 1 2",
                                             "0 1.5 1.5 1.9 1.5 1.9 1.9", "0 0.1 0.1 0.2 0.1 0.3 0.1"]) + "\n")
    (labels / "b.txt").write_text(good + "\n")
    (labels / "c.txt").write_text(good + "\n")  # no image
    report = build_yolo(tmp_path / "bank", labels, images, coco128["classes"], BuildOptions(licence=LICENCE))
    assert [e.id for e in report.written] == ["yolo-a-0"]
    rows = read_csv(tmp_path / "bank" / "skipped.csv")
    reasons = {Path(r["file"]).name: r["reason"] for r in rows}
    assert set(reasons) == {"a.txt:2", "a.txt:3", "a.txt:4", "a.txt:5", "a.txt:6", "b.txt", "c.txt"}
    assert "at least 3" in reasons["a.txt:2"] and "class id" in reasons["a.txt:3"]
    assert "outside the image" in reasons["a.txt:5"] and "degenerate" in reasons["a.txt:6"]
    assert "truncated PNG" in reasons["b.txt"] and "found none" in reasons["c.txt"]
    assert len(rows) == len(report.skipped) == 7


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools on numpy 2
def test_coco_polygon_rle_and_crowd(tmp_path, coco128):
    from pycocotools import mask as mask_utils

    image_path = coco128["images"] / "000000000009.jpg"
    image = read_image(image_path)
    height, width = image.shape[:2]
    instances = yolo_polygons(coco128["labels"] / "000000000009.txt", width, height)
    (cls_a, poly_a), (cls_b, poly_b) = instances[0], instances[2]
    names = builders.read_class_names(coco128["classes"])
    mask_b = fill(poly_b, width, height) // 255
    rle = mask_utils.encode(np.asfortranarray(mask_b))
    rle["counts"] = rle["counts"].decode("ascii")
    crowd = mask_utils.encode(np.asfortranarray(fill(poly_a, width, height) // 255))
    crowd["counts"] = crowd["counts"].decode("ascii")
    coco = {
        "images": [{"id": 9, "file_name": "000000000009.jpg", "width": width, "height": height}],
        "categories": [{"id": cls_a + 1, "name": names[cls_a]}, {"id": cls_b + 1, "name": names[cls_b]}],
        "annotations": [
            {"id": 11, "image_id": 9, "category_id": cls_a + 1, "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1],
             "segmentation": [poly_a.ravel().tolist()]},
            {"id": 12, "image_id": 9, "category_id": cls_b + 1, "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1],
             "segmentation": rle},
            {"id": 13, "image_id": 9, "category_id": cls_a + 1, "iscrowd": 1, "area": 1.0, "bbox": [0, 0, 1, 1],
             "segmentation": crowd},
        ],
    }
    annotations = tmp_path / "instances.json"
    annotations.write_text(json.dumps(coco))
    report = build_coco(tmp_path / "bank", annotations, coco128["images"], BuildOptions(licence=LICENCE))
    assert report.filtered == 1 and not report.skipped  # the iscrowd instance
    bank = OccluderBank.open(tmp_path / "bank")
    by_id = {e.id: e for e in bank.entries()}
    assert set(by_id) == {"coco-000000000009-11", "coco-000000000009-12"}
    # polygon path: pycocotools' own rasterisation of the source polygon, and close to cv2.fillPoly
    expected_a = mask_utils.decode(mask_utils.frPyObjects([poly_a.ravel().tolist()], height, width))[:, :, 0]
    rows, cols = crop_box(expected_a)
    alpha_a = bank.load(by_id["coco-000000000009-11"])[:, :, 3]
    assert np.array_equal(alpha_a, expected_a[rows, cols] * 255)
    assert by_id["coco-000000000009-11"].category == names[cls_a]
    filled = fill(poly_a, width, height) > 0
    assert (filled & (expected_a > 0)).sum() / (filled | (expected_a > 0)).sum() > 0.9
    # RLE path: exactly the source mask
    rows, cols = crop_box(mask_b)
    entry_b = by_id["coco-000000000009-12"]
    assert np.array_equal(bank.load(entry_b)[:, :, 3], mask_b[rows, cols] * 255) and entry_b.area == mask_b.sum()
    report = build_coco(tmp_path / "bank", annotations, coco128["images"], BuildOptions(licence=LICENCE),
                        keep_crowd=True)
    assert len(report.written) == 3 and report.filtered == 0
    only_b = build_coco(tmp_path / "b2", annotations, coco128["images"],
                        BuildOptions(licence=LICENCE, categories=(names[cls_b],)))
    assert [e.id for e in only_b.written] == ["coco-000000000009-12"]
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(OccbenchError, match="broken.json"):
        build_coco(tmp_path / "b3", tmp_path / "broken.json", coco128["images"], BuildOptions(licence=LICENCE))


def write_egohands_video(folder: Path, records: list[dict[str, np.ndarray]], frames: int) -> None:
    import scipy.io

    folder.mkdir(parents=True)
    fields = ("myleft", "myright", "yourleft", "yourright")
    array = np.zeros((1, len(records)), dtype=[(f, "O") for f in fields])
    for i, record in enumerate(records):
        for name in fields:
            array[0, i][name] = record.get(name, np.zeros((0, 0)))
    scipy.io.savemat(folder / "polygons.mat", {"polygons": array})
    y, x = np.mgrid[0:72, 0:128]
    for i in range(frames):
        frame = np.stack([x * 2, y * 3, np.full_like(x, 40 * i)], axis=-1).astype(np.uint8)
        assert cv2.imwrite(str(folder / f"frame_{i + 1:04d}.jpg"), frame)


def test_egohands_polygons_mat(tmp_path):
    square = np.array([[10.0, 10.0], [29.0, 10.0], [29.0, 29.0], [10.0, 29.0]])
    triangle = np.array([[60.0, 20.0], [100.0, 20.0], [80.0, 60.0]])
    outside = np.array([[300.0, 300.0], [340.0, 300.0], [320.0, 340.0]])
    root = tmp_path / "_LABELLED_SAMPLES"
    write_egohands_video(root / "CARDS_OFFICE_S_B", [{"myleft": square, "yourright": triangle},
                                                     {"myright": square, "myleft": outside}], frames=2)
    write_egohands_video(root / "CHESS_COURTYARD_B_T", [{"myleft": square}], frames=2)  # frame count mismatch
    report = build_egohands(tmp_path / "bank", root, BuildOptions(licence="EgoHands, research use"))
    bank = OccluderBank.open(tmp_path / "bank")
    entries = {e.id: e for e in bank.entries(kind="hand")}
    assert set(entries) == {"egohands-CARDS_OFFICE_S_B_frame_0001-0", "egohands-CARDS_OFFICE_S_B_frame_0001-3",
                            "egohands-CARDS_OFFICE_S_B_frame_0002-1"}
    first = entries["egohands-CARDS_OFFICE_S_B_frame_0001-0"]
    assert (first.category, first.width, first.height, first.area) == ("myleft", 20, 20, 400)
    assert entries["egohands-CARDS_OFFICE_S_B_frame_0001-3"].category == "yourright"
    assert entries["egohands-CARDS_OFFICE_S_B_frame_0002-1"].source_id == "CARDS_OFFICE_S_B/frame_0002"
    frame = read_image(root / "CARDS_OFFICE_S_B" / "frame_0002.jpg")
    assert np.array_equal(bank.load(entries["egohands-CARDS_OFFICE_S_B_frame_0002-1"])[:, :, :3], frame[10:30, 10:30])
    reasons = {Path(s.file).parent.name + "/" + Path(s.file).name: s.reason for s in report.skipped}
    assert "outside the image" in reasons["CARDS_OFFICE_S_B/frame_0002.jpg#myleft"]
    assert "Expected 1 frame_*.jpg" in reasons["CHESS_COURTYARD_B_T/polygons.mat"]
    assert len(read_csv(tmp_path / "bank" / "skipped.csv")) == 2
    with pytest.raises(OccbenchError, match="found none"):
        build_egohands(tmp_path / "b2", tmp_path / "nothing", BuildOptions(licence="x"))


def test_rgba_folder_of_hands(tmp_path, assets):
    folder = assets / "egohands_hand_cutouts"
    report = build_rgba(tmp_path / "bank", folder, BuildOptions(licence="EgoHands, research use"), kind="hand")
    bank = OccluderBank.open(tmp_path / "bank")
    assert len(report.written) == len(bank.entries(kind="hand")) == 5 and not bank.entries(kind="object")
    assert bank.categories() == ["egohands_hand_cutouts"]
    for entry in bank.entries():
        source = read_rgba(folder / f"{entry.source_id}.png")
        rows, cols = crop_box(source[:, :, 3])
        rgba = bank.load(entry)
        assert np.array_equal(rgba[:, :, 3], source[rows, cols, 3])
        assert entry.area == np.count_nonzero(rgba[:, :, 3]) == np.count_nonzero(source[:, :, 3])
    named = build_rgba(tmp_path / "b2", folder, BuildOptions(licence="x", source="ego"), kind="hand", category="hand")
    assert {e.category for e in named.written} == {"hand"} and all(e.id.startswith("ego-") for e in named.written)


def test_rgba_bad_files_are_skipped(tmp_path, assets):
    folder = tmp_path / "in" / "cups"
    folder.mkdir(parents=True)
    hand = next((assets / "egohands_hand_cutouts").glob("*.png"))
    (folder / "good.png").write_bytes(hand.read_bytes())
    (folder / "truncated.png").write_bytes(hand.read_bytes()[:200])
    (folder / "text.png").write_text("not an image")
    assert cv2.imwrite(str(folder / "rgb.png"), np.full((8, 8, 3), 9, np.uint8))
    assert cv2.imwrite(str(folder / "clear.png"), np.zeros((8, 8, 4), np.uint8))
    report = build_rgba(tmp_path / "bank", tmp_path / "in", BuildOptions(licence="x"), kind="object")
    assert [e.category for e in report.written] == ["cups"]
    reasons = {Path(r["file"]).name: r["reason"] for r in read_csv(tmp_path / "bank" / "skipped.csv")}
    assert set(reasons) == {"truncated.png", "text.png", "rgb.png", "clear.png"}
    assert "alpha channel" in reasons["rgb.png"] and "empty alpha" in reasons["clear.png"]
    assert "not a decodable image" in reasons["text.png"] and "truncated PNG" in reasons["truncated.png"]
    with pytest.raises(SampleError, match="rgb.png"):
        read_rgba(folder / "rgb.png")


def test_image_mask_pairs(tmp_path, coco128):
    image = cv2.imread(str(coco128["images"] / "000000000009.jpg"))[:120, :160]
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[20:50, 30:90] = 255
    beside = tmp_path / "beside" / "bowls"
    beside.mkdir(parents=True)
    for name in ("a", "b", "c"):
        assert cv2.imwrite(str(beside / f"{name}.png"), image)
    assert cv2.imwrite(str(beside / "a_mask.png"), mask)
    assert cv2.imwrite(str(beside / "b_mask.png"), np.zeros_like(mask))  # empty; c has no mask
    report = builders.build_image_mask(tmp_path / "bank", tmp_path / "beside", BuildOptions(licence="x"),
                                       kind="object")
    (entry,) = report.written
    assert (entry.id, entry.category, entry.width, entry.height, entry.area) == ("image-mask-bowls_a-0", "bowls",
                                                                                60, 30, 1800)
    rgba = OccluderBank.open(tmp_path / "bank").load(entry)
    assert np.array_equal(rgba[:, :, :3], image[20:50, 30:90, ::-1]) and (rgba[:, :, 3] == 255).all()
    reasons = sorted(s.reason for s in report.skipped)
    assert len(reasons) == 2 and "empty mask" in reasons and any("found none" in r for r in reasons)
    images, masks = tmp_path / "par" / "images", tmp_path / "par" / "masks"
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    assert cv2.imwrite(str(images / "x.jpg"), image) and cv2.imwrite(str(masks / "x.png"), mask // 255)  # 0/1 mask
    report = builders.build_image_mask(tmp_path / "bank2", images, BuildOptions(licence="x"), kind="hand",
                                       category="hand", masks=masks)
    assert [(e.kind, e.category, e.area) for e in report.written] == [("hand", "hand", 1800)]


def test_rerun_is_idempotent(tmp_path, coco128):
    def run():
        build_yolo(tmp_path / "bank", coco128["labels"], coco128["images"], coco128["classes"],
                   BuildOptions(licence=LICENCE, limit=3, min_area=500))
    run()
    first = tree_digest(tmp_path / "bank")
    run()
    assert tree_digest(tmp_path / "bank") == first
    meta = json.loads((tmp_path / "bank" / "bank.json").read_text())
    assert meta["format"] == "occbench-occluders/1" and len(meta["builds"]) == 1
    assert meta["builds"][0]["licence"] == LICENCE and meta["builds"][0]["filters"]["min_area"] == 500
    ids = [row["id"] for row in read_csv(tmp_path / "bank" / "index.csv")]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert not [p for p in (tmp_path / "bank").rglob("*.tmp")]


def test_bank_reader(tmp_path, assets, coco128):
    with pytest.raises(OccbenchError, match="index.csv"):
        OccluderBank.open(tmp_path / "missing")
    build_yolo(tmp_path / "bank", coco128["labels"], coco128["images"], coco128["classes"],
               BuildOptions(licence=LICENCE, limit=3))
    build_rgba(tmp_path / "bank", assets / "egohands_hand_cutouts", BuildOptions(licence="x"), kind="hand",
               category="hand")
    bank = OccluderBank.open(tmp_path / "bank")
    everything = bank.entries()
    assert [e.id for e in everything] == sorted(e.id for e in everything)
    assert bank.entries() == OccluderBank.open(tmp_path / "bank").entries()
    assert len(bank.entries(kind="hand")) == 5 and {e.kind for e in bank.entries(kind="object")} == {"object"}
    assert {e.category for e in bank.entries(categories=["bowl", "hand"])} == {"bowl", "hand"}
    assert bank.entries(kind="object", categories=["hand"]) == []
    with pytest.raises(OccbenchError, match="Expected kind"):
        bank.entries(kind="animal")
    for entry in everything[::7]:
        assert np.count_nonzero(bank.load(entry)[:, :, 3]) == entry.area
    index = tmp_path / "bank" / "index.csv"
    index.write_text(index.read_text().replace("area,licence", "size,licence", 1))
    with pytest.raises(OccbenchError, match=r"index\.csv: Expected columns"):
        OccluderBank.open(tmp_path / "bank")
    bad = tmp_path / "bad" / "index.csv"
    bad.parent.mkdir()
    bad.write_text(",".join(INDEX_COLUMNS) + "\na,animal,c,s,1,2,3,4,l,cutouts/a.png\n")
    with pytest.raises(OccbenchError, match=r"index\.csv:2: Expected kind"):
        OccluderBank.open(tmp_path / "bad")
    assert make_id("my src", "a/b c", 3) == "my_src-a_b_c-3"
    assert [f for f in OccluderEntry.__dataclass_fields__] == list(INDEX_COLUMNS)


def test_cli_end_to_end(tmp_path, coco128, capsys):
    parser = argparse.ArgumentParser(prog="occbench")
    register(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "bank"
    args = parser.parse_args(["build-occluders", "--from", "yolo", "--input", str(coco128["labels"]),
                              "--classes", str(coco128["classes"]), "--out", str(out), "--licence", LICENCE,
                              "--categories", "bowl,person", "--min-area", "100", "--limit", "6", "--no-progress"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    bank = OccluderBank.open(out)
    assert f"{len(bank)} cut-outs written" in printed and "skipped" in printed
    assert {e.category for e in bank.entries()} <= {"bowl", "person"} and len(bank) > 0
    (tmp_path / "cutouts").mkdir()
    args = parser.parse_args(["build-occluders", "--from", "rgba", "--input", str(tmp_path / "cutouts"), "--out",
                              str(tmp_path / "b2"), "--licence", "x"])
    with pytest.raises(OccbenchError, match="--kind"):
        args.func(args)
    args = parser.parse_args(["build-occluders", "--from", "rgba", "--input", str(tmp_path), "--out",
                              str(tmp_path / "b2"), "--licence", "x", "--kind", "hand"])
    with pytest.raises(OccbenchError, match="is inside --input"):  # the bank would be read back as input
        args.func(args)
    help_text = parser._subparsers._group_actions[0].choices["build-occluders"].format_help()
    assert "examples:" in help_text and "--max-per-category" in help_text
