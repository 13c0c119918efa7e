"""Shared layers against their definitions: contextual attention never copies from the hole, SEAN's styles act
only on their region, SPADE's closed form, the norm factory, GAN losses against their formulas, the multi-scale
PatchGAN, the FPN pyramid and BiSeNet's outputs and weight handling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from occbench.baselines.layers import (
    SEAN,
    SPADE,
    BiSeNet,
    ContextualAttention,
    FPNEncoder,
    MultiscalePatchDiscriminator,
    feature_matching_loss,
    hinge_d_loss,
    hinge_g_loss,
    make_norm,
    nonsaturating_d_loss,
    nonsaturating_g_loss,
)

from occbench.weights import MissingWeightsError

GEN = torch.Generator().manual_seed(0)


def test_contextual_attention_fills_the_hole_from_known_patches_only():
    features = torch.rand(2, 4, 16, 16, generator=GEN)
    hole = torch.zeros(2, 1, 16, 16)
    hole[:, :, 4:12, 6:12] = 1  # aligned to the rate-2 grid: known raw patches never overlap it
    features = features * (1 - hole) + 100.0 * hole  # hole content that must never be copied
    attention = ContextualAttention()
    assert not list(attention.parameters())  # DeepFill v2's module is parameter-free
    out = attention(features, features, hole)
    assert out.shape == features.shape and torch.isfinite(out).all()
    assert out.max() < 2.0  # a convex mix of known patches (values in [0, 1], /4 over 4 overlapping patches)
    assert out[:, :, 6:10, 8:10].mean(1).min() > 0.1  # and the hole is filled, not zeroed


def test_contextual_attention_is_per_sample():
    one = torch.rand(1, 4, 8, 8, generator=GEN)
    two = torch.rand(1, 4, 8, 8, generator=GEN)
    hole = torch.zeros(1, 1, 8, 8)
    hole[..., 2:6, 2:6] = 1
    attention = ContextualAttention()
    both = attention(torch.cat([one, two]), torch.cat([one, two]), hole.expand(2, -1, -1, -1))
    torch.testing.assert_close(both[1:], attention(two, two, hole))


def test_sean_style_of_a_region_changes_only_that_region():
    torch.manual_seed(0)
    sean = SEAN(8, label_channels=2, style_dim=6, hidden=16)
    x = torch.rand(1, 8, 16, 16, generator=GEN)
    segmap = torch.zeros(1, 2, 16, 16)
    segmap[:, 0, :, :8], segmap[:, 1, :, 8:] = 1, 1
    style = torch.rand(1, 2, 6, generator=GEN)
    edited = style.clone()
    edited[:, 1] += 1.0
    change = (sean(x, segmap, edited) - sean(x, segmap, style)).abs().sum(1)[0]
    assert change[:, :6].max() == 0  # two 3×3 convs reach 2 px across the region border, no further
    assert change[:, 10:].min() > 0


def test_spade_closed_form():
    spade = SPADE(3, label_channels=2, hidden=4)
    with torch.no_grad():
        for conv in (spade.gamma, spade.beta):
            conv.weight.zero_()
        spade.gamma.bias.copy_(torch.tensor([0.5, -0.25, 1.0]))
        spade.beta.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
    x, segmap = torch.rand(2, 3, 8, 8, generator=GEN), torch.rand(2, 2, 4, 4, generator=GEN)
    expected = F.instance_norm(x) * (1 + spade.gamma.bias.view(1, 3, 1, 1)) + spade.beta.bias.view(1, 3, 1, 1)
    torch.testing.assert_close(spade(x, segmap), expected)


def test_norm_factory():
    assert isinstance(make_norm("bn", 4), torch.nn.BatchNorm2d)
    assert isinstance(make_norm("in", 4), torch.nn.InstanceNorm2d)
    assert isinstance(make_norm("none", 4), torch.nn.Identity)
    assert isinstance(make_norm("spade", 4, label_channels=3), SPADE)
    assert isinstance(make_norm("sean", 4, label_channels=3, style_dim=5), SEAN)
    with pytest.raises(ValueError, match="Expected norm"):
        make_norm("group", 4)


def test_gan_losses_equal_their_formulas():
    real, fake = torch.randn(2, 1, 5, 5, generator=GEN), torch.randn(2, 1, 5, 5, generator=GEN)
    sigmoid = torch.sigmoid
    torch.testing.assert_close(nonsaturating_d_loss(real, fake),
                               -torch.log(sigmoid(real)).mean() - torch.log(1 - sigmoid(fake)).mean())
    torch.testing.assert_close(nonsaturating_g_loss(fake), -torch.log(sigmoid(fake)).mean())
    torch.testing.assert_close(hinge_d_loss(real, fake),
                               torch.clamp(1 - real, min=0).mean() + torch.clamp(1 + fake, min=0).mean())
    torch.testing.assert_close(hinge_g_loss(fake), -fake.mean())


def test_feature_matching_sums_layers_and_averages_scales():
    real = [[torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 2, 2), torch.zeros(1, 1, 1, 1)] for _ in range(2)]
    fake = [[torch.full((1, 2, 4, 4), 1.0), torch.full((1, 3, 2, 2), 2.0), torch.full((1, 1, 1, 1), 9.0)],
            [torch.full((1, 2, 4, 4), 3.0), torch.full((1, 3, 2, 2), 4.0), torch.full((1, 1, 1, 1), 9.0)]]
    # SPADE: Σ_scales Σ_layers (logits excluded) L1 / n_scales = ((1 + 2) + (3 + 4)) / 2
    torch.testing.assert_close(feature_matching_loss(real, fake), torch.tensor(5.0))


def test_multiscale_patch_discriminator():
    net = MultiscalePatchDiscriminator(in_ch=5, base=8, n_layers=3, n_scales=2)
    out = net(torch.rand(2, 5, 64, 64, generator=GEN))
    assert len(out) == 2 and all(len(scale) == 5 for scale in out)  # 4 feature layers + logits per scale
    assert out[0][-1].shape[1] == 1 and out[1][-1].shape[-1] < out[0][-1].shape[-1]  # second scale sees 1/2


def test_fpn_levels_coarsest_first():
    levels = FPNEncoder(4, (8, 16, 32), out_ch=12)(torch.rand(1, 4, 32, 32, generator=GEN))
    assert [tuple(level.shape[1:]) for level in levels] == [(12, 4, 4), (12, 8, 8), (12, 16, 16)]


def test_bisenet_outputs_and_missing_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no hub cache here
    monkeypatch.delenv("OCCBENCH_WEIGHTS", raising=False)
    with pytest.raises(MissingWeightsError, match="resnet18-f37072fd.pth"):
        BiSeNet(11, weights_dir=tmp_path)
    with pytest.warns(UserWarning, match="RANDOM"):
        net = BiSeNet(11, weights_dir=tmp_path, allow_random_backbone=True)
    assert net.random_backbone
    logits, aux16, aux32 = net.eval()(torch.rand(2, 3, 64, 64, generator=GEN), aux=True)
    assert logits.shape == aux16.shape == aux32.shape == (2, 11, 64, 64)
