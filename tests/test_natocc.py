"""NatOcc overlays, RandOcc shapes and the compositing helpers, on real faces, hands and COCO objects.

The occluder bank is built here in the bank format (index.csv + cutouts/*.png): EgoHands hand cut-outs and
objects rasterised from COCO128 YOLO polygons (../shared/assets).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import shared_path

from occbench.errors import OccbenchError, SampleError
from occbench.labels import OCCLUDER_CLASS
from occbench.occlusion.bank import BankWriter
from occbench.occlusion.compositing import (
    composite,
    label_after_occlusion,
    place_affine,
    reinhard_transfer,
    seam_band,
    sliced_ot_transfer,
    soften_alpha,
)
from occbench.occlusion.natocc import SGIN_HAND_SHARE, NatOccOverlay, label_face_box, pointing_direction
from occbench.occlusion.randocc import RandOcc, catmull_rom_closed, procedural_texture

COLUMNS = ("id", "kind", "category", "source", "source_id", "width", "height", "area", "licence", "file")
SIZE = 256


def _load_faces(assets: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    root = assets / "celebamask_hq_samples"
    faces = []
    for i in range(4):
        image = cv2.cvtColor(cv2.imread(str(root / "images" / f"{i}.jpg")), cv2.COLOR_BGR2RGB)
        label = cv2.imread(str(root / "labels" / f"{i}.png"), cv2.IMREAD_UNCHANGED)
        faces.append((cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA),
                      cv2.resize(label, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)))
    return faces


def _coco_cutouts(assets: Path, count: int) -> list[tuple[str, str, np.ndarray]]:
    """(id, category, BGRA crop) of the first polygon of COCO128 label files with a decent area."""
    root = assets / "coco128_seg"
    names = (root / "classes.txt").read_text().split("\n")
    out = []
    for path in sorted((root / "labels" / "train2017").glob("*.txt")):
        image = cv2.imread(str(root / "images" / "train2017" / f"{path.stem}.jpg"))
        values = path.read_text().split("\n")[0].split()
        if image is None or len(values) < 7:
            continue
        points = np.array(values[1:], np.float64).reshape(-1, 2) * (image.shape[1], image.shape[0])
        alpha = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(alpha, [np.rint(points).astype(np.int32)], 255)
        if np.count_nonzero(alpha) < 2000:
            continue
        x, y, w, h = cv2.boundingRect(alpha)
        crop = np.dstack([image, alpha])[y:y + h, x:x + w].copy()
        crop[crop[:, :, 3] == 0, :3] = 0
        out.append((f"coco128-{path.stem}-0", names[int(values[0])].strip(), crop))
        if len(out) == count:
            break
    return out


def _write_bank(root: Path, assets: Path) -> Path:
    (root / "cutouts").mkdir(parents=True)
    rows = []
    items = [(f"egohands-{p.stem}-0", "hand", "hand", cv2.imread(str(p), cv2.IMREAD_UNCHANGED))
             for p in sorted((assets / "egohands_hand_cutouts").glob("*.png"))]
    items += [(i, "object", c, crop) for i, c, crop in _coco_cutouts(assets, 8)]
    for entry_id, kind, category, bgra in items:
        cv2.imwrite(str(root / "cutouts" / f"{entry_id}.png"), bgra)
        rows.append({"id": entry_id, "kind": kind, "category": category, "source": entry_id.split("-")[0],
                     "source_id": entry_id.split("-")[1], "width": bgra.shape[1], "height": bgra.shape[0],
                     "area": int(np.count_nonzero(bgra[:, :, 3])), "licence": "test fixture",
                     "file": f"cutouts/{entry_id}.png"})
    with (root / "index.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: r["id"]))
    return root


@pytest.fixture(scope="module")
def shared_assets() -> Path:
    """../shared/assets (the ``assets`` fixture at module scope; skips when absent)."""
    return shared_path("assets")


@pytest.fixture(scope="module")
def faces(shared_assets: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    return _load_faces(shared_assets)


@pytest.fixture(scope="module")
def bank(shared_assets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_bank(tmp_path_factory.mktemp("bank"), shared_assets)


def _natocc(bank: Path, **params: object) -> NatOccOverlay:
    generator = NatOccOverlay(**params)
    generator.setup(bank)
    return generator


def _check_invariants(target: np.ndarray, label: np.ndarray | None, sample) -> None:
    mask = sample.mask
    assert mask.dtype == np.uint8 and mask.shape == target.shape[:2] and set(np.unique(mask)) <= {0, 1}
    changed = (sample.occluded != target).any(-1)
    assert (changed <= (mask > 0)).all()
    assert np.array_equal(sample.occluded[mask == 0], target[mask == 0])
    assert mask.any()
    if label is None:
        assert sample.label_occ is None
    else:
        assert np.array_equal(sample.label_occ[mask == 0], label[mask == 0])
        assert (sample.label_occ[mask > 0] == OCCLUDER_CLASS).all()
    for key in ("occluded_face_box", "occluded_image"):
        assert 0.0 < sample.params[key] <= 1.0


# --- compositing helpers -------------------------------------------------------------------------------------


def test_composite_mask_covers_every_change_and_seam(faces) -> None:
    target = faces[0][0]
    layer = np.zeros(target.shape[:2] + (4,), np.uint8)
    layer[100:160, 80:150] = (30, 200, 60, 255)
    occluded, mask, alpha = composite(target, layer, erode_px=1, blur_ksize=5, seam_px=4, seam_ksize=5)
    assert ((occluded != target).any(-1) <= (mask > 0)).all()
    assert np.array_equal(occluded[mask == 0], target[mask == 0])
    outside = np.ones_like(mask, bool)
    outside[96:164, 76:154] = False  # the seam band reaches 4 px outside the edge, no farther
    assert mask[100:160, 80:150].all() and not mask[outside].any() and mask[96:99, 80:150].any()
    assert alpha[100, 80] < 255 and alpha[130, 115] == 255  # softened edge, opaque interior
    assert np.array_equal(occluded[130, 115], [30, 200, 60])


def test_soften_alpha_and_seam_band_widths() -> None:
    alpha = np.zeros((40, 40), np.uint8)
    alpha[10:30, 10:30] = 255
    eroded = soften_alpha(alpha, erode_px=2, blur_ksize=0)
    assert eroded[12:28, 12:28].all() and not eroded[11].any()
    band = seam_band(alpha > 0, 3)
    assert band[7, 20] and not band[6, 20] and band[12, 20] and not band[13, 20]


def test_label_after_occlusion() -> None:
    label = np.arange(16, dtype=np.uint8).reshape(4, 4)
    mask = np.zeros((4, 4), np.uint8)
    mask[1:3, 1:3] = 1
    out = label_after_occlusion(label, mask)
    assert (out[mask > 0] == OCCLUDER_CLASS).all() and np.array_equal(out[mask == 0], label[mask == 0])


def test_place_affine_centre_scale_and_rotation() -> None:
    bar = np.zeros((10, 40, 4), np.uint8)
    bar[:] = (200, 100, 50, 255)
    layer = place_affine(bar, (100, 100), scale=0.5, angle_deg=90.0, shear_deg=0.0, centre=(50.0, 40.0))
    ys, xs = np.nonzero(layer[:, :, 3] > 127)
    assert abs(xs.mean() - 50) < 1 and abs(ys.mean() - 40) < 1
    assert 18 <= np.ptp(ys) + 1 <= 22 and 4 <= np.ptp(xs) + 1 <= 6  # 20x5 bar turned upright
    assert (layer[layer[:, :, 3] == 255, :3] == (200, 100, 50)).all()  # no dark fringe inside


def test_color_transfer_moves_lab_mean_toward_face(shared_assets: Path, faces) -> None:
    path = sorted((shared_assets / "egohands_hand_cutouts").glob("*.png"))[0]
    rgba = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, [2, 1, 0, 3]]
    image, label = faces[1]
    face = image[(label >= 1) & (label <= 12)]

    def lab_mean(pixels: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(pixels.reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(float).mean(0)

    inside = rgba[:, :, 3] > 0
    before = np.linalg.norm(lab_mean(rgba[inside][:, :3]) - lab_mean(face))
    full = reinhard_transfer(rgba, face, strength=1.0)
    half = reinhard_transfer(rgba, face, strength=0.5)
    after_full = np.linalg.norm(lab_mean(full[inside][:, :3]) - lab_mean(face))
    after_half = np.linalg.norm(lab_mean(half[inside][:, :3]) - lab_mean(face))
    assert after_full < 3.0 < before and after_full < after_half < before
    assert np.array_equal(reinhard_transfer(rgba, face, strength=0.0), rgba)
    assert np.array_equal(full[:, :, 3], rgba[:, :, 3])
    sot = sliced_ot_transfer(rgba, face, np.random.default_rng(0))
    assert np.linalg.norm(lab_mean(sot[inside][:, :3]) - lab_mean(face)) < before / 2


# --- NatOcc ----------------------------------------------------------------------------------------------------


def test_natocc_invariants_on_real_faces(bank: Path, faces) -> None:
    generator = _natocc(bank)
    kinds = set()
    for seed in range(16):
        target, label = faces[seed % 4]
        sample = generator.generate(target, label, np.random.default_rng(seed))
        _check_invariants(target, label, sample)
        kinds.add(sample.params["kind"])
        assert 0.0 <= sample.params["occluded_face"] <= 1.0
    assert kinds == {"object", "hand"}


def test_natocc_area_fraction_and_centre_over_seeds(bank: Path, faces) -> None:
    generator = _natocc(bank)
    entries = {row["id"]: row for row in csv.DictReader((bank / "index.csv").open())}
    lo, hi = generator.area_fraction
    jlo, jhi = generator.scale_jitter
    for seed in range(40):
        target, label = faces[seed % 4]
        params = generator.generate(target, label, np.random.default_rng(seed)).params
        x0, y0, x1, y1 = label_face_box(label)
        assert params["face_box"] == [x0, y0, x1, y1]
        entry = entries[params["entry_id"]]
        fraction = int(entry["width"]) * int(entry["height"]) * params["scale"] ** 2 / ((x1 - x0) * (y1 - y0))
        assert lo <= params["area_fraction"] <= hi
        assert math.isclose(fraction, params["area_fraction"] * params["scale_jitter"] ** 2, rel_tol=1e-9)
        assert lo * jlo ** 2 <= fraction <= hi * jhi ** 2
        cx, cy = params["centre"]
        assert x0 <= cx <= x1 - 1 and y0 <= cy <= y1 - 1


def test_natocc_measured_box_matches_params(bank: Path, faces) -> None:
    """Without rotation/shear and with small occluders, the mask's box is the scaled cut-out plus the seam."""
    generator = _natocc(bank, affine_probability=0.0, point_hands=False, area_fraction=(0.05, 0.1),
                        position_margin=0.3, color_transfer="none")
    entries = {row["id"]: row for row in csv.DictReader((bank / "index.csv").open())}
    for seed in range(12):
        target, label = faces[seed % 4]
        sample = generator.generate(target, label, np.random.default_rng(seed))
        params = sample.params
        entry = entries[params["entry_id"]]
        ys, xs = np.nonzero(sample.mask)
        seam = 2 * generator.seam_px
        assert abs((np.ptp(xs) + 1) - int(entry["width"]) * params["scale"] - seam) <= 3
        assert abs((np.ptp(ys) + 1) - int(entry["height"]) * params["scale"] - seam) <= 3
        assert abs((xs.min() + xs.max()) / 2 - params["centre"][0]) <= 1.5
        assert abs((ys.min() + ys.max()) / 2 - params["centre"][1]) <= 1.5


@pytest.mark.parametrize("rotation", [(0.0, 0.0), (-15.0, 15.0)])
def test_natocc_hands_point_toward_face_centre(bank: Path, faces, rotation) -> None:
    generator = _natocc(bank, hand_probability=1.0, rotation_deg=rotation, shear_deg=(0.0, 0.0))
    checked = 0
    for seed in range(20):
        target, label = faces[seed % 4]
        params = generator.generate(target, label, np.random.default_rng(seed)).params
        assert params["kind"] == "hand"
        x0, y0, x1, y1 = params["face_box"]
        cx, cy = params["centre"]
        to_face = np.array([(x0 + x1 - 1) / 2 - cx, (y0 + y1 - 1) / 2 - cy])
        if np.hypot(*to_face) < 5:
            continue
        rgba = generator._load(next(e for e in generator._entries["hand"] if e.id == params["entry_id"]))
        pad = SIZE  # place on a larger canvas so that the image border does not clip the hand
        layer = place_affine(rgba, (3 * SIZE, 3 * SIZE), params["scale"], params["angle"], 0.0,
                             (cx + pad, cy + pad))
        direction = pointing_direction(layer[:, :, 3])
        cos = float(direction @ to_face) / float(np.hypot(*to_face))
        error = math.degrees(math.acos(min(1.0, max(-1.0, cos))))
        assert error <= max(abs(v) for v in rotation) + 8.0, (seed, error)
        checked += 1
    assert checked >= 15


def test_natocc_determinism(bank: Path, faces) -> None:
    generator = _natocc(bank, color_transfer="sot")
    target, label = faces[2]
    a = generator.generate(target, label, np.random.default_rng(7))
    b = _natocc(bank, color_transfer="sot").generate(target, label, np.random.default_rng(7))
    c = generator.generate(target, label, np.random.default_rng(8))
    assert np.array_equal(a.occluded, b.occluded) and np.array_equal(a.mask, b.mask)
    assert np.array_equal(a.label_occ, b.label_occ) and a.params == b.params
    assert not np.array_equal(a.occluded, c.occluded)


def test_natocc_parameters_act(bank: Path, faces) -> None:
    target, label = faces[0]
    never, always = _natocc(bank, hand_probability=0.0), _natocc(bank, hand_probability=1.0)
    for seed in range(20):
        assert never.generate(target, label, np.random.default_rng(seed)).params["kind"] == "object"
        assert always.generate(target, label, np.random.default_rng(seed)).params["kind"] == "hand"
    plain = _natocc(bank, color_transfer="none").generate(target, label, np.random.default_rng(3))
    matched = _natocc(bank, color_transfer="reinhard").generate(target, label, np.random.default_rng(3))
    assert plain.params["entry_id"] == matched.params["entry_id"]
    assert not np.array_equal(plain.occluded, matched.occluded)
    animals = _natocc(bank, kinds=("object",), categories=("giraffe", "zebra"))
    for seed in range(6):
        assert animals.generate(target, label, np.random.default_rng(seed)).params["category"] in {"giraffe", "zebra"}
    with pytest.raises(OccbenchError, match="no occluders of kind object"):
        _natocc(bank, kinds=("object",), categories=("no-such-category",))


def test_natocc_no_face_box_is_a_sample_error(bank: Path, faces) -> None:
    target, label = faces[0]
    generator = _natocc(bank)
    with pytest.raises(SampleError, match="no face found"):
        generator.generate(target, np.zeros_like(label), np.random.default_rng(0))
    with pytest.raises(SampleError, match="no face found"):
        _natocc(bank, face_box="labels").generate(target, None, np.random.default_rng(0))


def test_natocc_bad_parameters(bank: Path) -> None:
    for bad in ({"area_fraction": (0.8, 0.2)}, {"hand_probability": 1.5}, {"kinds": ("car",)},
                {"color_transfer": "lut"}, {"position": "anywhere"}, {"face_box": "guess"}, {"erode_px": -1},
                {"balance": "size"}, {"balance": "category", "hand_probability": None},
                {"hand_probability": 0.0, "kinds": ("hand",)}, {"hand_probability": 1.0, "kinds": ("object",)}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            NatOccOverlay(**bad)
    with pytest.raises(OccbenchError, match="assets-dir"):
        NatOccOverlay().setup(None)
    assert NatOccOverlay.needs_dir


def test_natocc_with_landmarks(bank: Path, faces) -> None:
    pytest.importorskip("occbench.faces.landmarks")
    target, _ = faces[0]
    generator = _natocc(bank)
    try:
        sample = generator.generate(target, None, np.random.default_rng(0))
    except (OSError, OccbenchError) as exc:  # dlib model files missing
        pytest.skip(f"landmark models unavailable: {exc}")
    assert sample.params["face_box_source"] == "landmarks" and sample.params["occluded_face"] is None
    _check_invariants(target, None, sample)
    with pytest.raises(SampleError, match="no face found"):
        generator.generate(np.full_like(target, 128), None, np.random.default_rng(0))


# --- NatOcc draws: kind and category shares on tiny synthetic banks -------------------------------------------


def _synthetic_bank(root: Path, counts: dict[tuple[str, str], int]) -> Path:
    """A bank of 6x6 opaque squares: ``counts[(kind, category)]`` entries each (written by BankWriter)."""
    writer = BankWriter(root)
    square = np.full((6, 6, 4), 200, np.uint8)
    for (kind, category), n in counts.items():
        for i in range(n):
            writer.add(square, kind=kind, category=category, source="synth", source_id=category, index=i,
                       licence="test fixture")
    writer.commit({"builder": "test"}, [], "synth")
    return root


def _shares(generator: NatOccOverlay, draws: int) -> tuple[float, dict[str, float]]:
    """Hand share and per-category share of the object draws over ``draws`` seeds."""
    picks = [generator._pick(np.random.default_rng(seed)) for seed in range(draws)]
    objects = [e.category for e in picks if e.kind == "object"]
    hands = (len(picks) - len(objects)) / len(picks)
    return hands, {c: objects.count(c) / max(1, len(objects)) for c in sorted(set(objects))}


def _within(share: float, p: float, n: int) -> bool:
    """``share`` of ``n`` Bernoulli(p) draws lies within 4 binomial standard deviations of ``p``."""
    return abs(share - p) <= 4.0 * math.sqrt(p * (1.0 - p) / n)


@pytest.fixture(scope="module")
def skewed_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 objects of category A, 2 of B and 2 hands: the shipped bank's shape (many objects, few hands)."""
    counts = {("object", "A"): 20, ("object", "B"): 2, ("hand", "myleft"): 2}
    return _synthetic_bank(tmp_path_factory.mktemp("skewed"), counts)


def test_natocc_hand_share_follows_hand_probability(skewed_bank: Path) -> None:
    n = 3000
    assert math.isclose(NatOccOverlay().hand_probability, 200 / 328)
    for p in (SGIN_HAND_SHARE, 0.2):
        hands, _ = _shares(_natocc(skewed_bank, hand_probability=p), n)
        assert _within(hands, p, n), (p, hands)
    uniform, _ = _shares(_natocc(skewed_bank, hand_probability=None, balance="entry"), n)
    assert _within(uniform, 2 / 24, n), uniform  # one list, as the reference: 2 hands among 24 entries
    assert _shares(_natocc(skewed_bank, hand_probability=0.0), 200)[0] == 0.0
    assert _shares(_natocc(skewed_bank, kinds=("object",)), 200)[0] == 0.0
    assert _shares(_natocc(skewed_bank, kinds=("hand",)), 200)[0] == 1.0


def test_natocc_category_balance(skewed_bank: Path) -> None:
    n = 3000
    _, balanced = _shares(_natocc(skewed_bank, hand_probability=0.0), n)
    _, by_entry = _shares(_natocc(skewed_bank, hand_probability=0.0, balance="entry"), n)
    assert _within(balanced["B"], 0.5, n), balanced
    assert _within(by_entry["B"], 2 / 22, n), by_entry  # ~9 %
    _, only_b = _shares(_natocc(skewed_bank, hand_probability=0.0, categories=("B",)), 100)
    assert only_b == {"B": 1.0}


def test_natocc_draw_determinism_and_params(skewed_bank: Path) -> None:
    first, second = _natocc(skewed_bank), _natocc(skewed_bank)
    ids = [first._pick(np.random.default_rng(seed)).id for seed in range(50)]
    assert ids == [second._pick(np.random.default_rng(seed)).id for seed in range(50)]
    assert len(set(ids)) > 5
    label = np.zeros((64, 64), np.uint8)
    label[16:48, 20:44] = 1
    target = np.full((64, 64, 3), 90, np.uint8)
    params = first.generate(target, label, np.random.default_rng(3)).params
    entry = next(e for e in first._bank.all_entries if e.id == params["entry_id"])
    assert (params["kind"], params["category"]) == (entry.kind, entry.category)


def test_natocc_setup_errors_name_the_bank_and_the_fix(tmp_path: Path) -> None:
    objects = _synthetic_bank(tmp_path / "objects", {("object", "cup"): 3})
    hands = _synthetic_bank(tmp_path / "hands", {("hand", "myleft"): 3})
    with pytest.raises(OccbenchError, match="no occluders of kind hand") as error:
        _natocc(objects)
    assert str(objects) in str(error.value) and "--from egohands" in str(error.value)
    assert "hand_probability: 0 or kinds: [object]" in str(error.value)
    with pytest.raises(OccbenchError, match="no occluders of kind object") as error:
        _natocc(hands)
    assert str(hands) in str(error.value) and "--from coco" in str(error.value)
    for params in ({"kinds": ("object",)}, {"hand_probability": 0.0}, {"hand_probability": None, "balance": "entry"}):
        _natocc(objects, **params)  # hands excluded or not required
    _natocc(hands, kinds=("hand",))
    _natocc(hands, hand_probability=1.0)
    with pytest.raises(OccbenchError, match="no occluders of kind object"):
        _natocc(objects, kinds=("object",), categories=("umbrella",))


# --- RandOcc ---------------------------------------------------------------------------------------------------


def test_randocc_invariants_and_determinism(faces) -> None:
    generator = RandOcc()
    assert not generator.needs_dir
    generator.setup(None)
    textures, transparent = set(), 0
    for seed in range(16):
        target, label = faces[seed % 4]
        sample = generator.generate(target, label, np.random.default_rng(seed))
        _check_invariants(target, label, sample)
        cx, cy = sample.params["centre"]
        x0, y0, x1, y1 = sample.params["face_box"]
        assert x0 <= cx <= x1 and y0 <= cy <= y1
        textures.add(sample.params["texture"])
        transparent += sample.params["opacity"] < 1.0
        assert 3 <= sample.params["n_points"] <= 15
    assert len(textures) >= 3 and 0 < transparent < 16
    target, label = faces[1]
    a, b = (RandOcc().generate(target, label, np.random.default_rng(5)) for _ in range(2))
    c = RandOcc().generate(target, label, np.random.default_rng(6))
    assert np.array_equal(a.occluded, b.occluded) and a.params == b.params
    assert not np.array_equal(a.mask, c.mask)
    with pytest.raises(SampleError, match="no face found"):
        RandOcc(face_box="labels").generate(target, None, np.random.default_rng(0))


def test_randocc_textures_from_folder(tmp_path: Path, shared_assets: Path, faces) -> None:
    cv2.imwrite(str(tmp_path / "flat.png"), np.full((64, 64, 3), (30, 200, 10), np.uint8))  # BGR
    generator = RandOcc(textures="folder", transparent_probability=0.0, texture_kinds=("noise",))
    assert generator.needs_dir
    with pytest.raises(OccbenchError, match="assets-dir"):
        generator.setup(None)
    generator.setup(tmp_path)
    target, label = faces[3]
    sample = generator.generate(target, label, np.random.default_rng(0))
    _check_invariants(target, label, sample)
    assert sample.params["texture"] == "flat.png"
    # 12 px inside the mask: past the outer (4 px) and inner (4 px) seam band and the 5x5 blur radius
    core = cv2.erode(sample.mask, np.ones((25, 25), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    assert core.any() and (sample.occluded[core] == (10, 200, 30)).all()
    photo = sorted((shared_assets / "coco128_seg" / "images" / "train2017").glob("*.jpg"))[0]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / photo.name).write_bytes(photo.read_bytes())
    generator = RandOcc(textures="folder")
    generator.setup(tmp_path)
    names = {generator.generate(target, label, np.random.default_rng(s)).params["texture"] for s in range(12)}
    assert names == {"flat.png", f"sub/{photo.name}"}


def test_randocc_helpers() -> None:
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float64)
    curve = catmull_rom_closed(square, samples=8)
    assert curve.shape == (32, 2) and np.allclose(curve[::8], square)
    for kind in ("noise", "stripes", "checker", "solid"):
        texture = procedural_texture(kind, (20, 30), np.random.default_rng(1))
        assert texture.shape == (20, 30, 3) and texture.dtype == np.uint8
        assert np.array_equal(texture, procedural_texture(kind, (20, 30), np.random.default_rng(1)))
    for bad in ({"n_points": (2, 5)}, {"textures": "web"}, {"texture_kinds": ("plaid",)}, {"alpha": (0.5, 1.5)}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            RandOcc(**bad)
