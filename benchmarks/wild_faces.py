"""Occlusion synthesis on ordinary photographs: ../shared/assets/wild_faces (52 photos with per-image notes).

Per image, measured in the same run:
- ``hog_ref``: faces dlib's HOG detector finds on the upright full-resolution photo with one upsample at its own
  threshold (0) — the reference count the issue sets (an image counts when it has at least one);
- ``before``: what occbench did before faces were found on the source (centre crop to 256 px, HOG at that size
  without upsampling, exactly one face): produced or the reason;
- ``wild-*``: the shipped wild protocols built with ``build_dataset`` (face-centred crop, faces section defaults):
  produced, face count, policy outcome, or the skip reason;
- ``cnn`` (with ``--cnn``): faces found by dlib's MMOD CNN detector (slow: seconds per image).
Checks printed at the end: faces produced vs the reference, no-face photos produced (target 0), EXIF-rotated photos
upright (eyes above the mouth in the produced target), multi-face photos with their count. Timing at 512 px on one
thread: decode + detect + fit + generate for the new face stage and for the previous one (detection on a 320-px copy
of the centre crop), and their ratio. A contact sheet of every produced sample is written to ``--out``.

    python benchmarks/wild_faces.py                          # --assets ../shared/assets --out /tmp/wild_faces
    python benchmarks/wild_faces.py --cnn                    # also the CNN detector (~5 min)
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import dlib
import numpy as np

from occbench.dataset.build import BuildConfig, build_dataset
from occbench.dataset.preprocess import fit_image, plan_fit
from occbench.errors import SampleError
from occbench.faces.detection import FaceDetector, FaceSettings, _hog
from occbench.faces.landmarks import FaceLandmarks
from occbench.image_io import read_image
from occbench.params import build_component
from occbench.protocol import Preprocess, load_protocol
from occbench.registry import GENERATORS
from occbench.rng import sample_rng

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"
PROTOCOLS = ("wild-facemask-256", "wild-randocc-256", "wild-natocc-256")


def hog_reference(image: np.ndarray) -> int:
    """Faces found by dlib's HOG on the full-resolution image, one upsample, threshold 0."""
    rects = _hog()[0](np.ascontiguousarray(image), 1)
    return len(rects)


def before(image: np.ndarray) -> str:
    """The previous pipeline: centre crop to 256 px (refusing smaller photos), HOG at 256 px without upsampling,
    exactly one face. Returns "ok" or the reason it skipped."""
    try:
        target = fit_image(image, 256, Preprocess(), "image")
    except SampleError:
        return "smaller than 256 px"
    count = len(_hog()[0](target, 0))
    return "ok" if count == 1 else ("no face" if count == 0 else f"{count} faces")


def upright(points: np.ndarray) -> bool:
    """Eyes (36-47) above the mouth (48-67) in image coordinates."""
    return float(points[36:48, 1].mean()) < float(points[48:68, 1].mean())


def build(protocol: str, assets: Path, out: Path, bank: Path | None) -> dict[str, dict]:
    """Build one wild protocol over the photos; id → {"ok": bool, "reason" | "params", "file"}."""
    config = BuildConfig(protocol=load_protocol(protocol), out=out, source_dir=assets / "wild_faces",
                         assets_dir=bank if "natocc" in protocol else None, workers=1, progress=False)
    build_dataset(config)
    results = {r["id"]: {"ok": True, "params": json.loads(r["params"]), "notes": r["notes"],
                         "file": out / "occluded" / f"{r['id']}.png"}
               for r in csv.DictReader((out / "manifest.csv").open())}
    results.update({r["id"]: {"ok": False, "reason": r["reason"].split(": ", 1)[-1]}
                    for r in csv.DictReader((out / "skipped.csv").open())})
    return results


def time_512(files: list[Path], generator_name: str = "facemask") -> dict[str, float]:
    """Seconds per photo at 512 px on one thread, over the photos the face stage handles: the face stage's detection
    and total (detect + fit + generate), and the previous pipeline's (fit, HOG on a 320-px copy of the centre crop,
    landmarks, generate when it found exactly one face) with how many of them it produced."""
    generator = build_component(GENERATORS.get(generator_name), {}, "benchmark")
    generator.setup(None)
    detector = FaceDetector()
    hog, predictor = _hog()
    t = dict.fromkeys(("new_detect", "new_total", "old_detect", "old_total", "old_produced", "photos"), 0.0)
    for path in files:
        image = read_image(path)
        start = time.perf_counter()
        try:
            finding = detector.find(image)
        except SampleError:
            continue
        detected = time.perf_counter()
        fit = plan_fit(image.shape, 512, Preprocess(crop="face", upscale=True), path.name, finding.faces[0].box)
        target = fit.apply(image, cv2.INTER_AREA)
        faces = [f.mapped(*fit.point_transform()) for f in finding.faces]
        try:
            generator.generate(target, None, sample_rng(0, path.stem), faces=faces)
        except SampleError:
            pass
        t["new_detect"] += detected - start
        t["new_total"] += time.perf_counter() - start
        t["photos"] += 1
        start = time.perf_counter()
        target = fit_image(image, 512, Preprocess(upscale=True), path.name)
        rects = hog(cv2.resize(target, (320, 320), interpolation=cv2.INTER_LINEAR), 0)
        t["old_detect"] += time.perf_counter() - start
        if len(rects) == 1:
            r, s = rects[0], 512 / 320
            box = dlib.rectangle(round(r.left() * s), round(r.top() * s), round(r.right() * s), round(r.bottom() * s))
            points = np.array([(p.x, p.y) for p in predictor(target, box).parts()], np.float32)
            face = FaceLandmarks(points, (box.left(), box.top(), box.right() + 1, box.bottom() + 1))
            try:
                generator.generate(target, None, sample_rng(0, path.stem), faces=[face])
                t["old_produced"] += 1
            except SampleError:
                pass
        t["old_total"] += time.perf_counter() - start
    return t


def contact_sheet(results: dict[str, dict[str, dict]], out: Path, tile: int = 160) -> Path:
    """One row per protocol, one column per photo produced by any protocol; captions carry the face count."""
    ids = sorted({i for r in results.values() for i, v in r.items() if v["ok"]})
    columns = 12
    rows_per_protocol = (len(ids) + columns - 1) // columns
    sheet = np.full((len(results) * rows_per_protocol * (tile + 14), columns * tile, 3), 255, np.uint8)
    for p_index, (protocol, r) in enumerate(results.items()):
        for i, sample in enumerate(ids):
            y = (p_index * rows_per_protocol + i // columns) * (tile + 14)
            x = (i % columns) * tile
            entry = r.get(sample, {"ok": False})
            if entry["ok"]:
                image = cv2.resize(read_image(entry["file"]), (tile, tile), interpolation=cv2.INTER_AREA)
                sheet[y:y + tile, x:x + tile] = image
                caption = f"{sample[:14]} n={entry['params']['faces']['count']}"
            else:
                caption = f"{sample[:14]} skipped"
            cv2.putText(sheet, caption, (x + 2, y + tile + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (0, 0, 0), 1,
                        cv2.LINE_AA)
        cv2.putText(sheet, protocol, (2, p_index * rows_per_protocol * (tile + 14) + 12), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (255, 0, 0), 1, cv2.LINE_AA)
    path = out / "contact_sheet.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=Path, default=ASSETS)
    parser.add_argument("--out", type=Path, default=Path("/tmp/wild_faces"))
    parser.add_argument("--cnn", action="store_true", help="also count faces with dlib's CNN detector (slow)")
    args = parser.parse_args()
    folder = args.assets / "wild_faces"
    if not (folder / "manifest.json").is_file():
        sys.exit(f"{folder}/manifest.json not found: pass --assets, the ../shared/assets folder")
    cv2.setNumThreads(1)
    notes = {k: v for k, v in json.loads((folder / "manifest.json").read_text()).items() if isinstance(v, dict)}
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).parent))
    from occlusion_speed import build_bank

    with tempfile.TemporaryDirectory() as tmp:
        bank = build_bank(Path(tmp) / "bank")
        results = {}
        for protocol in PROTOCOLS:
            out = args.out / protocol
            if out.exists():
                shutil.rmtree(out)
            print(f"building {protocol} ...", flush=True)
            results[protocol] = build(protocol, args.assets, out, bank)
    cnn = FaceDetector(FaceSettings(detector="cnn", upsample=0, max_side=800)) if args.cnn else None
    ids = {Path(name).stem: name for name in notes}
    header = f"{'photo':<34}{'kind':<10}{'seen':>5}{'hog':>5}{'cnn':>5}  {'before':<19}" + "".join(
        f"{p.removeprefix('wild-').removesuffix('-256'):<28}" for p in PROTOCOLS)
    print(header)
    totals = {"hog_images": 0, "noface_produced": 0, "exif_upright": [], "cnn_images": 0, "before": 0}
    produced = dict.fromkeys(PROTOCOLS, 0)
    for sample, name in sorted(ids.items()):
        meta = notes[name]
        image = read_image(folder / name)
        ref = hog_reference(image)
        totals["hog_images"] += ref > 0
        old = before(image)
        totals["before"] += old == "ok"
        cnn_count = ""
        if cnn is not None:
            try:
                cnn_count = str(cnn.find(image).count)
            except SampleError:
                cnn_count = "0"
            totals["cnn_images"] += cnn_count != "0"
        cells = []
        for protocol in PROTOCOLS:
            entry = results[protocol].get(sample.replace(" ", "-"), {"ok": False, "reason": "?"})
            if entry["ok"]:
                produced[protocol] += 1
                faces = entry["params"]["faces"]
                cells.append(f"ok n={faces['count']} s={faces['scores'][0]:.2f}")
                totals["noface_produced"] += meta["category"] == "noface"
            else:
                cells.append(entry["reason"][:26])
        first = results[PROTOCOLS[0]].get(sample, {"ok": False})
        if first["ok"] and "EXIF orientation" in first["notes"]:
            try:
                face = FaceDetector().find(read_image(args.out / PROTOCOLS[0] / "target" / f"{sample}.png")).faces[0]
                totals["exif_upright"].append((sample, upright(face.points)))
            except (SampleError, OSError):
                pass
        print(f"{sample[:33]:<34}{meta['category'][:9]:<10}{str(meta['n_faces_visual'])[:4]:>5}{ref:>5}"
              f"{cnn_count:>5}  {old[:18]:<19}" + "".join(f"{c:<28}" for c in cells))
    print(f"\nphotos with a face by HOG at full resolution, upsample 1: {totals['hog_images']}")
    print(f"produced by the previous pipeline (centre crop 256, one face): {totals['before']}")
    for protocol in PROTOCOLS:
        print(f"produced by {protocol}: {produced[protocol]}")
    if cnn is not None:
        print(f"photos with a face by the CNN detector (upsample 0, max side 800): {totals['cnn_images']}")
    print(f"no-face photos produced (target 0): {totals['noface_produced']}")
    print(f"EXIF-rotated photos upright after orientation: {totals['exif_upright']}")
    files = [folder / name for name in sorted(notes)]
    t = time_512(files)
    n, produced = max(t["photos"], 1), max(t["old_produced"], 1)
    print(f"time per photo at 512 px (facemask, one thread, {int(t['photos'])} photos with a face): face stage "
          f"{1000 * t['new_total'] / n:.0f} ms (detection {1000 * t['new_detect'] / n:.0f} ms), previous pipeline "
          f"{1000 * t['old_total'] / n:.0f} ms (detection {1000 * t['old_detect'] / n:.0f} ms), ratio "
          f"{t['new_total'] / max(t['old_total'], 1e-9):.2f}; per produced sample: {1000 * t['new_total'] / n:.0f} ms "
          f"({int(t['photos'])}) vs {1000 * t['old_total'] / produced:.0f} ms ({int(t['old_produced'])}); "
          "MaskTheFace: ~105 ms")
    print(f"contact sheet: {contact_sheet(results, args.out)}")


if __name__ == "__main__":
    main()
