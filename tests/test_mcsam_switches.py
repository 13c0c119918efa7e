"""M-CSAM's ablation switches (Table 2 supervision, Table 3 CSAM vs a 3×3 conv) and the official no-gradient
feature-patch discriminator."""

from __future__ import annotations

import warnings

import torch
from occbench.baselines.engine.recipe import TrainSettings
from occbench.baselines.engine.trainer import load_config, recipe_class
from occbench.baselines.layers import CSAM
from occbench.baselines.mcsam.model import MCSAMGenerator

SMALL = {"image_size": 32, "batch_size": 2, "generator.base": 8, "discriminators.base": 8,
         "discriminators.feature_width": 16}


def _recipe(**overrides):
    cfg = load_config("mcsam", recipe_class("mcsam"), {**SMALL, **overrides})[0]
    torch.manual_seed(0)
    recipe = recipe_class("mcsam")()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        recipe.build(TrainSettings(config=cfg, device=torch.device("cpu"), allow_random_backbones=True,
                                   extras={"steps_per_epoch": 10}))
    return recipe


def _batch():
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 32, 32, generator=gen)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    return {"target": target, "occluded": target * (1 - mask), "mask": mask}


def test_table3_conv_replaces_csam():
    paper, ablation = MCSAMGenerator(base=8), MCSAMGenerator(base=8, attention="conv3x3")
    assert all(isinstance(block.csam, CSAM) for block in paper.bottleneck)
    assert all(isinstance(block.csam, torch.nn.Conv2d) and block.csam.kernel_size == (3, 3)
               for block in ablation.bottleneck)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(ablation) - count(paper) == 3 * (64 * 64 * 9 + 64 - 29)  # a 64→64 3×3 conv instead of CSAM's 29


def test_table2_full_supervision_scores_the_raw_output():
    local, full = _recipe(), _recipe(supervision="full")
    l1_local = local.train_step(_batch(), 1)["g_l1"]
    l1_full = full.train_step(_batch(), 1)["g_l1"]
    assert l1_full > l1_local  # the raw output also errs on the known pixels the composite copies


def test_feature_discriminator_sends_no_gradient_by_default():
    feature = torch.rand(2, 4, 8, 8, requires_grad=True)
    assert not _recipe().generator_feature(feature).requires_grad  # official
    assert _recipe(**{"discriminators.feature_gradient": True}).generator_feature(feature).requires_grad


def test_branches_reflect_pad_when_the_map_allows():
    from occbench.baselines.mcsam.model import ReflectWhenPossibleConv2d

    conv = ReflectWhenPossibleConv2d(1, 1, 3, padding=2, dilation=2, bias=False)
    torch.nn.init.ones_(conv.weight)
    x = torch.arange(36.0).view(1, 1, 6, 6)
    expected = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (2,) * 4, mode="reflect"), conv.weight,
                                          dilation=2)
    torch.testing.assert_close(conv(x), expected)
    small = torch.ones(1, 1, 2, 2)  # padding 2 cannot reflect a 2-px map: zero padding
    torch.testing.assert_close(conv(small), torch.nn.functional.conv2d(small, conv.weight, padding=2, dilation=2))


def test_official_value_range_feeds_raw_minus_one_to_one():
    official, imagenet = _recipe(), _recipe(value_range="imagenet")
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(official.loss_space(x), x * 2 - 1)
    torch.testing.assert_close(imagenet.loss_space(x), x)
    layer = "relu3_3"
    torch.testing.assert_close(official.features(official.loss_space(x))[layer],
                               official.vgg(x * 2 - 1, normalize=False)[layer])  # no ImageNet normalisation
    torch.testing.assert_close(imagenet.features(x)[layer], imagenet.vgg(x)[layer])
