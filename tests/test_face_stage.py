"""The build's face stage: detection settings, duplicate merging, the face crop geometry, and wild photographs."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from occbench.dataset.build import BuildConfig, build_dataset
from occbench.dataset.preprocess import fit_image, plan_fit
from occbench.errors import ProtocolError, SampleError
from occbench.faces.detection import Candidate, FaceDetector, FaceSettings, merge_duplicates, overlap_of_smaller
from occbench.faces.landmarks import FaceLandmarks
from occbench.image_io import read_image
from occbench.protocol import Preprocess, find_protocol, load_protocol

WILD = ("pillow_hopper_orientation_6.jpg", "skimage_astronaut.png", "photoprism_dog_toshi_red.jpg",
        "photoprism_clowns_colorful.jpg")


def test_settings_are_checked() -> None:
    for bad, match in (({"detector": "yolo"}, "detector: Expected one of hog, cnn"),
                       ({"policy": "first"}, "policy: Expected one of one, largest, all"),
                       ({"upsample": 4}, "upsample"), ({"max_side": 10}, "max_side"),
                       ({"merge_overlap": 0.0}, "merge_overlap")):
        with pytest.raises(ValueError, match=match):
            FaceSettings(**bad)


def test_duplicates_merge_keeping_the_higher_score() -> None:
    a = Candidate((0, 0, 100, 100), 1.0)
    inside = Candidate((10, 10, 90, 90), 0.4)  # the same face found again at another pyramid level
    apart = Candidate((200, 0, 300, 100), 0.2)
    assert overlap_of_smaller(a, inside) == pytest.approx(1.0) and overlap_of_smaller(a, apart) == 0.0
    assert merge_duplicates([inside, apart, a], 0.5) == [a, apart]
    half = Candidate((50, 0, 150, 100), 0.9)  # overlaps a by exactly half: kept at 0.5, merged below it
    assert len(merge_duplicates([a, half], 0.5)) == 2 and merge_duplicates([a, half], 0.4) == [a]


def test_face_crop_geometry() -> None:
    policy = Preprocess(crop="face", upscale=False)
    box = (300.0, 200.0, 420.0, 320.0)  # a 120-px face in an 800x600 photo
    fit = plan_fit((600, 800, 3), 128, policy, "photo.jpg", box)
    x0, y0, x1, y1 = fit.region
    assert x1 - x0 == y1 - y0 == 200  # 120 / 0.6
    assert (x0 + x1) / 2 == pytest.approx(360, abs=1)  # horizontally centred on the face
    assert (260 - y0) / 200 == pytest.approx(0.62, abs=0.01)  # box centre at 0.62 of the height
    sx, sy, ox, oy = fit.point_transform()
    assert (box[0] * sx + ox, box[1] * sy + oy) == pytest.approx(((300 - x0) * 0.64, (200 - y0) * 0.64))
    edge = plan_fit((600, 800, 3), 128, policy, "photo.jpg", (0.0, 0.0, 120.0, 120.0))
    assert edge.region[:2] == (0, 0)  # moved inside the photo, not padded
    with pytest.raises(SampleError, match="photo.jpg: the face crop is 200 px .* smaller than the protocol resolution"):
        plan_fit((600, 800, 3), 256, policy, "photo.jpg", box)
    notes: list[str] = []
    image = np.zeros((600, 800, 3), np.uint8)
    big = plan_fit(image.shape, 256, Preprocess(crop="face", upscale=True), "photo.jpg", box)
    assert fit_image(image, 256, Preprocess(crop="face", upscale=True), "photo.jpg", big, notes).shape == (256, 256, 3)
    assert notes == ["upscaled x1.28"]


def test_landmarks_map_into_the_target() -> None:
    points = np.array([[10, 20], [30, 40]] * 34, np.float32)
    face = FaceLandmarks(points, (10, 20, 30, 40), score=1.5).mapped(0.5, 2.0, -1.0, 3.0)
    assert face.box == (4, 43, 14, 83) and face.score == 1.5
    assert np.allclose(face.points[:2], [[4, 43], [14, 83]])


def test_faces_section_only_where_faces_are_detected(tmp_path: Path) -> None:
    protocol = tmp_path / "p.yaml"
    protocol.write_text("name: p\nversion: 1\nseed: 1\nresolution: 32\nsource: {name: folder}\n"
                        "generator: {name: center}\nfaces: {policy: all}\n")
    with pytest.raises(ProtocolError, match="faces: this protocol detects no faces"):
        load_protocol(protocol)
    wild = load_protocol(find_protocol("wild-facemask-256"))
    assert wild.faces == FaceSettings() and wild.resolved["faces"]["policy"] == "largest"
    assert load_protocol(find_protocol("celeba-maskedfaces-256")).faces.policy == "one"
    assert load_protocol(find_protocol("folder-center-256")).faces is None


@pytest.fixture(scope="module")
def wild_photos(tmp_path_factory) -> Path:
    from conftest import shared_path

    folder = tmp_path_factory.mktemp("wild")
    for name in WILD:
        shutil.copy(shared_path("assets", "wild_faces", name), folder / name)
    return folder


def _build(tmp: Path, photos: Path, protocol: str, workers: int = 1, **faces) -> tuple[dict, dict]:
    proto_path = find_protocol(protocol)
    if faces:
        resolved = dict(load_protocol(proto_path).resolved)
        resolved.update(name=f"{protocol}-{'-'.join(map(str, faces.values()))}", faces={**resolved["faces"], **faces})
        proto_path = tmp / f"{resolved['name']}.yaml"
        proto_path.write_text(yaml.safe_dump(resolved))
    out = tmp / f"{proto_path.stem}-{workers}"
    build_dataset(BuildConfig(protocol=load_protocol(proto_path), out=out, source_dir=photos, workers=workers,
                              progress=False))
    ok = {r["id"]: r for r in csv.DictReader((out / "manifest.csv").open())}
    skipped = {r["id"]: r["reason"] for r in csv.DictReader((out / "skipped.csv").open())}
    return ok, skipped


def test_wild_photos_upright_faces_only_and_counted(tmp_path: Path, wild_photos: Path) -> None:
    ok, skipped = _build(tmp_path, wild_photos, "wild-randocc-256")
    assert set(ok) == {"pillow_hopper_orientation_6", "skimage_astronaut", "photoprism_clowns_colorful"}
    assert "photoprism_dog_toshi_red.jpg: no face found (hog, upsample 1" in skipped["photoprism_dog_toshi_red"]
    hopper = ok["pillow_hopper_orientation_6"]
    assert "EXIF orientation 6 applied" in hopper["notes"] and "upscaled x" in hopper["notes"]
    faces = json.loads(ok["photoprism_clowns_colorful"]["params"])["faces"]
    assert faces["used"] == 1 and faces["policy"] == "largest" and faces["passes"] >= 1
    assert len(faces["boxes"]) == len(faces["scores"]) == len(faces["views"]) == faces["count"] >= 1
    assert faces["count_complete"] == (faces["passes"] == 3) and min(faces["scores"]) >= 0
    assert set(faces["views"]) <= {"front", "left", "right", "front-rolled-left", "front-rolled-right"}
    assert set(faces["crop"]) == {"region", "scale"}
    target = read_image(tmp_path / "wild-randocc-256-1" / "target" / "pillow_hopper_orientation_6.png")
    face = FaceDetector().find(target).faces[0]  # upright: the eyes above the mouth
    assert face.points[36:48, 1].mean() < face.points[48:68, 1].mean()


def test_multi_face_policies(tmp_path: Path, wild_photos: Path) -> None:
    _, skipped = _build(tmp_path, wild_photos, "wild-randocc-256", policy="one")
    assert skipped["photoprism_clowns_colorful"].endswith("3 faces found, policy one")
    ok, _ = _build(tmp_path, wild_photos, "wild-randocc-256", policy="all")
    params = json.loads(ok["photoprism_clowns_colorful"]["params"])
    assert params["faces"]["count"] == 3 and params["faces"]["count_complete"]  # the full pass counts every face
    kept = 3 - params["faces"].get("outside_crop", 0)
    assert len(params.get("occluders", [params])) == kept >= 1


def test_face_stage_is_deterministic_across_workers(tmp_path: Path, wild_photos: Path) -> None:
    digests = []
    for workers in (1, 2):
        _build(tmp_path, wild_photos, "wild-facemask-256", workers=workers)
        out = tmp_path / f"wild-facemask-256-{workers}"
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted(out.rglob("*.png"))} | {"manifest": (out / "manifest.csv").read_text()})
    assert digests[0] == digests[1] and len(digests[0]) > 3
