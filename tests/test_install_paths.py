"""The second supported install path, end to end: a matched torch/torchvision pair (constraints-matched.txt).

The test suite itself runs on the default path (constraints.txt: CPU torch whose torchvision needs occbench's
stubs, see test_compat.py). This test builds a virtual environment with the matched pair once, caches it
(``$OCCBENCH_MATCHED_VENV``, default ``~/.cache/occbench/venv-matched-<hash of the pins and dependencies>``),
installs this checkout into it (not editable) and runs build-dataset → evaluate (telea, FID from
../shared/weights) → table there. The environment takes about 5.5 GB and two minutes to create, so it runs
only when ``OCCBENCH_TEST_MATCHED_TORCH=1`` (``make test-matched``; ``.ci/run`` sets it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, shared_path

ENV_FLAG = "OCCBENCH_TEST_MATCHED_TORCH"
CONSTRAINTS = REPO / "constraints-matched.txt"


def _run(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=cwd, timeout=1800)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_CONSTRAINT")}
    env["PIP_CONSTRAINT"] = str(CONSTRAINTS)
    return env


def _source_copy(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    for name in ("occbench", "baselines", "protocols"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    return source


def _matched_venv(source: Path, env: dict[str, str]) -> Path:
    key = hashlib.sha256(CONSTRAINTS.read_bytes() + (REPO / "pyproject.toml").read_bytes()).hexdigest()[:12]
    default = Path(os.path.expanduser("~")) / ".cache" / "occbench" / f"venv-matched-{key}"
    venv = Path(os.environ.get("OCCBENCH_MATCHED_VENV", default))
    python = venv / "bin" / "python"
    if not (venv / ".complete").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", venv], env)
        _run([python, "-m", "pip", "install", "-q", "--upgrade", "pip", "setuptools<81", "wheel"], env)
        _run([python, "-m", "pip", "install", "-q", "-c", CONSTRAINTS, "torch", "torchvision"], env)
        _run([python, "-m", "pip", "install", "-q", "-c", CONSTRAINTS, source], env)  # occbench's dependencies
        (venv / ".complete").write_text(key + "\n")
    _run([python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", source], env)
    return venv


@pytest.mark.slow
def test_matched_pair_builds_evaluates_and_tabulates(tmp_path):
    if not os.environ.get(ENV_FLAG):
        pytest.skip(f"set {ENV_FLAG}=1 to test the matched torch/torchvision install (a cached 5.5 GB venv)")
    weights = shared_path("weights", "weights-inception-2015-12-05-6726825d.pth")
    env = _clean_env()
    env["OCCBENCH_CACHE"] = str(tmp_path / "cache")  # a fresh torchvision probe and feature cache
    venv = _matched_venv(_source_copy(tmp_path), env)
    occbench = venv / "bin" / "occbench"
    work = tmp_path / "work"
    work.mkdir()
    versions = _run([venv / "bin" / "python", "-c", "import torch, torchvision; print(torch.__version__, "
                     "torchvision.__version__, torchvision.extension._has_ops())"], env, cwd=work).split()
    assert versions[2] == "True", versions  # torchvision's own library loads: a matched pair
    _run([occbench, "build-dataset", "demo-center", "--out", "data", "--limit", "4", "--no-progress"], env, cwd=work)
    _run([occbench, "evaluate", "--method", "telea", "--data", "data", "--out", "telea", "--metrics", "psnr", "ssim",
          "fid", "--weights-dir", weights.parent, "--device", "cpu", "--no-progress"], env, cwd=work)
    table = _run([occbench, "table", "telea", "--metrics", "psnr", "ssim", "fid"], env, cwd=work)
    results = json.loads((work / "telea" / "results.json").read_text())
    assert results["provenance"]["torchvision"]["state"] == "native"
    assert results["provenance"]["torch"] == versions[0]
    fid = [row["value"] for row in results["dataset_metrics"] if row["metric"] == "fid" and row["region"] == "whole"]
    assert fid and all(v is not None and v > 0 for v in fid)
    assert table.startswith("| Method | PSNR") and "telea" in table
