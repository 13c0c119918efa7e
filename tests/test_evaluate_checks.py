"""Evaluation that cannot mislead: pixel checks of external predictions, predicted masks, any image format,
KID subsets, results that find their files again, and no empty folders after a failure."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from occbench.cli import main
from occbench.dataset.build import BuildConfig, build_dataset
from occbench.evaluate.checks import classify_agreement, known_pixel_agreement
from occbench.evaluate.run import EvaluateConfig, evaluate
from occbench.evaluate.scoring import ScoreSettings, mask_agreement
from occbench.methods.base import Method
from occbench.protocol import load_protocol
from occbench.registry import METHODS

FAST = ScoreSettings(metrics=("psnr", "mae"), regions=("whole", "hole"), explicit=True)


def _dataset(root: Path, generator: dict, name: str) -> Path:
    images = root / "images"
    if not images.is_dir():
        images.mkdir(parents=True)
        y, x = np.mgrid[0:48, 0:48]
        for i in range(5):
            cv2.imwrite(str(images / f"im{i}.png"), np.stack([(x * (2 + i)) % 256, (y * 3 + 7 * i) % 256,
                                                               ((x + y) * 2) % 256], -1).astype(np.uint8))
    protocol = root / f"{name}.yaml"
    protocol.write_text(yaml.safe_dump({"name": name, "version": 1, "seed": 3, "resolution": 32,
                                        "source": {"name": "folder"}, "generator": generator}))
    out = root / name
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=out, source_dir=images, progress=False))
    return out


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("checks")
    return {"center": _dataset(root, {"name": "center", "params": {"size": 12}}, "center"),
            "irregular": _dataset(root, {"name": "irregular"}, "irregular")}


def _external(run: Path, folder: Path, suffix: str = ".png") -> Path:
    """Predictions copied without run.json (an external method's folder), optionally re-encoded."""
    folder.mkdir(parents=True)
    for png in (run / "pred").glob("*.png"):
        cv2.imwrite(str(folder / f"{png.stem}{suffix}"), cv2.imread(str(png)))
    return folder


def test_predictions_made_for_other_holes_are_refused_then_recorded(datasets, tmp_path, capsys):
    assert main(["predict", "--method", "telea", "--data", str(datasets["center"]), "--out", str(tmp_path / "t"),
                 "--no-progress"]) == 0
    external = _external(tmp_path / "t", tmp_path / "ext")
    code = main(["evaluate", "--predictions", str(external), "--data", str(datasets["irregular"]), "--out",
                 str(tmp_path / "e"), "--metrics", "psnr", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "made for other holes" in err and "--allow-pixel-mismatch" in err
    assert not (tmp_path / "e").exists()  # a failed command leaves no empty folder
    results = evaluate(EvaluateConfig(data=datasets["irregular"], out=tmp_path / "e", predictions=external,
                                      progress=False, allow_pixel_mismatch=True, score=FAST))
    assert results["pixel_check"]["disagrees"] == 5 and results["pixel_check"]["allowed"]
    assert any("known pixels disagree" in w for w in results["warnings"])


def test_matching_external_predictions_pass_and_any_image_format_is_read(datasets, tmp_path):
    assert main(["predict", "--method", "telea", "--data", str(datasets["irregular"]), "--out",
                 str(tmp_path / "t"), "--no-progress"]) == 0
    png = evaluate(EvaluateConfig(data=datasets["irregular"], out=tmp_path / "png", progress=False, score=FAST,
                                  predictions=_external(tmp_path / "t", tmp_path / "p")))
    assert png["pixel_check"]["copies_known_pixels"] == 5
    jpg = evaluate(EvaluateConfig(data=datasets["irregular"], out=tmp_path / "jpg", progress=False, score=FAST,
                                  predictions=_external(tmp_path / "t", tmp_path / "j", ".jpg")))
    assert jpg["dataset"]["samples"] == 5  # not "5 of 5 missing"
    assert jpg["pixel_check"]["regenerates"] == 5  # JPEG changed the known pixels: not checkable, not refused


def test_agreement_classes():
    target = torch.rand(3, 3, 40, 40, generator=torch.Generator().manual_seed(0))
    hole = torch.zeros(3, 1, 40, 40)
    hole[:, :, 15:25, 15:25] = 1
    pred = target.clone()
    pred[0] = torch.rand(3, 40, 40)  # repaints everything
    pred[1, :, 0:12, 0:12] = 0  # differs in another "hole"
    shares = known_pixel_agreement(pred, target, hole).tolist()
    assert [classify_agreement(x) for x in shares] == ["regenerates", "disagrees", "copies"]


@dataclass(frozen=True)
class ToyDetector(Method):
    """Finds its own holes: the true hole grown by 2 px, filled with grey; known pixels copied."""

    mask: str = "predicted"
    mask_modes = ("given", "predicted")

    def predict(self, occluded, mask, extras=None):
        return self.predict_with_mask(occluded, mask, extras)[0]

    def predict_with_mask(self, occluded, mask, extras=None):
        grown = torch.nn.functional.max_pool2d(mask, 5, stride=1, padding=2)
        return occluded * (1 - grown) + 0.5 * grown, grown


def test_predicted_masks_composite_through_themselves_and_are_scored(datasets, tmp_path, monkeypatch):
    monkeypatch.setitem(METHODS._objects, "toy-detector", ToyDetector)
    results = evaluate(EvaluateConfig(data=datasets["center"], out=tmp_path / "r", method="toy-detector",
                                      progress=False, score=FAST))
    run = tmp_path / "r"
    assert sorted(p.name for p in (run / "pred_mask").glob("*.png")) == sorted(p.name for p in
                                                                              (run / "pred").glob("*.png"))
    scores = pd.read_csv(run / "scores.csv")
    iou = scores[(scores["metric"] == "mask_iou") & (scores["mode"] == "composite")]["value"]
    assert len(iou) == 5 and (iou < 1).all() and (iou > 0.4).all()  # a 12 px square grown by 2 px: 144/256
    assert iou.iloc[0] == pytest.approx(144 / 256)
    recall = scores[(scores["metric"] == "mask_recall")]["value"]
    assert (recall == 1).all()
    # the composite keeps the method's grey ring: pasting the target back through the dataset's mask would
    # have hidden it and scored the composite equal to a perfect ring
    whole = scores[(scores["metric"] == "mae") & (scores["region"] == "whole")].pivot(
        index="id", columns="mode", values="value")
    assert (whole["composite"] > 0).all() and np.allclose(whole["composite"], whole["raw"])
    assert results["method"]["mask"] == "predicted"


def test_mask_agreement_values():
    truth = torch.zeros(2, 1, 10, 10)
    truth[:, :, :5] = 1
    predicted = torch.zeros(2, 1, 10, 10)
    predicted[0, :, :5, :5] = 1
    values = mask_agreement(predicted, truth)
    assert values["mask_iou"].tolist()[0] == pytest.approx(0.5) and values["mask_precision"][0] == 1
    assert values["mask_recall"][0] == pytest.approx(0.5) and torch.isnan(values["mask_precision"][1])


def test_results_find_their_files_again_or_say_they_moved(datasets, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(datasets["irregular"], data)
    run = tmp_path / "run"
    evaluate(EvaluateConfig(data=data, out=run, method="telea", progress=False, score=FAST))
    results = json.loads((run / "results.json").read_text())
    assert Path(results["dataset"]["path"]).is_absolute() and len(results["dataset"]["content_sha256"]) == 64
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "moved_data").mkdir()
    data.rename(elsewhere / "moved_data" / "data")
    argv = ["plot", str(run), "--kind", "grid", "--count", "2", "--out", str(tmp_path / "g")]
    assert main(argv) == 2 and "does not exist (moved?)" in capsys.readouterr().err
    assert main([*argv, "--data", str(elsewhere / "moved_data" / "data")]) == 0
    assert main([*argv, "--data", str(datasets["center"])]) == 2
    assert "not the dataset" in capsys.readouterr().err


def test_kid_subsets_adapt_to_small_sets():
    from occbench.metrics.distribution import InceptionFeatureStats

    stats = InceptionFeatureStats.__new__(InceptionFeatureStats)
    stats._sets, stats.kid_subset_size, stats.kid_subsets, stats.seed = {}, 1000, 20, 0
    rng = np.random.default_rng(0)
    stats.add("real", rng.random((12, 2048)).astype(np.float32))
    stats.add("fake", rng.random((12, 2048)).astype(np.float32) + 0.01)
    assert stats.kid_subset_size_for("real", "fake") == 6
    mean, std = stats.kid("real", "fake")
    assert std > 1e-6  # subsets differ: a real spread, not rounding noise


def test_ls_describes_every_entry(capsys):
    for kind in ("methods", "generators", "sources"):
        assert main(["ls", kind]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert lines and all(len(line.split(maxsplit=1)) == 2 for line in lines), lines
