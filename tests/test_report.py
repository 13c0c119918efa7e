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
from occbench.report.results import aggregates_frame, bins_frame, generators_frame, load_results
from occbench.report.table import make_table, to_csv, to_latex, to_markdown

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
        folders.append(run)
    return folders


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
    assert labels == ["telea [run_telea]", "telea [telea_r5]"]


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


def test_table_values_bold_and_headers(frame):
    table = make_table(frame, metrics=["psnr", "ssim", "lpips", "fid"])
    assert list(table.columns) == ["PSNR ↑", "SSIM ↑", "LPIPS ↓", "FID ↓"]
    assert list(table.index) == METHODS
    assert table.loc["telea", "PSNR ↑"] == "25.00 | 20.00"
    assert table.loc["lama_big", "PSNR ↑"] == "**27.00** | 19.50"  # raw 99.0 ignored
    assert table.loc["mcsam (predicted mask)", "PSNR ↑"] == "24.00 | **21.00**"
    assert table.loc["telea", "SSIM ↑"] == "**0.9000** | 0.7000"  # tie: both bold
    assert table.loc["lama_big", "SSIM ↑"] == "**0.9000** | **0.8000**"
    assert table.loc["lama_big", "LPIPS ↓"] == "**0.0800** | 0.2500"  # lower is better
    assert table.loc["mcsam (predicted mask)", "LPIPS ↓"] == "0.1200 | **0.2000**"
    assert table.loc["lama_big", "FID ↓"] == "**9.10** | –"
    assert table.loc["mcsam (predicted mask)", "FID ↓"] == "15.00 | –"
    one = make_table(frame, metrics=["psnr"], regions=["hole"], methods=["mcsam", "telea"], style="plain")
    assert one.to_dict()["PSNR ↑"] == {"mcsam (predicted mask)": "21.00", "telea": "20.00"}
    with pytest.raises(OccbenchError, match="Unknown 'nope'"):
        make_table(frame, metrics=["psnr"], methods=["nope"])
    with pytest.raises(OccbenchError, match="no 'kid' values"):
        make_table(frame, metrics=["kid"])


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_markdown_is_a_valid_pipe_table(frame):
    text = to_markdown(frame, metrics=["psnr", "lpips", "fid"])
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(METHODS)
    assert {len(_cells(row)) for row in rows} == {4}
    assert _cells(rows[0]) == ["Method", "PSNR ↑", "LPIPS ↓", "FID ↓"]
    assert all(re.fullmatch(r":?-+:?", c) for c in _cells(rows[1]))
    assert _cells(rows[3]) == ["lama_big", "**27.00** \\| 19.50", "**0.0800** \\| 0.2500", "**9.10** \\| –"]
    assert "whole \\| hole, composite outputs" in text


def test_latex_booktabs_bold_and_escapes(frame):
    text = to_latex(frame, metrics=["psnr", "lpips"])
    for command in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{lcc}"):
        assert command in text
    assert r"PSNR $\uparrow$ & LPIPS $\downarrow$ \\" in text
    lama = next(line for line in text.splitlines() if line.startswith("lama"))
    assert lama == r"lama\_big & \textbf{27.00} \textbar{} 19.50 & \textbf{0.0800} \textbar{} 0.2500 \\"
    telea = next(line for line in text.splitlines() if line.startswith("telea"))
    assert r"\textbf" not in telea
    assert "lama_big" not in text
    assert r"\caption{values: whole \textbar{} hole, composite outputs (demo-center)" in text


def test_csv_round_trips_numbers(frame):
    back = pd.read_csv(io.StringIO(to_csv(frame, metrics=["psnr", "ssim", "fid"])))
    assert list(back.columns) == ["method", "protocol", "mode", "psnr_whole", "psnr_hole", "ssim_whole",
                                  "ssim_hole", "fid_whole", "fid_hole"]
    back = back.set_index("method")
    for name, label in zip(VALUES, METHODS):
        for (metric, region), value in VALUES[name].items():
            if metric in ("psnr", "ssim", "fid"):
                assert back.loc[label, f"{metric}_{region}"] == value
    assert back["fid_hole"].isna().all() and "**" not in to_csv(frame, metrics=["psnr"])


def _check_files(paths: list[Path]) -> None:
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert paths[1].read_bytes().startswith(b"%PDF")
    height, width, _ = read_image(paths[0]).shape
    assert height > 0 and width > 0


def test_bins_plot_one_line_per_method(runs, tmp_path):
    bins = bins_frame(load_results(runs), "pconv6")
    figure = figure_bins(bins, metric="psnr", region="whole", mode="composite")
    ax = figure.axes[0]
    assert len(ax.get_lines()) == 3
    assert [t.get_text() for t in ax.get_xticklabels()] == [b for b, _, _ in PCONV]  # sorted by lo
    assert ax.get_lines()[1].get_ydata().tolist() == [27.0 - 0.1, 27.0 - 1.0, 27.0 - 2.0]
    assert "n=7" in {t.get_text() for t in ax.texts} and "dB" in ax.get_ylabel() and "↑" in ax.get_ylabel()
    _check_files(plot_bins(bins, metric="psnr", region="whole", mode="composite", out=tmp_path / "f" / "bins"))
    with pytest.raises(OccbenchError, match="Available: psnr/whole/composite"):
        figure_bins(bins, metric="ssim", region="whole", mode="composite")


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
    assert out.splitlines()[0] == "| Method | PSNR ↑ | SSIM ↑ | LPIPS ↓ | FID ↓ |"  # defaults: those present
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


def test_caption_warns_when_fid_rests_on_few_samples():
    from occbench.report.table import small_sample_note, to_latex, to_markdown

    rows = [{"method": m, "protocol": "p", "metric": "fid", "region": "whole", "mode": "composite", "value": v,
             "std": None, "count": n, "better": "lower"} for m, v, n in (("a", 10.0, 18), ("b", 12.0, 3000))]
    frame = pd.DataFrame(rows)
    assert "18 samples (< 2048)" in small_sample_note(frame, ["fid"], "composite", "p")
    assert small_sample_note(frame[frame["method"] == "b"], ["fid"], "composite", "p") == ""
    assert small_sample_note(frame, ["psnr"], "composite", "p") == ""  # FID not shown: no warning
    assert "WARNING: FID/KID rest on 18 samples" in to_markdown(frame, metrics=["fid"], regions=["whole"])
    assert "WARNING: FID/KID rest on 18 samples" in to_latex(frame, metrics=["fid"], regions=["whole"])


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
