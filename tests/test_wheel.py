"""A non-editable wheel install still finds protocols/ and baselines/ (they live outside occbench/ in
the repository). Dependencies are reused from the running environment through a .pth file."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_install_finds_protocols_and_baselines(tmp_path):
    # build from a clean copy: an in-tree build leaves build/lib behind, whose stale files later wheels would pack
    source = tmp_path / "src"
    for name in ("occbench", "baselines", "protocols"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist),
                            str(source)], check=True, capture_output=True, text=True)
    log = built.stdout + built.stderr
    for warning in ("BuildBackendWarning", "SetuptoolsDeprecationWarning", "is absent from the `packages`",
                    "deprecated"):
        assert warning not in log, f"building the wheel warns: {warning}\n{log[-3000:]}"
    wheel = next(dist.glob("occbench-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True)
    # Reuse installed dependencies: a .pth line adds the current site-packages to the path (its own .pth
    # files, such as an editable occbench, are not executed, so only the wheel provides occbench).
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    listing = subprocess.run([str(venv / "bin" / "occbench"), "ls", "protocols"], cwd=work, check=True,
                             capture_output=True, text=True).stdout
    assert "celebahq-center-256" in listing and "folder-nvidia-irregular-256" in listing and "demo-center" in listing
    code = ("import occbench, occbench.protocol as p; from occbench.registry import METHODS;"
            "m = METHODS.get('telea'); print(occbench.__file__); print(m.__module__);"
            "print(p.protocols_dir())")
    out = subprocess.run([str(python), "-c", code], cwd=work, check=True, capture_output=True, text=True).stdout
    location, module, protocols = out.split()
    assert location.startswith(site) and module.startswith("occbench.baselines")
    assert protocols.startswith(site) and (Path(protocols) / "_base" / "celebahq256.yaml").is_file()
    # every module and protocol file of the repository made it into the wheel (an unlisted package would not)
    installed = Path(site) / "occbench"
    for folder, target in (("occbench", installed), ("baselines", installed / "baselines"),
                           ("protocols", installed / "protocols")):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts and not (
                    folder == "occbench" and path.relative_to(REPO / folder).parts[0] in ("baselines", "protocols")):
                assert (target / path.relative_to(REPO / folder)).is_file(), f"{path} missing from the wheel"
