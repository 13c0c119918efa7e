"""Leaderboards: the shipped reported values and their schema check, the committed pages equal a regeneration,
and reproduced values land in a reported cell (difference = reproduced - reported) only under the same
convention."""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from conftest import REPO, shared_path

from occbench.errors import OccbenchError
from occbench.leaderboard import TABLES, generate, load_reported, read_run
from occbench.leaderboard.conventions import STATUSES
from occbench.leaderboard.reported import packaged_csv

REPORTED_DIR = packaged_csv().parent
TABLE_SIZES = {"sgin-t1": 84, "sgin-t2": 30, "sgenet-t1": 60, "sgenet-t3": 9, "sgenet-t4": 4, "fgi-t1": 20,
               "fgi-t2": 20, "mcsam-t1": 15, "mcsam-t2": 6, "mcsam-t3": 6}  # reported/README.md's table


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def write_results(folder: Path, protocol: str, aggregates: list[tuple[str, str, str, float]], *, method: str = "sgin",
                  mask: str = "predicted", name: str | None = None, fid: list[tuple[str, str, float]] = (),
                  dataset_extra: dict | None = None) -> Path:
    """A results.json shaped like `occbench evaluate`'s (format occbench-results/1), plus a field from the future."""
    folder.mkdir(parents=True, exist_ok=True)
    method_block = {"name": method, "params": {}, "mask": mask, "checkpoint": None, "checkpoint_sha256": None,
                    "predictions": str(folder / "pred"), "external": False}
    if name:
        method_block["display_name"] = name
    data = {
        "format": "occbench-results/1", "method": method_block,
        "dataset": {"path": str(folder / "no-such-data"), "protocol": protocol, "version": 2, "content_hash": "0" * 64,
                    "samples": 12, "labels": True, **(dataset_extra or {})},
        "settings": {"data_range": 1.0, "modes": ["raw", "composite"]},
        "provenance": {"occbench_version": "0.1.0"}, "warnings": [],
        "aggregates": [{"metric": m, "region": r, "mode": mode, "mean": v, "std": 0.1, "count": 12, "nan_count": 0,
                        "better": "higher"} for m, r, mode, v in aggregates],
        "bins": {"pconv6": []}, "by_generator": [],
        "dataset_metrics": [{"metric": "fid", "region": r, "mode": mode, "value": v, "std": None, "count": 12,
                             "better": "lower"} for r, mode, v in fid],
        "a_field_added_later": {"anything": [1, 2]},
    }
    (folder / "results.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


# ---- reported values ------------------------------------------------------------------------------------------

def test_packaged_values_match_their_provenance_note():
    note = (REPORTED_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    for name in ("seed_tables.csv", "README.md"):
        data = (REPORTED_DIR / name).read_bytes()
        assert f"| {name} | {len(data)} | {hashlib.sha256(data).hexdigest()} |" in note, name
    rows = load_reported()
    assert len(rows) == 254
    for key, spec in TABLES.items():
        assert sum((r.paper, r.table) == (spec.paper, spec.table) for r in rows) == TABLE_SIZES[key], key
    assert {(r.paper, r.table) for r in rows} == {(s.paper, s.table) for s in TABLES.values()}
    deepfill = next(r for r in rows if r.method == "DeepFill-v2" and r.metric == "ssim" and r.region == "whole")
    assert deepfill.printed == "0.9" and deepfill.value == 0.9 and "one decimal" in deepfill.notes


def test_packaged_copy_equals_the_shared_files():
    for name in ("seed_tables.csv", "README.md"):
        assert (REPORTED_DIR / name).read_bytes() == shared_path("reported", name).read_bytes(), name


@pytest.mark.parametrize(("edit", "message"), [
    (lambda lines: [lines[0].replace("notes", "note"), *lines[1:]], "header: Expected columns"),
    (lambda lines: [lines[0], lines[1].replace(",25.34,", ",n/a,"), *lines[2:]], ":2: column 'value': Expected"),
    (lambda lines: [lines[0], lines[1].replace(",256,", ",256px,"), *lines[2:]], ":2: column 'resolution'"),
    (lambda lines: [lines[0], lines[1].replace(",true,", ",false,"), *lines[2:]],
     ":3: higher_is_better of 'psnr': Expected false (as on line 2), but got true"),
    (lambda lines: [*lines, lines[1]], "is already on line 2"),
    (lambda lines: [lines[0], lines[1].replace(",whole,", ",hole,"), *lines[2:]], ":2: column 'region'"),
])
def test_schema_check_names_the_file_and_line(tmp_path, edit, message):
    lines = packaged_csv().read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "seed_tables.csv"
    bad.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    with pytest.raises(OccbenchError, match=re.escape(message)) as info:
        load_reported(bad)
    assert str(bad) in str(info.value)


def test_every_reported_cell_has_a_mapping_protocol_and_direction():
    import occbench.metrics as metrics
    from occbench.protocol import load_protocol

    regions = set(getattr(metrics, "REGIONS", None) or metrics.ALL_REGIONS)
    for row in load_reported():
        spec = next(s for s in TABLES.values() if (s.paper, s.table) == (row.paper, row.table))
        assert load_protocol(spec.protocols[row.dataset, row.occlusion]).resolution == row.resolution
        column = spec.column(row.metric, row.region)
        assert column.status in STATUSES and column.note
        if column.metric is None:
            assert column.status == "not comparable"
            continue
        assert column.region in regions
        info = metrics.metric_info(column.metric)
        if info.unit:  # registered in occbench: same direction as the paper's
            assert (info.better == "higher") == row.higher_is_better, (column.metric, row)


# ---- committed pages ------------------------------------------------------------------------------------------

def test_committed_leaderboards_equal_a_regeneration():
    files = generate().files
    assert set(files) == {*(f"{k}{ext}" for k in TABLES for ext in (".csv", ".md")), "README.md"}
    committed = {p.name for p in (REPO / "leaderboards").iterdir() if p.is_file()}  # recipes/ is occbench reproduce's
    assert committed == set(files), "leaderboards/ holds files the command does not write (or lacks some)"
    for name, text in files.items():
        assert (REPO / "leaderboards" / name).read_text(encoding="utf-8") == text, (
            f"leaderboards/{name} is out of date: run `occbench leaderboard --out leaderboards`")
    assert generate().files == files  # deterministic


def test_pages_state_the_convention_and_what_is_not_comparable():
    files = generate().files
    t1 = files["sgin-t1.md"]
    for words in ("256×256 px, 2,800 test images", "`zero_outside`", "output mode `raw`", "ambiguity 5",
                  "Gaussian window σ 1.5", "FID", "0–255 scale"):
        assert words in t1, words
    assert "`ms_ssim_reduced`" in files["sgin-t2.md"] and "`ssim_mcsam`" in files["mcsam-t1.md"]
    assert "not comparable because occbench's FID is defined on whole images" in files["fgi-t2.md"]
    rows = _csv_rows(files["fgi-t2.csv"])
    assert {r["status"] for r in rows if r["metric"] == "fid"} == {"not comparable"}
    assert all(r["source"] == "reported" and r["difference"] == "" for r in rows)


# ---- reproduced rows ------------------------------------------------------------------------------------------

def test_reproduced_row_gets_the_difference_reproduced_minus_reported(tmp_path):
    run = write_results(tmp_path / "sgin256", "celebahq-natocc-sgin-256", [
        ("psnr", "whole", "raw", 24.76), ("psnr", "whole", "composite", 99.0),  # composite: not SGIN's mode
        ("psnr", "zero_outside", "raw", 26.12), ("ssim", "hole", "raw", 0.5)], fid=[("whole", "raw", 10.05)])
    out = generate([run])
    assert out.placed[str(run / "results.json")] == ["sgin-t1"]
    rows = [r for r in _csv_rows(out.files["sgin-t1.csv"]) if r["source"] == "reproduced"]
    got = {(r["method"], r["metric"], r["region"]): r for r in rows}
    assert set(got) == {("SGIN", "psnr", "whole"), ("SGIN", "psnr", "zero_outside"), ("SGIN", "fid", "whole")}
    assert float(got["SGIN", "psnr", "whole"]["difference"]) == pytest.approx(24.76 - 23.76)  # reported 23.76
    assert float(got["SGIN", "psnr", "zero_outside"]["difference"]) == pytest.approx(26.12 - 26.62)
    assert float(got["SGIN", "fid", "whole"]["difference"]) == pytest.approx(10.05 - 8.55)
    assert got["SGIN", "psnr", "whole"]["n_images"] == "12" and got["SGIN", "psnr", "whole"]["mode"] == "raw"
    page = out.files["sgin-t1.md"]
    assert "| SGIN |  | reproduced [r1] | 24.76 | 26.12 |" in page
    assert "Difference (reproduced − reported)" in page
    assert "| SGIN |  | CelebA-HQ · NatOcc objects+hands | PSNR | whole | 23.76 | 24.76 | +1.00 |" in page
    assert "| SGIN |  | CelebA-HQ · NatOcc objects+hands | PSNR | zero_outside | 26.62 | 26.12 | -0.50 |" in page
    assert "reproduced" not in _csv_rows(out.files["sgin-t2.csv"])[-1]["source"]  # 128 px table untouched
    assert "| 84 | 3 |" in out.files["README.md"].split("[sgin-t1]")[1].split("\n")[0]  # reported, reproduced


def test_mismatched_conventions_never_share_a_cell(tmp_path):
    at_128 = write_results(tmp_path / "sgin128", "celebahq-natocc-sgin-128", [("psnr", "whole", "raw", 23.0)])
    wrong_res = write_results(tmp_path / "res", "celebahq-natocc-sgin-256", [("psnr", "whole", "raw", 23.0)],
                              dataset_extra={"resolution": 128})
    hole_only = write_results(tmp_path / "hole", "celebahq-natocc-sgin-256", [("psnr", "hole", "raw", 23.0)])
    oracle = write_results(tmp_path / "oracle", "celebahq-natocc-sgin-256", [("psnr", "whole", "raw", 22.0)],
                           mask="given")
    out = generate([at_128, wrong_res, hole_only, oracle])
    source = {p: str(p / "results.json") for p in (at_128, wrong_res, hole_only, oracle)}
    # 128 px: SGIN Table 2's FULL row, never Table 1
    assert out.placed[source[at_128]] == ["sgin-t2"]
    t2 = [r for r in _csv_rows(out.files["sgin-t2.csv"]) if r["source"] == "reproduced"]
    assert [(r["variant"], r["metric"], float(r["difference"])) for r in t2] == [("FULL", "psnr", pytest.approx(
        23.0 - 23.725))]
    refused = dict(out.refused[source[wrong_res]])
    assert out.placed[source[wrong_res]] == [] and "resolution: Expected 256 px" in refused["sgin-t1"]
    assert out.placed[source[hole_only]] == [] and "no values for this table's columns" in dict(
        out.refused[source[hole_only]])["sgin-t1"]
    # the oracle-mask run is shown, in a row of its own, without a difference
    t1 = [r for r in _csv_rows(out.files["sgin-t1.csv"]) if r["source"] == "reproduced"]
    assert [(r["method"], r["value"], r["difference"]) for r in t1] == [("sgin (mask=given)", "22", "")]
    assert "| sgin (mask=given) |  | reproduced [r1] | 22.00 |" in out.files["sgin-t1.md"]


def test_names_and_variants_place_runs_in_their_rows(tmp_path):
    mcsam = write_results(tmp_path / "mcsam", "celeba-maskedfaces-256", [
        ("ssim-mcsam", "whole", "composite", 0.95), ("ssim", "whole", "composite", 0.99),
        ("l1_mcsam", "whole", "composite", 0.0080), ("psnr", "whole", "composite", 30.0)], method="mcsam")
    deepfill = write_results(tmp_path / "gc", "celeba-maskedfaces-256", [("psnr", "whole", "composite", 29.0)],
                             method="external", name="GatedConv")
    telea = write_results(tmp_path / "telea", "celeba-maskedfaces-256", [("psnr", "whole", "composite", 20.0)],
                          method="telea")
    out = generate([mcsam, deepfill, telea], tables=["mcsam-t1", "mcsam-t3"])
    assert set(out.files) == {"mcsam-t1.csv", "mcsam-t1.md", "mcsam-t3.csv", "mcsam-t3.md"}
    rows = {(r["method"], r["variant"], r["metric"]): r for r in _csv_rows(out.files["mcsam-t1.csv"])
            if r["source"] == "reproduced"}
    assert float(rows["M-CSAM", "", "ssim"]["value"]) == 0.95  # the variant, not occbench's ssim
    assert rows["M-CSAM", "", "ssim"]["occbench_metric"] == "ssim_mcsam"
    assert float(rows["M-CSAM", "", "l1"]["difference"]) == pytest.approx(0.0080 - 0.0076)
    assert float(rows["GatedConv", "", "psnr"]["difference"]) == pytest.approx(29.0 - 29.6119)
    assert rows["telea", "", "psnr"]["difference"] == ""  # not in the paper: its own row
    t3 = {(r["method"], r["variant"]) for r in _csv_rows(out.files["mcsam-t3.csv"]) if r["source"] == "reproduced"}
    assert t3 == {("M-CSAM", "w/ CSAM")}  # occbench's mcsam is the ablation's full model; baselines stay out
    assert "'telea' is none of this ablation's rows" in dict(out.refused[str(telea / "results.json")])["mcsam-t3"]
    with pytest.raises(OccbenchError, match="Unknown table 'mcsam-t9'"):
        generate([], tables=["mcsam-t9"])


def test_results_reader_is_tolerant_but_names_bad_files(tmp_path):
    run = read_run(write_results(tmp_path / "a", "celebahq-natocc-sgin-256", [("MS-SSIM", "whole", "raw", 0.8)]))
    assert run.resolution == 256 and run.values == {("ms_ssim", "whole", "raw"): (0.8, 12)}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something-else/1"}))
    with pytest.raises(OccbenchError, match=r"bad\.json: format: Expected 'occbench-results/N'"):
        read_run(bad)
    with pytest.raises(OccbenchError, match="no-such-run: not found; expected a run folder"):
        read_run(tmp_path / "no-such-run")


# ---- command line ---------------------------------------------------------------------------------------------

def _cli(argv: list[str]) -> int:
    """Run `occbench leaderboard` through its own register() (the CLI's registration is checked separately)."""
    from occbench.cli import leaderboard

    parser = argparse.ArgumentParser(prog="occbench")
    leaderboard.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_writes_checks_and_reports_where_runs_went(tmp_path, capsys):
    from occbench.cli import COMMANDS

    assert "leaderboard" in COMMANDS
    assert _cli(["leaderboard", "--out", str(REPO / "leaderboards"), "--check"]) == 0
    run = write_results(tmp_path / "run", "ost-center128-256", [("psnr", "whole", "composite", 20.0)],
                        method="sgenet", mask="given")
    out = tmp_path / "lb"
    assert _cli(["leaderboard", "--results", str(run), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "placed in sgenet-t1, sgenet-t3, sgenet-t4" in captured.err and "wrote 21 files" in captured.out
    assert "| SGE-Net | Label-segs | reproduced [r1] | 20.00 |" in (out / "sgenet-t4.md").read_text()
    assert _cli(["leaderboard", "--out", str(out), "--check"]) == 1  # the pages there hold a reproduced run
    assert "sgenet-t1.md: out of date" in capsys.readouterr().out
    stray = write_results(tmp_path / "stray", "demo-center", [("psnr", "whole", "composite", 20.0)], method="telea")
    assert _cli(["leaderboard", "--results", str(stray), "--out", str(out)]) == 0
    assert "fits no seed table: protocol 'demo-center' is none of the seed tables'" in capsys.readouterr().err
