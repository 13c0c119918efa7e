"""occbench.stats and ``occbench compare``: interval coverage, Holm, Wilcoxon against scipy, seeds, NaNs, and the
command on two real runs of the demo dataset."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from occbench.cli import main
from occbench.results_schema import SCORE_COLUMNS
from occbench.stats import (
    ID,
    KEY,
    VALUE,
    bootstrap_ci,
    bootstrap_cis,
    compare_scores,
    holm,
    mean_intervals,
    metric_better,
    paired_test,
)


def test_columns_read_are_the_schema_columns():
    assert {ID, *KEY, VALUE} <= set(SCORE_COLUMNS)


def test_bootstrap_ci_covers_the_true_mean_at_the_nominal_rate():
    """400 samples of n = 50 from Gamma(shape 2) (skewness 1.4, mean 2): the 95% BCa interval must cover the mean
    within three binomial standard deviations of 95% (±3.3 points)."""
    rng = np.random.default_rng(2024)
    reps, n, true_mean = 400, 50, 2.0
    hits = 0
    for rep in range(reps):
        ci = bootstrap_ci(rng.gamma(2.0, 1.0, n), 0.95, n_resamples=1000, seed=rep)
        hits += ci.low <= true_mean <= ci.high
    tolerance = 3 * math.sqrt(0.95 * 0.05 / reps)
    assert abs(hits / reps - 0.95) <= tolerance, hits / reps


def test_bootstrap_ci_agrees_with_scipy_bca():
    x = np.random.default_rng(7).exponential(1.0, 60)
    ours = bootstrap_ci(x, 0.9, n_resamples=20000, seed=1)
    ref = sps.bootstrap((x,), np.mean, confidence_level=0.9, n_resamples=20000, method="BCa",
                        rng=np.random.default_rng(2)).confidence_interval
    width = ref.high - ref.low
    assert ours.mean == pytest.approx(x.mean())
    assert abs(ours.low - ref.low) < 0.03 * width and abs(ours.high - ref.high) < 0.03 * width


def test_bootstrap_ci_is_deterministic_under_a_seed():
    x = np.random.default_rng(0).normal(size=40)
    assert bootstrap_ci(x, seed=5) == bootstrap_ci(x, seed=5)
    assert bootstrap_ci(x, seed=5) != bootstrap_ci(x, seed=6)
    assert bootstrap_ci(x, seed=np.random.default_rng(5)) == bootstrap_ci(x, seed=5)


def test_bootstrap_ci_drops_and_counts_nans():
    x = np.random.default_rng(1).normal(size=30)
    with_nans = np.concatenate([x[:10], [np.nan, np.nan], x[10:], [np.nan]])
    ci = bootstrap_ci(with_nans, seed=3)
    assert (ci.n, ci.nan_count) == (30, 3)
    clean = bootstrap_ci(x, seed=3)
    assert (ci.mean, ci.low, ci.high) == (clean.mean, clean.low, clean.high) and clean.nan_count == 0
    empty = bootstrap_ci([np.nan, np.nan])
    assert (empty.n, empty.nan_count) == (0, 2) and math.isnan(empty.mean) and math.isnan(empty.low)
    one = bootstrap_ci([2.5, np.nan])
    assert one.mean == 2.5 and math.isnan(one.low) and math.isnan(one.high)
    constant = bootstrap_ci([0.7] * 9)
    assert (constant.low, constant.high) == (pytest.approx(0.7), pytest.approx(0.7))
    infinite = bootstrap_ci([30.0, 31.0, np.inf])
    assert infinite.mean == np.inf and math.isnan(infinite.low)


def test_bootstrap_cis_equal_bootstrap_ci_sample_by_sample():
    """Samples of one size share the drawn indices; the intervals must still be exactly the one-at-a-time ones."""
    rng = np.random.default_rng(3)
    samples = [rng.gamma(2.0, 1.0, 40), rng.normal(size=40), np.r_[rng.normal(size=38), np.nan, np.nan],
               rng.normal(size=7), [0.7] * 9, [1.0], [], [30.0, np.inf], rng.exponential(size=40)]
    for seed in (0, 11, [1, 2]):
        together = bootstrap_cis(samples, 0.9, n_resamples=700, seed=seed)
        alone = [bootstrap_ci(x, 0.9, n_resamples=700, seed=seed) for x in samples]
        assert [(c.n, c.nan_count, c.low, c.high) for c in together] == [(c.n, c.nan_count, c.low, c.high)
                                                                         for c in alone]
        assert np.array_equal([c.mean for c in together], [c.mean for c in alone], equal_nan=True)
    with pytest.raises(TypeError, match="seed: Expected"):
        bootstrap_cis(samples, seed=np.random.default_rng(0))
    big = rng.normal(size=1500)  # several chunks of resamples
    assert bootstrap_cis([big, big + 1], n_resamples=3000, seed=4)[1] == bootstrap_ci(big + 1, n_resamples=3000, seed=4)


def test_bootstrap_ci_rejects_bad_settings():
    with pytest.raises(ValueError, match="confidence: Expected"):
        bootstrap_ci([1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="n_resamples: Expected"):
        bootstrap_ci([1.0, 2.0], n_resamples=0)


def test_holm_matches_a_hand_computed_example():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → raised to the running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.3]) == pytest.approx([0.6, 0.6])  # 0.3·2 = 0.6, 0.5·1 → 0.6; capped at 1 below
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])
    out = holm([0.02, np.nan, 0.01])  # NaN stays NaN and is not counted in m
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)
    assert holm([]).shape == (0,)


@pytest.mark.parametrize("n", [12, 50, 80])
def test_paired_wilcoxon_equals_scipy(n):
    rng = np.random.default_rng(n)
    a = rng.normal(20, 3, n)
    b = a - rng.normal(0.3, 1.0, n)
    res = paired_test(a, b, "wilcoxon")  # exact up to 50 pairs, normal approximation above: scipy's "auto"
    assert res.p_value == pytest.approx(sps.wilcoxon(a, b).pvalue, rel=1e-12)
    assert res.n == n and res.mean_diff == pytest.approx(np.mean(a - b))
    assert res.low < res.mean_diff < res.high and res.direction == 1
    b[:3] = a[:3]  # zero differences: dropped (scipy's zero_method="wilcox")
    d = a - b
    expected = sps.wilcoxon(d[d != 0], method="exact" if n - 3 <= 50 else "asymptotic").pvalue
    assert paired_test(a, b, "wilcoxon").p_value == pytest.approx(expected, rel=1e-12)
    if n > 50:  # scipy's own default with the zeros left in (normal approximation above 50 pairs)
        assert paired_test(a, b, "wilcoxon").p_value == pytest.approx(sps.wilcoxon(d).pvalue, rel=1e-12)


def test_paired_wilcoxon_with_ties_is_fast_and_deterministic():
    a = np.round(np.random.default_rng(4).normal(80, 5, 30))  # quantised scores: tied differences
    b = np.round(a - np.random.default_rng(5).normal(1, 2, 30))
    d = (a - b)[a != b]
    assert len(np.unique(np.abs(d))) < len(d)  # scipy's default would run an unseeded permutation test here
    first = paired_test(a, b, "wilcoxon")
    assert first == paired_test(a, b, "wilcoxon")
    assert first.p_value == pytest.approx(sps.wilcoxon(d, method="asymptotic").pvalue, rel=1e-12)


def test_paired_test_aligns_by_id_and_keeps_finite_pairs():
    a = pd.Series({"s1": 1.0, "s2": 2.0, "s3": 4.0, "s4": np.nan, "only_a": 9.0})
    b = pd.Series({"s3": 1.0, "s1": 0.5, "s2": 1.0, "s4": 3.0, "only_b": 0.0})
    res = paired_test(a, b, "wilcoxon")
    assert res.n == 3 and res.mean_diff == pytest.approx((0.5 + 1.0 + 3.0) / 3)
    assert res.p_value == pytest.approx(sps.wilcoxon([0.5, 1.0, 3.0]).pvalue)
    assert paired_test(dict(a), dict(b)).n == 3
    with pytest.raises(TypeError, match="both keyed by sample id"):
        paired_test(a, [1.0, 2.0])
    with pytest.raises(ValueError, match="equal length"):
        paired_test([1.0, 2.0], [1.0])
    assert paired_test(pd.Series(dtype=float), pd.Series(dtype=float)).n == 0


def test_paired_bootstrap_sees_a_real_shift_and_is_seeded():
    rng = np.random.default_rng(3)
    a = rng.normal(25, 4, 60)
    shifted = paired_test(a, a - rng.normal(0.8, 0.5, 60), "bootstrap", n_resamples=999, seed=0)
    assert shifted.p_value == pytest.approx(1 / 1000) and shifted.direction == 1 and shifted.low > 0
    b = a + rng.normal(0, 0.5, 60)
    same = paired_test(a, b, "bootstrap", n_resamples=999, seed=0)
    assert same.p_value > 0.05 and same.low < 0 < same.high
    assert same == paired_test(a, b, "bootstrap", n_resamples=999, seed=0)
    assert same != paired_test(a, b, "bootstrap", n_resamples=999, seed=1)
    identical = paired_test(a, a, "bootstrap")
    assert identical.p_value == 1.0 and identical.mean_diff == 0


def _scores(run_values: dict[str, np.ndarray], metric: str) -> dict[str, pd.DataFrame]:
    return {run: pd.DataFrame({"id": [f"s{i:03d}" for i in range(len(v))], "generator": "center", "hole_ratio": 0.25,
                               "metric": metric, "region": "hole", "mode": "composite", "value": v})
            for run, v in run_values.items()}


def test_compare_scores_marks_real_differences_in_the_metrics_direction():
    rng = np.random.default_rng(11)
    base = rng.uniform(5, 20, 40)
    runs = {"good": base - 2.0 + rng.normal(0, 0.3, 40), "good2": base - 2.0 + rng.normal(0, 0.3, 40),
            "bad": base}
    runs["bad"] = runs["bad"].copy()
    runs["bad"][0] = np.nan  # an empty region in one sample of one run
    means, pairs = compare_scores(_scores(runs, "mae"), seed=0)  # MAE: lower is better
    assert list(means["run"]) == ["good", "good2", "bad"]
    assert list(means["n"]) == [40, 40, 39] and list(means["nan_count"]) == [0, 0, 1]
    assert (means["ci_low"] < means["mean"]).all() and (means["mean"] < means["ci_high"]).all()
    by_pair = pairs.set_index(["run_a", "run_b"])
    assert by_pair.loc[("good", "bad"), "n_paired"] == 39 and by_pair.loc[("good", "bad"), "better"] == "lower"
    assert by_pair.loc[("good", "bad"), "significant"] and by_pair.loc[("good", "bad"), "better_run"] == "good"
    assert by_pair.loc[("good2", "bad"), "better_run"] == "good2"
    assert not by_pair.loc[("good", "good2"), "significant"] and by_pair.loc[("good", "good2"), "better_run"] == ""
    assert list(pairs["p_holm"]) == pytest.approx(list(holm(pairs["p_value"])))
    flipped = _scores(runs, "psnr")  # the same numbers read as higher-is-better flip the winner
    assert compare_scores(flipped, seed=0)[1].set_index(["run_a", "run_b"]).loc[("good", "bad"), "better_run"] == "bad"
    assert compare_scores(_scores(runs, "mae"), seed=0, better={"mae": "higher"})[1]["better"].eq("higher").all()


def test_compare_scores_cells_equal_bootstrap_ci_whatever_is_selected():
    rng = np.random.default_rng(5)
    runs = _scores({"x": rng.normal(size=25), "y": rng.normal(size=25)}, "ssim")
    means, _ = compare_scores(runs, seed=9, n_resamples=500)
    alone, _ = compare_scores({"y": runs["y"]}, seed=9, n_resamples=500)
    ci = bootstrap_ci(runs["y"]["value"], n_resamples=500, seed=9)
    assert alone.iloc[0][["ci_low", "ci_high"]].tolist() == [ci.low, ci.high]
    assert means.iloc[1][["ci_low", "ci_high"]].tolist() == [ci.low, ci.high]
    assert metric_better("ssim") == "higher" and metric_better("lpips") == "lower"
    one = mean_intervals(runs["y"], "y", seed=9, n_resamples=500)  # the same rows without the paired tests
    pd.testing.assert_frame_equal(one, means[means["run"] == "y"].reset_index(drop=True))


# ---- the command, on two real runs of the built-in demo source (no downloads) ----------------------------------


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    data = root / "data"
    assert main(["build-dataset", "demo-center", "--out", str(data), "--limit", "8", "--no-progress"]) == 0
    for method in ("telea", "mean-fill"):
        assert main(["evaluate", "--data", str(data), "--method", method, "--out", str(root / method),
                     "--metrics", "psnr", "ssim", "--no-progress"]) == 0
    return root


def test_compare_cli_on_two_real_runs(demo_runs, capsys):
    capsys.readouterr()
    telea, mean_fill = demo_runs / "telea", demo_runs / "mean-fill"
    assert main(["compare", str(telea), str(mean_fill), "--metrics", "ssim", "--regions", "boundary",
                 "--resamples", "500"]) == 0
    out = capsys.readouterr().out
    assert "2 runs on demo-center" in out and "8 sample ids shared by all runs" in out
    assert "| telea | SSIM | boundary | composite | 8 |" in out
    # at the hole's edge telea beats filling with the mean colour on all 8 images: exact Wilcoxon p = 2/2^8
    row = next(line for line in out.splitlines() if line.startswith("| telea | mean-fill |"))
    assert "| 0.008 | 0.008 | * | telea |" in row
    assert main(["compare", str(telea), str(mean_fill), "--metrics", "ssim", "--regions", "boundary",
                 "--resamples", "500"]) == 0
    assert capsys.readouterr().out == out  # seeded

    table = demo_runs / "out" / "c.csv"
    assert main(["compare", str(telea / "results.json"), str(mean_fill), "--out", str(table), "--test", "bootstrap",
                 "--resamples", "300", "--seed", "3"]) == 0
    frame = pd.read_csv(table)
    assert set(frame["table"]) == {"mean", "pair"} and set(frame["region"]) == {"whole", "hole"}
    assert len(frame[frame["table"] == "pair"]) == 4 and frame["n_paired"].dropna().eq(8).all()
    assert main(["compare", str(telea), str(mean_fill), "--out", str(demo_runs / "out" / "c.md")]) == 0
    assert (demo_runs / "out" / "c.md").read_text().startswith("# occbench compare")


def test_table_ci_prints_the_intervals_compare_prints(demo_runs, capsys):
    telea, mean_fill = demo_runs / "telea", demo_runs / "mean-fill"
    out = demo_runs / "out"
    settings = ["--resamples", "400", "--seed", "5"]
    assert main(["compare", str(telea), str(mean_fill), "--regions", "whole", "hole", "boundary", *settings,
                 "--out", str(out / "means.csv")]) == 0
    assert main(["table", str(telea), str(mean_fill), "--metrics", "psnr", "ssim", "--regions", "whole", "hole",
                 "boundary", "--ci", *settings, "--format", "csv", "--out", str(out / "table.csv")]) == 0
    capsys.readouterr()
    means = pd.read_csv(out / "means.csv").query("table == 'mean'").set_index(["run", "metric", "region"])
    table = pd.read_csv(out / "table.csv").set_index("method")
    assert len(means) == 2 * 2 * 3
    for (run, metric, region), row in means.iterrows():
        assert table.loc[run, f"{metric}_{region}_ci_low"] == row["ci_low"]
        assert table.loc[run, f"{metric}_{region}_ci_high"] == row["ci_high"]


def test_compare_cli_refuses_different_data_and_shows_fid_kid(demo_runs, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(demo_runs / "mean-fill", other)
    results = json.loads((other / "results.json").read_text())
    results["dataset"]["content_sha256"] = "0" * 64
    results["dataset_metrics"] = [
        {"metric": "fid", "region": "whole", "mode": "composite", "value": 41.5, "std": None, "count": 8,
         "better": "lower"},
        {"metric": "kid", "region": "whole", "mode": "composite", "value": 0.0123, "std": 0.0021, "count": 8,
         "subset_size": 4, "better": "lower"}]
    (other / "results.json").write_text(json.dumps(results))
    capsys.readouterr()
    assert main(["compare", str(demo_runs / "telea"), str(other)]) == 2
    err = capsys.readouterr().err
    assert str(other / "results.json") in err and str(demo_runs / "telea" / "results.json") in err
    assert "different dataset" in err and "--allow-different-data" in err

    assert main(["compare", str(demo_runs / "telea"), str(other), "--allow-different-data", "--regions", "whole"]) == 0
    out = capsys.readouterr().out
    assert "note: the runs are on different datasets" in out
    assert "no CI or paired test applies" in out
    assert "| mean-fill | FID | whole | composite | 41.50 | – | 8 | – |" in out
    assert "| mean-fill | KID×10³ | whole | composite | 12.30 | 2.10 | 8 | 4 |" in out


def test_compare_cli_errors_name_files(demo_runs, tmp_path, capsys):
    assert main(["compare", str(demo_runs / "telea")]) == 2
    assert "at least two runs" in capsys.readouterr().err
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(demo_runs / "telea" / "results.json", bare / "results.json")
    assert main(["compare", str(demo_runs / "telea"), str(bare)]) == 2
    assert f"{bare / 'scores.csv'}: no such file" in capsys.readouterr().err
    assert main(["compare", str(demo_runs / "telea"), str(demo_runs / "mean-fill"), "--metrics", "lpips"]) == 2
    err = capsys.readouterr().err
    assert "--metrics: lpips not in" in err and str(demo_runs / "telea" / "scores.csv") in err
    with pytest.raises(SystemExit):
        main(["compare", "a", "b", "--out", "x.txt"])
    assert "Expected a file ending in .csv or .md" in capsys.readouterr().err
    doubled = tmp_path / "doubled"  # a scores.csv with every row twice: a clean error naming the files
    doubled.mkdir()
    shutil.copy(demo_runs / "telea" / "results.json", doubled / "results.json")
    text = (demo_runs / "telea" / "scores.csv").read_text()
    (doubled / "scores.csv").write_text(text + text.split("\n", 1)[1])
    assert main(["compare", str(demo_runs / "mean-fill"), str(doubled)]) == 2
    err = capsys.readouterr().err
    assert "Expected one score per (id, metric, region, mode)" in err and str(doubled / "scores.csv") in err
