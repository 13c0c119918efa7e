"""The measurement machinery of benchmarks/mcsam_loss_balance.py at tiny size (2 synthetic 64-px images, random VGG)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "mcsam_loss_balance.py"


@pytest.fixture(scope="module")
def balance_script():
    spec = importlib.util.spec_from_file_location("mcsam_loss_balance", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_l1_scales_by_two_and_ratios_are_finite(balance_script, monkeypatch):
    monkeypatch.setattr(balance_script, "imagenet_vgg", lambda *args: None)  # random VGG even where the file exists
    faces = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    balance = balance_script.measure(faces, seeds=[0], log=lambda msg: None)
    official, imagenet = balance.terms["official"][0], balance.terms["imagenet"][0]
    # [-1, 1] = 2·[0, 1] - 1: the same composite and target give exactly twice the L1 under "official"
    assert official["l1"] > 0
    assert official["l1"] == pytest.approx(2 * imagenet["l1"], rel=1e-6)
    for term in ("perceptual", "style"):
        (ratio,) = balance.ratios(term)
        assert math.isfinite(ratio) and ratio > 0
        assert official[term] > 0 and imagenet[term] > 0
    assert balance.seeds == [0] and "PROXY" in balance.vgg


def test_missing_assets_exit_with_a_clear_message(balance_script, tmp_path):
    with pytest.raises(SystemExit, match="celeba_hq_faces_sean.*--assets"):
        balance_script.load_faces(tmp_path, 16, 64)
