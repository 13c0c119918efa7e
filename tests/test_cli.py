"""The command line end to end: ls, validate, build-dataset → predict on the built-in demo source."""

import subprocess
import sys

import numpy as np
import pytest

from occbench.cli import main
from occbench.image_io import read_gray, read_image


def test_ls_lists_registries_and_protocols(capsys):
    assert main(["ls", "methods"]) == 0
    assert {"telea", "navier-stokes", "biharmonic", "mean-fill"} <= set(capsys.readouterr().out.split())
    assert main(["ls", "protocols"]) == 0
    out = capsys.readouterr().out
    assert "celebahq-center-256 " in out and "demo-center" in out and "_base" not in out


def test_validate_prints_hash_and_rejects_bad_files(tmp_path, capsys):
    assert main(["validate", "celebahq-center-256", "--show"]) == 0
    out = capsys.readouterr().out
    assert "sha256:" in out and "size: 128" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\nseed: 1\nresolution: 32\nsource: {name: folder}\ngenerator: {name: hlaf}\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: generator.name: Unknown generators 'hlaf'. Did you mean 'half'?" in err


def test_build_then_predict_end_to_end(tmp_path, capsys):
    data, run = tmp_path / "data", tmp_path / "telea"
    assert main(["build-dataset", "demo-center", "--out", str(data), "--limit", "3", "--no-progress"]) == 0
    assert main(["predict", "--method", "telea", "--data", str(data), "--out", str(run), "--param", "radius=5",
                 "--no-progress"]) == 0
    assert "3 predicted, 0 failed" in capsys.readouterr().out
    preds = sorted(p.stem for p in (run / "pred").glob("*.png"))
    assert preds == sorted(p.stem for p in (data / "target").glob("*.png")) and len(preds) == 3
    for sample_id in preds:
        pred = read_image(run / "pred" / f"{sample_id}.png")
        occluded = read_image(data / "occluded" / f"{sample_id}.png")
        known = read_gray(data / "mask" / f"{sample_id}.png") == 0
        assert np.array_equal(pred[known], occluded[known])
        assert pred[~known].std() > 0  # the hole was filled, not left black
    assert '"radius": 5' in (run / "run.json").read_text()
    # rerunning skips what exists
    assert main(["predict", "--method", "telea", "--data", str(data), "--out", str(run), "--param", "radius=5",
                 "--no-progress"]) == 0


def test_predict_errors_are_clear(tmp_path, capsys):
    assert main(["predict", "--method", "tela", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "Did you mean 'telea'" in capsys.readouterr().err
    assert main(["predict", "--method", "telea", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "dataset.json: not found" in capsys.readouterr().err


def test_build_needs_assets_dir_for_external_generators(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    assert main(["build-dataset", "folder-nvidia-irregular-256", "--source-dir", str(tmp_path / "src"), "--out",
                 str(tmp_path / "o")]) == 2
    assert "pass --assets-dir DIR" in capsys.readouterr().err
    # one flag; the earlier names still reach it, with a note
    assert main(["build-dataset", "demo-center", "--out", str(tmp_path / "d"), "--mask-dir", str(tmp_path / "src"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--mask-dir is now --assets-dir" in err and "--assets-dir" in err and "reads no files" in err


@pytest.mark.parametrize("bad_shard", ["3/3", "x", "1/0"])
def test_bad_shard(tmp_path, capsys, bad_shard):
    assert main(["build-dataset", "demo-center", "--out", str(tmp_path), "--shard", bad_shard]) == 2
    assert "--shard" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["occbench", "occbench.cli"])
def test_python_dash_m_works_like_the_console_script(module):
    result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("ls", "validate", "build-dataset", "build-occluders", "preview", "predict", "evaluate", "train",
                    "table", "plot", "edit"):
        assert f"    {command} " in result.stdout or f"    {command}\n" in result.stdout, command


def test_help_and_listing_import_no_heavy_packages():
    """--help (top level and per command) and ls methods must start without torch, pandas or OpenCV."""
    code = (
        "import sys\n"
        "from occbench.cli import main\n"
        "assert main(['ls', 'methods']) == 0\n"
        "for argv in (['--help'], ['evaluate', '--help'], ['train', '--help'], ['table', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = {'torch', 'pandas', 'cv2', 'matplotlib', 'torchvision', 'numpy', 'skimage', 'dlib'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("command", [["table", "r"], ["compare", "a", "b"]])
def test_bootstrap_arguments_are_checked_alike(command, capsys):
    for flag, value, message in (("--resamples", "0", "Expected a whole number >= 1, but got 0"),
                                 ("--seed", "-1", "Expected a whole number >= 0, but got '-1'"),
                                 ("--seed", "1.5", "Expected a whole number >= 0, but got '1.5'")):
        with pytest.raises(SystemExit):
            main([*command, flag, value])
        assert f"argument {flag}: {message}" in capsys.readouterr().err


def test_count_arguments_reject_zero_and_negative(capsys):
    for argv in (["build-dataset", "demo-center", "--out", "x", "--limit", "-20"],
                 ["evaluate", "--method", "telea", "--data", "d", "--out", "o", "--batch-size", "0"],
                 ["predict", "--method", "telea", "--data", "d", "--out", "o", "--device", "gpu"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "Expected" in capsys.readouterr().err


def test_preview_renders_what_the_build_writes(tmp_path, capsys):
    from occbench.protocol import load_protocol
    from occbench.report.preview import render_sample

    assert main(["preview", "demo-center", "demo-irregular", "--out", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig.png").stat().st_size > 0 and (tmp_path / "fig.pdf").stat().st_size > 0
    # the panel is byte-for-byte the sample build-dataset writes (same fitting, same per-sample rng)
    assert main(["build-dataset", "demo-irregular", "--out", str(tmp_path / "d"), "--limit", "1", "--no-progress"]) == 0
    panel, shown = render_sample(load_protocol("demo-irregular"), source_name=None, source_dir=None, item_id=None,
                                 assets_dir=None)
    built = read_image(tmp_path / "d" / "occluded" / f"{shown}_v0.png")
    assert np.array_equal(panel, built)
