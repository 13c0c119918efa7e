"""Hole-mask generators: registry/params, determinism, output contract, and known answers per generator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from occbench.bins import LAMA_BINS, PCONV_BINS, bin_of, hole_ratio, in_bin
from occbench.errors import OccbenchError, ProtocolError, SampleError
from occbench.image_io import read_gray
from occbench.masks.external import ExternalMaskFolder
from occbench.masks.freeform import FreeFormMask
from occbench.masks.irregular import IrregularMask
from occbench.masks.lama import LamaMediumMask, LamaThickMask, LamaThinMask
from occbench.masks.quickdraw import QuickDrawMask
from occbench.masks.rectangles import CenterMask, HalfMask
from occbench.params import build_component
from occbench.registry import GENERATORS
from occbench.rng import sample_rng

WHERE = "test.yaml: generator.params"
SELF_CONTAINED = ["center", "half", "free-form", "lama-thick", "lama-medium", "lama-thin", "irregular"]
NVIDIA = ("nvidia_irregular_masks",)


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([1234, seed]))


def build(name: str, **params):
    return build_component(GENERATORS.get(name), params, WHERE)


def ratios(gen, n: int = 20, size: int = 128) -> np.ndarray:
    return np.array([hole_ratio(gen.make_mask(size, size, rng_for(s))[0]) for s in range(n)])


# ---------------------------------------------------------------- registry and params


@pytest.mark.parametrize("name", SELF_CONTAINED + ["quickdraw", "external"])
def test_registry_names_resolve_and_build_with_defaults(name):
    params = {"polarity": "white_hole"} if name == "external" else {}
    gen = build(name, **params)
    assert type(gen) is GENERATORS.get(name)


@pytest.mark.parametrize(
    ("name", "params", "key"),
    [
        ("center", {"sise": 3}, "sise"),
        ("center", {"size": "big"}, "size"),
        ("center", {"size": 0.5, "area_fraction": 0.7}, "size"),
        ("center", {"area_fraction": 1.5}, "area_fraction"),
        ("half", {"side": "middle"}, "side"),
        ("free-form", {"width": [40, 12]}, "width"),
        ("free-form", {"box": "yes"}, "box"),
        ("lama-thick", {"max_width": 0}, "max_width"),
        ("lama-thin", {"max_witdh": 3}, "max_witdh"),
        ("irregular", {"bin_choice": "cycle-by-key"}, "bin_choice"),
        ("irregular", {"bins": [[0.3, 0.2]]}, "bins"),
        ("irregular", {"bin_index": 6}, "bin_index"),
        ("quickdraw", {"drawings": [3, 1]}, "drawings"),
        ("external", {"polarity": "white"}, "polarity"),
        ("external", {"polarity": "black_hole", "threshold": 0}, "threshold"),
    ],
)
def test_bad_params_name_the_key(name, params, key):
    with pytest.raises(ProtocolError, match=key):
        build(name, **params)


def test_external_requires_polarity():
    with pytest.raises(ProtocolError, match="polarity"):
        build("external")


def test_yaml_lists_become_tuples():
    gen = build("irregular", bins=[[0.1, 0.2], [0.2, 0.3]])
    assert gen.bins == ((0.1, 0.2), (0.2, 0.3))
    assert build("center", size=[64, 32]).hole_size(128, 128) == (64, 32)


def test_bins_helpers():
    assert bin_of(0.1, PCONV_BINS) == 1
    assert bin_of(0.6, PCONV_BINS) == 5
    assert bin_of(0.005, PCONV_BINS) is None
    assert bin_of(1.0, LAMA_BINS) == 9
    assert in_bin(0.05, PCONV_BINS, 0) and not in_bin(0.1, PCONV_BINS, 0)


# ---------------------------------------------------------------- shared contract


@pytest.mark.parametrize("name", SELF_CONTAINED)
def test_contract_and_determinism(name):
    params = {"jitter": 10} if name == "center" else {}
    gen = build(name, **params)
    mask, drawn = gen.make_mask(96, 128, sample_rng(7, "img_001", "mask"))
    again, drawn_again = gen.make_mask(96, 128, sample_rng(7, "img_001", "mask"))
    assert mask.dtype == np.uint8 and mask.shape == (96, 128)
    assert set(np.unique(mask)) <= {0, 1} and mask.any()
    assert np.array_equal(mask, again) and drawn == drawn_again
    json.dumps(drawn)  # recorded in the manifest
    others = [gen.make_mask(96, 128, sample_rng(7, f"img_{i:03d}", "mask"))[0] for i in range(2, 6)]
    assert any(not np.array_equal(mask, other) for other in others)


def test_generate_zeroes_the_hole(tiny_rgb):
    sample = build("half", side="left").generate(tiny_rgb, None, rng_for(0))
    assert (sample.occluded[:, :20] == 0).all()
    assert np.array_equal(sample.occluded[:, 20:], tiny_rgb[:, 20:])


# ---------------------------------------------------------------- rectangles


@pytest.mark.parametrize("size", [128, 0.5, [128, 128]])
def test_center_128_at_256(size):
    mask, drawn = build("center", size=size).make_mask(256, 256, rng_for(0))
    assert mask.sum() == 128 * 128
    assert mask[64:192, 64:192].all()
    assert drawn == {"top": 64, "left": 64, "height": 128, "width": 128}


def test_center_area_fraction_and_rectangular_size():
    ratio = hole_ratio(build("center", area_fraction=0.7).make_mask(256, 256, rng_for(0))[0])
    assert abs(ratio - 0.7) < 1 / 256
    mask, _ = build("center", size=[32, 0.5]).make_mask(128, 128, rng_for(0))
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (48, 79, 32, 95)
    assert CenterMask().hole_size(256, 256) == (128, 128)


def test_center_jitter_moves_but_stays_inside():
    gen = CenterMask(size=100, jitter=40)
    tops = set()
    for seed in range(30):
        mask, drawn = gen.make_mask(128, 128, rng_for(seed))
        assert mask.sum() == 100 * 100 and 0 <= drawn["top"] <= 28 and 0 <= drawn["left"] <= 28
        tops.add(drawn["top"])
    assert len(tops) > 5


@pytest.mark.parametrize(
    ("side", "region"),
    [("left", (slice(None), slice(0, 64))), ("right", (slice(None), slice(64, 128))),
     ("top", (slice(0, 32), slice(None))), ("bottom", (slice(32, 64), slice(None)))],
)
def test_half_sides_exact(side, region):
    mask, drawn = HalfMask(side=side).make_mask(64, 128, rng_for(0))
    expected = np.zeros((64, 128), np.uint8)
    expected[region] = 1
    assert np.array_equal(mask, expected) and drawn == {"side": side}


def test_half_random_and_fraction():
    sides = {HalfMask().make_mask(64, 64, rng_for(s))[1]["side"] for s in range(40)}
    assert sides == {"left", "right", "top", "bottom"}
    assert hole_ratio(HalfMask(side="top", fraction=0.25).make_mask(64, 64, rng_for(0))[0]) == 0.25


# ---------------------------------------------------------------- free-form (DeepFill v2)


def test_freeform_defaults_are_published_values():
    gen = FreeFormMask()
    assert (gen.strokes, gen.vertices, gen.width, gen.radius_divisor) == ((1, 3), (4, 11), (12.0, 40.0), 8.0)
    assert gen.mean_angle == pytest.approx(2 * np.pi / 5) and gen.angle_range == pytest.approx(2 * np.pi / 15)
    assert (gen.box_size, gen.max_delta, gen.margin) == ((128, 128), (32, 32), (0, 0))


def test_freeform_parameters_act():
    base = dict(box=False)
    assert ratios(FreeFormMask(width=(30, 40), **base)).mean() > ratios(FreeFormMask(width=(4, 8), **base)).mean()
    assert ratios(FreeFormMask(strokes=(5, 6), **base)).mean() > ratios(FreeFormMask(strokes=(1, 1), **base)).mean()
    assert ratios(FreeFormMask(vertices=(12, 14), **base)).mean() > ratios(FreeFormMask(vertices=(2, 3), **base)).mean()
    long, short = FreeFormMask(radius_divisor=3, **base), FreeFormMask(radius_divisor=20, **base)
    assert ratios(long).mean() > ratios(short).mean()
    assert ratios(FreeFormMask()).mean() > ratios(FreeFormMask(box=False)).mean()
    masks_a = [FreeFormMask(mean_angle=0.0, angle_range=0.0, box=False).make_mask(128, 128, rng_for(s))[0]
               for s in range(5)]
    masks_b = [FreeFormMask(mean_angle=1.5, angle_range=0.0, box=False).make_mask(128, 128, rng_for(s))[0]
               for s in range(5)]
    assert any(not np.array_equal(a, b) for a, b in zip(masks_a, masks_b))
    flips = {FreeFormMask(flip=True).make_mask(64, 64, rng_for(s))[1]["flip_lr"] for s in range(20)}
    assert flips == {True, False}
    assert {FreeFormMask(flip=False).make_mask(64, 64, rng_for(s))[1]["flip_lr"] for s in range(20)} == {False}


def test_freeform_box_only_is_a_shrunk_128_box():
    for seed in range(10):
        mask, drawn = FreeFormMask(strokes=(0, 0)).make_mask(256, 256, rng_for(seed))
        top, left, h, w = drawn["box"]
        assert 96 <= h <= 128 and 96 <= w <= 128 and mask.sum() == h * w
        assert mask[top : top + h, left : left + w].all()
    _, drawn = FreeFormMask(strokes=(0, 0), max_delta=(0, 0), reference_size=256).make_mask(128, 128, rng_for(0))
    assert drawn["box"][2:] == [64, 64]
    _, drawn = FreeFormMask(strokes=(1, 1), box=False).make_mask(64, 64, rng_for(0))
    assert drawn["box"] is None


# ---------------------------------------------------------------- LaMa


def test_lama_presets_have_published_defaults():
    thick, medium, thin = LamaThickMask(), LamaMediumMask(), LamaThinMask()
    assert (thick.min_times, thick.max_times, thick.max_width, thick.max_len, thick.max_angle) == (1, 5, 100, 200, 4)
    assert (thick.box_proba, thick.margin, thick.bbox_min_size, thick.bbox_max_size) == (0.3, 10, 30, 150)
    assert (thick.box_min_times, thick.box_max_times) == (1, 3)
    assert (medium.min_times, medium.max_times, medium.max_width, medium.max_len) == (4, 5, 50, 100)
    assert (medium.margin, medium.bbox_min_size, medium.bbox_max_size, medium.box_max_times) == (0, 10, 50, 5)
    assert (thin.min_times, thin.max_times, thin.max_width, thin.max_len, thin.box_proba) == (4, 50, 10, 40, 0.0)
    assert thick.max_tamper_area == medium.max_tamper_area == thin.max_tamper_area == 0.5


def test_lama_behaviour():
    thin = [LamaThinMask().make_mask(128, 128, rng_for(s)) for s in range(20)]
    assert {drawn["kind"] for _, drawn in thin} == {"irregular"}
    kinds = {LamaThickMask().make_mask(128, 128, rng_for(s))[1]["kind"] for s in range(40)}
    assert kinds == {"irregular", "box"}
    assert (ratios(LamaThickMask(), 30, 256) <= 0.5).all()
    assert ratios(LamaThinMask(max_width=30)).mean() > ratios(LamaThinMask(max_width=3)).mean()
    assert ratios(LamaThinMask(max_len=120)).mean() > ratios(LamaThinMask(max_len=10)).mean()
    box_only = LamaMediumMask(irregular_proba=0.0, box_proba=1.0, box_min_times=1, box_max_times=1)
    for seed in range(10):
        mask, drawn = box_only.make_mask(128, 128, rng_for(seed))
        rows, cols = np.nonzero(mask)
        assert drawn["kind"] == "box" and mask.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
        assert 10 <= np.ptp(rows) + 1 <= 50
    with pytest.raises(SampleError, match="max_tamper_area"):
        LamaThickMask(max_tamper_area=0.001, max_tries=3).make_mask(64, 64, rng_for(0))


# ---------------------------------------------------------------- irregular (PConv bins)


@pytest.mark.parametrize("index", range(len(PCONV_BINS)))
def test_irregular_lands_in_every_pconv_bin(index):
    lo, hi = PCONV_BINS[index]
    gen = IrregularMask(bin_index=index)
    for seed in range(25):
        size = (64, 96, 128)[seed % 3]
        mask, drawn = gen.make_mask(size, size, rng_for(seed))
        assert lo <= hole_ratio(mask) <= hi
        assert drawn["bin"] == [lo, hi] and drawn["bin_index"] == index


def test_irregular_uniform_bin_choice_and_custom_bins():
    drawn = [IrregularMask().make_mask(64, 64, rng_for(s))[1]["bin_index"] for s in range(60)]
    assert set(drawn) == set(range(6))
    gen = IrregularMask(bins=((0.7, 0.8),))
    assert all(0.7 <= r < 0.8 for r in ratios(gen, 10, 64))
    with pytest.raises(SampleError, match="bin"):  # 512.3-512.8 hole pixels of 1024: unreachable
        IrregularMask(bins=((0.5003, 0.5008),), max_tries=2).make_mask(32, 32, rng_for(0))


# ---------------------------------------------------------------- QuickDraw


def _strokes(k: int) -> list:
    return [[[10 + k, 200, 120 - k], [20, 40 + k, 230]], [[30, 90], [200, 60 + k]]]


@pytest.fixture
def quickdraw_dir(tmp_path: Path) -> Path:
    simplified = [{"word": "cat", "recognized": True, "drawing": _strokes(k)} for k in range(4)]
    simplified.append({"word": "cat", "recognized": False, "drawing": _strokes(9)})
    (tmp_path / "cat.ndjson").write_text("\n".join(json.dumps(o) for o in simplified) + "\n")
    raw = [[[1000, 1400, 1200], [500, 900, 1500], [0, 10, 20]], [[1100, 1300], [700, 700], [30, 40]]]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dog.ndjson").write_text(json.dumps({"word": "dog", "drawing": raw}) + "\n\n")
    return tmp_path


def test_quickdraw_reads_both_formats(quickdraw_dir):
    gen = QuickDrawMask()
    gen.setup(quickdraw_dir)
    assert gen._ids == ["cat.ndjson:1", "cat.ndjson:2", "cat.ndjson:3", "cat.ndjson:4", "cat.ndjson:5",
                        "sub/dog.ndjson:1"]
    mask, drawn = gen.make_mask(128, 128, rng_for(0))
    again, _ = gen.make_mask(128, 128, rng_for(0))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1} and np.array_equal(mask, again)
    assert not np.array_equal(mask, gen.make_mask(128, 128, rng_for(1))[0])
    assert 1 <= len(drawn["drawings"]) <= 3 and drawn["bin"] is None
    used = {d for s in range(30) for d in gen.make_mask(64, 64, rng_for(s))[1]["drawings"]}
    assert "sub/dog.ndjson:1" in used
    only = QuickDrawMask(recognized_only=True)
    only.setup(quickdraw_dir)
    assert "cat.ndjson:5" not in only._ids and len(only._ids) == 5


def test_quickdraw_parameters_act(quickdraw_dir):
    def mean_ratio(**params) -> float:
        gen = QuickDrawMask(**params)
        gen.setup(quickdraw_dir)
        return ratios(gen, 20, 128).mean()

    assert mean_ratio(stroke_width=(10, 12)) > mean_ratio(stroke_width=(1, 2))
    assert mean_ratio(drawings=(4, 5)) > mean_ratio(drawings=(1, 1))
    assert mean_ratio(scale=(0.8, 0.9)) > mean_ratio(scale=(0.2, 0.3))
    gen = QuickDrawMask(bins=((0.1, 0.2), (0.3, 0.4)))
    gen.setup(quickdraw_dir)
    for seed in range(15):
        mask, drawn = gen.make_mask(96, 96, rng_for(seed))
        assert drawn["bin"][0] <= hole_ratio(mask) < drawn["bin"][1]


def test_quickdraw_errors(tmp_path):
    with pytest.raises(OccbenchError, match=str(tmp_path)):
        QuickDrawMask().setup(tmp_path)
    lines = [json.dumps({"drawing": _strokes(0)}), json.dumps({"drawing": _strokes(1)}), '{"drawing": [[1, 2],']
    (tmp_path / "bad.ndjson").write_text("\n".join(lines) + "\n")
    with pytest.raises(OccbenchError, match=r"bad\.ndjson:3: malformed JSON"):
        QuickDrawMask().setup(tmp_path)
    (tmp_path / "bad.ndjson").write_text(json.dumps({"drawing": [[[1, 2], [3]]]}) + "\n")
    with pytest.raises(OccbenchError, match=r"bad\.ndjson:1: stroke"):
        QuickDrawMask().setup(tmp_path)


# ---------------------------------------------------------------- external folders


_LOADED: dict = {}


def nvidia(assets: Path, **params) -> ExternalMaskFolder:
    """An ExternalMaskFolder over the staged NVIDIA masks (loaded once per parameter set)."""
    gen = ExternalMaskFolder(**params)
    if gen not in _LOADED:
        gen.setup(assets.joinpath(*NVIDIA))
        _LOADED[gen] = gen
    return _LOADED[gen]


def test_external_nvidia_bins(assets):
    gen = nvidia(assets, polarity="white_hole", bins=((0.1, 0.2), (0.5, 0.6)))
    assert gen.skipped == [] and len(gen._names) == 1200
    for seed in range(30):
        mask, drawn = gen.make_mask(128, 128, rng_for(seed))
        assert mask.dtype == np.uint8 and mask.shape == (128, 128)
        assert drawn["bin"] in ([0.1, 0.2], [0.5, 0.6])
        assert drawn["bin"][0] <= hole_ratio(mask) <= drawn["bin"][1] and hole_ratio(mask) == drawn["hole_ratio"]
    mask, drawn = gen.make_mask(128, 128, rng_for(3))
    assert np.array_equal(mask, gen.make_mask(128, 128, rng_for(3))[0])
    original = read_gray(assets.joinpath(*NVIDIA, drawn["mask_file"]))
    expected = cv2.resize((original >= 128).astype(np.uint8), (128, 128), interpolation=cv2.INTER_NEAREST)
    assert np.array_equal(mask, expected)
    names = {gen.make_mask(128, 128, rng_for(s))[1]["mask_file"] for s in range(20)}
    assert len(names) > 10


def test_external_without_bins_uses_every_mask(assets):
    gen = nvidia(assets, polarity="white_hole")
    drawn = [gen.make_mask(64, 64, rng_for(s))[1] for s in range(40)]
    assert all(d["bin"] is None for d in drawn) and len({d["mask_file"] for d in drawn}) > 30


def test_external_inverted_polarity_is_caught(assets):
    folder = assets.joinpath(*NVIDIA)
    with pytest.raises(OccbenchError, match="inverted") as info:
        ExternalMaskFolder(polarity="black_hole").setup(folder)
    assert str(folder) in str(info.value) and "white_hole" in str(info.value) and "median" in str(info.value)


def test_external_black_hole_copies_match_white_hole_originals(assets, tmp_path):
    originals, inverted = tmp_path / "white", tmp_path / "black"
    originals.mkdir()
    inverted.mkdir()
    for name in ("00000.png", "02500.png", "04010.png", "07770.png", "10990.png"):
        shutil.copy(assets.joinpath(*NVIDIA, name), originals / name)
        cv2.imwrite(str(inverted / name), 255 - read_gray(originals / name))
    white = ExternalMaskFolder(polarity="white_hole")
    black = ExternalMaskFolder(polarity="black_hole")
    white.setup(originals)
    black.setup(inverted)
    for seed in range(10):
        mask_w, drawn_w = white.make_mask(96, 96, rng_for(seed))
        mask_b, drawn_b = black.make_mask(96, 96, rng_for(seed))
        assert np.array_equal(mask_w, mask_b) and drawn_w == drawn_b


def test_external_corrupt_file_is_skipped_and_recorded(assets, tmp_path):
    for name in ("00000.png", "05000.png"):
        shutil.copy(assets.joinpath(*NVIDIA, name), tmp_path / name)
    (tmp_path / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    gen = ExternalMaskFolder(polarity="white_hole")
    gen.setup(tmp_path)
    assert [name for name, _ in gen.skipped] == ["zz_broken.png"]
    assert {gen.make_mask(64, 64, rng_for(s))[1]["mask_file"] for s in range(20)} == {"00000.png", "05000.png"}
    (tmp_path / "00000.png").unlink()
    (tmp_path / "05000.png").unlink()
    with pytest.raises(OccbenchError, match="could be read"):
        ExternalMaskFolder(polarity="white_hole").setup(tmp_path)


def test_external_mat_masks_black_hole(assets):
    # MAT's two example masks are large holes (72 % and 51 %): their median trips the 0.6 inversion guard
    # even with the right polarity, so it is switched off here.
    gen = ExternalMaskFolder(polarity="black_hole", check_polarity=False)
    gen.setup(assets / "inpainting_face_examples" / "mat_celebahq" / "masks")
    assert sorted(gen._names) == ["mask1.png", "mask2.png"]  # mask1 is RGB with equal channels
    found = {d["mask_file"]: d["hole_ratio"] for d in (gen.make_mask(512, 512, rng_for(s))[1] for s in range(20))}
    assert found["mask1.png"] == pytest.approx(0.718, abs=1e-3)


def test_external_errors(tmp_path):
    with pytest.raises(OccbenchError, match="no mask images"):
        ExternalMaskFolder(polarity="white_hole").setup(tmp_path)
    with pytest.raises(OccbenchError, match="assets-dir"):
        ExternalMaskFolder(polarity="white_hole").setup(None)
    cv2.imwrite(str(tmp_path / "a.png"), np.full((32, 32), 255, np.uint8))
    gen = ExternalMaskFolder(polarity="white_hole", bins=((0.1, 0.2),), check_polarity=False)
    gen.setup(tmp_path)
    with pytest.raises(OccbenchError, match="no mask has a hole ratio inside bins"):
        gen.make_mask(32, 32, rng_for(0))
