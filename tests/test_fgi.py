"""FGI's loss supervision (the whole hole by default, the paper's literal foreground as a switch), the Keras
BatchNorm momentum, and fg_fallback reaching checkpoints and evaluation results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from occbench.baselines.engine.trainer import load_checkpoint
from occbench.baselines.fgi.losses import FGILossConfig, composite, generator_loss
from occbench.baselines.fgi.model import BN_MOMENTUM, FGIGenerator, fgi_critic

from occbench.cli import main
from occbench.dataset.build import BuildConfig, build_dataset
from occbench.protocol import load_protocol


def _pixel_gradient(supervision: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of L_cF + L_F w.r.t. the generator's prediction, and the hole ∩ background map."""
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 32, 32, generator=gen)
    hole = torch.zeros(2, 1, 32, 32)
    hole[..., 8:24, 8:24] = 1
    fg = torch.zeros(2, 1, 32, 32)
    fg[..., :, :16] = 1  # the left half is face: the hole is half face, half background
    pred = torch.rand(2, 3, 32, 32, generator=gen, requires_grad=True)
    output = composite(pred, target * (1 - hole), hole)
    cfg = FGILossConfig(supervision=supervision)
    feats = torch.zeros(2, 4, 8, 8)
    parts = generator_loss(output, target, target, fg, feats, feats, torch.zeros(2, 1), cfg)
    (parts["cF"] + parts["F"]).backward()
    return pred.grad.abs().sum(1, keepdim=True), hole * (1 - fg)


def test_default_supervises_background_hole_pixels():
    grad, hole_background = _pixel_gradient("weighted")
    assert (grad[hole_background > 0] > 0).float().mean() > 0.99  # every hole ∩ background pixel learns


def test_literal_foreground_reading_leaves_background_hole_pixels_unsupervised():
    grad, hole_background = _pixel_gradient("foreground")
    assert torch.count_nonzero(grad[hole_background > 0]) == 0


def test_foreground_weighs_more_under_the_default():
    cfg = FGILossConfig(foreground_boost=1.0)
    fg = torch.tensor([[[[0.0, 1.0]]]])
    assert cfg.weight_map(fg).flatten().tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="supervision"):
        FGILossConfig.from_config({"supervision": "everything"})


def test_batchnorm_momentum_is_keras_0_8():
    bns = [m for net in (FGIGenerator(), fgi_critic()) for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.momentum == BN_MOMENTUM == pytest.approx(0.2) for m in bns)


@pytest.mark.slow
def test_fg_fallback_is_recorded_in_checkpoint_and_results(tmp_path: Path, capsys):
    protocol = tmp_path / "p.yaml"  # the demo photographs: no labels, so no foreground
    protocol.write_text(yaml.safe_dump({"name": "fgi-fallback", "version": 1, "seed": 1, "resolution": 64,
                                        "source": {"name": "demo", "params": {"names": ["astronaut", "coffee"]}},
                                        "generator": {"name": "center", "params": {"size": 24}}}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=tmp_path / "data", progress=False))
    assert main(["train", "--method", "fgi", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"),
                 "--max-steps", "1", "--batch-size", "2", "--allow-random-backbones", "--no-progress",
                 "--set", "generator.base=8"]) == 0
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    assert load_checkpoint(last)["recorded"] == {"fg_fallback": True}
    assert main(["evaluate", "--method", "fgi", "--checkpoint", str(last), "--data", str(tmp_path / "data"),
                 "--out", str(tmp_path / "eval"), "--metrics", "psnr", "--no-progress"]) == 0
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["method"]["trained_recorded"] == {"fg_fallback": True}
    assert any("fg_fallback" in w for w in results["warnings"])
    capsys.readouterr()
