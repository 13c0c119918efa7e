"""evaluate end to end: refusal of mismatched predictions, streaming aggregates vs pandas, results layout."""

import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from occbench.cli import main
from occbench.dataset.build import BuildConfig, build_dataset
from occbench.errors import OccbenchError
from occbench.evaluate.aggregate import RunningStats
from occbench.evaluate.run import EvaluateConfig, evaluate
from occbench.evaluate.scoring import ScoreSettings
from occbench.protocol import load_protocol
from occbench.results_schema import (
    AGGREGATE_KEYS,
    BIN_KEYS,
    BIN_SCHEMES,
    DATASET_METRIC_KEYS,
    GENERATOR_KEYS,
    RESULT_KEYS,
    RESULTS_FORMAT,
    SCORE_COLUMNS,
)

FAST = ScoreSettings(metrics=("psnr", "ssim", "mae", "l1"), explicit=True)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """12 samples at 64 px with irregular holes in PConv bins, from smooth synthetic images."""
    root = tmp_path_factory.mktemp("eval")
    images = root / "images"
    images.mkdir()
    y, x = np.mgrid[0:80, 0:80]
    for i in range(6):
        image = np.stack([(x * (2 + i)) % 256, (y * 3 + i * 20) % 256, ((x + y) * 2) % 256], -1).astype(np.uint8)
        cv2.imwrite(str(images / f"im{i}.png"), image)
    protocol = root / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "eval-test", "version": 1, "seed": 3, "resolution": 64,
                                        "source": {"name": "folder"}, "generator": {"name": "irregular"},
                                        "variants": 2}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=root / "data", source_dir=images, progress=False))
    return root / "data"


@pytest.fixture(scope="module")
def telea_run(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("telea")
    evaluate(EvaluateConfig(data=dataset, out=out, method="telea", progress=False, score=FAST))
    return out


def test_results_layout(telea_run, dataset):
    results = json.loads((telea_run / "results.json").read_text())
    assert results["format"] == RESULTS_FORMAT == "occbench-results/1"
    assert results["method"]["name"] == "telea" and results["method"]["mask"] == "given"
    assert results["dataset"]["samples"] == 12 and len(results["dataset"]["content_hash"]) == 64
    keys = {(a["metric"], a["region"], a["mode"]) for a in results["aggregates"]}
    assert ("psnr", "hole", "composite") in keys and ("l1", "zero_outside", "raw") in keys
    assert not any(a["region"] in ("fg", "hole_fg") for a in results["aggregates"])  # no labels
    assert any("no parsing labels" in w for w in results["warnings"])
    psnr = next(a for a in results["aggregates"] if a["metric"] == "psnr" and a["region"] == "whole"
                and a["mode"] == "composite")
    assert psnr["count"] == 12 and psnr["better"] == "higher" and psnr["nan_count"] == 0
    pconv = [b for b in results["bins"]["pconv6"] if (b["metric"], b["region"], b["mode"]) == ("psnr", "whole", "raw")]
    assert sum(b["count"] for b in pconv) == 12  # every irregular mask lies in a PConv bin
    assert results["provenance"]["occbench_version"] and results["settings"]["boundary_px"] == 8


def test_written_files_follow_the_results_schema(telea_run):
    results = json.loads((telea_run / "results.json").read_text())
    assert tuple(results) == RESULT_KEYS
    assert all(tuple(row) == AGGREGATE_KEYS for row in results["aggregates"])
    assert tuple(results["bins"]) == tuple(BIN_SCHEMES)
    assert all(tuple(row) == BIN_KEYS for rows in results["bins"].values() for row in rows)
    assert all(tuple(row) == GENERATOR_KEYS for row in results["by_generator"])
    assert tuple(pd.read_csv(telea_run / "scores.csv").columns) == SCORE_COLUMNS


def test_aggregates_equal_pandas_on_scores_csv(telea_run):
    scores = pd.read_csv(telea_run / "scores.csv")
    assert list(scores.columns) == ["id", "generator", "hole_ratio", "metric", "region", "mode", "value"]
    results = json.loads((telea_run / "results.json").read_text())
    expected = scores.groupby(["metric", "region", "mode"])["value"].agg(["mean", "count"])
    for row in results["aggregates"]:
        mean, count = expected.loc[(row["metric"], row["region"], row["mode"])]
        assert row["count"] == count
        assert math.isclose(row["mean"], mean, rel_tol=1e-9, abs_tol=1e-12)
    scores["bin"] = pd.cut(scores["hole_ratio"], [0.01, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], right=False)
    by_bin = scores.groupby(["metric", "region", "mode", "bin"], observed=True)["value"].mean()
    for row in results["bins"]["pconv6"]:
        key = (row["metric"], row["region"], row["mode"], pd.Interval(row["lo"], row["hi"], closed="left"))
        assert math.isclose(row["mean"], by_bin.loc[key], rel_tol=1e-9)


def test_composite_keeps_known_pixels_and_raw_equals_composite_for_copy_paste(telea_run):
    scores = pd.read_csv(telea_run / "scores.csv")
    pivot = scores.pivot_table(index=["id", "metric", "region"], columns="mode", values="value")
    # telea keeps known pixels exactly, so raw and composite outputs are the same image
    assert np.allclose(pivot["raw"], pivot["composite"], equal_nan=True)


def test_external_predictions_and_refusals(dataset, telea_run, tmp_path):
    external = tmp_path / "external"
    shutil.copytree(telea_run / "pred", external)
    results = evaluate(EvaluateConfig(data=dataset, out=tmp_path / "ext", predictions=external, progress=False,
                                      score=FAST))
    assert any("no run.json" in w for w in results["warnings"]) and results["method"]["external"]
    first = sorted(external.glob("*.png"))[0]
    first.unlink()
    with pytest.raises(OccbenchError, match=rf"1 of 12 predictions are missing \(looked for .*\): .*{first.name}"):
        evaluate(EvaluateConfig(data=dataset, out=tmp_path / "x", predictions=external, progress=False, score=FAST))
    cv2.imwrite(str(first), np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(OccbenchError, match=rf"not 64x64 images: .*{first.name} \(32x32\)"):
        evaluate(EvaluateConfig(data=dataset, out=tmp_path / "x", predictions=external, progress=False, score=FAST))
    shutil.copy(telea_run / "pred" / first.name, first)
    (external / "run.json").write_text(json.dumps({"method": "x", "protocol_hash": "0" * 64}))
    with pytest.raises(OccbenchError, match="predictions were made for protocol hash 000000000000"):
        evaluate(EvaluateConfig(data=dataset, out=tmp_path / "x", predictions=external, progress=False, score=FAST))


def test_limit_and_batch_size_do_not_change_scores(dataset, telea_run, tmp_path):
    evaluate(EvaluateConfig(data=dataset, out=tmp_path / "b1", predictions=telea_run / "pred", batch_size=1,
                            limit=5, progress=False, score=FAST))
    small = pd.read_csv(tmp_path / "b1" / "scores.csv")
    full = pd.read_csv(telea_run / "scores.csv")
    merged = small.merge(full, on=["id", "metric", "region", "mode"], suffixes=("_b1", "_b8"))
    assert small["id"].nunique() == 5 and len(merged) == len(small)
    assert np.allclose(merged["value_b1"], merged["value_b8"], rtol=1e-9, equal_nan=True)


def test_running_stats_matches_numpy():
    values = np.random.default_rng(0).normal(3, 2, 1000)
    stats = RunningStats()
    for v in [*values, float("nan")]:
        stats.add(float(v))
    assert stats.count == 1000 and stats.nan_count == 1
    assert math.isclose(stats.mean, values.mean(), rel_tol=1e-12)
    assert math.isclose(stats.std, values.std(), rel_tol=1e-9)


@pytest.mark.slow
def test_evaluate_cli_with_fid_warns_about_sample_count(dataset, tmp_path, capsys):
    weights = Path(__file__).resolve().parents[2] / "shared" / "weights"
    if not (weights / "weights-inception-2015-12-05-6726825d.pth").is_file():
        pytest.skip(f"needs the FID Inception weights in {weights}")
    code = main(["evaluate", "--method", "mean-fill", "--data", str(dataset), "--out", str(tmp_path / "mf"),
                 "--metrics", "psnr", "fid", "kid", "--regions", "whole", "zero_outside", "--modes", "composite",
                 "--weights-dir", str(weights), "--limit", "4", "--no-progress"])
    assert code == 0
    assert "FID/KID rest on 4 samples (< 2048)" in capsys.readouterr().err
    results = json.loads((tmp_path / "mf" / "results.json").read_text())
    fids = {(d["metric"], d["region"], d["mode"]): d for d in results["dataset_metrics"]}
    assert set(fids) == {(m, r, "composite") for m in ("fid", "kid") for r in ("whole", "zero_outside")}
    assert all(set(row) - {"subset_size"} == set(DATASET_METRIC_KEYS) for row in results["dataset_metrics"])
    fid = fids[("fid", "whole", "composite")]
    assert fid["value"] > 0 and fid["count"] == 4
    assert results["provenance"]["weights"]["inception"]["sha256"]


def test_explicit_metric_with_missing_weights_is_an_error(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("OCCBENCH_WEIGHTS", raising=False)
    code = main(["evaluate", "--method", "telea", "--data", str(dataset), "--out", str(tmp_path / "o"),
                 "--metrics", "lpips", "--no-progress"])
    assert code == 2 and "alexnet-owt-7be5be79.pth" in capsys.readouterr().err


def test_labelled_dataset_with_many_batches(tmp_path):
    """Regression: the loader thread builds batches ahead while the scoring loop runs; it once read a variable the
    loop rebinds (the label scheme became the previous batch's foreground tensor), failing from the third batch
    of any labelled dataset."""
    protocol = tmp_path / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "labelled-batches", "version": 1, "seed": 2, "resolution": 32,
                                        "source": {"name": "toyfaces", "params": {"count": 7, "size": 48}},
                                        "generator": {"name": "center", "params": {"size": 12}}}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=tmp_path / "data", progress=False))
    results = evaluate(EvaluateConfig(data=tmp_path / "data", out=tmp_path / "run", method="telea", batch_size=1,
                                      progress=False, score=FAST))
    fg = next(a for a in results["aggregates"] if (a["metric"], a["region"], a["mode"]) == ("mae", "fg", "raw"))
    assert fg["count"] == 7


def test_external_predictions_on_predicted_masks(dataset, telea_run, tmp_path):
    """--predicted-masks: external predictions made on a detector's masks are recorded as mask=predicted, the
    composite pastes the target back through those masks and their agreement with the dataset's is scored."""
    from occbench.dataset.layout import DatasetLayout, read_manifest

    layout = DatasetLayout(dataset)
    ids = [row["id"] for row in read_manifest(dataset)]
    masks = tmp_path / "detector"
    masks.mkdir()
    for i in ids:  # the dataset's holes shrunk by 1 px: a detector that misses their edges
        hole = cv2.imread(str(layout.file("mask", i)), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(masks / f"{i}.png"), cv2.erode(hole, np.ones((3, 3), np.uint8)))
    out = tmp_path / "run"
    results = evaluate(EvaluateConfig(data=dataset, out=out, predictions=telea_run / "pred", predicted_masks=masks,
                                      progress=False, score=FAST))
    assert results["method"]["mask"] == "predicted" and results["method"]["predicted_masks"] == str(masks.resolve())
    means = {(a["metric"], a["region"], a["mode"]): a for a in results["aggregates"]}
    iou, precision = means[("mask_iou", "whole", "composite")], means[("mask_precision", "whole", "composite")]
    assert iou["count"] == 12 and 0.2 < iou["mean"] < 1 and precision["mean"] == 1.0  # inside the true holes
    assert results["pixel_check"]["disagrees"] == 0
    # composite through the shrunk masks: the true holes' edges come from the target
    raw, composite = means[("mae", "whole", "raw")]["mean"], means[("mae", "whole", "composite")]["mean"]
    assert composite < raw

    (masks / f"{ids[3]}.png").unlink()
    with pytest.raises(OccbenchError, match=r"1 of 12 predicted masks are missing: .*" + ids[3]):
        evaluate(EvaluateConfig(data=dataset, out=tmp_path / "run2", predictions=telea_run / "pred",
                                predicted_masks=masks, progress=False, score=FAST))
    with pytest.raises(OccbenchError, match="--predicted-masks goes with --predictions"):
        EvaluateConfig(data=dataset, out=tmp_path / "run3", method="telea", predicted_masks=masks)
