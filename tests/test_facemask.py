"""Landmark-aligned face masks on the 48 real CelebA-HQ faces in ../shared/assets (skipped when absent)."""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import shared_path

from occbench.errors import OccbenchError, SampleError
from occbench.faces.detection import FaceDetector, FaceSettings
from occbench.faces.dlib_models import model_path
from occbench.faces.landmarks import FaceLandmarks, face_box_from_label
from occbench.faces.masktheface import load_masktheface
from occbench.faces.templates import MASK_TYPES, VARIANTS, draw_template, procedural_texture
from occbench.labels import OCCLUDER_CLASS
from occbench.occlusion.facemask import FaceMaskComposite, cheek_brightness, estimate_yaw, target_points

TURNED_FACE = "28182.jpg"  # the most turned of the 48 faces: yaw +0.41 (nose toward the image right); stays frontal
# under the default yaw_threshold 0.5, so the side-variant test lowers the threshold to 0.3
BEHIND_CLASSES = [c for c in range(OCCLUDER_CLASS) if c not in FaceMaskComposite().keep_front_classes]


def find_face(image: np.ndarray, **settings) -> FaceLandmarks:
    """The largest face of ``image`` with landmarks, as the build's face stage finds it."""
    return FaceDetector(FaceSettings(**settings)).find(image).faces[0]


def _load(path: Path, size: int) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)[:, :, ::-1])


@pytest.fixture(scope="module")
def assets() -> Path:
    """conftest's ``assets`` (skips when absent), at module scope so the faces load once per module."""
    return shared_path("assets")


@pytest.fixture(scope="module")
def face_files(assets: Path) -> list[Path]:
    files = sorted((assets / "celeba_hq_faces_sean").glob("*.jpg"))
    assert len(files) == 48
    return files


@pytest.fixture(scope="module")
def faces256(face_files: list[Path]) -> dict[str, np.ndarray]:
    return {p.name: _load(p, 256) for p in face_files}


@pytest.fixture(scope="module")
def builtin() -> FaceMaskComposite:
    gen = FaceMaskComposite()
    gen.setup(None)
    return gen


@pytest.fixture(scope="module")
def masktheface_dir(assets: Path) -> Path:
    return assets / "masktheface"


def _at(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    xy = np.round(points).astype(int)
    ok = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    out = np.zeros(len(xy), bool)
    out[ok] = mask[xy[ok, 1], xy[ok, 0]] > 0
    return out


def _check_invariants(target: np.ndarray, sample, label: np.ndarray | None = None) -> None:
    mask = sample.mask
    assert mask.dtype == np.uint8 and mask.shape == target.shape[:2] and set(np.unique(mask)) <= {0, 1}
    changed = np.any(sample.occluded != target, axis=2)
    assert not np.any(changed & (mask == 0)), "a changed pixel lies outside the mask"
    assert np.array_equal(sample.occluded[mask == 0], target[mask == 0])
    if label is not None:
        assert np.array_equal(sample.label_occ[mask == 0], label[mask == 0])
        assert np.all(sample.label_occ[mask == 1] == OCCLUDER_CLASS)


def _check_placement(gen: FaceMaskComposite, image: np.ndarray, sample, kind: str, eyes: bool = True) -> None:
    """Mouth and nose tip covered; eyes free (``eyes``) except under a scarf; a scarf covers the neck."""
    face = find_face(image)
    pts = face.points
    assert _at(sample.mask, pts[48:68]).all(), f"{kind}: mouth not covered"
    assert _at(sample.mask, pts[30:36]).all(), f"{kind}: nose tip not covered"
    if kind != "scarf" and eyes:
        assert not _at(sample.mask, pts[36:48]).any(), f"{kind}: an eye landmark is covered"
    if kind == "scarf":
        neck = pts[8] + np.array([0, 0.15 * (face.box[3] - face.box[1])])
        if neck[1] < image.shape[0] - 1:
            assert _at(sample.mask, neck[None]).all(), "scarf: the neck below the chin is not covered"


def test_detection_rate(face_files: list[Path]):
    for upsample in (0, 1):
        detector = FaceDetector(FaceSettings(upsample=upsample))
        found = [bool(detector.find(_load(p, 512)).faces) for p in face_files]
        print(f"detection rate at 512 px, upsample {upsample}: {sum(found)}/48")
        assert sum(found) == 48  # measured: 48/48 at both


def test_landmarks_full_resolution(faces256: dict[str, np.ndarray]):
    image = faces256["28083.jpg"]
    big = cv2.resize(image, (512, 512), interpolation=cv2.INTER_CUBIC)
    small_face, big_face = find_face(image), find_face(big)
    assert isinstance(big_face, FaceLandmarks) and big_face.points.shape == (68, 2)
    assert big_face.points.dtype == np.float32 and big_face.score > 0
    scale = float(np.linalg.norm(big_face.points[16] - big_face.points[0]))
    assert np.median(np.linalg.norm(big_face.points / 2 - small_face.points, axis=1)) < 0.03 * scale
    assert FaceDetector().find(image).count == 1


@pytest.mark.parametrize("kind", MASK_TYPES)
def test_mask_between_nose_bridge_and_chin(kind: str, faces256: dict[str, np.ndarray]):
    gen = FaceMaskComposite(mask_types=(kind,))
    gen.setup(None)
    for i, (name, image) in enumerate(list(faces256.items())[::3]):
        # random labels without the keep-front classes (eyeglasses 3, hair 13), which the mask would go behind
        label = np.random.default_rng(i).choice(BEHIND_CLASSES, image.shape[:2]).astype(np.uint8)
        sample = gen.generate(image, label, np.random.default_rng(i))
        assert sample.params["mask_type"] == kind, name
        _check_invariants(image, sample, label)
        _check_placement(gen, image, sample, kind)
        assert 0.2 < sample.params["face_fraction"] < 1.0


def test_params_and_determinism(builtin: FaceMaskComposite, faces256: dict[str, np.ndarray]):
    image = faces256["28083.jpg"]
    first = builtin.generate(image, None, np.random.default_rng(7))
    again = builtin.generate(image, None, np.random.default_rng(7))
    assert np.array_equal(first.occluded, again.occluded) and np.array_equal(first.mask, again.mask)
    assert first.params == again.params
    for key in ("mask_type", "template", "variant", "color", "yaw", "points", "face_fraction", "image_fraction"):
        assert key in first.params
    assert set(first.params["points"]) == set("abcdef")
    drawn = {builtin.generate(image, None, np.random.default_rng(s)).params["template"] for s in range(12)}
    assert len(drawn) > 2


def test_textures_and_colors(faces256: dict[str, np.ndarray]):
    image = faces256["28090.jpg"]
    gen = FaceMaskComposite(texture_probability=1.0, color="random")
    gen.setup(None)
    sample = gen.generate(image, None, np.random.default_rng(3))
    assert sample.params["texture"] in ("check", "stripes", "dots")
    _check_invariants(image, sample)
    fixed = FaceMaskComposite(mask_types=("cloth",), color=(200, 30, 30), brightness_match=False)
    fixed.setup(None)
    sample = fixed.generate(image, None, np.random.default_rng(0))
    assert sample.params["color"] == [200, 30, 30]
    inner = cv2.erode(sample.mask, np.ones((9, 9), np.uint8)) > 0
    red = sample.occluded[inner].astype(int)
    assert np.median(red[:, 0] - red[:, 1]) > 60


def test_no_face_is_a_sample_error(builtin: FaceMaskComposite, assets: Path):
    food = cv2.imread(str(assets / "coco128_seg" / "images" / "train2017" / "000000000009.jpg"))[:, :, ::-1]
    for image in (np.ascontiguousarray(food), np.full((256, 256, 3), 128, np.uint8)):
        with pytest.raises(SampleError, match="no face"):
            builtin.generate(image, None, np.random.default_rng(0))


def test_several_faces(faces256: dict[str, np.ndarray]):
    pair = np.ascontiguousarray(np.hstack([faces256["28083.jpg"], faces256["28090.jpg"]]))
    gen = FaceMaskComposite()
    gen.setup(None)
    with pytest.raises(SampleError, match="2 faces found, policy one"):
        FaceDetector(FaceSettings(policy="one")).find(pair)
    largest = FaceDetector(FaceSettings(policy="largest")).find(pair)
    assert largest.count == 2 and len(largest.faces) == 1 and largest.record["used"] == 1
    both = FaceDetector(FaceSettings(policy="all")).find(pair)
    assert len(both.faces) == 2 and both.record["scores"][0] > 0
    one = gen.generate(pair, None, np.random.default_rng(0), faces=largest.faces)
    two = gen.generate(pair, None, np.random.default_rng(0), faces=both.faces)
    _check_invariants(pair, one)
    _check_invariants(pair, two)
    assert "masks" not in one.params and len(two.params["masks"]) == 2
    for face in both.faces:  # every face's mouth is covered under policy all
        assert _at(two.mask, face.points[48:68]).all()
    assert np.count_nonzero(two.mask) > 1.5 * np.count_nonzero(one.mask)


def test_small_face_and_bad_params(faces256: dict[str, np.ndarray]):
    with pytest.raises(SampleError, match=r"no face found \(hog, upsample 1, min score 0.0, min 200 px; best "
                                          r"rejected candidate: score \d"):
        FaceDetector(FaceSettings(min_face_px=200)).find(faces256["28083.jpg"])
    with pytest.raises(ValueError, match="policy: Expected one of one, largest, all"):
        FaceSettings(policy="first")
    with pytest.raises(ValueError, match="mask_types"):
        FaceMaskComposite(mask_types=("bandana",))
    with pytest.raises(ValueError, match="templates"):
        FaceMaskComposite(templates="other")
    assert not FaceMaskComposite().needs_dir and FaceMaskComposite(templates="masktheface").needs_dir
    with pytest.raises(OccbenchError, match="needs --assets-dir"):
        FaceMaskComposite(templates="masktheface").setup(None)


def test_implausible_fit_is_a_sample_error(builtin: FaceMaskComposite, faces256: dict[str, np.ndarray]):
    image = faces256["28083.jpg"]
    face = find_face(image)
    template = draw_template("surgical")
    mirrored = target_points(face.points)[[2, 1, 0, 5, 4, 3]]  # left and right swapped: a mirror image
    with pytest.raises(SampleError, match="implausible landmark fit"):
        builtin._composite(image, template.rgba, template.anchors, mirrored, face)
    shifted = target_points(face.points) + np.array([0, 240], np.float32)  # mask mostly below the image
    with pytest.raises(SampleError, match="implausible landmark fit"):
        builtin._composite(image, template.rgba, template.anchors, shifted, face)


@pytest.mark.parametrize("kind", MASK_TYPES)
def test_builtin_anchors_inside_alpha(kind: str):
    for variant in VARIANTS:
        for valve in (False, True):
            template = draw_template(kind, (90, 120, 200), procedural_texture("check", np.random.default_rng(0)),
                                     variant, valve)
            assert template.rgba.dtype == np.uint8 and template.rgba.shape[2] == 4
            alpha = template.rgba[..., 3]
            for name, (x, y) in zip("abcdef", template.anchors):
                assert alpha[round(y), round(x)] > 200, f"{template.name}: anchor {name} outside the alpha"
            a, b, c, d, e, f = template.anchors
            assert a[0] < b[0] < c[0] and d[0] < e[0] < f[0] and b[1] < d[1] < e[1]
            assert 0 < alpha.mean() / 255 < 1  # transparent surround, opaque body
    if kind == "scarf":
        template = draw_template("scarf")
        e_y = template.anchors[4, 1]
        for x, y in template.extra.values():
            assert y > e_y + 0.5 * (e_y - template.anchors[1, 1]) and template.rgba[round(y), round(x), 3] > 200


def test_brightness_match_moves_toward_the_face(faces256: dict[str, np.ndarray]):
    for color in ((255, 255, 255), (25, 25, 25)):
        medians = {}
        for match in (False, True):
            gen = FaceMaskComposite(mask_types=("cloth",), color=color, brightness_match=match)
            gen.setup(None)
            image = faces256["29294.jpg"]  # the darkest cheeks of the 48 (median HSV value 158)
            sample = gen.generate(image, None, np.random.default_rng(0))
            inner = cv2.erode(sample.mask, np.ones((7, 7), np.uint8)) > 0
            medians[match] = float(np.median(sample.occluded[inner].max(axis=1)))
        face = cheek_brightness(image, find_face(image).points)
        assert abs(medians[True] - face) < abs(medians[False] - face) - 5, (color, medians, face)


@pytest.mark.parametrize("templates", ["builtin", "masktheface"])
def test_yaw_selects_turned_variants(templates: str, faces256: dict[str, np.ndarray], masktheface_dir: Path):
    gen = FaceMaskComposite(templates=templates, mask_types=("surgical",), yaw_threshold=0.3)
    gen.setup(masktheface_dir if templates == "masktheface" else None)
    image = faces256[TURNED_FACE]
    flipped = np.ascontiguousarray(image[:, ::-1])
    right, left = (gen.generate(im, None, np.random.default_rng(0)) for im in (image, flipped))
    assert right.params["yaw"] > 0.3 and left.params["yaw"] < -0.3
    assert right.params["variant"] == "right" and left.params["variant"] == "left"
    assert right.params["template"].endswith("_right") and left.params["template"].endswith("_left")
    frontal = min(faces256.values(), key=lambda im: abs(estimate_yaw(find_face(im).points)))
    assert gen.generate(frontal, None, np.random.default_rng(0)).params["variant"] == "front"
    default = FaceMaskComposite(templates=templates, mask_types=("surgical",))  # yaw_threshold 0.5: stays frontal
    default.setup(masktheface_dir if templates == "masktheface" else None)
    assert default.generate(image, None, np.random.default_rng(0)).params["variant"] == "front"
    for image_, sample in ((image, right), (flipped, left)):
        _check_invariants(image_, sample)


def test_masktheface_templates_load(masktheface_dir: Path):
    sets = load_masktheface(masktheface_dir)
    assert set(sets) == {"surgical", "surgical_blue", "surgical_green", "N95", "KN95", "cloth", "gas"}
    assert all(set(v) == {"front", "left", "right"} for v in sets.values())
    assert load_masktheface(masktheface_dir / "masks").keys() == sets.keys()  # the cfg folder itself works too
    surgical = sets["surgical"]["front"]
    assert surgical.rgba.shape[2] == 4 and surgical.rgba.shape[1] <= 400 and surgical.anchors.shape == (6, 2)
    assert np.allclose(surgical.anchors[1], np.array([307, 22]) * surgical.rgba.shape[1] / 594, atol=1)


def test_masktheface_composites(faces256: dict[str, np.ndarray], masktheface_dir: Path):
    gen = FaceMaskComposite(templates="masktheface", mask_types=("surgical", "n95", "kn95", "cloth"),
                            texture_probability=0.3)
    gen.setup(masktheface_dir)
    templates = set()
    for i, (_, image) in enumerate(list(faces256.items())[1::4]):
        sample = gen.generate(image, None, np.random.default_rng(i))
        templates.add(sample.params["template"])
        _check_invariants(image, sample)
        # MaskTheFace's own N95 / KN95 templates reach the lower eyelids on some faces: eyes are not checked
        _check_placement(gen, image, sample, sample.params["mask_type"], eyes=False)
    assert len(templates) >= 3


def test_masktheface_errors_name_cfg_and_section(tmp_path: Path, masktheface_dir: Path):
    (tmp_path / "masks").mkdir()
    cfg = tmp_path / "masks" / "masks.cfg"
    cfg.write_text("[surgical]\ntemplate: masks/templates/surgical.png\nmask_a: 1, 2\n")
    with pytest.raises(OccbenchError, match=r"masks\.cfg \[surgical\]: missing key\(s\) mask_b"):
        load_masktheface(tmp_path)
    cfg.write_text("[mine]\ntemplate: masks/templates/nothere.png\n" +
                   "".join(f"mask_{n}: 1, 2\n" for n in "abcdef"))
    with pytest.raises(OccbenchError, match=r"\[mine\] template: 'masks/templates/nothere.png' not found"):
        load_masktheface(tmp_path)
    with pytest.raises(OccbenchError, match="masks.cfg"):
        load_masktheface(tmp_path / "empty")
    gen = FaceMaskComposite(templates="masktheface", mask_types=("scarf",))
    with pytest.raises(OccbenchError, match="no MaskTheFace template of type"):
        gen.setup(masktheface_dir)


def test_face_box_from_label_and_models():
    label = np.zeros((64, 64), np.uint8)
    label[10:30, 20:40] = 1
    label[5:8, 22:24] = 13
    label[50:60, 0:64] = 18  # cloth is not face
    assert face_box_from_label(label) == (20, 5, 40, 30)
    assert face_box_from_label(np.zeros((8, 8), np.uint8)) is None and face_box_from_label(None) is None
    assert model_path("shape_predictor_68_face_landmarks.dat").is_file()
    with pytest.raises(OccbenchError, match="no_such_model.dat"):
        model_path("no_such_model.dat")


def test_detector_pickles(faces256: dict[str, np.ndarray]):
    detector = FaceDetector(FaceSettings(upsample=0))
    copy = pickle.loads(pickle.dumps(detector))
    assert copy == detector and copy.find(faces256["28083.jpg"]).count == 1


def test_remaining_parameters_act(faces256: dict[str, np.ndarray]):
    image = faces256["28083.jpg"]

    def make(**params) -> FaceMaskComposite:
        gen = FaceMaskComposite(**params)
        gen.setup(None)
        return gen

    # valve_probability: an N95 with a valve differs from one without, all else equal
    no_valve = make(mask_types=("n95",), valve_probability=0.0).generate(image, None, np.random.default_rng(1))
    valve = make(mask_types=("n95",), valve_probability=1.0).generate(image, None, np.random.default_rng(1))
    assert not np.array_equal(no_valve.occluded, valve.occluded)
    # brightness_strength 0 is the same as no brightness matching; 1 differs
    plain = make(mask_types=("cloth",), color=(25, 25, 25), brightness_match=False)
    zero = make(mask_types=("cloth",), color=(25, 25, 25), brightness_strength=0.0)
    full = make(mask_types=("cloth",), color=(25, 25, 25), brightness_strength=1.0)
    outputs = [g.generate(image, None, np.random.default_rng(2)).occluded for g in (plain, zero, full)]
    assert np.array_equal(outputs[0], outputs[1]) and not np.array_equal(outputs[0], outputs[2])
    # area_range and min_inside reject fits outside them
    with pytest.raises(SampleError, match="implausible landmark fit"):
        make(mask_types=("surgical",), area_range=(2.4, 2.5)).generate(image, None, np.random.default_rng(0))
    gen = make(mask_types=("surgical",), min_inside=1.0)
    face = find_face(image)
    template = draw_template("surgical")
    shifted = target_points(face.points) + np.array([0, 60], np.float32)  # the chin part leaves the image
    with pytest.raises(SampleError, match="implausible landmark fit"):
        gen._composite(image, template.rgba, template.anchors, shifted, face)
