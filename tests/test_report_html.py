"""``occbench report``: one self-contained HTML page from two classical runs on the demo dataset, checked statically
and, where Debian's ``chromium`` is installed (``.ci/run`` installs it), rendered in headless Chromium."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from occbench.cli import main
from occbench.report.html import render_report, report_tables
from occbench.report.results import aggregates_frame, load_results


class _Tags(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A 6-sample demo dataset D and runs R1 (telea), R2 (navier-stokes) scored on PSNR and SSIM."""
    root = tmp_path_factory.mktemp("report")
    assert main(["build-dataset", "demo-center", "--out", str(root / "D"), "--limit", "6", "--no-progress"]) == 0
    for run, method in (("R1", "telea"), ("R2", "navier-stokes")):
        assert main(["evaluate", "--data", str(root / "D"), "--method", method, "--out", str(root / run),
                     "--metrics", "psnr", "ssim", "--no-progress"]) == 0
    return root


@pytest.fixture(scope="module")
def page(runs) -> Path:
    out = runs / "page.html"
    assert main(["report", str(runs / "R1"), str(runs / "R2"), "--out", str(out)]) == 0
    return out


def _worst(run: Path, metric: str = "psnr", region: str = "hole") -> str:
    with (run / "scores.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if (r["metric"], r["region"], r["mode"]) == (metric, region,
                                                                                               "composite")]
    return min(rows, key=lambda r: (float(r["value"]), r["id"]))["id"]


def test_page_is_self_contained_with_every_table_grid_and_provenance(runs, page):
    text = page.read_text(encoding="utf-8")
    tags = _Tags(text)
    for tag, attrs in tags.tags:
        for key in ("src", "href"):
            assert not attrs.get(key, "").startswith(("http://", "https://", "//")), (tag, attrs)
    assert not tags.find("link") and all("src" not in a for a in tags.find("script"))
    images = tags.find("img")
    assert images and all(a["src"].startswith(("data:image/png;base64,", "data:image/jpeg;base64,")) for a in images)
    tables = report_tables(aggregates_frame(load_results([runs / "R1", runs / "R2"])))
    assert len(tables) == len(tags.find("table", **{"class": "results"})) == 4  # composite/raw × 2 region sets
    assert ["composite outputs, whole, hole", "composite outputs, zero_outside, boundary"] == [t for t, _ in tables[:2]]
    for name, _ in tables:
        assert f"<h3>{name}</h3>" in text
    assert "PSNR ↑" in text and "SSIM ↑" in text and "<strong>" in text
    alts = [a["alt"] for a in images]
    assert {"psnr, whole region, pconv6 bins, demo-center", "psnr, hole region, lama10 bins, demo-center",
            "psnr per generator, hole region, demo-center"} <= set(alts)
    grid_rows = [a for t, a in tags.tags if t == "tr" and "data-id" in a]
    assert len(grid_rows) == 6 and all("data-s0" in a and "data-s1" in a for a in grid_rows)
    assert alts.count("telea") == alts.count("navier-stokes") == alts.count("target") == 6
    assert {a["value"] for a in tags.find("option")} == {"id", "0:best", "0:worst", "1:best", "1:worst"}
    results = json.loads((runs / "R1" / "results.json").read_text())
    for value in (results["dataset"]["content_hash"], results["dataset"]["content_sha256"],
                  results["provenance"]["torchvision"]["state"], "provenance.occbench_version", "method.params.radius"):
        assert value in text
    assert 50_000 < len(text.encode()) < 1_500_000  # thumbnails are 128 px JPEGs


def test_table_tooltips_are_the_bca_intervals_of_occbench_table_ci(runs, page):
    """Each value's tooltip is its 95% BCa bootstrap interval (2000 resamples, seed 0) over the run's scores.csv."""
    import pandas as pd

    from occbench.stats import bootstrap_ci

    text = page.read_text(encoding="utf-8")
    assert "hover a value for its 95% BCa bootstrap interval over images, 2000 resamples, seed 0" in text
    for run in ("R1", "R2"):
        scores = pd.read_csv(runs / run / "scores.csv")
        cell = scores.query("metric == 'psnr' and region == 'hole' and mode == 'composite'")["value"]
        ci = bootstrap_ci(cell.to_numpy(), 0.95, 2000, 0)
        assert f"title='95% BCa interval [{ci.low:.2f}, {ci.high:.2f}]'>" in text, run
    assert "95% CI ±" not in text  # the normal approximation is gone from the tables


def test_one_run_and_bad_metrics(runs, tmp_path, capsys):
    out = tmp_path / "one.html"
    assert main(["report", str(runs / "R1" / "results.json"), "--out", str(out), "--samples", "3",
                 "--metric", "ssim"]) == 0
    assert f"{out}: " in capsys.readouterr().out
    tags = _Tags(out.read_text(encoding="utf-8"))
    assert tags.find("table", id="grid-0")[0]["data-samples"] == "3"
    assert len(tags.find("table", **{"class": "results"})) == 4
    assert main(["report", str(runs / "R1"), "--out", str(out), "--metric", "lpips"]) == 2
    assert "--metric: no 'lpips' values in these results. Available: psnr, ssim" in capsys.readouterr().err


def test_runs_on_different_datasets_are_refused_unless_allowed(runs, tmp_path, capsys):
    other = tmp_path / "R3"
    shutil.copytree(runs / "R2", other)
    results = json.loads((other / "results.json").read_text())
    results["dataset"].update(content_sha256="0" * 64, path=str(tmp_path / "gone"))
    (other / "results.json").write_text(json.dumps(results))
    out = tmp_path / "mixed.html"
    assert main(["report", str(runs / "R1"), str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "evaluated on different datasets: R1 on demo-center" in err and "--allow-different-data" in err
    assert not out.exists()
    assert main(["report", str(runs / "R1"), str(other), "--out", str(out), "--allow-different-data"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "grid-0" in text and "gone not found (moved?); pass --data DIR" in text


def test_occluder_category_bars_come_from_manifest_params(runs, tmp_path):
    data = tmp_path / "D"
    shutil.copytree(runs / "D", data)
    with (data / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        row["params"] = json.dumps({"kind": "object", "category": "cup" if i % 2 else "hand"})
    with (data / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    text = render_report(load_results([runs / "R1", runs / "R2"]), data=data, samples=2)
    alts = {a.get("alt") for a in _Tags(text).find("img")}
    assert {"psnr per occluder category, hole region, dataset 1",
            "psnr per occluder kind, whole region, dataset 1"} <= alts
    assert "cup · object" in text or "object · cup" in text


def _chromium(*args: str) -> subprocess.CompletedProcess:
    command = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
               "--host-resolver-rules=MAP * ~NOTFOUND", *args]  # any network request would fail and log an error
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_page_renders_in_headless_chromium(runs, page, tmp_path):
    if shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium package (.ci/run installs it: apt-get install chromium)")
    from PIL import Image

    small = tmp_path / "small.html"
    small.write_text(render_report(load_results([runs / "R1", runs / "R2"]), samples=2), encoding="utf-8")
    start = time.monotonic()
    dumped = _chromium("--dump-dom", f"{small.as_uri()}#sort=1:worst")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = _Tags(dumped.stdout)
    assert dom.find("body")[0].get("data-ready") == "1", "the page's script did not finish"
    assert "data-js-errors" not in dom.find("html")[0]
    console = [line for line in dumped.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    assert len(dom.find("table", **{"class": "results"})) == 4 and dom.find("table", **{"class": "prov"})
    rows = [a for t, a in dom.tags if t == "tr" and "data-id" in a]
    shown = [a["data-id"] for a in rows if "hidden" not in a]
    assert len(shown) == 2 and len(rows) > 2 and shown[0] == _worst(runs / "R2")
    shot = tmp_path / "shot.png"
    taken = _chromium(f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (2000, 1280) and pixels.std() > 20 and (pixels < 128).mean() > 0.01
    assert time.monotonic() - start < 60
