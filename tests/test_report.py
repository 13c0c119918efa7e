"""Tables and plots from synthetic results.json files written exactly as docs/results.md describes."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from occbench.cli import plot as plot_cli
from occbench.cli import table as table_cli
from occbench.errors import OccbenchError
from occbench.image_io import read_image, write_png
from occbench.report.plot import figure_bins, figure_generators, figure_grid, plot_bins, plot_generators, plot_grid
from occbench.report.results import (
    aggregates_frame,
    bins_frame,
    generators_frame,
    load_results,
    read_scores,
    row_keys,
)
from occbench.report.table import Bootstrap, build_table, to_csv, to_latex, to_markdown, with_intervals
from occbench.stats import bootstrap_ci

IDS = ["s0002", "s0000", "s0001"]
SIZE = 16
# method -> {(metric, region): composite mean}; FID is a dataset-level metric (whole only)
VALUES = {
    "telea": {("psnr", "whole"): 25.0, ("psnr", "hole"): 20.0, ("ssim", "whole"): 0.9, ("ssim", "hole"): 0.7,
              ("lpips", "whole"): 0.10, ("lpips", "hole"): 0.30, ("fid", "whole"): 12.3},
    "lama_big": {("psnr", "whole"): 27.0, ("psnr", "hole"): 19.5, ("ssim", "whole"): 0.9, ("ssim", "hole"): 0.8,
                 ("lpips", "whole"): 0.08, ("lpips", "hole"): 0.25, ("fid", "whole"): 9.1},
    "mcsam": {("psnr", "whole"): 24.0, ("psnr", "hole"): 21.0, ("ssim", "whole"): 0.85, ("ssim", "hole"): 0.75,
              ("lpips", "whole"): 0.12, ("lpips", "hole"): 0.20, ("fid", "whole"): 15.0},
}
BETTER = {"psnr": "higher", "ssim": "higher", "lpips": "lower", "fid": "lower"}
SPREAD = {"psnr": (-1.5, 0.25, 1.25), "ssim": (-0.05, 0.01, 0.04), "lpips": (-0.02, 0.005, 0.015)}
"""Per-image deviations from each mean in the runs' scores.csv (the values of IDS, in order; they sum to 0)."""
PCONV = [("0.01-0.1", 0.01, 0.1), ("0.1-0.2", 0.1, 0.2), ("0.2-0.3", 0.2, 0.3)]


def _image(seed: int, channels: int = 3) -> np.ndarray:
    shape = (SIZE, SIZE, channels) if channels == 3 else (SIZE, SIZE)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _results(name: str, run: Path, data: Path, mask: str = "given") -> dict:
    values = VALUES[name]
    aggregates = [{"metric": m, "region": r, "mode": "composite", "mean": v, "std": 1.0, "count": 3,
                   "nan_count": 0, "better": BETTER[m]} for (m, r), v in values.items() if m != "fid"]
    aggregates.append({"metric": "psnr", "region": "whole", "mode": "raw", "mean": 99.0, "std": 0.0, "count": 3,
                       "nan_count": 0, "better": "higher"})  # must never leak into a composite table
    base = values[("psnr", "whole")]
    return {
        "format": "occbench-results/1",
        "method": {"name": name, "params": {}, "mask": mask, "checkpoint": None, "checkpoint_sha256": None,
                   "predictions": str(run / "pred")},
        "dataset": {"path": str(data), "protocol": "demo-center", "version": 1, "content_hash": "a" * 64,
                    "samples": 3, "labels": False},
        "settings": {"data_range": 1.0, "boundary_px": 8, "lpips_net": "alex", "kid_subset_size": 1000,
                     "min_samples_fid": 2048, "metrics": ["psnr", "ssim", "lpips", "fid"],
                     "regions": ["whole", "hole"], "modes": ["raw", "composite"]},
        "provenance": {"occbench_version": "0.1.0", "git_commit": "0" * 40, "torch": "2.3.0", "device": "cpu",
                       "weights": {}, "random_weights": []},
        "warnings": ["FID/KID rest on 3 samples (< 2048): not comparable to published values"],
        "aggregates": aggregates,
        "bins": {
            "pconv6": [{"bin": b, "lo": lo, "hi": hi, "metric": "psnr", "region": "whole", "mode": "composite",
                        "mean": base - 10 * lo, "count": 5 + i} for i, (b, lo, hi) in enumerate(reversed(PCONV))],
            "lama10": [{"bin": "0.0-0.1", "lo": 0.0, "hi": 0.1, "metric": "psnr", "region": "whole",
                        "mode": "composite", "mean": base, "count": 3}],
        },
        "by_generator": [{"generator": g, "metric": "psnr", "region": "whole", "mode": "composite",
                          "mean": base + k, "count": 1 + k} for k, g in enumerate(["center", "half"])],
        "dataset_metrics": [{"metric": "fid", "region": "whole", "mode": "composite", "value": values[("fid", "whole")],
                             "std": None, "count": 3, "better": "lower"}],
    }


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    """A 3-sample dataset folder and three run folders (pred/*.png + results.json); returns the run folders."""
    data = tmp_path / "data"
    for k, sample_id in enumerate(IDS):
        write_png(data / "occluded" / f"{sample_id}.png", _image(k))
        write_png(data / "mask" / f"{sample_id}.png", (_image(k + 10, 1) > 127).astype(np.uint8) * 255)
        write_png(data / "target" / f"{sample_id}.png", _image(k + 20))
    folders = []
    for j, (name, mask) in enumerate([("telea", "given"), ("lama_big", "given"), ("mcsam", "predicted")]):
        run = tmp_path / f"run_{name}"
        for k, sample_id in enumerate(IDS):
            write_png(run / "pred" / f"{sample_id}.png", _image(100 * (j + 1) + k))
        (run / "results.json").write_text(json.dumps(_results(name, run, data, mask), indent=2))
        _write_scores(run, name)
        folders.append(run)
    return folders


def _write_scores(run: Path, name: str) -> None:
    """scores.csv whose per-image means are the results' composite means (and the raw PSNR's 99)."""
    rows = [(sample_id, metric, region, "composite", value + SPREAD[metric][k])
            for (metric, region), value in VALUES[name].items() if metric != "fid" for k, sample_id in enumerate(IDS)]
    rows += [(sample_id, "psnr", "whole", "raw", 99.0) for sample_id in IDS]
    frame = pd.DataFrame(rows, columns=["id", "metric", "region", "mode", "value"])
    frame.insert(1, "generator", "center")
    frame.insert(2, "hole_ratio", 0.25)
    frame.to_csv(run / "scores.csv", index=False)


def _with_ci(table, runs: list[Path], bootstrap: Bootstrap | None = None):
    """``table`` with intervals from the runs' scores.csv, as ``occbench table --ci`` adds them."""
    loaded = load_results(runs)
    scores = {key: read_scores(r, "test") for key, r in zip(row_keys(loaded), loaded)}
    return with_intervals(table, scores, bootstrap or Bootstrap())


def _interval(run: Path, metric: str, region: str, bootstrap: Bootstrap | None = None):
    """``bootstrap_ci`` of one composite cell of a run's scores.csv, read independently of occbench.report."""
    bootstrap = bootstrap or Bootstrap()
    scores = pd.read_csv(run / "scores.csv")
    cell = scores[(scores["metric"] == metric) & (scores["region"] == region) & (scores["mode"] == "composite")]
    return bootstrap_ci(cell["value"].to_numpy(), 0.95, bootstrap.n_resamples, bootstrap.seed)


@pytest.fixture
def frame(runs: list[Path]) -> pd.DataFrame:
    return aggregates_frame(load_results(runs))


METHODS = ["telea", "lama_big", "mcsam (predicted mask)"]


def test_frames_combine_aggregates_and_dataset_metrics(runs):
    loaded = load_results([runs[0] / "results.json", *runs[1:]])  # a file or its run folder
    agg = aggregates_frame(loaded)
    assert list(agg.columns) == ["method", "protocol", "metric", "region", "mode", "value", "std", "count", "better"]
    assert list(dict.fromkeys(agg["method"])) == METHODS
    fid = agg[(agg["metric"] == "fid") & (agg["method"] == "lama_big")]
    assert fid["value"].tolist() == [9.1] and fid["better"].tolist() == ["lower"] and fid["std"].isna().all()
    bins = bins_frame(loaded, "pconv6")
    assert len(bins) == 9 and set(bins["bin"]) == {b for b, _, _ in PCONV}
    assert len(bins_frame(loaded, "lama10")) == 3
    gen = generators_frame(loaded)
    assert set(gen["generator"]) == {"center", "half"} and gen["count"].max() == 2
    with pytest.raises(OccbenchError, match="scheme"):
        bins_frame(loaded, "nine")


def test_duplicate_method_names_get_unique_labels(runs, tmp_path):
    other = tmp_path / "telea_r5"
    other.mkdir()
    data = json.loads((runs[0] / "results.json").read_text())
    (other / "results.json").write_text(json.dumps(data))
    labels = list(dict.fromkeys(aggregates_frame(load_results([runs[0], other]))["method"]))
    assert labels == ["telea (run_telea)", "telea (telea_r5)"]
    nested = [tmp_path / "a" / "telea", tmp_path / "b" / "telea"]  # same folder names: one more level
    for folder in nested:
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(data))
    labels = list(dict.fromkeys(aggregates_frame(load_results(nested))["method"]))
    assert labels == ["telea (a/telea)", "telea (b/telea)"]
    twice = list(dict.fromkeys(aggregates_frame(load_results([runs[0], runs[0]]))["method"]))
    assert twice == ["telea (#1)", "telea (#2)"]
    renamed = aggregates_frame(load_results([runs[0], runs[1]]), rename={"telea": "Telea [4]"})
    assert list(dict.fromkeys(renamed["method"])) == ["Telea [4]", "lama_big"]


def test_invalid_results_name_the_file(tmp_path):
    bad_json = tmp_path / "a" / "results.json"
    bad_json.parent.mkdir()
    bad_json.write_text("{not json")
    with pytest.raises(OccbenchError, match=re.escape(str(bad_json))):
        load_results([bad_json])
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "other/2"}))
    with pytest.raises(OccbenchError, match=re.escape(f"{wrong}: format: Expected 'occbench-results/1'")):
        load_results([wrong])
    with pytest.raises(OccbenchError, match="no results.json"):
        load_results([tmp_path / "a" / ".."])
    with pytest.raises(OccbenchError, match="missing.json: no such file"):
        load_results([tmp_path / "missing.json"])


def _row(text: str, name: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
    return _cells(line)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_table_values_bold_per_column_and_headers(frame):
    table = build_table(frame, metrics=["psnr", "ssim", "lpips", "fid"])
    text = to_markdown(table)
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert _cells(rows[0]) == ["Method", "PSNR ↑ whole", "PSNR ↑ hole", "SSIM ↑ whole", "SSIM ↑ hole",
                               "LPIPS ↓ whole", "LPIPS ↓ hole", "FID ↓ whole", "FID ↓ hole"]
    assert all(re.fullmatch(r":?-+:?", c) for c in _cells(rows[1]))
    assert _cells(rows[2])[0] == "*demo-center*"  # the dataset block
    assert {len(_cells(row)) for row in rows} == {9}
    assert _row(text, "telea")[1:3] == ["25.00", "20.00"]
    assert _row(text, "lama_big")[1:3] == ["**27.00**", "19.50"]  # raw 99.0 ignored
    assert _row(text, "mcsam (predicted mask)")[1:3] == ["24.00", "**21.00**"]
    assert _row(text, "telea")[3] == "**0.9000**" and _row(text, "lama_big")[3:5] == ["**0.9000**", "**0.8000**"]
    assert _row(text, "lama_big")[5] == "**0.0800**"  # lower is better
    assert _row(text, "lama_big")[7:9] == ["**9.10**", "–"]
    one = to_markdown(build_table(frame, metrics=["psnr"], regions=["hole"], methods=["mcsam", "telea"]))
    assert [_cells(r)[0] for r in one.splitlines() if r.startswith("|")][3:] == ["mcsam (predicted mask)", "telea"]
    with pytest.raises(OccbenchError, match="Unknown 'nope'"):
        build_table(frame, metrics=["psnr"], methods=["nope"])
    with pytest.raises(OccbenchError, match="no 'kid' values"):
        build_table(frame, metrics=["kid"])


def test_confidence_intervals_are_the_bca_bootstrap_of_the_scores(frame, runs):
    bootstrap = Bootstrap(n_resamples=500, seed=3)
    table = _with_ci(build_table(frame, metrics=["psnr", "lpips", "fid"], regions=["whole"]), runs, bootstrap)
    text = to_markdown(table)
    for run, label in zip(runs, METHODS):
        for metric in ("psnr", "lpips"):
            ci = _interval(run, metric, "whole", bootstrap)
            assert (table.lows.loc[("demo-center", label), (metric, "whole")],
                    table.highs.loc[("demo-center", label), (metric, "whole")]) == (ci.low, ci.high)
            assert ci.low < ci.mean < ci.high
    ci = _interval(runs[0], "psnr", "whole", bootstrap)
    assert _row(text, "telea")[1] == f"25.00 [{ci.low:.2f}, {ci.high:.2f}]"  # asymmetric: no ± half-width
    assert _row(text, "telea")[3] == "12.30"  # FID: one value per image set, no interval
    assert "mean [low, high]: 95% BCa bootstrap interval over images, 500 resamples, seed 3 (FID: one value per " \
           "image set, no interval)" in text
    assert "BCa" not in to_markdown(build_table(frame, metrics=["psnr"], regions=["whole"]))  # only with intervals
    other = _with_ci(build_table(frame, metrics=["psnr"], regions=["whole"]), runs, Bootstrap(500, 4))
    assert not other.lows.equals(table.lows[[("psnr", "whole")]])  # the seed matters


def test_intervals_of_many_cells_equal_bootstrap_ci_cell_by_cell():
    """Cells of different sizes (NaN scores of empty regions dropped), an undefined one, and a run without scores."""
    rng = np.random.default_rng(0)
    ids = [f"s{i:03d}" for i in range(40)]
    scores, rows = [], []
    for method in ("a", "b"):
        for metric, region in (("psnr", "whole"), ("psnr", "hole"), ("ssim", "hole")):
            values = rng.gamma(2.0, 3.0, len(ids))
            if region == "hole":
                values[: 7 if method == "a" else 3] = np.nan
            if (method, metric) == ("b", "ssim"):
                values[-1] = np.inf
            scores += [{"id": i, "metric": metric, "region": region, "mode": "composite", "value": v, "run": method}
                       for i, v in zip(ids, values)]
            rows.append({"method": method, "protocol": "p", "metric": metric, "region": region, "mode": "composite",
                         "value": np.nanmean(values), "std": 1.0, "count": 40, "better": "higher"})
    rows.append({"method": "c", "protocol": "p", "metric": "psnr", "region": "whole", "mode": "composite",
                 "value": 1.0, "std": 1.0, "count": 40, "better": "higher"})
    scores = pd.DataFrame(scores)
    table = build_table(pd.DataFrame(rows), metrics=["psnr", "ssim"], regions=["whole", "hole"])
    table = with_intervals(table, {("p", m): scores[scores["run"] == m] for m in ("a", "b")}, Bootstrap(300, 5))
    for method in ("a", "b"):
        for column in (("psnr", "whole"), ("psnr", "hole"), ("ssim", "hole")):
            cell = scores[(scores["run"] == method) & (scores["metric"] == column[0]) & (scores["region"] == column[1])]
            ci = bootstrap_ci(cell["value"], 0.95, 300, 5)
            got = (table.lows.loc[("p", method), column], table.highs.loc[("p", method), column])
            assert got == (ci.low, ci.high) or (np.isnan(ci.low) and np.isnan(got).all()), (method, column)
    assert np.isnan(table.lows.loc[("p", "b"), ("ssim", "hole")])  # an infinite score: undefined
    assert _row(to_markdown(table), "b")[4] == "**inf [–, –]**"  # the best SSIM, bold
    assert table.lows.loc[("p", "c")].isna().all() and _row(to_markdown(table), "c")[1] == "1.00 [–, –]"
    stale = scores[(scores["run"] == "a") & (scores["region"] != "hole")]
    with pytest.raises(OccbenchError, match="scores of a on p: Expected per-sample psnr scores in the hole region"):
        with_intervals(table, {("p", "a"): stale})
    with pytest.raises(OccbenchError, match=re.escape("scores of a on p: Expected one score per (id, metric")):
        with_intervals(table, {("p", "a"): scores})  # both runs' scores as one
    replaced = scores[scores["run"] == "a"].assign(value=lambda f: f["value"] + 0.5)  # another evaluation's scores
    with pytest.raises(OccbenchError, match=r"scores of a on p: the mean psnr over whole of scores.csv is .*, "
                                            r"results.json says .*; Expected the scores.csv written with that"):
        with_intervals(table, {("p", "a"): replaced})


def _second_dataset(runs: list[Path], tmp_path: Path) -> list[Path]:
    extra = []
    for name, run in zip(("telea", "mcsam"), (runs[0], runs[2])):
        data = json.loads((run / "results.json").read_text())
        data["dataset"]["protocol"] = "celebahq-nvidia-irregular-256"
        data["dataset_metrics"][0]["count"] = 3000
        for row in data["aggregates"]:
            row["mean"] = row["mean"] - 1
        folder = tmp_path / f"nv_{name}"
        folder.mkdir()
        (folder / "results.json").write_text(json.dumps(data))
        scores = pd.read_csv(run / "scores.csv")
        scores.assign(value=scores["value"] - 1).to_csv(folder / "scores.csv", index=False)
        extra.append(folder)
    return extra


def test_two_datasets_become_row_blocks_with_their_own_best(runs, tmp_path):
    frame = aggregates_frame(load_results([*runs, *_second_dataset(runs, tmp_path)]))
    table = build_table(frame, metrics=["psnr", "fid"], regions=["whole", "hole"])
    assert table.protocols == ["demo-center", "celebahq-nvidia-irregular-256"]
    text = to_markdown(table)
    blocks = [line for line in text.splitlines() if line.startswith("| *")]
    assert [b.split("|")[1].strip() for b in blocks] == ["*demo-center*", "*celebahq-nvidia-irregular-256*"]
    lines = text.splitlines()
    nv = lines.index(blocks[1])
    assert _cells(lines[nv + 1])[:3] == ["telea", "**24.00**", "19.00"]  # best within its block
    assert _cells(lines[nv + 2])[:3] == ["mcsam (predicted mask)", "23.00", "**20.00**"]
    notes = [line for line in lines if re.match(r"\d+\. ", line)]
    assert notes == ["1. FID on demo-center rest on 3 images (< 2048): biased and not comparable to published values"]
    caption = next(line for line in lines if line.startswith("*whole"))
    assert "WARNING" not in caption  # warnings are footnotes, not the caption


def _check_latex(text: str, columns: int) -> None:
    """A LaTeX-free structural check: environments, braces, and every row spanning exactly ``columns``."""
    assert text.count(r"\begin{") == text.count(r"\end{")
    depth = 0
    for char in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    body = text[text.index(r"\toprule"):text.index(r"\bottomrule")]
    for line in body.splitlines():
        line = line.strip()
        if not line.endswith(r"\\"):
            continue
        cells = re.split(r"(?<!\\)&", line[:-2])
        spans = sum(int(m.group(1)) if (m := re.match(r"\s*\\multicolumn\{(\d+)\}", c)) else 1 for c in cells)
        assert spans == columns, line


def test_latex_multicolumn_headers_ci_and_two_datasets(runs, tmp_path):
    import shutil
    import subprocess

    loaded = [*runs, *_second_dataset(runs, tmp_path)]
    frame = aggregates_frame(load_results(loaded))
    text = to_latex(_with_ci(build_table(frame, metrics=["psnr", "lpips", "fid"], regions=["whole", "hole"]), loaded))
    _check_latex(text, 1 + 3 * 2)
    assert r"\multicolumn{2}{c}{PSNR $\uparrow$}" in text and r"\cmidrule(lr){2-3}" in text
    assert r"Method & whole & hole & whole & hole & whole & hole \\" in text
    assert r"\multicolumn{7}{l}{\textit{celebahq-nvidia-irregular-256}} \\" in text
    lama = next(line for line in text.splitlines() if line.startswith("lama"))
    whole, hole = _interval(runs[1], "psnr", "whole"), _interval(runs[1], "psnr", "hole")
    assert lama.startswith(rf"lama\_big & \textbf{{27.00 [{whole.low:.2f}, {whole.high:.2f}]}} & "
                           rf"19.50 [{hole.low:.2f}, {hole.high:.2f}]") and "lama_big" not in text
    assert "95\\% BCa bootstrap interval over images, 2000 resamples, seed 0" in text
    assert r"\footnotesize" in text and "1. FID on demo-center rest on 3 images" in text
    if shutil.which("pdflatex"):
        document = tmp_path / "t.tex"
        document.write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n" + text
                            + "\\end{document}\n")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", document.name], cwd=tmp_path,
                       check=True, capture_output=True, timeout=120)


def test_kid_is_shown_times_a_thousand(frame):
    rows = pd.concat([frame, pd.DataFrame([{"method": "telea", "protocol": "demo-center", "metric": "kid",
                                            "region": "whole", "mode": "composite", "value": 0.0123, "std": None,
                                            "count": 3, "better": "lower"}])])
    text = to_markdown(build_table(rows, metrics=["kid"], regions=["whole"], methods=["telea"]))
    assert "KID×10³ ↓" in text and _row(text, "telea")[1] == "12.30"
    assert "kid_whole" in to_csv(build_table(rows, metrics=["kid"], regions=["whole"], methods=["telea"]))


def test_csv_round_trips_numbers(frame, runs):
    table = _with_ci(build_table(frame, metrics=["psnr", "ssim", "fid"]), runs, Bootstrap(400, 2))
    back = pd.read_csv(io.StringIO(to_csv(table)))
    assert list(back.columns)[:6] == ["protocol", "method", "mode", "psnr_whole", "psnr_whole_ci_low",
                                      "psnr_whole_ci_high"]
    assert back["ci_resamples"].eq(400).all() and back["ci_seed"].eq(2).all()
    back = back.set_index("method")
    for name, label, run in zip(VALUES, METHODS, runs):
        for (metric, region), value in VALUES[name].items():
            if metric in ("psnr", "ssim", "fid"):
                assert back.loc[label, f"{metric}_{region}"] == value
            if metric in ("psnr", "ssim"):
                ci = _interval(run, metric, region, Bootstrap(400, 2))
                assert tuple(back.loc[label, [f"{metric}_{region}_ci_low", f"{metric}_{region}_ci_high"]]) == (
                    ci.low, ci.high)  # full precision
    assert back["fid_hole"].isna().all() and back[["fid_whole_ci_low", "fid_whole_ci_high"]].isna().all().all()
    assert "ci_low" not in to_csv(build_table(frame, metrics=["psnr"]))


def _check_files(paths: list[Path]) -> None:
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert paths[1].read_bytes().startswith(b"%PDF")
    height, width, _ = read_image(paths[0]).shape
    assert height > 0 and width > 0


def test_bins_plot_one_line_per_method_with_ci_and_counts(runs, tmp_path):
    bins = bins_frame(load_results(runs), "pconv6")
    figure = figure_bins(bins, metric="psnr", region="whole", mode="composite")
    ax = figure.axes[0]
    assert len(ax.containers) == 3  # one errorbar container per method
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["0.01-0.1\nn=7", "0.1-0.2\nn=6", "0.2-0.3\nn=5"]  # sorted by lo; n under each bin
    assert ax.containers[1].lines[0].get_ydata().tolist() == [27.0 - 0.1, 27.0 - 1.0, 27.0 - 2.0]
    assert "dB" in ax.get_ylabel() and "↑" in ax.get_ylabel() and "95% CI" in ax.get_title()
    assert "fewer than 30 images" in ax.get_xlabel()  # all bins are small here
    _check_files(plot_bins(bins, metric="psnr", region="whole", mode="composite", out=tmp_path / "f" / "bins"))
    with pytest.raises(OccbenchError, match="Available: psnr/whole/composite"):
        figure_bins(bins, metric="ssim", region="whole", mode="composite")


def test_method_colours_are_the_same_in_every_figure(runs):
    loaded = load_results(runs)
    bins = bins_frame(loaded, "pconv6")
    without_first = bins[bins["method"] != "telea"]  # a figure that happens to show fewer methods
    colours = [c.lines[0].get_color() for c in figure_bins(bins, metric="psnr", region="whole",
                                                            mode="composite").axes[0].containers]
    gen = figure_generators(generators_frame(loaded), metric="psnr", region="whole", mode="composite").axes[0]
    assert [c.patches[0].get_facecolor() for c in gen.containers] == [
        tuple(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)) + (1.0,) for colour in colours]
    partial = figure_bins(without_first, metric="psnr", region="whole", mode="composite").axes[0]
    assert [c.lines[0].get_color() for c in partial.containers] != colours[1:]  # colours follow the frame given:
    # a figure of a subset must be drawn from the full run set's frame (as the CLI does) to keep them


def test_generators_plot(runs, tmp_path):
    gen = generators_frame(load_results(runs))
    ax = figure_generators(gen, metric="psnr", region="whole", mode="composite").axes[0]
    assert len(ax.containers) == 3 and all(len(c) == 2 for c in ax.containers)
    assert {t.get_text() for t in ax.texts} >= {"n=1", "n=2"}
    _check_files(plot_generators(gen, metric="psnr", region="whole", mode="composite", out=tmp_path / "gen"))


def test_grid_plot(runs, tmp_path):
    loaded = load_results(runs)
    figure = figure_grid(loaded, count=2)
    assert len(figure.axes) == 2 * 6
    assert [ax.get_title() for ax in figure.axes[:6]] == ["input", "mask", *METHODS, "ground truth"]
    assert [figure.axes[0].get_ylabel(), figure.axes[6].get_ylabel()] == ["s0000", "s0001"]
    assert figure.axes[0].get_xticks().size == 0
    assert np.array_equal(figure.axes[3].images[0].get_array(), read_image(runs[1] / "pred" / "s0000.png"))
    _check_files(plot_grid(loaded, ids=["s0002"], out=tmp_path / "grid.png"))
    (runs[2] / "pred" / "s0001.png").unlink()
    with pytest.raises(OccbenchError, match="s0001.png"):
        figure_grid(loaded, ids=["s0001"])


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="occbench")
    sub = parser.add_subparsers(dest="command", required=True)
    table_cli.register(sub)
    plot_cli.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_table_and_plot_end_to_end(runs, tmp_path, capsys):
    assert _main(["table", *map(str, runs)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("| Method | PSNR ↑ whole | PSNR ↑ hole | SSIM ↑ whole")  # those present
    assert _main(["table", *map(str, runs), "--metrics", "psnr", "--regions", "whole", "--format", "latex"]) == 0
    assert r"\textbf{27.00} \\" in capsys.readouterr().out
    csv = tmp_path / "t" / "table.csv"
    assert _main(["table", *map(str, runs), "--methods", "telea", "--format", "csv", "--out", str(csv)]) == 0
    assert capsys.readouterr().out.strip() == str(csv) and pd.read_csv(csv)["psnr_whole"].tolist() == [25.0]
    for kind in ("bins", "generators", "grid"):
        out = tmp_path / "figs" / kind
        assert _main(["plot", *map(str, runs), "--kind", kind, "--count", "2", "--out", str(out)]) == 0
        printed = capsys.readouterr().out.split()
        assert printed == [f"{out}.png", f"{out}.pdf"] and all(Path(p).stat().st_size > 0 for p in printed)
    with pytest.raises(OccbenchError, match="format"):
        (runs[0] / "results.json").write_text("{}")
        _main(["table", str(runs[0])])


def test_cli_table_ci_is_seeded_and_needs_scores(runs, capsys):
    base = ["table", *map(str, runs), "--metrics", "psnr", "fid", "--no-progress"]
    argv = [*base, "--ci", "--resamples", "300"]
    assert _main([*argv, "--seed", "7"]) == 0
    out = capsys.readouterr().out
    ci = _interval(runs[0], "psnr", "hole", Bootstrap(300, 7))
    assert _row(out, "telea")[2] == f"20.00 [{ci.low:.2f}, {ci.high:.2f}]"
    assert "95% BCa bootstrap interval over images, 300 resamples, seed 7" in out
    assert _main([*argv, "--seed", "7"]) == 0 and capsys.readouterr().out == out  # deterministic under --seed
    assert _main([*argv, "--seed", "8"]) == 0 and capsys.readouterr().out != out
    assert _main([*base, "--ci", "--format", "csv"]) == 0  # defaults: 2000 resamples, seed 0
    back = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("method")
    assert back.loc["telea", "psnr_hole_ci_low"] == _interval(runs[0], "psnr", "hole").low
    assert back["ci_resamples"].eq(2000).all() and back["ci_seed"].eq(0).all()
    (runs[1] / "scores.csv").unlink()
    with pytest.raises(OccbenchError, match=re.escape(f"{runs[1] / 'scores.csv'}: no such file; table --ci needs "
                                                      "the per-sample scores (scores.csv)")):
        _main(argv)
    assert _main([*argv, "--methods", "telea"]) == 0  # only the rows shown need their scores
    assert _main(base) == 0  # without --ci no scores are read
    for flags in (["--seed", "3"], ["--resamples", "10", "--seed", "3"]):
        with pytest.raises(OccbenchError, match=re.escape(f"{' and '.join(flags[::2])} set the intervals of --ci: "
                                                          "Expected --ci with them")):
            _main([*base, *flags])


def test_footnote_warns_when_fid_rests_on_few_samples():
    rows = [{"method": m, "protocol": "p", "metric": "fid", "region": "whole", "mode": "composite", "value": v,
             "std": None, "count": n, "better": "lower"} for m, v, n in (("a", 10.0, 18), ("b", 12.0, 3000))]
    frame = pd.DataFrame(rows)
    assert build_table(frame, metrics=["fid"], regions=["whole"]).notes == [
        "FID on p rest on 18 images (< 2048): biased and not comparable to published values"]
    assert build_table(frame, metrics=["fid"], regions=["whole"], methods=["b"]).notes == []
    assert "1. FID on p rest on 18 images" in to_latex(build_table(frame, metrics=["fid"], regions=["whole"]))


def test_update_records_the_command_that_regenerates_the_block(runs, tmp_path, capsys):
    import shlex

    readme = tmp_path / "README.md"
    readme.write_text("<!-- occbench:results -->\n<!-- /occbench:results -->\n")
    assert _main(["table", *map(str, runs), "--metrics", "psnr", "ssim", "--regions", "whole", "--rename",
                  "telea=Telea", "--ci", "--seed", "7", "--resamples", "300", "--no-progress",
                  "--update", str(readme)]) == 0
    capsys.readouterr()
    text = readme.read_text()
    command = re.search(r"<!-- generated by: (.*) -->", text)[1]
    assert command.startswith("occbench table ") and "--ci --resamples 300 --seed 7" in command
    assert _main([*shlex.split(command)[1:], "--no-progress"]) == 0
    assert capsys.readouterr().out.strip() in text  # the recorded command prints the same table


def test_update_block_rewrites_only_the_marked_block(tmp_path):
    from occbench.report.table import update_block

    readme = tmp_path / "README.md"
    readme.write_text("# M\n\nbefore\n<!-- occbench:results -->\nold\n<!-- /occbench:results -->\nafter\n")
    update_block(readme, "| a |\n", command="occbench table x")
    text = readme.read_text()
    assert text.startswith("# M\n\nbefore\n<!-- occbench:results -->")
    assert text.endswith("<!-- /occbench:results -->\nafter\n")
    assert "| a |" in text and "old" not in text and "generated by: occbench table x" in text
    (tmp_path / "plain.md").write_text("no markers")
    with pytest.raises(OccbenchError, match="plain.md: Expected a block"):
        update_block(tmp_path / "plain.md", "x", command="c")


def test_results_without_directions_or_known_metrics_still_load(tmp_path):
    """Files from older writers or other plugin sets: `better` missing, unknown metric names, no nan_count."""
    legacy = {"format": "occbench-results/1", "method": {"name": "old"}, "dataset": {"protocol": "p"},
              "aggregates": [{"metric": "psnr", "region": "whole", "mode": "composite", "mean": 20.0, "std": 1.0,
                              "count": 3},
                             {"metric": "retired_metric", "region": "whole", "mode": "composite", "mean": 0.5,
                              "count": 3}],
              "dataset_metrics": [{"metric": "kid", "region": "whole", "mode": "composite", "value": 0.004,
                                   "count": 3}]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(legacy))
    frame = aggregates_frame(load_results([path]))
    assert dict(zip(frame["metric"], frame["better"])) == {"psnr": "higher", "retired_metric": "lower", "kid": "lower"}
    text = to_markdown(build_table(frame, metrics=["psnr", "retired_metric", "kid"], regions=["whole"]))
    assert "PSNR ↑" in text and "retired_metric ↓" in text and "KID×10³ ↓" in text
    assert _row(text, "old")[1:] == ["20.00", "0.5000", "4.00"]
