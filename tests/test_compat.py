"""occbench.compat: stubs for torchvision's operators only when its native library cannot load.

Each case runs in a child process (a registered operator cannot be unregistered). The decision is tested
against this machine's real torchvision and against fake ``torchvision`` packages whose native library
loads, fails to load, or crashes the process that loads it (compiled here with the C compiler).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(code: str, tmp_path: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, OCCBENCH_CACHE=str(tmp_path / "cache" / "occbench"))
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (extra_path, REPO) if p)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)


def test_real_torchvision_imports_in_either_case(tmp_path):
    code = (
        "from occbench.compat import ensure_torchvision_importable, find_extension, probe_extension, _package_dir\n"
        "status = ensure_torchvision_importable()\n"
        "verdict = probe_extension(find_extension(_package_dir('torchvision')))\n"
        "import torchmetrics, lpips, torch_fidelity, torchvision, torch\n"
        "from torchmetrics.functional.image import structural_similarity_index_measure as ssim\n"
        "x = torch.rand(1, 3, 16, 16)\n"
        "assert abs(float(ssim(x, x, data_range=1.0)) - 1) < 1e-6\n"
        "print(status.state, verdict['loads'], torchvision.extension._has_ops())\n"
    )
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    state, loads, has_ops = result.stdout.split()
    # matched pair: native and torchvision's own ops; mismatched (this machine's CPU torch): stubbed
    assert (state, has_ops) == (("native", "True") if loads == "yes" else ("stubbed", "False"))


def _fake_torchvision(root: Path, body: str) -> Path:
    """A package named torchvision whose _C library is compiled from ``body`` (C); skips without a compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("needs a C compiler to build a fake torchvision library")
    package = root / "torchvision"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    source = root / "lib.c"
    source.write_text(body)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(package / "_C.so"), str(source)], check=True)
    return root


DECIDE = (
    "import torch\n"
    "from occbench.compat import ensure_torchvision_importable, _has_schema\n"
    "status = ensure_torchvision_importable()\n"
    "assert ensure_torchvision_importable() is status\n"
    "print(status.state, _has_schema('torchvision::nms'), _has_schema('torchvision::qnms'))\n"
)


def test_loadable_library_means_nothing_is_registered(tmp_path):
    fake = _fake_torchvision(tmp_path / "pkgs", "int occbench_test_symbol(void) { return 1; }\n")
    result = _run(DECIDE, tmp_path, fake)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["native", "False", "False"]  # the real library would register them


def test_unloadable_library_gets_stub_schemas_that_explain_themselves(tmp_path):
    fake = _fake_torchvision(tmp_path / "pkgs", "extern int missing_symbol(void);\n"
                                                "int f(void) { return missing_symbol(); }\n")
    code = DECIDE + (
        "try:\n"
        "    torch.ops.torchvision.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)\n"
        "except NotImplementedError as exc:\n"
        "    print('occbench.compat' in str(exc), status.detail)\n"
    )
    result = _run(code, tmp_path, fake)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["stubbed", "True", "True"]
    assert lines[1].startswith("True OSError") and "missing_symbol" in lines[1]


def test_crashing_library_is_an_error_not_an_abort(tmp_path):
    fake = _fake_torchvision(tmp_path / "pkgs", "#include <stdlib.h>\n"
                                                "__attribute__((constructor)) static void boom(void) { abort(); }\n")
    code = (
        "from occbench.compat import ensure_torchvision_importable\n"
        "from occbench.errors import OccbenchError\n"
        "try:\n"
        "    ensure_torchvision_importable()\n"
        "except OccbenchError as exc:\n"
        "    print('refused:', exc)\n"
    )
    result = _run(code, tmp_path, fake)
    assert result.returncode == 0, result.stderr[-2000:]  # this process survived
    assert result.stdout.startswith("refused:") and "crashes the process" in result.stdout and "_C.so" in result.stdout


def test_missing_library_is_stubbed_and_verdicts_are_cached(tmp_path):
    package = tmp_path / "pkgs" / "torchvision"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    result = _run(DECIDE, tmp_path, tmp_path / "pkgs")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["stubbed", "True", "True"]

    fake = _fake_torchvision(tmp_path / "pkgs2", "int occbench_test_symbol(void) { return 1; }\n")
    assert _run(DECIDE, tmp_path, fake).stdout.split()[0] == "native"
    cache = json.loads((tmp_path / "cache" / "occbench" / "torchvision-probe.json").read_text())
    assert list(cache.values()) == [{"loads": "yes", "detail": ""}]
    # the second process answers from the cache: a probe would now fail the run
    no_probe = ("import occbench.compat as c\n"
                "c.probe_extension = lambda path: (_ for _ in ()).throw(AssertionError('probed again'))\n") + DECIDE
    result = _run(no_probe, tmp_path, fake)
    assert result.returncode == 0 and result.stdout.split()[0] == "native", result.stderr[-2000:]
    # a changed library file is probed again
    os.utime(fake / "torchvision" / "_C.so", ns=(1, 1))
    assert "probed again" in _run(no_probe, tmp_path, fake).stderr
