"""Region-aware LPIPS: wiring and regions with a random trunk (no ImageNet weights here), trunk key mapping,
missing-weights errors, and agreement with the lpips package itself."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from occbench.compat import ensure_torchvision_importable
from occbench.fingerprint import sha256_file

ensure_torchvision_importable()

import lpips  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

from occbench.metrics.lpips_metric import LPIPSScorer  # noqa: E402
from occbench.weights import KNOWN, MissingWeightsError, find_weights  # noqa: E402


@pytest.fixture(scope="module")
def scorer() -> LPIPSScorer:
    return LPIPSScorer("alex", allow_random_trunk=True, weights_dir="/nonexistent-occbench-weights")


def _images(size: int = 64, batch: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    target = torch.stack([x, y, (x + y) / 2]).expand(batch, 3, size, size).clone()
    target += 0.2 * torch.rand(batch, 3, size, size, generator=gen)
    target = target.clamp(0, 1)
    pred = (target + 0.1 * torch.randn(target.shape, generator=gen)).clamp(0, 1)
    mask = torch.zeros(batch, 1, size, size)
    mask[..., size // 4: size // 2, size // 4: 3 * size // 4] = 1
    fg = torch.zeros(batch, 1, size, size)
    fg[..., :, : size // 2] = 1
    return pred, target, mask, fg


def test_identical_inputs_give_zero(scorer):
    _, target, mask, fg = _images()
    s = scorer.score(target, target.clone(), mask, fg)
    assert set(s) == {("lpips", r) for r in ("whole", "zero_outside", "hole", "fg", "hole_fg", "boundary")}
    for value in s.values():
        assert value.dtype == torch.float64 and value.shape == (3,)
        assert (value.abs() < 1e-7).all()


def test_regions(scorer):
    pred, target, mask, fg = _images()
    ones = torch.ones_like(mask)
    s = scorer.score(pred, target, ones, fg)
    torch.testing.assert_close(s[("lpips", "hole")], s[("lpips", "whole")])
    torch.testing.assert_close(s[("lpips", "hole_fg")], s[("lpips", "fg")])
    empty = scorer.score(pred, target, torch.zeros_like(mask), torch.zeros_like(fg))
    for region in ("hole", "fg", "hole_fg", "boundary"):
        assert torch.isnan(empty[("lpips", region)]).all(), region
    assert not torch.isnan(empty[("lpips", "whole")]).any()
    assert ("lpips", "fg") not in scorer.score(pred, target, mask)  # no labels: fg regions omitted
    # zero_outside sees masked images only: pixels outside the hole do not change it
    noise = torch.rand(pred.shape, generator=torch.Generator().manual_seed(3))
    before = scorer.score(pred, target, mask, regions=("zero_outside",))
    after = scorer.score(pred * mask + noise * (1 - mask), target, mask, regions=("zero_outside",))
    torch.testing.assert_close(after, before)


def test_batch_size_independence(scorer):
    pred, target, mask, fg = _images()
    together = scorer.score(pred, target, mask, fg)
    for i in range(pred.shape[0]):
        alone = scorer.score(pred[i:i + 1], target[i:i + 1], mask[i:i + 1], fg[i:i + 1])
        for key, value in alone.items():
            torch.testing.assert_close(value[0], together[key][i], atol=1e-6, rtol=1e-5)


def test_map_is_computed_once(scorer):
    pred, target, mask, fg = _images()
    calls = []
    handle = scorer.model.register_forward_hook(lambda *args: calls.append(1))
    try:
        scorer.score(pred, target, mask, fg, regions=("whole", "hole", "fg", "hole_fg", "boundary"))
        assert len(calls) == 1
        calls.clear()
        scorer.score(pred, target, mask, fg)  # + zero_outside
        assert len(calls) == 2
    finally:
        handle.remove()


_TV_DEPRECATIONS = ("ignore:The parameter 'pretrained' is deprecated:UserWarning",
                    "ignore:Arguments other than a weight enum:UserWarning")


@pytest.mark.filterwarnings(*_TV_DEPRECATIONS)
def test_spatial_mean_equals_lpips_package_score(scorer):
    """Same random trunk and heads copied into the lpips package's own non-spatial LPIPS: the mean of our
    spatial map equals its score (up to bilinear-upsampling edge effects, ~1e-4 relative)."""
    pred, target, mask, fg = _images(96)
    reference = lpips.LPIPS(net="alex", pretrained=False, pnet_rand=True, verbose=False)
    reference.load_state_dict(scorer.model.state_dict())
    with torch.no_grad():
        expected = reference(pred, target, normalize=True).flatten().double()
    ours = scorer.score(pred, target, mask, fg, regions=("whole",))[("lpips", "whole")]
    torch.testing.assert_close(ours, expected, rtol=1e-3, atol=1e-6)


def test_random_trunk_is_recorded(scorer):
    assert scorer.random_trunk
    used = scorer.weights_used
    assert used["alexnet"] == "random"
    assert len(used["lpips_alex_lin"]["sha256"]) == 64


def test_missing_trunk_weights_error(monkeypatch, tmp_path):
    torch_home, extra = tmp_path / "torch_home", tmp_path / "occbench_weights"
    torch_home.mkdir()
    extra.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.setenv("OCCBENCH_WEIGHTS", str(extra))
    with pytest.raises(MissingWeightsError) as info:
        LPIPSScorer("alex")
    message = str(info.value)
    assert "alexnet-owt-7be5be79.pth" in message
    assert str(extra) in message and str(torch_home / "hub" / "checkpoints") in message
    with pytest.raises(MissingWeightsError, match="vgg16-397923af.pth"):
        LPIPSScorer("vgg", weights_dir=tmp_path)
    with pytest.raises(ValueError, match="Expected `net`"):
        LPIPSScorer("squeezenet")


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_trunk_file_maps_onto_lpips_slices(monkeypatch, tmp_path, net):
    """A torchvision-layout trunk file (random values, features only) found in weights_dir is loaded so that
    lpips' slices reproduce torchvision's own feature stack layer by layer."""
    monkeypatch.setenv("OCCBENCH_WEIGHTS", "")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    torch.manual_seed(1)
    if net == "alex":
        features, key = torchvision.models.alexnet().features, "alexnet"
    else:
        features, key = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"]), "vgg16"
    path = tmp_path / KNOWN[key].filename
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    monkeypatch.setitem(KNOWN, key, dataclasses.replace(KNOWN[key], sha256=(sha256_file(path),)))  # a stand-in
    scorer = LPIPSScorer(net, weights_dir=tmp_path)
    assert not scorer.random_trunk
    assert scorer.weights_used[key] == {"path": str(path), "sha256": sha256_file(path)}
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        outs = scorer.model.net(x)
        h, taps = x, []
        for layer in features.eval():
            h = layer(h)
            taps.append(h)
    ends = [1, 4, 7, 9, 11] if net == "alex" else [3, 8, 15, 22, 29]  # last index of each lpips slice
    for out, end in zip(outs, ends):
        torch.testing.assert_close(out, taps[end])


@pytest.mark.filterwarnings(*_TV_DEPRECATIONS)
def test_published_lpips_values_with_real_trunk(monkeypatch, tmp_path):
    """With the real AlexNet file: our score equals the lpips package's own pretrained LPIPS (which then loads
    the same file from the torch hub cache, without downloading)."""
    try:
        path = find_weights("alexnet")
    except MissingWeightsError as exc:
        pytest.skip(f"real LPIPS trunk weights not found, cannot compare with published LPIPS: {exc}")
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    os.symlink(path, checkpoints / path.name)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    pred, target, mask, fg = _images(64)
    ours = LPIPSScorer("alex").score(pred, target, mask, regions=("whole",))[("lpips", "whole")]
    reference = lpips.LPIPS(net="alex", verbose=False)
    with torch.no_grad():
        expected = reference(pred, target, normalize=True).flatten().double()
    torch.testing.assert_close(ours, expected, rtol=1e-3, atol=1e-6)
    assert Path(path).stat().st_size > 200e6
