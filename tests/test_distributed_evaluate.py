"""evaluate under torchrun: two gloo processes on the CPU give the single-process results (issue 15, item 6)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from occbench.dataset.build import BuildConfig, build_dataset
from occbench.distributed import shard_batches
from occbench.evaluate.aggregate import RunningStats, StreamingAggregates
from occbench.protocol import load_protocol

WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "weights"
HAS_INCEPTION = (WEIGHTS / "weights-inception-2015-12-05-6726825d.pth").is_file()


@pytest.mark.parametrize(("count", "batch", "world"), [(9, 2, 2), (1, 8, 2), (10, 3, 4), (0, 2, 2), (16, 8, 2),
                                                       (12, 5, 2), (7, 1, 3)])
def test_shards_are_contiguous_blocks_of_whole_batches(count, batch, world):
    shards = [shard_batches(count, batch, rank, world) for rank in range(world)]
    assert [i for s in shards for i in range(count)[s]] == list(range(count))  # a partition, in order
    assert all(s.start % batch == 0 for s in shards if s.stop > s.start)  # on a single-process batch boundary
    sizes = [-(-(s.stop - s.start) // batch) for s in shards]  # batches per process
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    assert count == 0 or shards[0].stop > 0  # process 0 always has samples when there are any


def test_merged_running_stats_equal_sequential_ones():
    rng = np.random.default_rng(0)
    values = rng.normal(30, 5, 101).tolist() + [math.nan] * 3
    rng.shuffle(values)
    whole, parts = RunningStats(), [RunningStats() for _ in range(4)]
    for value in values:
        whole.add(value)
    for i, part in enumerate(np.array_split(np.array(values), [0, 50, 51])):  # one empty, one single-value part
        for value in part:
            parts[i].add(float(value))
    merged = RunningStats()
    for part in parts:
        merged.merge(part)
    assert (merged.count, merged.nan_count) == (whole.count, whole.nan_count) == (101, 3)
    assert math.isclose(merged.mean, whole.mean, rel_tol=1e-14)
    assert math.isclose(merged.std, whole.std, rel_tol=1e-12)
    assert math.isclose(merged.std, float(np.nanstd(values)), rel_tol=1e-12)


@pytest.mark.parametrize("split", [[[1.0, math.inf], [2.0]], [[1.0], [math.inf, 3.0]], [[math.inf], [-math.inf]]])
def test_merging_infinite_values_matches_adding_them(split):
    whole, merged = RunningStats(), RunningStats()
    for part in split:
        stats = RunningStats()
        for value in part:
            whole.add(value)
            stats.add(value)
        merged.merge(stats)
    assert merged.count == whole.count
    assert (math.isnan(merged.mean) and math.isnan(whole.mean)) or merged.mean == whole.mean
    assert math.isnan(merged.std) and math.isnan(whole.std)


def test_merged_aggregates_equal_one_pass():
    rows = [("irregular" if i % 3 else "center", 0.05 + 0.08 * (i % 7), float(i) ** 0.5) for i in range(40)]
    whole, first, second = StreamingAggregates(), StreamingAggregates(), StreamingAggregates()
    for i, (generator, ratio, value) in enumerate(rows):
        for target in (whole, first if i < 25 else second):
            target.add(generator=generator, hole_ratio=ratio, metric="psnr", region="hole", mode="raw", value=value)
    first.merge(second)
    _assert_close(first.to_results(), whole.to_results(), tol=1e-12)


# --- two processes under torchrun ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """12 labelled samples at 64 px (built-in toyfaces drawings, CelebAMask-HQ classes) with irregular holes; with
    --batch-size 5 the two processes get 10 and 2 samples."""
    root = tmp_path_factory.mktemp("dist")
    protocol = root / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "dist-test", "version": 1, "seed": 5, "resolution": 64,
                                        "source": {"name": "toyfaces", "params": {"count": 6, "size": 80}},
                                        "generator": {"name": "irregular"}, "variants": 2}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=root / "data", progress=False))
    return root / "data"


def _evaluate(data: Path, out: Path, processes: int, metrics: list[str]) -> subprocess.CompletedProcess:
    """``occbench evaluate --method telea`` in a fresh process, or under ``torchrun --nproc-per-node N``."""
    args = ["evaluate", "--method", "telea", "--data", str(data), "--out", str(out), "--batch-size", "5",
            "--metrics", *metrics, "--parts", "--weights-dir", str(WEIGHTS), "--no-feature-cache", "--no-progress"]
    launcher = [sys.executable, "-m", "occbench.cli"] if processes == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
         "-m", "occbench.cli"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # torchrun's per-process default; the same for both runs
    result = subprocess.run(launcher + args, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def _assert_close(got, expected, tol: float, where: str = "") -> None:
    """Equal structure; numbers equal within ``tol`` (relative, and absolute near 0); everything else equal."""
    if isinstance(expected, dict):
        assert set(got) == set(expected), where
        for key in expected:
            _assert_close(got[key], expected[key], tol, f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), where
        for i, (a, b) in enumerate(zip(got, expected)):
            _assert_close(a, b, tol, f"{where}[{i}]")
    elif isinstance(expected, float) and isinstance(got, float):
        assert math.isclose(got, expected, rel_tol=tol, abs_tol=tol), f"{where}: {got} != {expected}"
    else:
        assert got == expected, f"{where}: {got!r} != {expected!r}"


@pytest.mark.slow
def test_two_processes_equal_one(dataset, tmp_path):
    """Predictions, scores.csv (even unsorted), aggregates (every region: whole … hole_fg and the face parts),
    bins, per-generator rows and, when the Inception weights are in ../shared/weights, FID and KID of two gloo
    processes equal those of one process within 1e-6."""
    metrics = ["psnr", "ssim", "mae", "l1"] + (["fid", "kid"] if HAS_INCEPTION else [])
    single, double = tmp_path / "single", tmp_path / "double"
    _evaluate(dataset, single, 1, metrics)
    launched = _evaluate(dataset, double, 2, metrics)
    assert launched.stdout.count("results.json and scores.csv") == 1  # only process 0 reports

    for pred in sorted((single / "pred").iterdir()):
        assert cv2.imread(str(pred), cv2.IMREAD_UNCHANGED).tobytes() == \
            cv2.imread(str(double / "pred" / pred.name), cv2.IMREAD_UNCHANGED).tobytes(), pred.name
    assert len(list((double / "pred").iterdir())) == 12
    one, two = ((single / "scores.csv").read_text(), (double / "scores.csv").read_text())
    assert sorted(one.splitlines()) == sorted(two.splitlines()) and one == two
    assert not list(double.glob(".scores*"))

    a, b = (json.loads((run / "results.json").read_text()) for run in (single, double))
    assert b["provenance"]["processes"] == {"world_size": 2, "backend": "gloo", "samples": [10, 2]}
    assert a["provenance"]["processes"] == {"world_size": 1, "backend": None, "samples": [12]}
    for section in ("aggregates", "bins", "by_generator", "dataset_metrics", "pixel_check", "dataset", "warnings"):
        _assert_close(b[section], a[section], tol=1e-6, where=section)
    assert a["provenance"]["shared_work"]["raw_equals_composite"] == \
        b["provenance"]["shared_work"]["raw_equals_composite"] == 12
    regions = {row["region"] for row in b["aggregates"]}
    assert {"fg", "hole_fg", "hole_eyes", "hole_skin"} <= regions, regions
    if HAS_INCEPTION:
        fid = {(r["metric"], r["region"], r["mode"]): r for r in b["dataset_metrics"]}
        assert fid[("fid", "whole", "raw")]["count"] == 12 and fid[("fid", "whole", "raw")]["value"] > 0
