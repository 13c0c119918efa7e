"""Training engine: logs, checkpoints, exact resume, determinism, DDP (gloo, 1 process), adapters, CLI.

A toy recipe (one tiny conv net with BatchNorm and dropout, Adam, a step LR schedule, noise drawn from
``settings.generator``) stands in for the real baselines, registered by monkeypatching ``RECIPES``.
"""

from __future__ import annotations

import csv
import json
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest
import torch
import yaml
from occbench.baselines.engine import trainer
from occbench.baselines.engine.adapter import TrainedMethod
from occbench.baselines.engine.data import BuiltDataset, make_loader, start_epoch
from occbench.baselines.engine.recipe import Recipe, TrainSettings
from occbench.baselines.engine.trainer import apply_overrides, load_checkpoint, train
from occbench.baselines.mcsam.method import MCSAMMethod
from torch import nn

import occbench.cli
from occbench.dataset.build import BuildConfig, build_dataset
from occbench.errors import OccbenchError
from occbench.image_io import write_png
from occbench.protocol import load_protocol
from occbench.registry import METHODS, RECIPES

STEPS_RUN: list[int] = []  # step numbers train_step was called with


class ToyRecipe(Recipe):
    name = "toy"

    def build(self, settings: TrainSettings) -> None:
        self.settings = settings
        assert settings.extras.get("steps_per_epoch", 3) == 3 and settings.seed in (0, 1)
        settings.extras["random_backbones"] = settings.allow_random_backbones  # what a recipe with VGG losses reports
        self.G = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout2d(0.2),
                               nn.Conv2d(8, 3, 3, padding=1), nn.Sigmoid()).to(settings.device)
        self.opt = torch.optim.Adam(self.G.parameters(), lr=float(settings.config.get("lr", 1e-2)))
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=3, gamma=0.5)

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt}

    def schedulers(self) -> dict[str, Any]:
        return {"G": self.sched}

    def _forward(self, occluded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.G(torch.cat([occluded * (1 - mask), mask], 1))

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        STEPS_RUN.append(step)
        noise = torch.randn(batch["occluded"].shape, generator=self.settings.generator).to(self.settings.device)
        pred = self._forward((batch["occluded"] + 0.01 * noise).clamp(0, 1), batch["mask"])
        out = batch["mask"] * pred + (1 - batch["mask"]) * batch["target"]
        loss = (out - batch["target"]).abs().mean()
        self.opt.zero_grad()
        self.settings.backward_step(loss, self.opt)
        self.sched.step()
        return {"l1": loss.item(), "step_seen": float(step)}

    @torch.no_grad()
    def inpaint(self, occluded: torch.Tensor, mask: torch.Tensor, extras: dict[str, Any]) -> torch.Tensor:
        return mask * self._forward(occluded, mask) + (1 - mask) * occluded


@dataclass(frozen=True)
class ToyMethod(TrainedMethod):
    """The toy recipe as an evaluation method (mask given)."""

    recipe_name: ClassVar[str] = "toy"

    @torch.no_grad()
    def predict_with_mask(self, occluded, mask, extras=None):
        occluded, mask, extras = self._inputs(occluded, mask, extras)
        return self.recipe.inpaint(occluded, mask, extras).float(), mask


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch):
    monkeypatch.setitem(RECIPES._lazy, "toy", f"{__name__}:ToyRecipe")
    monkeypatch.delitem(RECIPES._objects, "toy", raising=False)
    monkeypatch.setitem(METHODS._objects, "toy", ToyMethod)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """6 samples at 32 px with a centred hole."""
    root = tmp_path_factory.mktemp("engine")
    images = root / "images"
    images.mkdir()
    y, x = np.mgrid[0:40, 0:40]
    for i in range(6):
        image = np.stack([(x * (2 + i)) % 256, (y * 3 + i * 20) % 256, ((x + y) * 2) % 256], -1).astype(np.uint8)
        cv2.imwrite(str(images / f"im{i}.png"), image)
    protocol = root / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "engine-test", "version": 1, "seed": 5, "resolution": 32,
                                        "source": {"name": "folder"},
                                        "generator": {"name": "center", "params": {"size": 0.5}}}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=root / "data", source_dir=images, progress=False))
    return root / "data"


def run(dataset: Path, out: Path, steps: int, **kwargs) -> Path:
    options = {"batch_size": 2, "log_every": 1, "checkpoint_every": 2, "progress": False, "seed": 0,
               "config_overrides": {"augment_flip": True}, **kwargs}
    return train("toy", dataset, out, max_steps=steps, **options)


def log_rows(out: Path) -> list[dict[str, str]]:
    with (out / "log.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_train_writes_log_and_checkpoints(dataset, tmp_path):
    last = run(dataset, tmp_path / "run", 4)
    assert last == tmp_path / "run" / "checkpoints" / "last.pt"
    rows = log_rows(tmp_path / "run")
    assert [r["step"] for r in rows] == ["1", "2", "3", "4"] and [r["step_seen"] for r in rows] == ["1.0", "2.0",
                                                                                                   "3.0", "4.0"]
    assert list(rows[0]) == ["step", "l1", "step_seen", "lr_G", "seconds"]
    assert float(rows[3]["lr_G"]) == pytest.approx(5e-3)  # StepLR halves after 3 steps: restored schedule state
    for name in ("step_2.pt", "step_4.pt", "last.pt"):
        assert (tmp_path / "run" / "checkpoints" / name).is_file()
    ckpt = load_checkpoint(last)
    assert ckpt["step"] == 4 and ckpt["method"] == "toy" and ckpt["random_backbones"] is False
    assert len(ckpt["protocol_hash"]) == 64 and ckpt["config"]["batch_size"] == 2
    assert set(ckpt["rng"][0]) == {"torch", "cuda", "numpy", "python", "generator", "np_rng"}
    assert ckpt["data_state"] == {"step": 4, "epoch": 1, "batch": 1}  # 3 batches per epoch


def test_resume_continues_exactly(dataset, tmp_path):
    run(dataset, tmp_path / "full", 5)
    run(dataset, tmp_path / "split", 2)
    STEPS_RUN.clear()
    run(dataset, tmp_path / "split", 5)
    assert STEPS_RUN == [3, 4, 5]  # resumed, not restarted
    full, split = log_rows(tmp_path / "full"), log_rows(tmp_path / "split")
    assert [r["step"] for r in split] == ["1", "2", "3", "4", "5"]
    for a, b in zip(full, split):
        assert a["l1"] == b["l1"] and a["lr_G"] == b["lr_G"]  # bitwise, steps 3-5 after the resume included
    weights = [load_checkpoint(tmp_path / d / "checkpoints" / "last.pt")["networks"]["G"] for d in ("full", "split")]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_same_seed_same_run_other_seed_differs(dataset, tmp_path):
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        run(dataset, tmp_path / name, 3, seed=seed, checkpoint_every=10)
    a, b, c = (log_rows(tmp_path / n) for n in "abc")
    assert [r["l1"] for r in a] == [r["l1"] for r in b]
    assert [r["l1"] for r in a] != [r["l1"] for r in c]


def test_resume_refuses_other_config_and_no_resume_starts_over(dataset, tmp_path):
    run(dataset, tmp_path / "r", 2)
    with pytest.raises(OccbenchError, match="config differs"):
        run(dataset, tmp_path / "r", 4, config_overrides={"augment_flip": True, "lr": 0.5})
    with pytest.raises(OccbenchError, match="trained with --seed 0, not 1"):
        run(dataset, tmp_path / "r", 4, seed=1)
    run(dataset, tmp_path / "r", 1, resume=False, config_overrides={"lr": 0.5})
    assert [r["step"] for r in log_rows(tmp_path / "r")] == ["1"]


def test_bad_settings_are_clear_errors(dataset, tmp_path):
    with pytest.raises(OccbenchError, match="only supported on CUDA"):
        run(dataset, tmp_path / "x", 1, amp="bf16")
    with pytest.raises(OccbenchError, match="Did you mean 'toy'"):
        train("tyo", dataset, tmp_path / "x", max_steps=1)
    with pytest.raises(OccbenchError, match="fewer than the batch size"):
        run(dataset, tmp_path / "x", 1, batch_size=7)
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(OccbenchError, match="tensorboard package is not installed"):
            run(dataset, tmp_path / "x", 1, tensorboard=True)


def test_config_overrides():
    config = {"lr": 1.0, "loss": {"style": 250}}
    assert apply_overrides(config, {"loss.style": 1, "batch_size": 4}, strict=True) == {
        "lr": 1.0, "loss": {"style": 1}, "batch_size": 4}
    assert config["loss"]["style"] == 250
    with pytest.raises(OccbenchError, match="Did you mean 'loss.style'"):
        apply_overrides(config, {"loss.styel": 1}, strict=True)
    assert apply_overrides({}, {"a.b": 2}, strict=False) == {"a": {"b": 2}}


def test_dataset_labels_flip_and_order(dataset, tmp_path):
    data = tmp_path / "labelled"
    shutil.copytree(dataset, data)
    info = json.loads((data / "dataset.json").read_text())
    (data / "dataset.json").write_text(json.dumps({**info, "labels": True}))
    label = np.zeros((32, 32), np.uint8)
    label[:, :10] = 1  # skin on the left third
    label[:, 10:12] = 17  # neck: not foreground
    for path in (data / "target").glob("*.png"):
        write_png(data / "label" / path.name, label)
    plain = BuiltDataset(data)[0]
    assert plain["label"].dtype == torch.int64 and plain["fg"].shape == (1, 32, 32) and plain["fg"][0, 0, 0] == 1
    assert plain["target"].shape == (3, 32, 32) and plain["mask"].dtype == torch.float32
    flipping = BuiltDataset(data, flip=True, seed=0)
    flips = []
    for epoch in range(8):
        flipping.set_epoch(epoch)
        sample = flipping[0]
        flipped = bool(sample["fg"][0, 0, -1])
        flips.append(flipped)
        for key in ("target", "occluded", "mask", "fg", "label"):
            expected = plain[key].flip(-1) if flipped else plain[key]
            assert torch.equal(sample[key], expected), key
    assert len(set(flips)) == 2  # both outcomes occur over 8 epochs with this seed
    loader = make_loader(BuiltDataset(data), batch_size=2, seed=3)
    first = [b["target"] for b in start_epoch(loader, 1)]
    again = [b["target"] for b in start_epoch(loader, 1, batch=1)]
    assert len(first) == 3 and all(torch.equal(x, y) for x, y in zip(first[1:], again))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ddp_gloo_single_process_matches_plain_run(dataset, tmp_path, monkeypatch):
    run(dataset, tmp_path / "plain", 3, checkpoint_every=10)
    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(key, value)
    real_wrap, wrapped = trainer.wrap_networks, []

    def spy(recipe, *args):
        real_wrap(recipe, *args)
        wrapped.append(type(recipe.G).__name__)  # set_networks replaced the attribute train_step uses

    monkeypatch.setattr(trainer, "wrap_networks", spy)
    run(dataset, tmp_path / "ddp", 3, checkpoint_every=10)
    assert wrapped == ["DistributedDataParallel"]
    assert not torch.distributed.is_initialized()
    assert [r["l1"] for r in log_rows(tmp_path / "ddp")] == [r["l1"] for r in log_rows(tmp_path / "plain")]
    state = load_checkpoint(tmp_path / "ddp" / "checkpoints" / "last.pt")["networks"]["G"]
    assert not any(k.startswith("module.") for k in state)


def test_adapter_errors(tmp_path):
    with pytest.raises(OccbenchError, match=r"method mcsam needs a trained checkpoint: pass --param "
                                            r"checkpoint=FILE or a --param bundle=FILE \(train one with: occbench "
                                            r"train --method mcsam"):
        MCSAMMethod()
    with pytest.raises(OccbenchError, match="not found"):
        MCSAMMethod(checkpoint=tmp_path / "nope.pt")
    (tmp_path / "x.pt").write_bytes(b"junk")
    with pytest.raises(OccbenchError, match="with mask=predicted needs the segmenter network: pass --param "
                                            "segmenter=FILE"):
        MCSAMMethod(checkpoint=tmp_path / "x.pt", mask="predicted")
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text("checkpoint: x.pt\nsegmenter: nope.pt\n")
    with pytest.raises(OccbenchError, match="segmenter checkpoint .*nope.pt not found"):
        MCSAMMethod(bundle=bundle, mask="predicted")  # the bundle names both files, relative to itself
    bundle.write_text("checkpoint: x.pt\ndetector: y.pt\n")
    with pytest.raises(OccbenchError, match="bundle.yaml: Expected a mapping with keys among checkpoint, segmenter"):
        MCSAMMethod(bundle=bundle)
    with pytest.raises(ValueError, match="mask: Expected one of given"):
        ToyMethod(checkpoint=tmp_path / "x.pt", mask="predicted")
    with pytest.raises(OccbenchError, match="not a readable occbench checkpoint"):
        ToyMethod(checkpoint=tmp_path / "x.pt").predict(torch.zeros(1, 3, 8, 8), torch.zeros(1, 1, 8, 8))


def test_adapter_predict_keeps_known_pixels(dataset, tmp_path):
    last = run(dataset, tmp_path / "run", 2)
    method = ToyMethod(checkpoint=last).to("cpu")
    assert isinstance(method, TrainedMethod)
    batch = next(iter(make_loader(BuiltDataset(dataset), batch_size=2, seed=0)))
    before = torch.get_rng_state()
    out = method.predict(batch["occluded"], batch["mask"], {})
    assert torch.equal(torch.get_rng_state(), before)  # loading did not touch the caller's RNG
    known = batch["mask"].expand_as(out) == 0
    assert out.shape == (2, 3, 32, 32) and torch.equal(out[known], batch["occluded"][known])
    assert not method.recipe.G.training
    provenance = method.provenance
    assert provenance["checkpoint_sha256"] == method.checkpoint_sha256 and len(method.checkpoint_sha256) == 64
    assert provenance["trained_step"] == 2 and provenance["mask"] == "given"


def test_cli_train_then_evaluate(dataset, tmp_path, capsys):
    out = tmp_path / "run"
    assert occbench.cli.main(["train", "--method", "toy", "--data", str(dataset), "--out", str(out), "--max-steps",
                              "2", "--batch-size", "2", "--device", "cpu", "--set", "lr=0.001",
                              "--allow-random-backbones", "--no-progress"]) == 0
    last = out / "checkpoints" / "last.pt"
    ckpt = load_checkpoint(last)
    assert ckpt["config"]["lr"] == 0.001 and ckpt["random_backbones"] is True and ckpt["step"] == 2
    assert occbench.cli.main(["evaluate", "--method", "toy", "--param", f"checkpoint={last}", "--data", str(dataset),
                              "--out", str(tmp_path / "eval"), "--metrics", "psnr", "--no-progress"]) == 0
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["method"]["name"] == "toy" and results["method"]["params"]["checkpoint"] == str(last)
    assert any(a["metric"] == "psnr" for a in results["aggregates"])
    with pytest.raises(SystemExit):
        occbench.cli.main(["train", "--method", "tyo", "--data", str(dataset), "--out", str(out)])
    assert "Did you mean 'toy'" in capsys.readouterr().err
    assert occbench.cli.main(["evaluate", "--method", "toy", "--data", str(dataset), "--out",
                              str(tmp_path / "e2"), "--metrics", "psnr", "--no-progress"]) == 2
    assert "needs a trained checkpoint" in capsys.readouterr().err


def test_rotate90_augmentation_is_per_sample_and_deterministic(dataset):
    from occbench.baselines.engine.data import BuiltDataset

    plain = BuiltDataset(dataset)
    rotated, again = BuiltDataset(dataset, rotate90=True, seed=3), BuiltDataset(dataset, rotate90=True, seed=3)
    turns = []
    for i in range(len(plain)):
        base, sample = plain[i], rotated[i]
        torch.testing.assert_close(sample["target"], again[i]["target"])  # same seed, same rotation
        k = next(k for k in range(4) if torch.equal(torch.rot90(base["target"], k, dims=(1, 2)), sample["target"]))
        assert torch.equal(torch.rot90(base["mask"], k, dims=(1, 2)), sample["mask"])  # mask turns with the image
        turns.append(k)
    assert len(set(turns)) > 1  # not one rotation for every sample
