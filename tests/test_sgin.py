"""SGIN: its pieces against their definitions, the Table 2 switches, the HELEN source, the three-stage pipeline
through the CLI, resume, editing, and (slow) overfitting on real labelled faces."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from conftest import shared_path
from occbench.baselines.engine.recipe import TrainSettings
from occbench.baselines.engine.trainer import load_checkpoint, load_config, recipe_class, train
from occbench.baselines.sgin.model import SGINGenerator, region_average_pool
from occbench.baselines.sgin.train import helen_labels, one_hot

from occbench.cli import main
from occbench.dataset.build import BuildConfig, build_dataset
from occbench.labels import CLASS_INDEX, HELEN_CLASSES
from occbench.protocol import load_protocol

SMALL = {"image_size": 64, "batch_size": 2, "generator.style_dim": 32, "generator.max_width": 64,
         "generator.min_width": 16, "generator.encoder_widths": [16, 32, 64, 64], "discriminator.base": 16,
         "discriminator.n_layers": 3}
SMALL_SET = [f"{k}={json.dumps(v)}" for k, v in SMALL.items() if k not in ("image_size", "batch_size")]


def test_region_average_pool_equals_a_loop():
    gen = torch.Generator().manual_seed(0)
    features = torch.rand(2, 5, 8, 8, generator=gen)
    classes = torch.randint(0, 11, (2, 16, 16), generator=gen)
    classes[1][classes[1] == 3] = 0  # region 3 absent in image 1
    semantics = one_hot(classes)
    pooled = region_average_pool(features, semantics)
    small = torch.nn.functional.interpolate(semantics, size=(8, 8), mode="nearest")
    for b in range(2):
        for c in range(11):
            where = small[b, c] > 0
            expected = features[b][:, where].mean(1) if where.any() else torch.zeros(5)
            torch.testing.assert_close(pooled[b, c], expected)


def _generator(**kwargs) -> SGINGenerator:
    return SGINGenerator(resolution=64, style_dim=32, max_width=64, min_width=16, encoder_widths=(16, 32, 64, 64),
                         **kwargs)


def test_table2_switches_change_the_network():
    full = _generator()
    assert full.attention is not None and full.feedback is not None and full.middle == 2
    no_attention, no_feedback = _generator(attention=False), _generator(fusion_feedback=False)
    assert no_attention.attention is None and no_feedback.feedback is None
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(no_feedback) < count(full)  # the feedback encoder-decoder is gone
    masked, hole = torch.rand(1, 3, 64, 64) * 2 - 1, torch.zeros(1, 1, 64, 64)
    hole[:, :, 20:40, 20:40] = 1
    semantics = one_hot(torch.randint(0, 11, (1, 64, 64), generator=torch.Generator().manual_seed(1)))
    out = full(masked, semantics, hole)
    assert len(out["styles"]) == 4 and out["styles"][0].shape == (1, 11, 32)
    assert not torch.equal(out["coarse"], out["image"])  # the feedback pass changed the image
    single = no_feedback(masked, semantics, hole)
    assert torch.equal(single["coarse"], single["image"])
    cfg = load_config("sgin", recipe_class("sgin"), {**SMALL, "semantics": "gt", "losses.self_distillation": 0})[0]
    recipe = recipe_class("sgin")()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        recipe.build(TrainSettings(config=cfg, device=torch.device("cpu"), allow_random_backbones=True))
    target = torch.rand(2, 3, 64, 64)
    batch = {"target": target, "occluded": target * (1 - hole), "mask": hole.expand(2, -1, -1, -1),
             "label": torch.randint(0, 19, (2, 64, 64))}
    assert "g_sd" not in recipe.train_step(batch, 1)


def test_helen_source_combines_eleven_maps(tmp_path):
    from occbench.sources.helen import HelenSource

    root = tmp_path / "helen"
    (root / "images").mkdir(parents=True)
    for name in ("a1", "b2", "c3"):
        cv2.imwrite(str(root / "images" / f"{name}.jpg"), np.full((40, 33, 3), 128, np.uint8))
        folder = root / "labels" / name
        folder.mkdir(parents=True)
        for i in range(11):
            layer = np.zeros((40, 33), np.uint8)
            layer[:, 3 * i: 3 * i + 3] = 200  # class i owns columns 3i..3i+2
            cv2.imwrite(str(folder / f"{name}_lbl{i:02d}.png"), layer)
    (root / "exemplars.txt").write_text("1 , a1\n2 , b2\n")
    (root / "testing.txt").write_text("1 , c3\n")
    assert [i.id for i in HelenSource(root=root, split="train").items()] == ["a1", "b2"]
    sample = HelenSource(root=root, split="test").load(HelenSource(root=root, split="test").items()[0])
    classes = helen_labels(torch.from_numpy(sample.label.astype(np.int64)))
    assert classes[0, ::3].tolist() == list(range(11))  # HELEN order survives the CelebAMask-HQ round trip
    assert sample.label[0, 3] == CLASS_INDEX["skin"] and sample.label[0, 33 - 1] == CLASS_INDEX["hair"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sgin")
    protocol = root / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "sgin-test", "version": 1, "seed": 1, "resolution": 64,
                                        "source": {"name": "toyfaces", "params": {"count": 4, "size": 80}},
                                        "generator": {"name": "center", "params": {"size": 24}}}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=root / "data", progress=False))
    return root / "data"


def _train(method: str, data: Path, out: Path, steps: int, *extra: str) -> Path:
    assert main(["train", "--method", method, "--data", str(data), "--out", str(out), "--max-steps", str(steps),
                 "--batch-size", "2", "--device", "cpu", "--allow-random-backbones", "--no-progress",
                 "--checkpoint-every", "1000", *extra]) == 0
    return out / "checkpoints" / "last.pt"


@pytest.mark.slow
def test_three_stage_pipeline_trains_and_evaluates_in_all_four_modes(dataset, tmp_path, capsys):
    detector = _train("sgin-detector", dataset, tmp_path / "det", 2, "--set", "network.base=8",
                      "--val-data", str(dataset))
    parser = _train("sgin-parser", dataset, tmp_path / "par", 2, "--val-data", str(dataset))
    val = (tmp_path / "par" / "val.csv").read_text()
    assert "miou" in val and "iou_hair" in val and "iou" in (tmp_path / "det" / "val.csv").read_text()
    sgin = _train("sgin", dataset, tmp_path / "sgin", 2, "--set", f"parser_checkpoint={parser}",
                  *[x for pair in SMALL_SET for x in ("--set", pair)])
    assert load_checkpoint(sgin)["config"]["semantics"] == "predicted"
    for mask in ("given", "predicted"):
        for semantics in ("predicted", "gt"):
            out = tmp_path / f"eval-{mask}-{semantics}"
            assert main(["evaluate", "--method", "sgin", "--checkpoint", str(sgin), "--param", f"detector={detector}",
                         "--param", f"parser={parser}", "--mask", mask, "--param", f"semantics={semantics}",
                         "--data", str(dataset), "--out", str(out), "--metrics", "psnr", "ssim",
                         "--no-progress"]) == 0
            results = json.loads((out / "results.json").read_text())
            assert results["method"]["mask"] == mask and results["method"]["params"]["semantics"] == semantics
            metrics = {a["metric"] for a in results["aggregates"]}
            assert ("mask_iou" in metrics) == (mask == "predicted")
            if mask == "predicted":
                assert (out / "pred_mask").is_dir() and results["method"]["detector_sha256"]
    sample = sorted((dataset / "occluded").glob("*.png"))[0].stem
    edit = ["edit", "--checkpoint", str(sgin), "--image", str(dataset / "occluded" / f"{sample}.png"), "--mask",
            str(dataset / "mask" / f"{sample}.png"), "--style-from", str(dataset / "target" / "toy002.png")]
    assert main([*edit, "--parser", str(parser), "--regions", "hair", "--out", str(tmp_path / "swap")]) == 0
    assert main([*edit, "--labels", str(dataset / "label" / f"{sample}.png"), "--style-labels",
                 str(dataset / "label" / "toy002.png"), "--out", str(tmp_path / "all")]) == 0
    for name in ("swap.png", "swap_panel.png", "all.png", "all_panel.png"):
        assert (tmp_path / name).is_file()
    capsys.readouterr()
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(yaml.safe_dump({"checkpoint": str(sgin), "detector": str(detector), "parser": str(parser)}))
    assert main(["evaluate", "--method", "sgin", "--param", f"bundle={bundle}", "--mask", "predicted", "--data",
                 str(dataset), "--out", str(tmp_path / "bundled"), "--metrics", "psnr", "--no-progress"]) == 0


@pytest.mark.slow
def test_resume_repeats_an_uninterrupted_run(dataset, tmp_path):
    overrides = {"semantics": "gt", **{k: v for k, v in SMALL.items() if k not in ("image_size", "batch_size")}}
    kwargs = {"config_overrides": overrides, "batch_size": 2, "allow_random_backbones": True, "progress": False,
              "log_every": 1}
    straight = train("sgin", dataset, tmp_path / "a", max_steps=3, **kwargs)
    train("sgin", dataset, tmp_path / "b", max_steps=2, **kwargs)
    resumed = train("sgin", dataset, tmp_path / "b", max_steps=3, **kwargs)
    a, b = load_checkpoint(straight)["networks"], load_checkpoint(resumed)["networks"]
    for net in ("generator", "discriminator"):
        for key in a[net]:
            torch.testing.assert_close(a[net][key], b[net][key], rtol=0, atol=0, msg=f"{net}.{key}")


@pytest.mark.slow
def test_style_swap_changes_the_edited_region_most(dataset, tmp_path):
    from occbench.baselines.sgin.editing import SGINEditor

    from occbench.dataset.tensors import image_tensor
    from occbench.image_io import read_gray, read_image

    overrides = {"semantics": "gt", **{k: v for k, v in SMALL.items() if k not in ("image_size", "batch_size")}}
    last = train("sgin", dataset, tmp_path / "m", max_steps=4, config_overrides=overrides, batch_size=2,
                 allow_random_backbones=True, progress=False)
    editor = SGINEditor(last)
    images = [image_tensor(read_image(p))[None] for p in sorted((dataset / "target").glob("*.png"))[:2]]
    labels = [helen_labels(torch.from_numpy(read_gray(p).astype(np.int64)))[None]
              for p in sorted((dataset / "label").glob("*.png"))[:2]]
    hole = torch.zeros(1, 1, 64, 64)
    own = editor.styles(images[0], labels[0], hole)
    reference = [s + 3.0 for s in own]  # a clearly different hair style
    swapped = editor.swap(own, reference, ["hair"])
    before = editor.render(images[0], labels[0], hole, own)
    after = editor.render(images[0], labels[0], hole, swapped)
    change = (after - before).abs().mean(1)[0]
    hair = labels[0][0] == HELEN_CLASSES.index("hair")
    assert change[hair].mean() > 3 * change[~hair].mean()
    assert torch.equal(editor.render(images[0], labels[0], hole, editor.swap(own, own, ["hair"])), before)


@pytest.mark.slow
def test_overfits_four_real_labelled_faces():
    """SGIN at 64 px with ground-truth semantics on the 4 CelebAMask-HQ samples: the perceptual term falls."""
    samples = shared_path("assets", "celebamask_hq_samples")
    images, labels = [], []
    for i in range(4):
        image = cv2.imread(str(samples / "images" / f"{i}.jpg"))[..., ::-1]
        images.append(cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA))
        label = cv2.imread(str(samples / "labels" / f"{i}.png"), cv2.IMREAD_GRAYSCALE)
        labels.append(cv2.resize(label, (64, 64), interpolation=cv2.INTER_NEAREST))
    target = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    hole = torch.zeros(4, 1, 64, 64)
    hole[:, :, 20:44, 16:48] = 1
    batch = {"target": target, "occluded": target * (1 - hole), "mask": hole,
             "label": torch.from_numpy(np.stack(labels).astype(np.int64))}
    cfg = load_config("sgin", recipe_class("sgin"), {**SMALL, "semantics": "gt"})[0]
    torch.manual_seed(0)
    recipe = recipe_class("sgin")()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        recipe.build(TrainSettings(config=cfg, device=torch.device("cpu"), allow_random_backbones=True))
    per = [recipe.train_step(batch, step)["g_per"] for step in range(1, OVERFIT_STEPS + 1)]
    assert min(per[-3:]) <= per[0] / OVERFIT_FACTOR, per


OVERFIT_STEPS, OVERFIT_FACTOR = 30, 2.0
