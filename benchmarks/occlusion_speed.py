"""Speed of the occlusion generators at 256 and 512 px, split into detection / compositing / I/O.

For each generator and size, on the shared CelebA-HQ faces (no labels, so face boxes come from dlib):
- detection: dlib face detection + 68 landmarks (``FaceDetector``, default settings), measured on its own;
- generate: the generator's ``generate`` call given the detected faces, as the build calls it (compositing only);
- I/O floor: decoding the source image and encoding the PNGs a build writes (target, occluded, mask),
  measured in the same run; the ratio is (decode + detect + generate + encode) / floor.
All on one thread (cv2.setNumThreads(1)). Targets (issue 4): face masks ≤ 25 ms per 512-px image
including detection; NatOcc overlays ≤ 3× the I/O floor.

    python benchmarks/occlusion_speed.py                   # builds a small occluder bank from ../shared
    python benchmarks/occlusion_speed.py --bank BANK --images DIR --count 24
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from occbench.image_io import encode_png, read_image
from occbench.params import build_component
from occbench.registry import GENERATORS
from occbench.rng import sample_rng

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"
BENCHMARKED = {"facemask": {}, "natocc": {}, "randocc": {}}


def build_bank(out: Path) -> Path:
    """A small NatOcc bank from ../shared: COCO128 objects (YOLO polygons) and EgoHands cut-outs."""
    coco = ASSETS / "coco128_seg"
    common = [sys.executable, "-m", "occbench.cli", "build-occluders", "--out", str(out), "--no-progress"]
    subprocess.run([*common, "--from", "yolo", "--input", str(coco / "labels" / "train2017"), "--images",
                    str(coco / "images" / "train2017"), "--classes", str(coco / "classes.txt"), "--min-area",
                    "2000", "--licence", "COCO (benchmark only)"], check=True, capture_output=True)
    subprocess.run([*common, "--from", "rgba", "--input", str(ASSETS / "egohands_hand_cutouts"), "--kind", "hand",
                    "--category", "hand", "--licence", "EgoHands (benchmark only)"], check=True, capture_output=True)
    return out


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def _faces_or_none(detector, target):
    try:
        return detector.find(target)
    except Exception:  # noqa: BLE001 - no face: the generator skips the sample
        return None


def run(name: str, params: dict, files: list[Path], size: int, bank: Path) -> dict[str, float]:
    from occbench.faces.detection import FaceDetector

    generator = build_component(GENERATORS.get(name), params, f"benchmark {name}")
    generator.setup(bank if generator.needs_dir else None)
    detector = FaceDetector()
    totals = dict.fromkeys(("decode", "detect", "generate", "encode"), 0.0)
    done = 0
    for path in files:
        image, seconds = timed(read_image, path)
        totals["decode"] += seconds
        target = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        finding, seconds = timed(lambda t=target: _faces_or_none(detector, t))
        totals["detect"] += seconds
        try:
            generated, seconds = timed(generator.generate, target, None, sample_rng(0, path.stem),
                                       None if finding is None else finding.faces)
        except Exception:  # noqa: BLE001 - a face-less sample is skipped by builds too; not timed here
            continue
        totals["generate"] += seconds
        _, seconds = timed(lambda g=generated, t=target: [encode_png(t), encode_png(g.occluded),
                                                          encode_png(g.mask * 255)])
        totals["encode"] += seconds
        done += 1
    return {key: value / max(done, 1) for key, value in totals.items()} | {"n": done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=ASSETS / "celeba_hq_faces_sean")
    parser.add_argument("--bank", type=Path, help="occluder bank for natocc (default: built from ../shared)")
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    args = parser.parse_args()
    cv2.setNumThreads(1)
    files = sorted(args.images.glob("*.jpg"))[: args.count]
    with tempfile.TemporaryDirectory() as tmp:
        bank = args.bank or build_bank(Path(tmp) / "bank")
        print(f"{len(files)} images from {args.images}; one thread; times in ms per image")
        print(f"{'generator':<10}{'px':>5}{'n':>4}{'decode':>8}{'detect':>8}{'generate':>10}{'compose':>9}"
              f"{'encode':>8}{'floor':>8}{'ratio':>7}")
        for name, params in BENCHMARKED.items():
            for size in args.sizes:
                t = run(name, params, files, size, bank)
                compose = t["generate"]  # the faces are given to the generator (the build's face stage)
                floor = t["decode"] + t["encode"]
                ratio = (floor + t["detect"] + t["generate"]) / floor
                ms = {k: 1000 * v for k, v in t.items() if k != "n"}
                print(f"{name:<10}{size:>5}{int(t['n']):>4}{ms['decode']:>8.1f}{ms['detect']:>8.1f}"
                      f"{ms['generate']:>10.1f}{1000 * compose:>9.1f}{ms['encode']:>8.1f}{1000 * floor:>8.1f}"
                      f"{ratio:>7.2f}")


if __name__ == "__main__":
    main()
