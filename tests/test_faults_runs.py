"""Fault injection for predict and evaluate: stale or foreign predictions, damaged datasets, crafted ids."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from occbench.cli import main
from occbench.dataset.build import BuildConfig, build_dataset
from occbench.protocol import load_protocol

FAST = ["--metrics", "psnr", "mae", "--regions", "whole", "hole", "--no-progress"]


def _dataset(root: Path, seed: int = 3, n: int = 4, offset: int = 0) -> Path:
    images = root / "images"
    images.mkdir(parents=True)
    y, x = np.mgrid[0:48, 0:48]
    for i in range(n):
        cv2.imwrite(str(images / f"im{i}.png"),
                    np.stack([(x * (2 + i) + offset) % 256, (y * 3) % 256, ((x + y) * 2) % 256], -1).astype(np.uint8))
    protocol = root / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "faults", "version": 1, "seed": seed, "resolution": 32,
                                        "source": {"name": "folder"}, "generator": {"name": "irregular"}}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=root / "data", source_dir=images, progress=False))
    return root / "data"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return _dataset(tmp_path_factory.mktemp("faults"))


def _psnr(run: Path) -> float:
    results = json.loads((run / "results.json").read_text())
    return next(a["mean"] for a in results["aggregates"]
                if (a["metric"], a["region"], a["mode"]) == ("psnr", "hole", "composite"))


def test_stale_predictions_of_another_method_are_refused_then_replaced(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["evaluate", "--method", "mean-fill", "--data", str(data), "--out", str(run), *FAST]) == 0
    mean_fill = _psnr(run)
    assert main(["evaluate", "--method", "telea", "--data", str(data), "--out", str(run), *FAST]) == 2
    err = capsys.readouterr().err
    assert "holds 4 predictions of mean-fill" in err and "this run is telea" in err and "--overwrite" in err
    assert json.loads((run / "run.json").read_text())["method"] == "mean-fill"  # nothing was touched
    assert main(["evaluate", "--method", "telea", "--data", str(data), "--out", str(run), "--overwrite", *FAST]) == 0
    assert main(["evaluate", "--method", "telea", "--data", str(data), "--out", str(tmp_path / "fresh"), *FAST]) == 0
    assert _psnr(run) == _psnr(tmp_path / "fresh") != mean_fill


def test_other_parameters_or_another_dataset_are_refused(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["predict", "--method", "telea", "--data", str(data), "--out", str(run), "--no-progress"]) == 0
    assert main(["predict", "--method", "telea", "--data", str(data), "--out", str(run), "--no-progress"]) == 0
    assert "0 predicted" in capsys.readouterr().out  # same fingerprint: resumed, nothing redone
    assert main(["predict", "--method", "telea", "--param", "radius=9", "--data", str(data), "--out", str(run),
                 "--no-progress"]) == 2
    assert '"radius": 9' in capsys.readouterr().err
    other = _dataset(tmp_path / "other", seed=4)  # same protocol name, other masks
    assert main(["predict", "--method", "telea", "--data", str(other), "--out", str(run), "--no-progress"]) == 2
    assert str(other) in capsys.readouterr().err


def test_predictions_of_unknown_origin_are_refused(data, tmp_path, capsys):
    run = tmp_path / "run"
    (run / "pred").mkdir(parents=True)
    shutil.copy(data / "target" / "im0.png", run / "pred" / "im0.png")
    assert main(["evaluate", "--method", "telea", "--data", str(data), "--out", str(run), *FAST]) == 2
    assert "unknown origin (no run.json)" in capsys.readouterr().err


def test_external_predictions_made_on_another_build_are_refused(data, tmp_path, capsys):
    other = _dataset(tmp_path / "other", offset=40)  # the same protocol over other images
    assert main(["predict", "--method", "telea", "--data", str(other), "--out", str(tmp_path / "t"),
                 "--no-progress"]) == 0
    assert main(["evaluate", "--predictions", str(tmp_path / "t" / "pred"), "--data", str(data), "--out",
                 str(tmp_path / "e"), *FAST]) == 2
    assert "predictions were made on another build of this protocol" in capsys.readouterr().err


def _copy(data: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    return copy


def test_truncated_manifest_is_an_error(data, tmp_path, capsys):
    copy = _copy(data, tmp_path)
    lines = (copy / "manifest.csv").read_text().splitlines(keepends=True)
    (copy / "manifest.csv").write_text("".join(lines[:3]))
    assert main(["evaluate", "--method", "telea", "--data", str(copy), "--out", str(tmp_path / "r"), *FAST]) == 2
    assert "manifest.csv: 2 rows, but" in capsys.readouterr().err and "counts 4 samples" in \
        (copy / "dataset.json").read_text().replace('"ok": 4', "counts 4 samples")


def test_replaced_dataset_file_is_named(data, tmp_path, capsys):
    copy = _copy(data, tmp_path)
    assert main(["predict", "--method", "telea", "--data", str(copy), "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 0
    shutil.copy(copy / "target" / "im1.png", copy / "target" / "im0.png")
    assert main(["evaluate", "--predictions", str(tmp_path / "r" / "pred"), "--data", str(copy), "--out",
                 str(tmp_path / "e"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "target/im0.png: content changed since it was written" in err and err.count("\n") == 1


def test_crafted_ids_cannot_write_outside_the_run(data, tmp_path, capsys):
    copy = _copy(data, tmp_path)
    rows = list(csv.DictReader((copy / "manifest.csv").open()))
    rows[1]["id"] = "../../escaped"
    with (copy / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["predict", "--method", "telea", "--data", str(copy), "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 2
    assert "manifest.csv:3: '../../escaped' is not a valid sample id" in capsys.readouterr().err
    assert not list(tmp_path.rglob("escaped*"))


def test_damaged_run_json_and_checkpoint_are_one_line(data, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text("{")
    assert main(["predict", "--method", "telea", "--data", str(data), "--out", str(run), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "run.json: damaged JSON" in err and err.count("\n") == 1
    checkpoint = tmp_path / "bad.pt"
    torch.save({"format": "occbench-checkpoint/1", "method": "mcsam"}, checkpoint)
    assert main(["evaluate", "--method", "mcsam", "--checkpoint", str(checkpoint), "--data", str(data), "--out",
                 str(tmp_path / "m"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "bad.pt: damaged occbench checkpoint" in err and err.count("\n") == 1


def test_gray_and_transparent_predictions_are_noted(data, tmp_path):
    run = tmp_path / "r"
    assert main(["predict", "--method", "telea", "--data", str(data), "--out", str(run), "--no-progress"]) == 0
    gray = cv2.imread(str(run / "pred" / "im0.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(run / "pred" / "im0.png"), gray)
    rgba = cv2.imread(str(run / "pred" / "im1.png"))
    cv2.imwrite(str(run / "pred" / "im1.png"), np.dstack([rgba, np.full(rgba.shape[:2], 128, np.uint8)]))
    assert main(["evaluate", "--predictions", str(run / "pred"), "--data", str(data), "--out",
                 str(tmp_path / "e"), *FAST]) == 0
    warnings = json.loads((tmp_path / "e" / "results.json").read_text())["warnings"]
    assert any("2 prediction files were not 8-bit RGB" in w and "grayscale→RGB" in w
               and "alpha composited over black" in w for w in warnings)
