"""build-dataset: the dataset layout (docs/conventions.md §3), determinism across workers/shards, resume, bad inputs."""

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from occbench.dataset.build import BuildConfig, build_dataset
from occbench.errors import OccbenchError
from occbench.image_io import read_gray, read_image
from occbench.protocol import load_protocol


def make_images(folder: Path, count: int, size=(48, 40)) -> None:
    rng = np.random.default_rng(123)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(exist_ok=True)
        image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        cv2.imwrite(str(sub / f"img{i:03d}.png"), image)


def make_protocol(tmp: Path, generator: dict | None = None, **extra) -> Path:
    data = {"name": "test-proto", "version": 1, "seed": 7, "resolution": 32,
            "source": {"name": "folder"}, "generator": generator or {"name": "irregular"}, **extra}
    path = tmp / "proto.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file except the .build progress logs (their row order follows completion order)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".build" not in p.parts}


def build(tmp: Path, images: Path, out: str, **kwargs):
    protocol = load_protocol(kwargs.pop("protocol", None) or make_protocol(tmp))
    return build_dataset(BuildConfig(protocol=protocol, out=tmp / out, source_dir=images, progress=False, **kwargs))


@pytest.fixture
def images(tmp_path) -> Path:
    make_images(tmp_path / "images", 12)
    return tmp_path / "images"


def test_layout_and_manifest(tmp_path, images):
    report = build(tmp_path, images, "out")
    out = tmp_path / "out"
    assert report.complete and report.ok == 12 and report.skipped == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["protocol"]["name"] == "test-proto" and len(info["protocol"]["content_hash"]) == 64
    assert info["counts"] == {"planned": 12, "ok": 12, "skipped": 0}
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    for row in rows:
        target = read_image(out / "target" / f"{row['id']}.png")
        occluded = read_image(out / "occluded" / f"{row['id']}.png")
        mask = read_gray(out / "mask" / f"{row['id']}.png")
        assert target.shape == (32, 32, 3) and set(np.unique(mask)) <= {0, 255}
        hole = mask == 255
        assert (occluded[hole] == 0).all() and (occluded[~hole] == target[~hole]).all()
        assert abs(float(row["hole_ratio"]) - hole.mean()) < 1e-6
        assert row["sha256_mask"] == hashlib.sha256((out / "mask" / f"{row['id']}.png").read_bytes()).hexdigest()
        bin_lo, bin_hi = json.loads(row["params"])["bin"]
        assert bin_lo <= float(row["hole_ratio"]) <= bin_hi


def test_byte_identical_for_one_and_two_workers(tmp_path, images):
    build(tmp_path, images, "w1", workers=1)
    build(tmp_path, images, "w2", workers=2)
    one, two = tree_digest(tmp_path / "w1"), tree_digest(tmp_path / "w2")
    assert one == two and len(one) == 3 * 12 + 3


def test_shards_merge_into_one_manifest(tmp_path, images):
    build(tmp_path, images, "whole")
    first = build(tmp_path, images, "sharded", shard=(1, 3))
    assert not first.complete and not (tmp_path / "sharded" / "manifest.csv").exists()
    build(tmp_path, images, "sharded", shard=(0, 3))
    last = build(tmp_path, images, "sharded", shard=(2, 3))
    assert last.complete and last.ok == 12
    assert tree_digest(tmp_path / "whole") == tree_digest(tmp_path / "sharded")


def test_limit_and_variants(tmp_path, images):
    protocol = make_protocol(tmp_path, variants=3)
    report = build(tmp_path, images, "lim", protocol=protocol, limit=7)
    rows = list(csv.DictReader((tmp_path / "lim" / "manifest.csv").open()))
    assert report.ok == 7 and len(rows) == 7
    assert rows[0]["id"].endswith("_v0") and {r["variant"] for r in rows} == {"0", "1", "2"}


def test_refuses_to_mix_settings(tmp_path, images):
    build(tmp_path, images, "out", limit=4)
    with pytest.raises(OccbenchError, match="other settings"):
        build(tmp_path, images, "out", limit=5)


def test_resume_after_partial_progress_equals_clean_build(tmp_path, images):
    build(tmp_path, images, "clean")
    out = tmp_path / "resumed"
    build(tmp_path, images, "resumed")
    # Simulate a kill: drop the final files, half the progress rows (with a torn last line) and a sample's files.
    for name in ("manifest.csv", "skipped.csv", "dataset.json"):
        (out / name).unlink()
    (out / ".build" / "shard-0-of-1.done").unlink()
    log = out / ".build" / "progress-0-of-1.csv"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:7]) + lines[7][:20])
    first_id = next(csv.DictReader(lines[:2]))["id"]
    (out / "target" / f"{first_id}.png").unlink()
    (out / "mask" / f".{first_id}.png.x.tmp").write_bytes(b"partial")
    report = build(tmp_path, images, "resumed")
    assert report.produced_now == 12 - 5  # 6 complete rows minus the one whose file vanished
    assert tree_digest(out) == tree_digest(tmp_path / "clean")


@pytest.mark.slow
def test_killed_process_then_resumed_equals_clean(tmp_path):
    make_images(tmp_path / "many", 150, size=(96, 96))
    protocol = make_protocol(tmp_path, resolution=64)
    build(tmp_path, tmp_path / "many", "clean", protocol=protocol)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "occbench.cli", "build-dataset", str(protocol), "--out", str(out),
           "--source-dir", str(tmp_path / "many"), "--no-progress"]
    proc = subprocess.Popen(cmd, start_new_session=True)
    log = out / ".build" / "progress-0-of-1.csv"
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or log.read_text().count("\n") < 20):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.csv").exists(), "the build finished before it could be killed"
    subprocess.run(cmd, check=True)
    assert tree_digest(out) == tree_digest(tmp_path / "clean")


def test_bad_inputs_are_converted_or_skipped(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    rng = np.random.default_rng(0)
    good = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "good.png"), good)
    cv2.imwrite(str(folder / "gray.png"), good[:, :, 0])
    cv2.imwrite(str(folder / "rgba.png"), np.dstack([good, np.full((40, 40), 128, np.uint8)]))
    cv2.imwrite(str(folder / "deep.png"), good.astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "small.png"), good[:20, :20])
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    ok, jpeg = cv2.imencode(".jpg", good)
    (folder / "truncated.jpg").write_bytes(jpeg.tobytes()[: len(jpeg) // 2])
    (folder / "empty.png").write_bytes(b"")
    report = build(tmp_path, folder, "out")
    assert report.complete and report.ok == 4 and report.skipped == 4
    skipped = {r["id"]: r["reason"] for r in csv.DictReader((tmp_path / "out" / "skipped.csv").open())}
    assert "smaller than the protocol resolution" in skipped["small"]
    assert "truncated JPEG" in skipped["truncated"] and "truncated.jpg" in skipped["truncated"]
    assert "corrupt.jpg" in skipped["corrupt"] and "empty" in skipped["empty"]
    notes = {r["id"]: r["notes"] for r in csv.DictReader((tmp_path / "out" / "manifest.csv").open())}
    assert notes == {"good": "", "gray": "grayscale→RGB", "rgba": "alpha composited over black",
                     "deep": "16-bit→8-bit"}
    deep = read_image(tmp_path / "out" / "target" / "deep.png")
    assert np.array_equal(deep, read_image(tmp_path / "out" / "target" / "good.png"))


def test_upscale_policy(tmp_path):
    make_images(tmp_path / "small", 2, size=(20, 24))
    protocol = make_protocol(tmp_path, preprocess={"upscale": True})
    report = build(tmp_path, tmp_path / "small", "out", protocol=protocol)
    assert report.ok == 2


def test_labels_written_from_celebahq_source(tmp_path, assets):
    protocol = make_protocol(tmp_path, generator={"name": "center", "params": {"size": 0.5}},
                             source={"name": "celebahq", "params": {"image_dir": "images", "label_dir": "labels"}})
    report = build_dataset(BuildConfig(protocol=load_protocol(protocol), out=tmp_path / "out",
                                       source_dir=assets / "celebamask_hq_samples", progress=False))
    assert report.ok == 4
    rows = list(csv.DictReader((tmp_path / "out" / "manifest.csv").open()))
    label = read_gray(tmp_path / "out" / "label" / "0.png")
    assert label.shape == (32, 32) and label.max() <= 18 and rows[0]["sha256_label"]
    assert 0.2 < float(rows[0]["fg_ratio"]) < 0.95 and rows[0]["hole_fg_ratio"]


FOLDER_PROTOCOLS = ["folder-center-256", "folder-center70-256", "folder-half-256", "folder-freeform-256",
                    "folder-lama-thick-256", "folder-lama-medium-256", "folder-lama-thin-256", "folder-irregular-256",
                    "folder-nvidia-irregular-256"]


@pytest.mark.parametrize("name", FOLDER_PROTOCOLS)
def test_shipped_protocols_on_real_faces_are_worker_count_independent(tmp_path, assets, name):
    faces = tmp_path / "faces"
    faces.mkdir()
    for path in sorted((assets / "celeba_hq_faces_sean").glob("*.jpg"))[:4]:
        (faces / path.name).symlink_to(path)
    protocol = load_protocol(name)
    assets_dir = assets / "nvidia_irregular_masks" if "nvidia" in name else None
    for workers in (1, 2):
        report = build_dataset(BuildConfig(protocol=protocol, out=tmp_path / f"w{workers}", source_dir=faces,
                                           assets_dir=assets_dir, workers=workers, progress=False))
        assert report.ok == 4, (tmp_path / f"w{workers}" / "skipped.csv").read_text()
    assert tree_digest(tmp_path / "w1") == tree_digest(tmp_path / "w2")
    rows = list(csv.DictReader((tmp_path / "w1" / "manifest.csv").open()))
    assert all(0 < float(r["hole_ratio"]) < 1 for r in rows)
    distinct_masks = len({r["sha256_mask"] for r in rows})
    assert distinct_masks == 1 if name in ("folder-center-256", "folder-center70-256") else distinct_masks >= 2
