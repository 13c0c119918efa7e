"""Fault injection for build-dataset: each case of the fault probe, rerunnable by anyone.

Worker deaths are real (a source plugin, installed through an entry point the spawned workers see, SIGKILLs
the process that loads one file); a full disk is simulated by patching the PNG writer.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

import occbench.dataset.sample as sample_module
from occbench.cli import main
from occbench.dataset.build import BuildConfig, build_dataset
from occbench.image_io import TEMP_PREFIX
from occbench.protocol import load_protocol
from occbench.registry import SOURCES

REPO = Path(__file__).resolve().parents[1]


def _images(folder: Path, n: int = 6, size: int = 48) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size]
    for i in range(n):
        image = np.stack([(x * (3 + i)) % 256, (y * 5) % 256, ((x + y) * (i + 1)) % 256], -1).astype(np.uint8)
        cv2.imwrite(str(folder / f"img{i}.png"), image)
    return folder


def _protocol(tmp_path: Path, source: str = "folder", name: str = "fault-center") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "version": 1, "seed": 1, "resolution": 32,
                                    "source": {"name": source}, "generator": {"name": "center"}}))
    return path


def _build(protocol: Path, source: Path, out: Path, **kwargs) -> object:
    return build_dataset(BuildConfig(protocol=load_protocol(protocol), out=out, source_dir=source, progress=False,
                                     **kwargs))


def test_out_inside_source_dir_is_refused(tmp_path, capsys):
    source = _images(tmp_path / "src")
    code = main(["build-dataset", str(_protocol(tmp_path)), "--source-dir", str(source), "--out",
                 str(source / "out"), "--no-progress"])
    assert code == 2 and "is inside --source-dir" in capsys.readouterr().err
    assert not (source / "out").exists()


def test_resume_with_other_inputs_is_refused_but_a_copy_is_accepted(tmp_path):
    protocol, source, out = _protocol(tmp_path), _images(tmp_path / "a"), tmp_path / "out"
    _build(protocol, source, out, shard=(0, 2))
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    _build(protocol, copy, out, shard=(1, 2))  # the same files elsewhere: the same inputs
    other = _images(tmp_path / "b", n=7)
    from occbench.errors import OccbenchError

    with pytest.raises(OccbenchError, match=r"other settings or inputs \(source: .* \(6 files\) → .* \(7 files"):
        _build(protocol, other, out, shard=(1, 2))
    info = json.loads((out / "dataset.json").read_text())
    assert info["inputs"]["source"]["files"] == 6 and len(info["content_sha256"]) == 64


def test_replaced_output_file_is_rebuilt_on_rerun(tmp_path):
    protocol, source, out = _protocol(tmp_path), _images(tmp_path / "a"), tmp_path / "out"
    _build(protocol, source, out)
    good = (out / "target" / "img2.png").read_bytes()
    (out / "target" / "img2.png").write_bytes(b"garbage")
    report = _build(protocol, source, out)
    assert report.produced_now == 1 and (out / "target" / "img2.png").read_bytes() == good


def test_full_disk_is_not_a_permanent_skip(tmp_path, monkeypatch, capsys):
    protocol, source, out = _protocol(tmp_path), _images(tmp_path / "a"), tmp_path / "out"
    real = sample_module.write_png

    def full_disk(path, array):
        if "img3" in str(path) or "img4" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, array)

    monkeypatch.setattr(sample_module, "write_png", full_disk)
    assert main(["build-dataset", str(protocol), "--source-dir", str(source), "--out", str(out),
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "2 samples failed for a reason outside the data" in err and "No space left on device" in err
    assert not (out / "dataset.json").exists()
    monkeypatch.setattr(sample_module, "write_png", real)
    assert main(["build-dataset", str(protocol), "--source-dir", str(source), "--out", str(out),
                 "--no-progress"]) == 0  # a plain rerun retries them
    assert "6 samples written, 0 skipped" in capsys.readouterr().out


def test_a_live_writers_temp_file_survives_a_dead_ones_does_not(tmp_path):
    protocol, source, out = _protocol(tmp_path), _images(tmp_path / "a"), tmp_path / "out"
    (out / "target").mkdir(parents=True)
    live = out / "target" / f"{TEMP_PREFIX}img9.png.abc.tmp"  # this process: alive (another shard writing)
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout.strip()
    dead = out / "target" / f".~{dead_pid}~{TEMP_PREFIX.split('~')[2]}~img8.png.abc.tmp"
    legacy = out / "target" / ".img7.png.xyz.tmp"  # older occbench: no owner in the name
    for path in (live, dead, legacy):
        path.write_bytes(b"partial")
    _build(protocol, source, out)
    assert live.exists() and not dead.exists() and not legacy.exists()


def _killer_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install a source plugin that SIGKILLs the process loading a file whose name contains 'kill'."""
    plugins = tmp_path / "plugins"
    (plugins / "occbench_killer-1.dist-info").mkdir(parents=True)
    (plugins / "occbench_killer-1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: occbench-killer\n"
                                                                     "Version: 1\n")
    (plugins / "occbench_killer-1.dist-info" / "entry_points.txt").write_text(
        "[occbench.sources]\nkiller = occbench_killer:KillerSource\n")
    (plugins / "occbench_killer.py").write_text(textwrap.dedent("""
        import os, signal
        from dataclasses import dataclass
        from occbench.sources.folder import FolderSource

        @dataclass(frozen=True)
        class KillerSource(FolderSource):
            def load(self, item):
                if "kill" in item.id:
                    os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's OOM killer does
                return super().load(item)
    """))
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(plugins), str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(SOURCES, "_entry_points_loaded", False)


@pytest.mark.slow
def test_a_worker_killed_by_one_image_is_named_and_the_build_goes_on(tmp_path, monkeypatch):
    _killer_plugin(tmp_path, monkeypatch)
    source = _images(tmp_path / "src", n=8)
    shutil.copy(source / "img0.png", source / "kill_me.png")
    protocol, out = _protocol(tmp_path, source="killer"), tmp_path / "out"
    report = _build(protocol, source, out, workers=2)
    assert report.complete and report.ok == 8 and report.skipped == 1
    skipped = (out / "skipped.csv").read_text()
    assert "kill_me.png: the process producing this sample died" in skipped


@pytest.mark.slow
def test_a_single_worker_build_killed_outright_names_the_file_on_rerun(tmp_path, monkeypatch):
    _killer_plugin(tmp_path, monkeypatch)
    source = _images(tmp_path / "src", n=3)
    shutil.copy(source / "img0.png", source / "kill_me.png")
    protocol, out = _protocol(tmp_path, source="killer"), tmp_path / "out"
    command = [sys.executable, "-m", "occbench", "build-dataset", str(protocol), "--source-dir", str(source),
               "--out", str(out), "--no-progress"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == -signal.SIGKILL  # the whole build died (one worker = this process)
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "3 samples written, 1 skipped" in second.stdout
    assert "kill_me.png: the process producing this sample died" in (out / "skipped.csv").read_text()


def test_nothing_produced_is_a_failure(tmp_path, capsys):
    source = tmp_path / "src"
    source.mkdir()
    (source / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image IEND....")
    code = main(["build-dataset", str(_protocol(tmp_path)), "--source-dir", str(source), "--out",
                 str(tmp_path / "out"), "--no-progress"])
    assert code == 1 and "no sample could be produced" in capsys.readouterr().err


def test_corrupt_build_json_is_one_line(tmp_path, capsys):
    protocol, source, out = _protocol(tmp_path), _images(tmp_path / "a"), tmp_path / "out"
    (out / ".build").mkdir(parents=True)
    (out / ".build" / "build.json").write_text("{not json")
    code = main(["build-dataset", str(protocol), "--source-dir", str(source), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "build.json: damaged JSON" in err


def test_unwritable_output_is_one_line(tmp_path, capsys):
    protocol, source = _protocol(tmp_path), _images(tmp_path / "a")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code = main(["build-dataset", str(protocol), "--source-dir", str(source), "--out", str(blocker / "out"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "a-file" in err and "Traceback" not in err
