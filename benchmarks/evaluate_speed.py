"""Cost of ``occbench evaluate`` (default metric set) against a plain torchmetrics loop, in one run.

The plain loop is what a researcher writes by hand: read each prediction and target, torchmetrics PSNR and
SSIM, lpips' LPIPS and torchmetrics' FID, whole image, one output mode. occbench computes far more (7 pixel
metrics × 6 regions, LPIPS per region, FID and KID on whole and zero_outside images, dlib identity, both raw and
composite outputs), so it must share work to stay close. Target: occbench ≤ 1.5× the plain loop; peak memory
flat from 12 to 96 images.

Two kinds of predictions are timed: telea's (copies the known pixels, so its raw output is its composite, as
for every copy-paste method) and the same images blurred everywhere (a method that regenerates the whole image:
raw and composite differ). occbench runs twice per case: with an empty feature cache ("cold") and again with the
real images' Inception features cached by the first run ("warm", as when several methods are scored on one
dataset). Each measurement is a fresh subprocess (its own peak RSS); times exclude interpreter start and imports.
LPIPS uses a random AlexNet trunk in both (the ImageNet file is absent here; cost does not depend on it).

    python benchmarks/evaluate_speed.py                      # 12 and 96 faces from ../shared (demo photos without)
    python benchmarks/evaluate_speed.py --counts 12 --weights-dir ../shared/weights
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FACES = SHARED / "assets" / "celeba_hq_faces_sean"


def _protocol(folder: Path, use_faces: bool) -> Path:
    path = folder / "bench-irregular-256.yaml"
    source = "{name: folder}" if use_faces else "{name: demo, split: all, params: {}}"
    path.write_text(f"name: bench-irregular-256\nversion: 1\nseed: 7\nresolution: 256\n"
                    f"preprocess: {{resize: short-side, crop: center, upscale: false}}\nsource: {source}\n"
                    "generator: {name: irregular}\nvariants: " + ("2" if use_faces else "11") + "\n")
    return path


def prepare(work: Path) -> tuple[Path, dict[str, Path], str]:
    """Dataset (96 samples), telea predictions and a whole-image-regenerating variant of them."""
    import cv2

    from occbench.dataset.build import BuildConfig, build_dataset
    from occbench.methods.predict import PredictConfig, predict
    from occbench.protocol import load_protocol

    use_faces = FACES.is_dir()
    data = work / "data"
    build_dataset(BuildConfig(protocol=load_protocol(_protocol(work, use_faces)), out=data,
                              source_dir=FACES if use_faces else None, workers=2, progress=False))
    predict(PredictConfig(method="telea", data=data, out=work / "telea", progress=False))
    regen = work / "regenerated"
    regen.mkdir()
    for png in sorted((work / "telea" / "pred").glob("*.png")):
        image = cv2.imread(str(png), cv2.IMREAD_COLOR)
        cv2.imwrite(str(regen / png.name), cv2.GaussianBlur(image, (0, 0), 0.8))
    run = json.loads((work / "telea" / "run.json").read_text())
    (regen / "run.json").write_text(json.dumps({**run, "method": "telea-blurred"}))
    label = "48 CelebA-HQ faces × 2 irregular masks" if use_faces else "9 demo photographs × 11 irregular masks"
    return data, {"telea (copies known pixels)": work / "telea" / "pred",
                  "telea blurred (regenerates all)": regen}, label


def child_plain(data: Path, pred: Path, n: int, weights_dir: str) -> dict:
    """PSNR, SSIM (torchmetrics), LPIPS (lpips package), FID (torchmetrics) over the first n samples."""
    from occbench.compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import csv

    import cv2
    import lpips
    import torch
    from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure
    from torchmetrics.image.fid import FrechetInceptionDistance

    start = time.perf_counter()
    ids = [row["id"] for row in csv.DictReader((data / "manifest.csv").open())][:n]
    psnr, ssim = PeakSignalNoiseRatio(data_range=1.0), StructuralSimilarityIndexMeasure(data_range=1.0)
    fid = FrechetInceptionDistance(feature=2048, normalize=True, feature_extractor_weights_path=str(
        Path(weights_dir) / "weights-inception-2015-12-05-6726825d.pth"))
    lp = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False).eval()
    lpips_values = []

    def load(path: Path) -> torch.Tensor:
        return torch.from_numpy(cv2.imread(str(path))[..., ::-1].copy()).permute(2, 0, 1).float() / 255

    with torch.no_grad():
        for i in range(0, len(ids), 8):
            batch = ids[i:i + 8]
            p = torch.stack([load(pred / f"{k}.png") for k in batch])
            t = torch.stack([load(data / "target" / f"{k}.png") for k in batch])
            psnr.update(p, t)
            ssim.update(p, t)
            lpips_values.append(lp(p * 2 - 1, t * 2 - 1).flatten())
            fid.update(t, real=True)
            fid.update(p, real=False)
        values = [float(psnr.compute()), float(ssim.compute()), float(torch.cat(lpips_values).mean()),
                  float(fid.compute())]
    return {"seconds": time.perf_counter() - start, "values": values}


SAME_AS_PLAIN = {"metrics": ("psnr", "ssim", "lpips", "fid"), "regions": ("whole",), "modes": ("composite",)}


def child_occbench(data: Path, pred: Path, n: int, weights_dir: str, same: bool = False) -> dict:
    """occbench evaluate with its default metric set (all regions, both modes), or the plain loop's four."""
    from occbench.evaluate.run import EvaluateConfig, evaluate
    from occbench.evaluate.scoring import ScoreSettings

    start = time.perf_counter()
    settings = ScoreSettings(weights_dir=Path(weights_dir), allow_random_lpips=True,
                             **(SAME_AS_PLAIN if same else {}), explicit=same)
    with tempfile.TemporaryDirectory() as out:
        results = evaluate(EvaluateConfig(data=data, out=Path(out), predictions=pred, limit=n, progress=False,
                                          score=settings))
    scores = len(results["aggregates"]) + len(results["dataset_metrics"])
    return {"seconds": time.perf_counter() - start, "values": [scores],
            "shared": results["provenance"]["shared_work"]}


def measure(kind: str, data: Path, pred: Path, n: int, weights_dir: str, cache: Path) -> dict:
    env = dict(os.environ, OCCBENCH_CACHE=str(cache))
    spec = json.dumps({"kind": kind, "data": str(data), "pred": str(pred), "n": n, "weights_dir": weights_dir})
    result = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", nargs="+", type=int, default=[12, 96])
    parser.add_argument("--weights-dir", default=str(SHARED / "weights"), help="folder with the FID Inception file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        args = (Path(spec["data"]), Path(spec["pred"]), spec["n"], spec["weights_dir"])
        out = child_plain(*args) if spec["kind"] == "plain" else child_occbench(*args, same=spec["kind"] == "same")
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data, predictions, label = prepare(work)
        print(f"{label}, 256 px; torch threads: {os.cpu_count()} cores\n")
        print("seconds (ratio to the plain loop); same 4: occbench computing only the plain loop's four numbers\n")
        print(f"{'predictions':<32} {'n':>3} {'plain':>7} {'same 4':>13} {'default, cold':>15} "
              f"{'default, warm':>15} {'plain MB':>9} {'occbench MB':>12}")
        for name, pred in predictions.items():
            for n in args.counts:
                cache = work / f"cache-{abs(hash((name, n)))}"
                plain = measure("plain", data, pred, n, args.weights_dir, cache)
                same = measure("same", data, pred, n, args.weights_dir, work / f"same-{abs(hash((name, n)))}")
                cold = measure("occbench", data, pred, n, args.weights_dir, cache)
                warm = measure("occbench", data, pred, n, args.weights_dir, cache)
                cells = [f"{r['seconds']:6.1f} ({r['seconds'] / plain['seconds']:.2f}x)" for r in (same, cold, warm)]
                print(f"{name:<32} {n:>3} {plain['seconds']:>7.1f} {cells[0]:>13} {cells[1]:>15} {cells[2]:>15} "
                      f"{plain['peak_rss_mb']:>9.0f} {max(cold['peak_rss_mb'], warm['peak_rss_mb']):>12.0f}")
        print(f"\noccbench scores per run: {cold['values'][0]} aggregates (plain loop: 4 numbers); "
              f"shared work in the last run: {warm['shared']}")


if __name__ == "__main__":
    main()
