"""Per-face-part regions ``hole_eyes`` … ``hole_hair``: the label schemes' part tables, closed-form goldens on tiny
tensors, the empty-part NaN rule, refusals, and ``evaluate --parts`` end to end (synthetic ``toyfaces``; the
CelebAMask-HQ samples when the shared assets exist)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

import occbench.labels as L
from occbench.cli import main
from occbench.dataset.build import BuildConfig, build_dataset
from occbench.dataset.tensors import parts_tensor
from occbench.errors import OccbenchError
from occbench.evaluate.run import EvaluateConfig, _label_scheme, evaluate
from occbench.evaluate.scoring import Scorer, ScoreSettings
from occbench.image_io import read_gray, read_image
from occbench.metrics import ALL_REGIONS, PART_REGIONS, REGIONS, get_metric
from occbench.metrics.catalog import BUILTIN
from occbench.metrics.pixel import pixel_scores
from occbench.metrics.regions import region_weights
from occbench.protocol import load_protocol

C = L.CLASS_INDEX
PIXEL = ("psnr", "ssim", "mae", "rmse", "mse", "l1")


# ---- the part tables


def test_face_schemes_have_parts_scene_schemes_none():
    assert PART_REGIONS == ("hole_eyes", "hole_nose", "hole_mouth", "hole_skin", "hole_hair")
    assert ALL_REGIONS == REGIONS + PART_REGIONS and not set(PART_REGIONS) & set(REGIONS)  # opt-in, not default
    celeb = L.CELEBAMASK19.part_classes()
    assert celeb == {"eyes": ("l_eye", "r_eye", "l_brow", "r_brow"), "nose": ("nose",),
                     "mouth": ("mouth", "u_lip", "l_lip"), "skin": ("skin", "l_ear", "r_ear"), "hair": ("hair",)}
    in_parts = {name for classes in celeb.values() for name in classes}
    assert set(L.CELEBAMASK_FOREGROUND) - in_parts == {"eyeglasses"}  # parts lie inside fg; glasses in none
    helen = L.HELEN11.part_classes()
    assert list(helen) == list(L.FACE_PARTS)
    assert sorted(n for classes in helen.values() for n in classes) == sorted(L.HELEN11.foreground)
    assert L.get_scheme("sgin11").parts == L.HELEN11.parts
    for name in ("cityscapes19", "cityscapes20", "ost8"):
        scheme = L.get_scheme(name)
        assert scheme.parts is None
        with pytest.raises(OccbenchError, match=f"{name}.*has no face parts"):
            scheme.part_masks(np.zeros((2, 2), np.uint8))


def test_celebamask_and_helen_parts_agree_through_the_conversion():
    """A CelebAMask-HQ pixel is in the same part after conversion to HELEN, except the classes HELEN folds into
    its face skin (eyeglasses, earrings: in no CelebAMask-HQ part)."""
    label = np.arange(L.NUM_CLASSES, dtype=np.uint8)[None]
    celeb = L.CELEBAMASK19.part_masks(label)[:, 0]
    helen = L.HELEN11.part_masks(L.to_helen(label))[:, 0]
    differs = {L.CELEBAMASK_CLASSES[i] for i in np.flatnonzero((celeb != helen).any(0))}
    assert differs == {"eyeglasses", "earring"}


def test_part_masks_are_disjoint_and_ignore_other_values():
    label = np.array([[C["l_eye"], C["r_brow"], C["nose"], C["u_lip"]],
                      [C["l_ear"], C["hair"], C["hat"], C["eyeglasses"]],
                      [L.OCCLUDER_CLASS, L.IGNORE, C["background"], C["mouth"]]], np.uint8)
    parts = L.CELEBAMASK19.part_masks(label)
    assert parts.shape == (5, 3, 4) and parts.dtype == bool and parts.sum(0).max() == 1
    expected = {"eyes": [(0, 0), (0, 1)], "nose": [(0, 2)], "mouth": [(0, 3), (2, 3)], "skin": [(1, 0)],
                "hair": [(1, 1)]}
    for i, part in enumerate(L.FACE_PARTS):
        assert sorted(zip(*np.nonzero(parts[i]))) == expected[part], part
    tensor = parts_tensor(label)
    assert tensor.dtype == torch.float32 and torch.equal(tensor, torch.from_numpy(parts.astype(np.float32)))


@pytest.mark.parametrize(("parts", "match"), [
    ((("nose", ("nose",)),), "Expected parts"),
    (tuple((p, ("skin",)) for p in L.FACE_PARTS), "disjoint parts.*'skin'"),
    ((("eyes", ("eye",)), *L.CELEBAMASK_PARTS[1:]), "no class 'eye'"),
])
def test_bad_part_tables_are_refused(parts, match):
    with pytest.raises((ValueError, KeyError), match=match):
        L.LabelScheme("bad", L.CELEBAMASK_CLASSES, L.CELEBAMASK_PALETTE, parts=parts)


def test_only_metrics_with_a_pixel_map_list_the_part_regions():
    with_parts = {info.name for info in BUILTIN if set(PART_REGIONS) <= set(info.regions)}
    assert with_parts == {"psnr", "ssim", "rmse", "mae", "mse", "l1", "l1_mcsam", "lpips"}
    for name in ("fid", "kid", "identity", "identity_distance", "ms_ssim", "ms_ssim_reduced", "ssim_mcsam",
                 "mask_iou"):
        assert not set(PART_REGIONS) & set(get_metric(name).regions), name


# ---- closed-form goldens on a 16x16 label map


def _face16() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """One 16x16 sample: skin with a left eye (6 px), left brow (2 px), right eye (6 px), nose (6 px), upper lip and
    a background top row; hole = rows 2..9, cols 0..7 (8x8: the left eye and brow, the whole nose and 50 skin
    pixels; misses the right eye and the lips; there is no hair). Target 0.5 grey; prediction error 0.02 on every
    hole pixel, 0.06 on the nose, none outside the hole."""
    label = np.full((16, 16), C["skin"], np.uint8)
    label[4:6, 2:5] = C["l_eye"]  # 6 px, all in the hole
    label[2, 2:4] = C["l_brow"]  # 2 px, in the hole
    label[4:6, 11:14] = C["r_eye"]  # 6 px, outside the hole
    label[7:10, 6:8] = C["nose"]  # 6 px, all in the hole
    label[12:14, 5:11] = C["u_lip"]  # outside the hole
    label[0, :] = C["background"]
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 2:10, 0:8] = 1
    error = torch.zeros(1, 1, 16, 16)
    error[mask > 0] = 0.02
    nose = torch.from_numpy(label == C["nose"])[None, None]
    error[nose & (mask > 0)] = 0.06
    target = torch.full((1, 3, 16, 16), 0.5)
    pred = target + error.expand(-1, 3, -1, -1)
    parts = parts_tensor(label)[None]
    return pred, target, mask, parts, label


def test_closed_form_mae_and_psnr_over_hole_and_part():
    pred, target, mask, parts, _ = _face16()
    s = pixel_scores(pred, target, mask, parts=parts, metrics=("mae", "psnr", "l1", "mse"), regions=ALL_REGIONS)
    sizes = {r: int(w.sum()) for r, w in region_weights(mask, parts=parts, regions=PART_REGIONS).items()}
    assert sizes == {"hole_eyes": 8, "hole_nose": 6, "hole_mouth": 0, "hole_skin": 50, "hole_hair": 0}
    # hole ∩ eyes: 8 pixels (6 eye + 2 brow), all with error 0.02
    assert s[("mae", "hole_eyes")].item() == pytest.approx(255 * 0.02, abs=1e-5)
    assert s[("psnr", "hole_eyes")].item() == pytest.approx(10 * math.log10(1 / 0.02**2), abs=1e-4)  # 33.979 dB
    # hole ∩ nose: 6 pixels with error 0.06
    assert s[("mae", "hole_nose")].item() == pytest.approx(255 * 0.06, abs=1e-5)
    assert s[("psnr", "hole_nose")].item() == pytest.approx(10 * math.log10(1 / 0.06**2), abs=1e-4)  # 24.437 dB
    assert s[("l1", "hole_nose")].item() == pytest.approx(0.06, abs=1e-7)
    # hole ∩ skin: 50 pixels at 0.02
    assert s[("mse", "hole_skin")].item() == pytest.approx(255**2 * 0.02**2, rel=1e-5)
    # the mouth is outside the hole and there is no hair: empty regions give NaN
    for metric in ("mae", "psnr", "l1", "mse"):
        assert math.isnan(s[(metric, "hole_mouth")].item()) and math.isnan(s[(metric, "hole_hair")].item())
    # no foreground given: fg / hole_fg left out, the part regions still there
    assert ("mae", "hole_fg") not in s and ("mae", "whole") in s


def test_part_scores_equal_numpy_and_ssim_map_means():
    """Random errors: every pixel metric over hole ∩ part equals numpy over the same pixels; SSIM over hole ∩ part
    is the torchmetrics SSIM map averaged over those pixels."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    pred, target, mask, parts, label = _face16()
    gen = torch.Generator().manual_seed(0)
    pred = (target + 0.2 * torch.rand(pred.shape, generator=gen) - 0.1).clamp(0, 1)
    s = pixel_scores(pred, target, mask, parts=parts, metrics=PIXEL, regions=PART_REGIONS)
    diff = (pred - target).double().numpy()[0]
    _, ssim_map = structural_similarity_index_measure(pred.double(), target.double(), data_range=1.0,
                                                      return_full_image=True)
    ssim_map = ssim_map.mean(1)[0].numpy()
    hole = mask.numpy()[0, 0] > 0
    for i, part in enumerate(L.FACE_PARTS):
        region = hole & L.CELEBAMASK19.part_masks(label)[i]
        assert np.array_equal(region, (region_weights(mask, parts=parts, regions=(f"hole_{part}",))
                                       [f"hole_{part}"][0, 0] > 0).numpy())
        if not region.any():
            assert all(math.isnan(s[(m, f"hole_{part}")].item()) for m in PIXEL)
            continue
        mse = (diff**2).mean(0)[region].mean()
        mae = np.abs(diff).mean(0)[region].mean()
        got = {m: s[(m, f"hole_{part}")].item() for m in PIXEL}
        assert got["mae"] == pytest.approx(255 * mae, rel=1e-5) and got["l1"] == pytest.approx(mae, rel=1e-5)
        assert got["mse"] == pytest.approx(255**2 * mse, rel=1e-5)
        assert got["rmse"] == pytest.approx(255 * math.sqrt(mse), rel=1e-5)
        assert got["psnr"] == pytest.approx(10 * math.log10(1 / mse), abs=1e-4)
        assert got["ssim"] == pytest.approx(ssim_map[region].mean(), abs=1e-4)


def test_empty_part_is_nan_per_image_and_counted_not_averaged():
    """Two images, one hole each: the second misses the nose. Its hole_nose is NaN; the first's is unaffected;
    the batch result equals the per-image results (batch-size independence)."""
    pred, target, mask, parts, _ = _face16()
    mask2 = torch.zeros_like(mask)
    mask2[..., 12:15, 4:12] = 1  # over the mouth only
    batch = [torch.cat([x, x]) for x in (pred, target)]
    masks, both_parts = torch.cat([mask, mask2]), torch.cat([parts, parts])
    scorer = Scorer(ScoreSettings(metrics=("mae", "psnr"), regions=("hole", *PART_REGIONS), modes=("raw",),
                                  explicit=True, feature_cache=False))
    scores = scorer.score_batch(batch[0], batch[1], masks, None, parts=both_parts)
    nose = scores[("mae", "hole_nose", "raw")]
    assert nose[0].item() == pytest.approx(255 * 0.06, abs=1e-5) and math.isnan(nose[1].item())
    mouth = scores[("mae", "hole_mouth", "raw")]
    assert math.isnan(mouth[0].item()) and not math.isnan(mouth[1].item())
    for i in range(2):
        alone = scorer.score_batch(batch[0][i:i + 1], batch[1][i:i + 1], masks[i:i + 1], None,
                                   parts=both_parts[i:i + 1])
        for key, value in alone.items():
            torch.testing.assert_close(value[0], scores[key][i], equal_nan=True)
    # without part maps the part regions are simply absent
    assert not any(key[1] in PART_REGIONS for key in scorer.score_batch(batch[0], batch[1], masks, None))


def test_bad_part_maps_are_refused():
    _, _, mask, parts, _ = _face16()
    with pytest.raises(ValueError, match=r"Expected `parts` of shape \(B, 5, H, W\), but got \(1, 4, 16, 16\)"):
        region_weights(mask, parts=parts[:, :4], regions=PART_REGIONS)


# ---- refusals: part regions asked for on datasets that cannot give them


def _settings(**kw) -> ScoreSettings:
    return ScoreSettings(metrics=("mae",), feature_cache=False, **kw)


def test_parts_without_labels_or_parts_are_an_error_naming_dataset_and_scheme():
    parts = _settings(regions=(*REGIONS, *PART_REGIONS))
    scene = {"labels": True, "label_scheme": "cityscapes19", "protocol": {"name": "city-test"}}
    with pytest.raises(OccbenchError, match="hole_eyes.*label scheme 'cityscapes19' of dataset 'city-test' has no "
                                            "face parts; Expected"):
        _label_scheme(scene, parts)
    with pytest.raises(OccbenchError, match="dataset 'plain' has no parsing labels"):
        _label_scheme({"labels": False, "protocol": {"name": "plain"}}, _settings(regions=("hole_nose",),
                                                                                  explicit_regions=True))
    # not asked for: no error, and the loader derives no part maps
    scheme, missing = _label_scheme({"labels": True, "label_scheme": "celebamask19"}, _settings())
    assert scheme.foreground is not None and scheme.parts is None and missing is None
    scheme, _ = _label_scheme({"labels": True, "label_scheme": "helen11"}, parts)
    assert scheme.parts == L.HELEN_PARTS
    scheme, missing = _label_scheme(scene, _settings())  # the fg warning as before, no part maps
    assert scheme is None and "has no foreground" in missing


# ---- end to end


def _toy_dataset(root: Path) -> Path:
    protocol = root / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "parts-test", "version": 1, "seed": 1, "resolution": 64,
                                        "source": {"name": "toyfaces", "params": {"count": 3, "size": 80}},
                                        "generator": {"name": "center", "params": {"size": 28}}}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=root / "data", progress=False))
    return root / "data"


@pytest.fixture(scope="module")
def parts_run(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("parts")
    data = _toy_dataset(root)
    assert main(["evaluate", "--method", "telea", "--data", str(data), "--out", str(root / "run"), "--metrics",
                 "psnr", "mae", "--parts", "--no-progress", "--device", "cpu"]) == 0
    return data, root / "run"


def test_evaluate_parts_end_to_end(parts_run):
    data, run = parts_run
    results = json.loads((run / "results.json").read_text())
    assert results["settings"]["regions"] == [*REGIONS, *PART_REGIONS]
    assert results["settings"]["part_classes"] == {k: list(v) for k, v in L.CELEBAMASK_PARTS}
    regions = {a["region"] for a in results["aggregates"]}
    assert set(PART_REGIONS) <= regions
    for key in ("bins", "by_generator"):
        rows = results[key]["pconv6"] if key == "bins" else results[key]
        assert set(PART_REGIONS) <= {r["region"] for r in rows}
    by_key = {(a["metric"], a["region"], a["mode"]): a for a in results["aggregates"]}
    # the centre hole misses the toy faces' lips: every hole_mouth is empty, NaN counted, no mean
    mouth = by_key[("mae", "hole_mouth", "composite")]
    assert mouth["count"] == 0 and mouth["nan_count"] == 3 and mouth["mean"] is None
    assert by_key[("mae", "hole_nose", "composite")]["count"] == 3

    # one sample recomputed from the files with numpy: MAE over hole ∩ nose of the composite
    scores = pd.read_csv(run / "scores.csv")
    row = scores[(scores["metric"] == "mae") & (scores["region"] == "hole_nose") & (scores["mode"] == "composite")]
    sample = row["id"].iloc[0]
    pred = read_image(run / "pred" / f"{sample}.png").astype(np.float64) / 255
    target = read_image(data / "target" / f"{sample}.png").astype(np.float64) / 255
    hole = read_gray(data / "mask" / f"{sample}.png") > 127
    nose = read_gray(data / "label" / f"{sample}.png") == C["nose"]
    comp = np.where(hole[..., None], pred, target)
    expected = 255 * np.abs(comp - target).mean(-1)[hole & nose].mean()
    assert row["value"].iloc[0] == pytest.approx(expected, rel=1e-5)
    means = scores[scores["value"].notna()].groupby(["metric", "region", "mode"])["value"].mean()
    assert by_key[("psnr", "hole_eyes", "raw")]["mean"] == pytest.approx(means[("psnr", "hole_eyes", "raw")])


def test_parts_are_off_by_default_and_tables_show_them(parts_run, tmp_path, capsys):
    data, run = parts_run
    results = evaluate(EvaluateConfig(data=data, out=tmp_path / "plain", method="telea", progress=False,
                                      score=_settings()))
    assert not {a["region"] for a in results["aggregates"]} & set(PART_REGIONS)
    assert results["settings"]["part_classes"] is None
    capsys.readouterr()
    assert main(["table", str(run), "--metrics", "mae", "--regions", "hole_eyes", "hole_nose", "hole_mouth",
                 "--mode", "composite"]) == 0
    table = capsys.readouterr().out
    assert "hole_eyes" in table and "hole_nose" in table and "–" in table  # hole_mouth is empty: no value


def test_evaluate_parts_refused_on_an_unlabelled_dataset(tmp_path):
    import cv2

    images = tmp_path / "images"
    images.mkdir()
    y, x = np.mgrid[0:40, 0:40]
    cv2.imwrite(str(images / "a.png"), np.stack([x * 5, y * 5, (x + y) * 2], -1).astype(np.uint8))
    protocol = tmp_path / "p.yaml"
    protocol.write_text(yaml.safe_dump({"name": "no-labels", "version": 1, "seed": 0, "resolution": 32,
                                        "source": {"name": "folder"}, "generator": {"name": "center"}}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=tmp_path / "data", source_dir=images,
                              progress=False))
    out = tmp_path / "run"
    with pytest.raises(OccbenchError, match="dataset 'no-labels' has no parsing labels"):
        evaluate(EvaluateConfig(data=tmp_path / "data", out=out, method="telea", progress=False,
                                score=_settings(regions=("hole", "hole_eyes"))))
    assert not out.exists()  # refused before predicting


def test_evaluate_parts_on_celebamask_hq_samples(assets, tmp_path):
    """Real CelebAMask-HQ labels (skips without the shared assets)."""
    protocol = tmp_path / "p.yaml"
    protocol.write_text(yaml.safe_dump({
        "name": "celeb-parts", "version": 1, "seed": 0, "resolution": 64, "generator": {"name": "center",
                                                                                        "params": {"size": 0.5}},
        "source": {"name": "celebahq", "params": {"image_dir": "images", "label_dir": "labels"}}}))
    build_dataset(BuildConfig(protocol=load_protocol(protocol), out=tmp_path / "data",
                              source_dir=assets / "celebamask_hq_samples", progress=False))
    results = evaluate(EvaluateConfig(data=tmp_path / "data", out=tmp_path / "run", method="telea", progress=False,
                                      score=_settings(regions=("hole", *PART_REGIONS))))
    by_key = {(a["metric"], a["region"], a["mode"]): a for a in results["aggregates"]}
    for region in ("hole_eyes", "hole_nose", "hole_skin"):  # a centre half-size hole covers eyes, nose, skin
        assert by_key[("mae", region, "composite")]["count"] > 0, region
    assert results["settings"]["part_classes"]["mouth"] == ["mouth", "u_lip", "l_lip"]


def test_lpips_is_averaged_over_hole_and_part():
    """LPIPS (a random trunk: wiring only) gets the part regions from the same weight maps: its hole ∩ part value
    is the spatial map averaged over those pixels, NaN for an empty part."""
    pytest.importorskip("lpips")
    pred, target, mask, parts, _ = _face16()
    pred, target, mask, parts = (torch.nn.functional.interpolate(x, scale_factor=4) for x in (pred, target, mask,
                                                                                               parts))
    scorer = Scorer(ScoreSettings(metrics=("lpips",), regions=("hole", *PART_REGIONS), modes=("raw",),
                                  allow_random_lpips=True, explicit=True, feature_cache=False))
    scores = scorer.score_batch(pred, target, mask, None, parts=parts)
    lpips_scorer = scorer.backends[0].scorer
    spatial = lpips_scorer.spatial_map(pred.to(lpips_scorer.device), target.to(lpips_scorer.device)).cpu()
    weights = region_weights(mask, parts=parts, regions=PART_REGIONS)
    for region in ("hole_eyes", "hole_nose", "hole_skin"):
        w = weights[region]
        expected = (spatial * w).sum() / w.sum()
        assert scores[("lpips", region, "raw")][0].item() == pytest.approx(expected.item(), rel=1e-5)
    assert math.isnan(scores[("lpips", "hole_mouth", "raw")][0].item())
